//! Helpers shared by the record tests.

use snapshot_core::{NvList, Snapshot};

/// Packs `nv` and unpacks it with the strict decoder, checking that the
/// encoding is valid libnv and survives the trip unchanged.
pub fn through_wire(nv: &NvList) -> NvList {
    let back = NvList::unpack(&nv.pack()).expect("encoded records are valid libnv");
    assert_eq!(&back, nv);
    back
}

/// Encodes, packs, unpacks and decodes, checking on the way that the
/// streaming writer packs exactly what the tree packer does. Returns the
/// value decoded by `from_bytes` (straight from the bytes when the fast
/// path reads every field type) and by the checked path (through the
/// nvlist), which must both equal `value`.
pub fn round_trip<T: Snapshot>(value: &T) -> [T; 2] {
    let nv = through_wire(&value.to_nvlist());
    let bytes = value.to_bytes();
    assert_eq!(bytes, nv.pack());
    let fast = T::from_bytes(&bytes).expect("a record decodes from bytes");
    [fast, T::from_nvlist(&nv).expect("a record decodes")]
}

/// Whenever the fast path accepts `bytes`, the checked path accepts them
/// too and reads the same value.
pub fn fast_agrees<T: Snapshot + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Some(fast) = snapshot_core::__private::read_fast::<T>(bytes) {
        let nv = NvList::unpack(bytes).expect("the fast path accepted what unpack refuses");
        let slow = T::from_nvlist(&nv).expect("the fast path accepted an invalid record");
        assert_eq!(fast, slow);
    }
}
