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
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            max_depth: 256,
            max_size: 1 << 30,
        }
    }
}

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
        max_depth: options.max_depth,
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

struct Frame<'a> {
    list: NvList,
    names: Names<'a>,
    close: Close,
}

/// A pair header, decoded.
struct PairHeader<'a> {
    code: u8,
    name: &'a [u8],
    datasize: u64,
    nitems: u64,
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    big_endian: bool,
    stack: Vec<Frame<'a>>,
    max_depth: u32,
}

impl<'a> Decoder<'a> {
    fn run(mut self) -> Result<NvList> {
        let flags = self.list_header(true)?;
        self.stack.push(Frame::new(flags, Close::Root));
        while self.pos < self.input.len() {
            let start = self.pos;
            let header = self.pair_header()?;
            match header.code {
                wire::NVLIST_UP => self.close_up(start, &header)?,
                wire::NVLIST_ARRAY_NEXT => self.close_element(start, &header)?,
                code => self.pair(start, code, header)?,
            }
        }
        let end = self.pos;
        let frame = self.stack.pop().expect("the root frame is never popped");
        match frame.close {
            Close::Root => Ok(frame.list),
            _ => Err(self.error(end, DecodeRule::Unclosed)),
        }
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
        let frame = self.stack.pop().expect("checked above");
        let Close::Up { name } = frame.close else {
            unreachable!("checked above")
        };
        self.top()
            .list
            .push_unchecked(name, Value::NvList(frame.list));
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
        let frame = self.stack.pop().expect("checked above");
        let Close::Element {
            name,
            mut done,
            total,
        } = frame.close
        else {
            unreachable!("checked above")
        };
        done.push(frame.list);
        if done.len() < total {
            self.open_element(name, done, total)
        } else {
            self.top()
                .list
                .push_unchecked(name, Value::NvListArray(done));
            Ok(())
        }
    }

    fn open_element(&mut self, name: NvString, done: Vec<NvList>, total: usize) -> Result<()> {
        let flags = self.list_header(false)?;
        let close = Close::Element { name, done, total };
        self.stack.push(Frame::new(flags, close));
        Ok(())
    }

    fn top(&mut self) -> &mut Frame<'a> {
        self.stack
            .last_mut()
            .expect("the root frame is never popped")
    }

    fn pair(&mut self, start: usize, code: u8, h: PairHeader<'a>) -> Result<()> {
        let ty = Type::from_code(code).expect("checked by pair_header");
        if !self.top().names.insert(h.name) {
            return Err(self.pair_error(start, h.name, DecodeRule::DuplicateName));
        }
        let name = NvString::from(h.name);
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
                Value::Binary(self.take(h.datasize, start)?.to_vec())
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
                let flags = self.list_header(false)?;
                self.stack.push(Frame::new(flags, Close::Up { name }));
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
                let total = h.nitems as usize;
                return self.open_element(name, Vec::with_capacity(total.min(64)), total);
            }
            Type::Descriptor | Type::DescriptorArray => unreachable!("refused by pair_header"),
        };
        self.top().list.push_unchecked(name, value);
        Ok(())
    }

    /// The path of the list being read: `l1.l2`, `lists[2]`.
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
            path.push_str(&name.to_string_lossy());
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
        path.push_str(&String::from_utf8_lossy(name));
        Error::decode(offset, path, rule)
    }
}

impl<'a> Frame<'a> {
    fn new(flags: Flags, close: Close) -> Frame<'a> {
        Frame {
            list: NvList::with_flags(flags),
            names: Names::new(flags),
            close,
        }
    }
}

/// The names seen in one list, to refuse duplicates in linear time.
/// Small lists scan a vector; from `SMALL` names on, a hash set takes over.
struct Names<'a> {
    unique: bool,
    fold: bool,
    seen: Vec<&'a [u8]>,
    set: HashSet<Key<'a>>,
}

/// A name compared as its list compares names.
struct Key<'a> {
    name: &'a [u8],
    fold: bool,
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.fold {
            self.name.eq_ignore_ascii_case(other.name)
        } else {
            self.name == other.name
        }
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.name.len());
        for &b in self.name {
            state.write_u8(if self.fold { b.to_ascii_lowercase() } else { b });
        }
    }
}

impl<'a> Names<'a> {
    const SMALL: usize = 16;

    fn new(flags: Flags) -> Names<'a> {
        Names {
            unique: !flags.contains(Flags::NO_UNIQUE),
            fold: flags.contains(Flags::IGNORE_CASE),
            seen: Vec::new(),
            set: HashSet::new(),
        }
    }

    /// Records `name`; false if the list already has it and must not.
    fn insert(&mut self, name: &'a [u8]) -> bool {
        if !self.unique {
            return true;
        }
        let fold = self.fold;
        if self.seen.len() < Self::SMALL {
            let dup = self
                .seen
                .iter()
                .any(|s| Key { name: s, fold } == Key { name, fold });
            if !dup {
                self.seen.push(name);
            }
            return !dup;
        }
        if self.set.is_empty() {
            self.set
                .extend(self.seen.iter().map(|&name| Key { name, fold }));
        }
        self.set.insert(Key { name, fold })
    }
}
