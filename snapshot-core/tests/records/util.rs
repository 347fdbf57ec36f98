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
/// streaming writer packs exactly what the tree packer does.
pub fn round_trip<T: Snapshot>(value: &T) -> T {
    let nv = through_wire(&value.to_nvlist());
    let bytes = value.to_bytes();
    assert_eq!(bytes, nv.pack());
    assert!(T::from_bytes(&bytes).is_ok());
    T::from_nvlist(&nv).expect("a record decodes")
}
