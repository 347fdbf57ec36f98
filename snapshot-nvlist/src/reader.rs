//! A pull reader over a packed nvlist, for decoding straight into Rust
//! values without building an [`NvList`](super::NvList).
//!
//! Use it only as a fast path in front of [`NvList::unpack`](super::NvList::unpack):
//! it accepts a subset of what `unpack` accepts (little-endian lists
//! without flags, at most [`MAX_DEPTH`] deep) and gives up with `None` on
//! anything else, wrong or merely unusual, without saying why. The caller
//! then decodes through `unpack`, which accepts or refuses the input and
//! names the fault. So every check `unpack` makes on the accepted subset is
//! made here too, and tests compare the two on mutated inputs.
//!
//! The decoder's memory limit ([`DecodeOptions::max_expansion`](super::DecodeOptions))
//! refuses nothing this reader accepts: only string arrays, which it does
//! not read, decode to more than about 3 bytes a packed byte.
//!
//! One check is left to the caller, because it is free there: a pair's
//! name is not searched for a NUL byte. A caller compares it with the names
//! it expects, none of which holds a NUL, and gives up on any other.

use super::scan::has_nul;
use super::wire::{self, LIST_HEADER, PAIR_HEADER};
use super::Type;

/// Deepest nesting the reader follows; deeper input goes to `unpack`.
pub const MAX_DEPTH: usize = 64;

/// A packed nvlist being read.
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// The marker that closes each open nested list or array element,
    /// innermost last.
    closers: Closers,
}

/// The closers of the open lists, kept inline: a reader allocates
/// nothing, so a record of numbers and fixed-size arrays decodes without
/// a single allocation.
struct Closers {
    codes: [u8; MAX_DEPTH + 1],
    len: usize,
}

impl Closers {
    /// Opens a list closed by `code`; `None` past the depth limit.
    #[inline]
    fn push(&mut self, code: u8) -> Option<()> {
        *self.codes.get_mut(self.len)? = code;
        self.len += 1;
        Some(())
    }

    #[inline]
    fn pop(&mut self) {
        self.len -= 1;
    }

    #[inline]
    fn last(&self) -> Option<&u8> {
        self.len.checked_sub(1).map(|i| &self.codes[i])
    }
}

/// The header of a pair whose data is next in the input.
pub struct Pair<'a> {
    code: u8,
    /// The pair's name, without its terminating NUL. Not checked for a NUL
    /// inside: compare it with expected names only (see the module
    /// documentation).
    pub name: &'a [u8],
    datasize: u64,
    nitems: u64,
}

/// What comes next in the open list.
pub enum Item<'a> {
    /// A pair: read its data with the method of its type.
    Pair(Pair<'a>),
    /// The end of the open list.
    Close,
}

#[inline(always)]
fn u64_le(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

impl<'a> Reader<'a> {
    /// A reader positioned after the top-level header.
    pub fn new(input: &'a [u8]) -> Option<Reader<'a>> {
        let mut r = Reader {
            input,
            pos: 0,
            closers: Closers {
                codes: [0; MAX_DEPTH + 1],
                len: 0,
            },
        };
        r.list_header()?;
        Some(r)
    }

    #[inline(always)]
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let bytes = self.input.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn left(&self) -> u64 {
        (self.input.len() - self.pos) as u64
    }

    /// A list header: magic, version, no flags, no descriptors, and the
    /// size of the rest of the input.
    fn list_header(&mut self) -> Option<()> {
        let h = self.take(LIST_HEADER as u64)?;
        let ok = h[0] == wire::MAGIC
            && h[1] == wire::VERSION
            && h[2] == 0
            && u64_le(&h[3..11]) == 0
            && u64_le(&h[11..19]) == self.left()
            && self.closers.len <= MAX_DEPTH;
        ok.then_some(())
    }

    /// The next pair, or the end of the open list.
    #[inline(always)]
    pub fn item(&mut self) -> Option<Item<'a>> {
        if self.pos == self.input.len() {
            return (self.closers.len == 0).then_some(Item::Close);
        }
        let h = self.take(PAIR_HEADER as u64)?;
        let code = h[0];
        let namesize = u16::from_le_bytes([h[1], h[2]]);
        let datasize = u64_le(&h[3..11]);
        let nitems = u64_le(&h[11..19]);
        if namesize == 0 || namesize > wire::NAME_SIZE_MAX {
            return None;
        }
        let raw = self.take(namesize.into())?;
        let (name, nul) = raw.split_at(raw.len() - 1);
        if nul[0] != 0 || datasize > self.left() {
            return None;
        }
        if code == wire::NVLIST_UP || code == wire::NVLIST_ARRAY_NEXT {
            let closes = name.is_empty()
                && datasize == 0
                && nitems == 0
                && self.closers.last() == Some(&code);
            if !closes {
                return None;
            }
            self.closers.pop();
            return Some(Item::Close);
        }
        Some(Item::Pair(Pair {
            code,
            name,
            datasize,
            nitems,
        }))
    }

    /// The data of a scalar pair of type `ty` and exactly `size` bytes.
    #[inline]
    fn scalar(&mut self, p: &Pair<'_>, ty: Type, size: u64) -> Option<&'a [u8]> {
        if p.code != ty as u8 || p.nitems != 0 || p.datasize != size {
            return None;
        }
        self.take(size)
    }

    /// A `NULL` pair.
    #[inline]
    pub fn null(&mut self, p: &Pair<'_>) -> Option<()> {
        self.scalar(p, Type::Null, 0).map(|_| ())
    }

    /// Whether the pair is `NULL` (its data is not read).
    #[inline]
    pub fn is_null(p: &Pair<'_>) -> bool {
        p.code == Type::Null as u8
    }

    /// A `BOOL` pair.
    #[inline]
    pub fn bool(&mut self, p: &Pair<'_>) -> Option<bool> {
        match self.scalar(p, Type::Bool, 1)?[0] {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// A `NUMBER` pair.
    #[inline(always)]
    pub fn number(&mut self, p: &Pair<'_>) -> Option<u64> {
        self.scalar(p, Type::Number, 8).map(u64_le)
    }

    /// A `STRING` pair, without its NUL.
    #[inline]
    pub fn string(&mut self, p: &Pair<'_>) -> Option<&'a [u8]> {
        if p.code != Type::String as u8 || p.nitems != 0 || p.datasize == 0 {
            return None;
        }
        let raw = self.take(p.datasize)?;
        let (s, nul) = raw.split_at(raw.len() - 1);
        (nul[0] == 0 && !has_nul(s)).then_some(s)
    }

    /// A `STRING` pair that must be `expected` (which holds no NUL): no
    /// search for a NUL inside is needed then.
    #[inline(always)]
    pub fn string_is(&mut self, p: &Pair<'_>, expected: &[u8]) -> Option<()> {
        debug_assert!(!expected.contains(&0));
        if p.code != Type::String as u8 || p.nitems != 0 || p.datasize != expected.len() as u64 + 1
        {
            return None;
        }
        let raw = self.take(p.datasize)?;
        (raw[..expected.len()] == *expected && raw[expected.len()] == 0).then_some(())
    }

    /// A `BINARY` pair.
    #[inline]
    pub fn binary(&mut self, p: &Pair<'_>) -> Option<&'a [u8]> {
        if p.code != Type::Binary as u8 || p.nitems != 0 || p.datasize == 0 {
            return None;
        }
        self.take(p.datasize)
    }

    /// A `NUMBER_ARRAY` pair, as its numbers.
    #[inline]
    pub fn numbers(&mut self, p: &Pair<'_>) -> Option<impl ExactSizeIterator<Item = u64> + 'a> {
        if p.code != Type::NumberArray as u8
            || p.nitems == 0
            || p.nitems.checked_mul(8) != Some(p.datasize)
        {
            return None;
        }
        Some(self.take(p.datasize)?.chunks_exact(8).map(u64_le))
    }

    /// A `BOOL_ARRAY` pair.
    pub fn bools(&mut self, p: &Pair<'_>) -> Option<Vec<bool>> {
        if p.code != Type::BoolArray as u8 || p.nitems == 0 || p.datasize != p.nitems {
            return None;
        }
        self.take(p.datasize)?
            .iter()
            .map(|&b| match b {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })
            .collect()
    }

    /// Enters an `NVLIST` pair: its pairs follow, then [`Item::Close`].
    #[inline]
    pub fn begin_list(&mut self, p: &Pair<'_>) -> Option<()> {
        if p.code != Type::NvList as u8 || p.nitems != 0 || p.datasize == 0 {
            return None;
        }
        self.closers.push(wire::NVLIST_UP)?;
        self.list_header()
    }

    /// Enters an `NVLIST_ARRAY` pair; returns its length. Each element
    /// starts with [`Reader::begin_element`] and ends with [`Item::Close`].
    #[inline]
    pub fn begin_array(&mut self, p: &Pair<'_>) -> Option<usize> {
        let fits = p
            .nitems
            .checked_mul(PAIR_HEADER as u64)
            .is_some_and(|n| n <= self.left());
        if p.code != Type::NvListArray as u8 || p.nitems == 0 || !fits {
            return None;
        }
        usize::try_from(p.nitems).ok()
    }

    /// Enters the next element of the array being read.
    #[inline]
    pub fn begin_element(&mut self) -> Option<()> {
        self.closers.push(wire::NVLIST_ARRAY_NEXT)?;
        self.list_header()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Flags, NvList};

    /// Reads every pair of a flat list of numbers.
    fn numbers(bytes: &[u8]) -> Option<Vec<(Vec<u8>, u64)>> {
        let mut r = Reader::new(bytes)?;
        let mut out = Vec::new();
        loop {
            match r.item()? {
                Item::Close => return Some(out),
                Item::Pair(p) => {
                    let n = r.number(&p)?;
                    out.push((p.name.to_vec(), n));
                }
            }
        }
    }

    #[test]
    fn reads_what_pack_writes() {
        let nv = NvList::new().with("a", 1u64).with("b", 2u64);
        assert_eq!(
            numbers(&nv.pack()),
            Some(vec![(b"a".to_vec(), 1), (b"b".to_vec(), 2)])
        );
    }

    #[test]
    fn gives_up_on_flags_trailing_bytes_and_truncation() {
        let mut nv = NvList::with_flags(Flags::IGNORE_CASE);
        nv.insert("a", 1u64);
        assert_eq!(numbers(&nv.pack()), None);
        let mut bytes = NvList::new().with("a", 1u64).pack();
        bytes.push(0);
        assert_eq!(numbers(&bytes), None);
        bytes.truncate(bytes.len() - 2);
        assert_eq!(numbers(&bytes), None);
    }

    #[test]
    fn closes_nested_lists_in_order() {
        let inner = NvList::new().with("x", 1u64);
        let bytes = NvList::new().with("l", inner).pack();
        let mut r = Reader::new(&bytes).unwrap();
        let Some(Item::Pair(p)) = r.item() else {
            panic!("a pair")
        };
        r.begin_list(&p).unwrap();
        let Some(Item::Pair(p)) = r.item() else {
            panic!("a pair")
        };
        assert_eq!(r.number(&p), Some(1));
        // The NVLIST_UP marker closes the nested list, then the input ends.
        assert!(matches!(r.item(), Some(Item::Close)));
        assert!(matches!(r.item(), Some(Item::Close)));
    }

    #[test]
    fn gives_up_on_a_marker_that_closes_nothing() {
        let inner = NvList::new().with("x", 1u64);
        let bytes = NvList::new().with("l", inner).pack();
        let mut r = Reader::new(&bytes).unwrap();
        let Some(Item::Pair(p)) = r.item() else {
            panic!("a pair")
        };
        // Read the nested list's header as if it were data: the pairs that
        // follow end with an NVLIST_UP that closes no open list.
        assert!(r.take(p.datasize.min(LIST_HEADER as u64)).is_some());
        assert!(matches!(r.item(), Some(Item::Pair(_))));
        assert!(r.take(8).is_some());
        assert!(r.item().is_none());
    }
}
