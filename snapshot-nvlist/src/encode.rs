//! Packing: the exact bytes libnv's `nvlist_pack` writes on a little-endian
//! machine.
//!
//! Two of libnv's header fields depend on the whole buffer, not on the
//! list they describe, so the encoder first measures the total size:
//! - every list header's `size` is the number of bytes left in the *whole
//!   buffer* after that header (libnv's `*leftp - sizeof(nvlhdr)`);
//! - an `NVLIST` pair's `datasize` is what libnv's `nvlist_size()` returns
//!   for the child, and that function walks on past the child into its
//!   parents' later pairs. It counts every byte from the child's header to
//!   the end of the buffer except the framing written while *leaving* each
//!   enclosing level: the `NVLIST_UP` (20 bytes) of each enclosing nested
//!   list, and for each enclosing array element its `NVLIST_ARRAY_NEXT`
//!   (20 bytes) plus the header and marker (39 bytes) of every later
//!   element of that array. [`Writer`] carries that sum down as `skipped`.
//!   For an empty child the walk never starts and the size is its header's.

use super::value::{NvList, Value};
use super::wire::{LIST_HEADER, MARKER, PAIR_HEADER};
use super::Writer;

/// Packs `list` into a fresh buffer of the right size, through the one
/// writer of the format ([`Writer`], which carries the framing
/// `nvlist_size()` leaves uncounted, and patches each header's size).
pub fn pack(list: &NvList) -> Vec<u8> {
    let total = packed_size(list);
    let mut w = Writer::with_capacity(total);
    w.set_flags(list);
    w.pairs(list);
    let out = w.finish();
    debug_assert_eq!(out.len(), total);
    out
}

/// The size of `list` packed, header included.
pub fn packed_size(list: &NvList) -> usize {
    LIST_HEADER
        + list
            .pairs()
            .iter()
            .map(|(name, value)| PAIR_HEADER + name.as_bytes().len() + 1 + value_size(value))
            .sum::<usize>()
}

/// Bytes after the pair header and name: data, or the nested framing.
fn value_size(value: &Value) -> usize {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 8,
        Value::String(s) => s.as_bytes().len() + 1,
        Value::Binary(b) => b.len(),
        Value::BoolArray(a) => a.len(),
        Value::NumberArray(a) => 8 * a.len(),
        Value::StringArray(a) => a.iter().map(|s| s.as_bytes().len() + 1).sum(),
        Value::NvList(l) => packed_size(l) + MARKER,
        Value::NvListArray(a) => a.iter().map(|l| packed_size(l) + MARKER).sum(),
    }
}
