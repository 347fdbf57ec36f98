//! Unpacking: everything libnv's `nvlist_unpack` accepts that a file can
//! hold, checked by every rule libnv checks and a few it does not.
//!
//! The decoder walks the buffer once with an explicit stack of open lists,
//! so it is linear in the input (libnv's duplicate check makes its own
//! unpack quadratic) and deep nesting cannot exhaust the call stack. No
//! allocation is larger than the bytes that justify it: every length is
//! checked against the bytes left before anything is reserved.
//!
//! Stricter than libnv, because libnv's laxness there can only come from
//! corruption: nested headers must use the top-level byte order; markers
//! must be empty; `NVLIST_UP` closes only a nested list and
//! `NVLIST_ARRAY_NEXT` only an array element; the input must end with every
//! list closed and every array complete; bool-array bytes must be 0 or 1.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use super::value::{Flags, NvList, NvString, Type, Value};
use super::wire::{self, LIST_HEADER, PAIR_HEADER};
use crate::error::{DecodeRule, Error, Result};

/// Limits that bound the work and memory of one decode.
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions {
    /// Deepest nesting of lists accepted (the top-level list is depth 0).
    pub max_depth: u32,
    /// Largest input accepted, in bytes.
    pub max_size: u64,
    /// Most bytes of memory the decoded list may take per packed byte
    /// (beyond a fixed allowance of [`MEMORY_ALLOWANCE`]). Pairs and
    /// numbers take about 2.5; a string array's element takes 24 bytes
    /// however short it is, so a packed array of empty strings, a byte
    /// each, is what this limit refuses (one-byte strings, 13 bytes a
    /// packed byte, pass).
    pub max_expansion: u64,
}

/// Memory any decoded list may take whatever its packed size.
pub const MEMORY_ALLOWANCE: u64 = 1 << 16;

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            max_depth: 256,
            max_size: 1 << 30,
            max_expansion: 16,
        }
    }
}

/// Memory of one pair of a list, value inline.
const PAIR_COST: u64 = std::mem::size_of::<(NvString, Value)>() as u64;
/// Memory of one string of a string array, before its bytes.
const STRING_COST: u64 = std::mem::size_of::<NvString>() as u64;
/// Memory of one element of an nvlist array, before its pairs.
const LIST_COST: u64 = std::mem::size_of::<NvList>() as u64;

/// Unpacks a buffer holding exactly one packed nvlist.
pub fn unpack(input: &[u8], options: &DecodeOptions) -> Result<NvList> {
    if input.len() as u64 > options.max_size {
        return Err(Error::decode(
            0,
            String::new(),
            DecodeRule::TooLarge {
                limit: options.max_size,
            },
        ));
    }
    Decoder {
        input,
        pos: 0,
        big_endian: false,
        stack: Vec::new(),
        pairs: Vec::new(),
        seen: Vec::new(),
        max_depth: options.max_depth,
        factor: options.max_expansion,
        memory_left: (input.len() as u64)
            .saturating_mul(options.max_expansion)
            .saturating_add(MEMORY_ALLOWANCE),
    }
    .run()
}

/// How an open list is closed, and where it goes when it is.
enum Close {
    /// The top-level list: closed by the end of the input.
    Root,
    /// The value of an `NVLIST` pair: closed by `NVLIST_UP`.
    Up { name: NvString },
    /// Element `done.len()` of an `NVLIST_ARRAY` pair of `total` items:
    /// closed by `NVLIST_ARRAY_NEXT`.
    Element {
        name: NvString,
        done: Vec<NvList>,
        total: usize,
    },
}

/// An open list. Its pairs and the names seen so far live on the
/// decoder's shared stacks from `pairs_start` and `seen_start` on, so that
/// closing it allocates its pair vector once, at its exact size.
struct Frame<'a> {
    flags: Flags,
    pairs_start: usize,
    seen_start: usize,
    /// The names of a long list, once the linear scan would cost too much.
    set: Option<HashSet<Key<'a>>>,
    close: Close,
}

/// A pair header, decoded.
struct PairHeader<'a> {
    code: u8,
    name: &'a [u8],
    name_at: usize,
    datasize: u64,
    nitems: u64,
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    big_endian: bool,
    stack: Vec<Frame<'a>>,
    pairs: Vec<(NvString, Value)>,
    seen: Vec<(u64, &'a [u8])>,
    max_depth: u32,
    /// `DecodeOptions::max_expansion`, for the error.
    factor: u64,
    /// Memory the decoded form may still take.
    memory_left: u64,
}

impl<'a> Decoder<'a> {
    fn run(mut self) -> Result<NvList> {
        let flags = self.list_header(true)?;
        self.open(flags, Close::Root);
        while self.pos < self.input.len() {
            let start = self.pos;
            let header = self.pair_header()?;
            match header.code {
                wire::NVLIST_UP => self.close_up(start, &header)?,
                wire::NVLIST_ARRAY_NEXT => self.close_element(start, &header)?,
                code => self.pair(start, code, header)?,
            }
        }
        if !matches!(self.stack.last().map(|f| &f.close), Some(Close::Root)) {
            return Err(self.error(self.pos, DecodeRule::Unclosed));
        }
        Ok(self.close().0)
    }

    fn left(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Takes `n` bytes, or fails naming the item that starts at `start`.
    fn take(&mut self, n: u64, start: usize) -> Result<&'a [u8]> {
        if n > self.left() as u64 {
            let left = (self.input.len() - start) as u64;
            let needed = n + (self.pos - start) as u64;
            return Err(self.error(start, DecodeRule::Truncated { needed, left }));
        }
        let bytes = &self.input[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(bytes)
    }

    fn u16_at(&self, b: &[u8]) -> u16 {
        let b = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u64_at(&self, b: &[u8]) -> u64 {
        let b: [u8; 8] = b[..8].try_into().expect("8 bytes");
        if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    }

    /// Reads a list header. The top-level one sets the byte order.
    fn list_header(&mut self, top: bool) -> Result<Flags> {
        let start = self.pos;
        let h = self.take(LIST_HEADER as u64, start)?;
        if h[0] != wire::MAGIC {
            return Err(self.error(start, DecodeRule::BadMagic(h[0])));
        }
        if h[1] != wire::VERSION {
            return Err(self.error(start + 1, DecodeRule::BadVersion(h[1])));
        }
        let raw = h[2];
        let big_endian = raw & wire::FLAG_BIG_ENDIAN != 0;
        let Some(flags) = Flags::from_bits(raw & !wire::FLAG_BIG_ENDIAN) else {
            return Err(self.error(start + 2, DecodeRule::UnknownFlags(raw)));
        };
        if top {
            self.big_endian = big_endian;
        } else if big_endian != self.big_endian {
            return Err(self.error(start + 2, DecodeRule::ByteOrderMismatch));
        }
        let descriptors = self.u64_at(&h[3..11]);
        if descriptors != 0 {
            return Err(self.error(start + 3, DecodeRule::Descriptors(descriptors)));
        }
        let declared = self.u64_at(&h[11..19]);
        let actual = self.left() as u64;
        if declared != actual {
            return Err(self.error(start + 11, DecodeRule::SizeMismatch { declared, actual }));
        }
        if self.stack.len() > self.max_depth as usize {
            let limit = self.max_depth;
            return Err(self.error(start, DecodeRule::TooDeep { limit }));
        }
        Ok(flags)
    }

    fn pair_header(&mut self) -> Result<PairHeader<'a>> {
        let start = self.pos;
        let h = self.take(PAIR_HEADER as u64, start)?;
        let code = h[0];
        let namesize = self.u16_at(&h[1..3]);
        let datasize = self.u64_at(&h[3..11]);
        let nitems = self.u64_at(&h[11..19]);
        match Type::from_code(code) {
            Some(Type::Descriptor | Type::DescriptorArray) => {
                return Err(self.error(start, DecodeRule::DescriptorType))
            }
            Some(_) => {}
            None if code == wire::NVLIST_UP || code == wire::NVLIST_ARRAY_NEXT => {}
            None => return Err(self.error(start, DecodeRule::UnknownType(code))),
        }
        if namesize == 0 || namesize > wire::NAME_SIZE_MAX {
            return Err(self.error(start + 1, DecodeRule::NameSize(namesize)));
        }
        let name_at = self.pos;
        let raw = self.take(namesize.into(), start)?;
        let (name, nul) = raw.split_at(raw.len() - 1);
        if nul[0] != 0 || name.contains(&0) {
            return Err(self.error(name_at, DecodeRule::NameNotTerminated));
        }
        if datasize > self.left() as u64 {
            let left = self.left() as u64;
            let rule = DecodeRule::DataSizeTooLarge { datasize, left };
            return Err(self.pair_error(start + 3, name, rule));
        }
        Ok(PairHeader {
            code,
            name,
            name_at,
            datasize,
            nitems,
        })
    }

    fn check_marker(&self, start: usize, h: &PairHeader<'_>) -> Result<()> {
        if !h.name.is_empty() || h.datasize != 0 || h.nitems != 0 {
            return Err(self.error(start, DecodeRule::BadMarker));
        }
        Ok(())
    }

    fn close_up(&mut self, start: usize, h: &PairHeader<'_>) -> Result<()> {
        self.check_marker(start, h)?;
        if !matches!(self.stack.last().map(|f| &f.close), Some(Close::Up { .. })) {
            return Err(self.error(start, DecodeRule::UnexpectedUp));
        }
        let (list, close) = self.close();
        let Close::Up { name } = close else {
            unreachable!("checked above")
        };
        self.pairs.push((name, Value::NvList(list)));
        Ok(())
    }

    fn close_element(&mut self, start: usize, h: &PairHeader<'_>) -> Result<()> {
        self.check_marker(start, h)?;
        if !matches!(
            self.stack.last().map(|f| &f.close),
            Some(Close::Element { .. })
        ) {
            return Err(self.error(start, DecodeRule::UnexpectedArrayNext));
        }
        let (list, close) = self.close();
        let Close::Element {
            name,
            mut done,
            total,
        } = close
        else {
            unreachable!("checked above")
        };
        done.push(list);
        if done.len() < total {
            self.open_element(name, done, total)
        } else {
            self.pairs.push((name, Value::NvListArray(done)));
            Ok(())
        }
    }

    fn open_element(&mut self, name: NvString, done: Vec<NvList>, total: usize) -> Result<()> {
        let flags = self.list_header(false)?;
        self.open(flags, Close::Element { name, done, total });
        Ok(())
    }

    fn open(&mut self, flags: Flags, close: Close) {
        self.stack.push(Frame {
            flags,
            pairs_start: self.pairs.len(),
            seen_start: self.seen.len(),
            set: None,
            close,
        });
    }

    /// Pops the innermost list, moving its pairs off the shared stack.
    fn close(&mut self) -> (NvList, Close) {
        let frame = self.stack.pop().expect("a list is open");
        self.seen.truncate(frame.seen_start);
        let pairs = self.pairs.drain(frame.pairs_start..).collect();
        (NvList::from_parts(frame.flags, pairs), frame.close)
    }

    /// Records a name of the innermost list; false if the list already has
    /// it and must not. Small lists scan a vector of cheap fingerprints;
    /// long ones switch to a hash set of std's keyed SipHash, so that
    /// hostile names cannot be made to collide and turn this quadratic.
    fn record_name(&mut self, name: &'a [u8]) -> bool {
        const SMALL: usize = 32;
        let frame = self.stack.last_mut().expect("a list is open");
        if frame.flags.contains(Flags::NO_UNIQUE) {
            return true;
        }
        let key = Key {
            name,
            fold: frame.flags.contains(Flags::IGNORE_CASE),
        };
        if let Some(set) = &mut frame.set {
            return set.insert(key);
        }
        let fp = fingerprint(name, key.fold);
        let seen = &self.seen[frame.seen_start..];
        if seen.iter().any(|&(f, s)| f == fp && key.same(s)) {
            return false;
        }
        if seen.len() < SMALL {
            self.seen.push((fp, name));
            return true;
        }
        let fold = key.fold;
        let mut set: HashSet<Key<'a>> = self
            .seen
            .drain(frame.seen_start..)
            .map(|(_, name)| Key { name, fold })
            .collect();
        set.insert(key);
        frame.set = Some(set);
        true
    }

    /// Counts `bytes` of memory against the limit before they are taken.
    fn spend(&mut self, start: usize, name: &[u8], bytes: u64) -> Result<()> {
        match self.memory_left.checked_sub(bytes) {
            Some(left) => {
                self.memory_left = left;
                Ok(())
            }
            None => {
                let rule = DecodeRule::TooMuchMemory {
                    factor: self.factor,
                };
                Err(self.pair_error(start, name, rule))
            }
        }
    }

    fn pair(&mut self, start: usize, code: u8, h: PairHeader<'a>) -> Result<()> {
        let ty = Type::from_code(code).expect("checked by pair_header");
        if !self.record_name(h.name) {
            return Err(self.pair_error(start, h.name, DecodeRule::DuplicateName));
        }
        // The pair, its name's bytes, and (an upper bound of) its data's:
        // arrays of strings and lists also pay for each element.
        let per_item = match ty {
            Type::StringArray => STRING_COST,
            Type::NvListArray => LIST_COST,
            _ => 0,
        };
        // A nested list's bytes are paid for by its own pairs.
        let data = match ty {
            Type::NvList | Type::NvListArray => 0,
            _ => h.datasize,
        };
        let cost = PAIR_COST
            .saturating_add(h.name.len() as u64)
            .saturating_add(data)
            .saturating_add(per_item.saturating_mul(h.nitems));
        // Arrays and lists pay once their counts are checked, before
        // anything is reserved for them; the others at once.
        if per_item == 0 && ty != Type::NvList {
            self.spend(start, h.name, cost)?;
        }
        let name = NvString::from_window(&self.input[h.name_at..], h.name.len());
        let bad_size = |d: &Self| {
            d.pair_error(
                start,
                h.name,
                DecodeRule::BadDataSize {
                    ty,
                    datasize: h.datasize,
                },
            )
        };
        let bad_items = |d: &Self| {
            d.pair_error(
                start,
                h.name,
                DecodeRule::BadItemCount {
                    ty,
                    nitems: h.nitems,
                },
            )
        };
        let is_array = matches!(
            ty,
            Type::BoolArray | Type::NumberArray | Type::StringArray | Type::NvListArray
        );
        if is_array && h.nitems == 0 {
            return Err(self.pair_error(start, h.name, DecodeRule::EmptyArray));
        }
        if !is_array && h.nitems != 0 {
            return Err(bad_items(self));
        }
        let data_at = self.pos;
        let value = match ty {
            Type::Null => {
                if h.datasize != 0 {
                    return Err(bad_size(self));
                }
                Value::Null
            }
            Type::Bool => {
                if h.datasize != 1 {
                    return Err(bad_size(self));
                }
                match self.take(1, start)?[0] {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => return Err(self.pair_error(data_at, h.name, DecodeRule::BadBool(b))),
                }
            }
            Type::Number => {
                if h.datasize != 8 {
                    return Err(bad_size(self));
                }
                let b = self.take(8, start)?;
                Value::Number(self.u64_at(b))
            }
            Type::String => {
                if h.datasize == 0 {
                    return Err(bad_size(self));
                }
                let raw = self.take(h.datasize, start)?;
                let (s, nul) = raw.split_at(raw.len() - 1);
                if nul[0] != 0 || s.contains(&0) {
                    let rule = DecodeRule::StringNotTerminated;
                    return Err(self.pair_error(data_at, h.name, rule));
                }
                Value::String(NvString::from(s))
            }
            Type::Binary => {
                if h.datasize == 0 {
                    return Err(self.pair_error(start, h.name, DecodeRule::EmptyBinary));
                }
                Value::Binary(super::copy::to_vec(self.take(h.datasize, start)?))
            }
            Type::BoolArray => {
                if h.datasize != h.nitems {
                    return Err(bad_size(self));
                }
                let raw = self.take(h.datasize, start)?;
                let mut out = Vec::with_capacity(raw.len());
                for (i, &b) in raw.iter().enumerate() {
                    match b {
                        0 | 1 => out.push(b == 1),
                        b => {
                            let rule = DecodeRule::BadBool(b);
                            return Err(self.pair_error(data_at + i, h.name, rule));
                        }
                    }
                }
                Value::BoolArray(out)
            }
            Type::NumberArray => {
                if h.nitems.checked_mul(8) != Some(h.datasize) {
                    return Err(bad_size(self));
                }
                let raw = self.take(h.datasize, start)?;
                let be = self.big_endian;
                let numbers = raw.chunks_exact(8).map(|c| {
                    let c: [u8; 8] = c.try_into().expect("chunks of 8");
                    if be {
                        u64::from_be_bytes(c)
                    } else {
                        u64::from_le_bytes(c)
                    }
                });
                Value::NumberArray(numbers.collect())
            }
            Type::StringArray => {
                if h.datasize == 0 || h.nitems > h.datasize {
                    return Err(bad_items(self));
                }
                self.spend(start, h.name, cost)?;
                let raw = self.take(h.datasize, start)?;
                let mut items = Vec::with_capacity(h.nitems as usize);
                let mut rest = raw;
                for _ in 0..h.nitems {
                    let Some(end) = rest.iter().position(|&b| b == 0) else {
                        let at = data_at + (raw.len() - rest.len());
                        let rule = DecodeRule::StringNotTerminated;
                        return Err(self.pair_error(at, h.name, rule));
                    };
                    items.push(NvString::from(&rest[..end]));
                    rest = &rest[end + 1..];
                }
                if !rest.is_empty() {
                    return Err(bad_items(self));
                }
                Value::StringArray(items)
            }
            Type::NvList => {
                if h.datasize == 0 {
                    return Err(bad_size(self));
                }
                self.spend(start, h.name, cost)?;
                let flags = self.list_header(false)?;
                self.open(flags, Close::Up { name });
                return Ok(());
            }
            Type::NvListArray => {
                // libnv's bound: every element needs at least a header.
                let fits = h
                    .nitems
                    .checked_mul(PAIR_HEADER as u64)
                    .is_some_and(|n| n <= self.left() as u64);
                if !fits {
                    return Err(bad_items(self));
                }
                self.spend(start, h.name, cost)?;
                let total = h.nitems as usize;
                return self.open_element(name, Vec::with_capacity(total.min(64)), total);
            }
            Type::Descriptor | Type::DescriptorArray => unreachable!("refused by pair_header"),
        };
        self.pairs.push((name, value));
        Ok(())
    }

    /// The path of the list being read: `l1.l2`, `lists[2]`, names quoted
    /// as value paths quote them.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            let (name, index) = match &frame.close {
                Close::Root => continue,
                Close::Up { name } => (name, None),
                Close::Element { name, done, .. } => (name, Some(done.len())),
            };
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&crate::path::quote_str(&name.to_string_lossy()));
            if let Some(i) = index {
                path.push_str(&format!("[{i}]"));
            }
        }
        path
    }

    fn error(&self, offset: usize, rule: DecodeRule) -> Error {
        Error::decode(offset, self.path(), rule)
    }

    fn pair_error(&self, offset: usize, name: &[u8], rule: DecodeRule) -> Error {
        let mut path = self.path();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&crate::path::quote_str(&String::from_utf8_lossy(name)));
        Error::decode(offset, path, rule)
    }
}

/// A name compared as its list compares names.
struct Key<'a> {
    name: &'a [u8],
    fold: bool,
}

impl Key<'_> {
    fn same(&self, other: &[u8]) -> bool {
        if self.fold {
            self.name.eq_ignore_ascii_case(other)
        } else {
            self.name == other
        }
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.same(other.name)
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if !self.fold {
            return state.write(self.name);
        }
        let mut buf = [0u8; 64];
        for chunk in self.name.chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
    }
}

/// The length and the first and last eight bytes (lower-cased when names
/// fold): equal names have equal fingerprints, most others do not. Read
/// with whole-word loads, not copies, which the CPU would stall on.
fn fingerprint(name: &[u8], fold: bool) -> u64 {
    let len = name.len() as u64;
    if fold {
        let mut v = len;
        for &b in name.iter().take(8).chain(name.iter().rev().take(8)) {
            v = v.rotate_left(8) ^ u64::from(b.to_ascii_lowercase());
        }
        return v;
    }
    match (name.first_chunk::<8>(), name.last_chunk::<8>()) {
        (Some(head), Some(tail)) => {
            u64::from_le_bytes(*head) ^ u64::from_le_bytes(*tail).rotate_left(29) ^ len
        }
        _ => name.iter().fold(len, |v, &b| v << 8 | u64::from(b)),
    }
}
