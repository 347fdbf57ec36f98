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
//!   element of that array. [`Encoder`] carries that sum down as `skipped`.
//!   For an empty child the walk never starts and the size is its header's.

use super::value::{NvList, Value};
use super::wire::{self, LIST_HEADER, MARKER, PAIR_HEADER};

/// Packs `list` into a fresh buffer.
pub fn pack(list: &NvList) -> Vec<u8> {
    let total = packed_size(list);
    let mut enc = Encoder {
        out: Vec::with_capacity(total),
        total,
    };
    enc.list(list, 0);
    debug_assert_eq!(enc.out.len(), total);
    enc.out
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

struct Encoder {
    out: Vec<u8>,
    total: usize,
}

impl Encoder {
    fn header(&mut self, list: &NvList) {
        let size = self.total - self.out.len() - LIST_HEADER;
        self.out.push(wire::MAGIC);
        self.out.push(wire::VERSION);
        self.out.push(list.flags().bits());
        self.out.extend_from_slice(&0u64.to_le_bytes()); // descriptors
        self.out.extend_from_slice(&(size as u64).to_le_bytes());
    }

    fn pair_header(&mut self, ty: u8, name: &[u8], datasize: usize, nitems: usize) {
        self.out.push(ty);
        self.out
            .extend_from_slice(&((name.len() + 1) as u16).to_le_bytes());
        self.out.extend_from_slice(&(datasize as u64).to_le_bytes());
        self.out.extend_from_slice(&(nitems as u64).to_le_bytes());
        self.out.extend_from_slice(name);
        self.out.push(0);
    }

    /// Writes `list` (header and pairs, not its closing marker). `skipped`
    /// is the framing `nvlist_size()` leaves uncounted above this list.
    fn list(&mut self, list: &NvList, skipped: usize) {
        self.header(list);
        for (name, value) in list.pairs() {
            let name = name.as_bytes();
            let ty = value.ty() as u8;
            match value {
                Value::Null => self.pair_header(ty, name, 0, 0),
                Value::Bool(b) => {
                    self.pair_header(ty, name, 1, 0);
                    self.out.push(u8::from(*b));
                }
                Value::Number(n) => {
                    self.pair_header(ty, name, 8, 0);
                    self.out.extend_from_slice(&n.to_le_bytes());
                }
                Value::String(s) => {
                    self.pair_header(ty, name, s.as_bytes().len() + 1, 0);
                    self.out.extend_from_slice(s.as_bytes());
                    self.out.push(0);
                }
                Value::Binary(b) => {
                    self.pair_header(ty, name, b.len(), 0);
                    self.out.extend_from_slice(b);
                }
                Value::BoolArray(a) => {
                    self.pair_header(ty, name, a.len(), a.len());
                    self.out.extend(a.iter().map(|&b| u8::from(b)));
                }
                Value::NumberArray(a) => {
                    self.pair_header(ty, name, 8 * a.len(), a.len());
                    for n in a {
                        self.out.extend_from_slice(&n.to_le_bytes());
                    }
                }
                Value::StringArray(a) => {
                    let size = a.iter().map(|s| s.as_bytes().len() + 1).sum();
                    self.pair_header(ty, name, size, a.len());
                    for s in a {
                        self.out.extend_from_slice(s.as_bytes());
                        self.out.push(0);
                    }
                }
                Value::NvList(child) => {
                    let child_skipped = wire::skipped_in_list(skipped);
                    let start = self.out.len() + PAIR_HEADER + name.len() + 1;
                    let datasize = if child.is_empty() {
                        LIST_HEADER // the walk never starts: just the header
                    } else {
                        self.total - start - child_skipped
                    };
                    self.pair_header(ty, name, datasize, 0);
                    self.list(child, child_skipped);
                    self.marker(wire::NVLIST_UP);
                }
                Value::NvListArray(items) => {
                    // The elements follow as framed lists, not as data.
                    self.pair_header(ty, name, 0, items.len());
                    let n = items.len();
                    for (i, item) in items.iter().enumerate() {
                        self.list(item, wire::skipped_in_element(skipped, i, n));
                        self.marker(wire::NVLIST_ARRAY_NEXT);
                    }
                }
            }
        }
    }

    fn marker(&mut self, ty: u8) {
        self.pair_header(ty, b"", 0, 0);
    }
}
