//! Helpers shared by the record tests.

use snapshot_core::{NvList, Snapshot};

/// Packs `nv` and unpacks it with the strict decoder, checking that the
/// encoding is valid libnv and survives the trip unchanged.
pub fn through_wire(nv: &NvList) -> NvList {
    let back = NvList::unpack(&nv.pack()).expect("encoded records are valid libnv");
    assert_eq!(&back, nv);
    back
}

/// Encodes, packs, unpacks and decodes.
pub fn round_trip<T: Snapshot>(value: &T) -> T {
    T::from_nvlist(&through_wire(&value.to_nvlist())).expect("a record decodes")
}
