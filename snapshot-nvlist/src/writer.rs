//! Streaming packing: writes libnv's packed format pair by pair, without
//! building an [`NvList`] first.
//!
//! Use it where a tree would only be built to be packed, as the derive's
//! generated code does: it is several times faster than `to_nvlist().pack()`
//! and writes the same bytes. Use [`NvList::pack`] otherwise.
//!
//! Two kinds of size fields depend on bytes written later (see
//! `encode.rs`): every list header's `size` and every `NVLIST` pair's
//! `datasize` are "the rest of the buffer" minus some framing. Both are
//! written as zero and patched by [`Writer::finish`], each remembered as
//! the offset to patch and the amount to subtract from the total.

use super::value::{NvList, Value};
use super::wire::{self, LIST_HEADER, PAIR_HEADER};
use super::Type;

/// A packed nvlist being written. Pair names and values must be valid for
/// libnv (no NUL in names or strings, no empty binary or array): the
/// writer checks this in debug builds only, so callers check first.
pub struct Writer {
    out: Vec<u8>,
    /// `(offset, k)`: write `total - k` as a u64 at `offset`.
    patches: Vec<(usize, usize)>,
    /// The framing `nvlist_size()` leaves uncounted above the open list.
    skipped: usize,
    /// Open nested lists and arrays, innermost last.
    open: Vec<Open>,
}

enum Open {
    /// A nested list: the patch of its pair's datasize, where its pairs
    /// start, and the outer `skipped`.
    List {
        patch: usize,
        pairs_start: usize,
        outer: usize,
    },
    /// An nvlist array of `total` elements, `done` of them written.
    Array {
        total: usize,
        done: usize,
        outer: usize,
    },
}

impl Default for Writer {
    fn default() -> Writer {
        Writer::new()
    }
}

impl Writer {
    /// A writer with the top-level list's header written.
    pub fn new() -> Writer {
        Writer::with_capacity(256)
    }

    /// [`Writer::new`] with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Writer {
        let mut w = Writer {
            out: Vec::with_capacity(capacity),
            // A list header each for the top level and typical nesting:
            // growing these on every encode of a small state costs more
            // than the slack.
            patches: Vec::with_capacity(32),
            skipped: 0,
            open: Vec::with_capacity(8),
        };
        w.header();
        w
    }

    /// The packed bytes. Every nested list and array must be closed.
    pub fn finish(mut self) -> Vec<u8> {
        assert!(self.open.is_empty(), "Writer::finish with an open list");
        let total = self.out.len();
        for &(at, k) in &self.patches {
            self.out[at..at + 8].copy_from_slice(&((total - k) as u64).to_le_bytes());
        }
        self.out
    }

    #[inline]
    fn header(&mut self) {
        let p = self.out.len();
        let mut header = [0u8; LIST_HEADER]; // descriptors and size zero
        header[0] = wire::MAGIC;
        header[1] = wire::VERSION;
        self.append([&header]);
        self.patches.push((p + 11, p + LIST_HEADER));
    }

    /// Appends `parts` in order, with one capacity check and one length
    /// update: pushing each part checks the capacity again, because the
    /// compiler cannot tell that byte stores leave the vector's length
    /// alone, and that is most of the cost of a small pair.
    #[inline(always)]
    fn append<const N: usize>(&mut self, parts: [&[u8]; N]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.out.reserve(len);
        let start = self.out.len();
        let mut room = &mut self.out.spare_capacity_mut()[..len];
        for part in parts {
            let (head, rest) = room.split_at_mut(part.len());
            for (slot, &byte) in head.iter_mut().zip(part) {
                slot.write(byte);
            }
            room = rest;
        }
        // SAFETY: the loop above initialised the `len` bytes after `start`,
        // which `reserve` made room for.
        unsafe { self.out.set_len(start + len) };
    }

    /// The fixed part of a pair's header: type, name size, data size and
    /// item count.
    #[inline(always)]
    fn fixed(ty: u8, name: &[u8], datasize: usize, nitems: usize) -> [u8; PAIR_HEADER] {
        debug_assert!(!name.contains(&0) && name.len() <= super::NAME_MAX);
        let mut header = [0u8; PAIR_HEADER];
        header[0] = ty;
        header[1..3].copy_from_slice(&((name.len() + 1) as u16).to_le_bytes());
        header[3..11].copy_from_slice(&(datasize as u64).to_le_bytes());
        header[11..19].copy_from_slice(&(nitems as u64).to_le_bytes());
        header
    }

    #[inline]
    fn pair_header(&mut self, ty: u8, name: &[u8], datasize: usize, nitems: usize) {
        let header = Self::fixed(ty, name, datasize, nitems);
        self.out.reserve(PAIR_HEADER + name.len() + 1 + datasize);
        self.append([&header, name, &[0]]);
    }

    #[inline]
    fn marker(&mut self, ty: u8) {
        self.pair_header(ty, b"", 0, 0);
    }

    /// A `NULL` pair.
    #[inline]
    pub fn null(&mut self, name: &str) {
        self.pair_header(Type::Null as u8, name.as_bytes(), 0, 0);
    }

    /// A `BOOL` pair.
    #[inline]
    pub fn bool(&mut self, name: &str, value: bool) {
        let name = name.as_bytes();
        let header = Self::fixed(Type::Bool as u8, name, 1, 0);
        self.append([&header, name, &[0, value.into()]]);
    }

    /// A `NUMBER` pair; returns the offset of its value for
    /// [`Writer::set_number`].
    #[inline]
    pub fn number(&mut self, name: &str, value: u64) -> usize {
        let name = name.as_bytes();
        let header = Self::fixed(Type::Number as u8, name, 8, 0);
        self.append([&header, name, &[0], &value.to_le_bytes()]);
        self.out.len() - 8
    }

    /// Rewrites the value of a `NUMBER` pair written at `at`.
    #[inline]
    pub fn set_number(&mut self, at: usize, value: u64) {
        self.out[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }

    /// A `STRING` pair (`value` without NUL).
    #[inline]
    pub fn string(&mut self, name: &str, value: &[u8]) {
        debug_assert!(!value.contains(&0));
        let name = name.as_bytes();
        let header = Self::fixed(Type::String as u8, name, value.len() + 1, 0);
        self.append([&header, name, &[0], value, &[0]]);
    }

    /// A `BINARY` pair (`value` not empty).
    #[inline]
    pub fn binary(&mut self, name: &str, value: &[u8]) {
        debug_assert!(!value.is_empty());
        self.pair_header(Type::Binary as u8, name.as_bytes(), value.len(), 0);
        super::copy::extend(&mut self.out, value);
    }

    /// A `NUMBER_ARRAY` pair (`values` not empty).
    #[inline]
    pub fn number_array(&mut self, name: &str, values: impl ExactSizeIterator<Item = u64>) {
        let n = values.len();
        debug_assert!(n > 0);
        self.pair_header(Type::NumberArray as u8, name.as_bytes(), 8 * n, n);
        // Into zeroed room rather than pushed one by one: the loop has no
        // capacity checks left and compiles to a plain copy.
        let start = self.out.len();
        self.out.resize(start + 8 * n, 0);
        for (slot, v) in self.out[start..].chunks_exact_mut(8).zip(values) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// A `BOOL_ARRAY` pair (`values` not empty).
    #[inline]
    pub fn bool_array(&mut self, name: &str, values: &[bool]) {
        debug_assert!(!values.is_empty());
        let n = values.len();
        self.pair_header(Type::BoolArray as u8, name.as_bytes(), n, n);
        self.out.extend(values.iter().map(|&b| u8::from(b)));
    }

    /// Opens an `NVLIST` pair: the pairs written next go into it, up to
    /// [`Writer::end_list`].
    #[inline]
    pub fn begin_list(&mut self, name: &str) {
        let datasize_at = self.out.len() + 3; // after type and namesize
        let pairs_start = self.out.len() + PAIR_HEADER + name.len() + 1;
        let outer = self.skipped;
        self.skipped = wire::skipped_in_list(outer);
        self.pair_header(Type::NvList as u8, name.as_bytes(), 0, 0);
        let patch = self.patches.len();
        self.patches.push((datasize_at, pairs_start + self.skipped));
        self.header();
        self.open.push(Open::List {
            patch,
            pairs_start,
            outer,
        });
    }

    /// Closes the list opened by [`Writer::begin_list`].
    #[inline]
    pub fn end_list(&mut self) {
        let Some(Open::List {
            patch,
            pairs_start,
            outer,
        }) = self.open.pop()
        else {
            panic!("Writer::end_list without begin_list");
        };
        if self.out.len() == pairs_start + LIST_HEADER {
            // An empty child: libnv's size walk never starts, and the
            // datasize is just the header's.
            let (at, _) = self.patches.remove(patch);
            self.out[at..at + 8].copy_from_slice(&(LIST_HEADER as u64).to_le_bytes());
        }
        self.marker(wire::NVLIST_UP);
        self.skipped = outer;
    }

    /// Opens an `NVLIST_ARRAY` pair of `len` (at least one) elements, each
    /// written between [`Writer::begin_element`] and
    /// [`Writer::end_element`].
    pub fn begin_array(&mut self, name: &str, len: usize) {
        debug_assert!(len > 0);
        self.pair_header(Type::NvListArray as u8, name.as_bytes(), 0, len);
        self.open.push(Open::Array {
            total: len,
            done: 0,
            outer: self.skipped,
        });
    }

    /// Opens the next element of the open array.
    #[inline]
    pub fn begin_element(&mut self) {
        let Some(Open::Array { total, done, outer }) = self.open.last() else {
            panic!("Writer::begin_element outside an array");
        };
        self.skipped = wire::skipped_in_element(*outer, *done, *total);
        self.header();
    }

    /// Closes the element opened by [`Writer::begin_element`].
    #[inline]
    pub fn end_element(&mut self) {
        self.marker(wire::NVLIST_ARRAY_NEXT);
        let Some(Open::Array { done, outer, .. }) = self.open.last_mut() else {
            panic!("Writer::end_element outside an array");
        };
        *done += 1;
        self.skipped = *outer;
    }

    /// Closes the array opened by [`Writer::begin_array`].
    pub fn end_array(&mut self) {
        match self.open.pop() {
            Some(Open::Array { total, done, .. }) => {
                assert_eq!(total, done, "Writer::end_array before its last element");
            }
            _ => panic!("Writer::end_array without begin_array"),
        }
    }

    /// A pair of any value, nested lists included.
    pub fn value(&mut self, name: &str, value: &Value) {
        match value {
            Value::Null => self.null(name),
            Value::Bool(b) => self.bool(name, *b),
            Value::Number(n) => {
                self.number(name, *n);
            }
            Value::String(s) => self.string(name, s.as_bytes()),
            Value::Binary(b) => self.binary(name, b),
            Value::BoolArray(a) => self.bool_array(name, a),
            Value::NumberArray(a) => self.number_array(name, a.iter().copied()),
            Value::StringArray(a) => {
                let size = a.iter().map(|s| s.as_bytes().len() + 1).sum();
                self.pair_header(Type::StringArray as u8, name.as_bytes(), size, a.len());
                for s in a {
                    self.out.extend_from_slice(s.as_bytes());
                    self.out.push(0);
                }
            }
            Value::NvList(list) => {
                self.begin_list_flags(name, list);
                self.pairs(list);
                self.end_list();
            }
            Value::NvListArray(lists) => {
                self.begin_array(name, lists.len());
                for list in lists {
                    self.begin_element();
                    self.set_flags(list);
                    self.pairs(list);
                    self.end_element();
                }
                self.end_array();
            }
        }
    }

    fn begin_list_flags(&mut self, name: &str, list: &NvList) {
        self.begin_list(name);
        self.set_flags(list);
    }

    /// Sets the flags byte of the list header just written.
    fn set_flags(&mut self, list: &NvList) {
        let at = self.out.len() - LIST_HEADER + 2;
        self.out[at] = list.flags().bits();
    }

    fn pairs(&mut self, list: &NvList) {
        for (name, value) in list.pairs() {
            // Names in a list are NUL-free but not always UTF-8.
            match name.to_str() {
                Some(name) => self.value(name, value),
                None => self.value_raw(name.as_bytes(), value),
            }
        }
    }

    /// [`Writer::value`] for a name that is not UTF-8.
    fn value_raw(&mut self, name: &[u8], value: &Value) {
        // Write under a placeholder name of the same length, then put the
        // real bytes in place: the layout only depends on the length.
        let placeholder = "x".repeat(name.len());
        let start = self.out.len();
        self.value(&placeholder, value);
        let at = start + PAIR_HEADER;
        self.out[at..at + name.len()].copy_from_slice(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flags;

    fn sample() -> NvList {
        let inner = NvList::new().with("x", 1u64).with("s", "str");
        let mut odd = NvList::with_flags(Flags::IGNORE_CASE);
        odd.insert("A", true);
        let mut top = NvList::new()
            .with("n", ())
            .with("b", vec![1u8, 2])
            .with("nums", vec![1u64, 2, 3])
            .with("bools", vec![true, false])
            .with("strs", vec!["a", ""])
            .with("inner", inner.clone())
            .with("empty", NvList::new())
            .with("arr", vec![inner.clone(), NvList::new(), odd]);
        top.insert(
            b"\xff\xfe".as_slice(),
            Value::NvList(NvList::new().with("deep", inner)),
        );
        top
    }

    #[test]
    fn writes_what_pack_writes() {
        let list = sample();
        let mut w = Writer::new();
        w.pairs(&list);
        let bytes = w.finish();
        assert_eq!(bytes, list.pack());
        assert_eq!(NvList::unpack(&bytes).unwrap(), list);
    }

    #[test]
    fn empty_list_writes_just_a_header() {
        assert_eq!(Writer::new().finish(), NvList::new().pack());
    }
}
