//! The walk that checks a packed nvlist: every rule of the wire format
//! that [`NvList::unpack`](crate::NvList::unpack) enforces is decided here,
//! and only here.
//!
//! Two consumers drive it through [`Visit`]: the tree decoder
//! (`decode.rs`), which builds an [`NvList`](crate::NvList), and the
//! borrowed view (`view.rs`), which records where each pair is. Neither
//! checks anything itself, so both accept exactly the same inputs and
//! refuse the others with the same rule, byte offset and pair path. Add a
//! rule here, never in a consumer.
//!
//! The walk is one pass with an explicit stack of open lists, so it is
//! linear in the input (libnv's duplicate check makes its own unpack
//! quadratic) and deep nesting cannot exhaust the call stack. Every length
//! is checked against the bytes left before a consumer sees it, and the
//! memory a decoded tree would take is counted against
//! [`DecodeOptions::max_expansion`] before the pair is handed on, so no
//! consumer reserves more than the input justifies.
//!
//! Stricter than libnv, because libnv's laxness there can only come from
//! corruption: nested headers must use the top-level byte order; markers
//! must be empty; `NVLIST_UP` closes only a nested list and
//! `NVLIST_ARRAY_NEXT` only an array element; the input must end with every
//! list closed and every array complete; bool-array bytes must be 0 or 1.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use crate::error::{DecodeRule, Error, Result};
use crate::value::{Flags, NvList, NvString, Type, Value};
use crate::wire::{self, LIST_HEADER, PAIR_HEADER};

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

/// Names a list holds before the duplicate check moves them to a hash set.
const SMALL: usize = 32;

/// Memory of one pair of a list, value inline.
const PAIR_COST: u64 = std::mem::size_of::<(NvString, Value)>() as u64;
/// Memory of one string of a string array, before its bytes.
const STRING_COST: u64 = std::mem::size_of::<NvString>() as u64;
/// Memory of one element of an nvlist array, before its pairs.
const LIST_COST: u64 = std::mem::size_of::<NvList>() as u64;

/// A checked pair name.
#[derive(Clone, Copy)]
pub(crate) struct Name<'a> {
    /// The name, without its NUL; it holds no other NUL.
    pub bytes: &'a [u8],
    /// The input from the name on, for [`NvString::from_window`].
    pub window: &'a [u8],
}

/// The checked value of a pair that is not a nested list.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Leaf<'a> {
    Null,
    Bool(bool),
    Number(u64),
    /// Without its NUL; it holds no other NUL.
    String(&'a [u8]),
    /// At least one byte.
    Binary(&'a [u8]),
    /// At least one byte, each 0 or 1.
    BoolArray(&'a [u8]),
    /// At least one number, eight bytes each in the input's byte order.
    NumberArray(&'a [u8]),
    /// At least one string, each ended by one NUL, filling the bytes.
    StringArray(&'a [u8]),
}

/// What a consumer does with each checked item, in input order.
pub(crate) trait Visit<'a> {
    /// What the consumer keeps for each open list, handed back when the
    /// list closes.
    type Open;
    /// The top-level list opens; `big_endian` is the input's byte order.
    fn root(&mut self, flags: Flags, big_endian: bool);
    /// A pair of the innermost open list, not a nested list.
    fn leaf(&mut self, name: Name<'a>, value: Leaf<'a>);
    /// An `NVLIST` pair: its list opens, its pairs follow.
    fn begin_list(&mut self, name: Name<'a>, flags: Flags) -> Self::Open;
    /// The list opened by `begin_list` closes.
    fn end_list(&mut self, open: Self::Open);
    /// An `NVLIST_ARRAY` pair of `len` elements: the first element opens.
    fn begin_array(&mut self, name: Name<'a>, len: usize, flags: Flags) -> Self::Open;
    /// An element closes and the next one, with `flags`, opens.
    fn next_element(&mut self, open: &mut Self::Open, flags: Flags);
    /// The last element of the array closes.
    fn end_array(&mut self, open: Self::Open);
}

/// Walks `input`, which must hold exactly one packed nvlist, handing every
/// item to `visit`; returns the top-level list's flags.
pub(crate) fn scan<'a, V: Visit<'a>>(
    input: &'a [u8],
    options: &DecodeOptions,
    visit: &mut V,
) -> Result<Flags> {
    walk(input, options, visit, true)
}

/// [`scan`], with or without the fast path for plain leaves.
fn walk<'a, V: Visit<'a>>(
    input: &'a [u8],
    options: &DecodeOptions,
    visit: &mut V,
    fast: bool,
) -> Result<Flags> {
    if input.len() as u64 > options.max_size {
        let rule = DecodeRule::TooLarge {
            limit: options.max_size,
        };
        return Err(Error::decode(0, String::new(), rule));
    }
    // The byte order is a parameter of the walk, not a test on every
    // field read. A header too short to hold the flag fails as truncated
    // in either order.
    let big_endian = input
        .get(2)
        .is_some_and(|&flags| flags & wire::FLAG_BIG_ENDIAN != 0);
    if big_endian {
        Scanner::<V::Open, true>::new(input, options, fast).run(visit)
    } else {
        Scanner::<V::Open, false>::new(input, options, fast).run(visit)
    }
}

/// Whether `bytes` holds a NUL. Names and most strings are a few bytes
/// long, where testing eight bytes per step beats `contains` (a call to
/// `memchr`) by about a quarter of the decode time of the 18 KB benchmark
/// state.
#[inline(always)]
#[allow(clippy::manual_contains)]
pub(crate) fn has_nul(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if has_zero_byte(u64::from_le_bytes(word)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == 0)
}

/// How an open nested list is closed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The value of an `NVLIST` pair: closed by `NVLIST_UP`.
    Up,
    /// Element `index` of an `NVLIST_ARRAY` pair of `total` elements:
    /// closed by `NVLIST_ARRAY_NEXT`.
    Element { index: usize, total: usize },
}

/// The names of an open list, for the duplicate rule. They live on the
/// scanner's shared `seen` stack from `seen_start` on.
struct Names<'a> {
    flags: Flags,
    seen_start: usize,
    /// One bit per name seen, chosen by its fingerprint: a name whose bit
    /// is clear is new, without a scan. Device state's lists hold 5 to 30
    /// names, so most names are told new here.
    bloom: u64,
    /// Whether the list's names are unique and case-sensitive and still
    /// few: the fast path of the duplicate check.
    exact_scan: bool,
    /// The names of a long list, once the linear scan would cost too much.
    /// Boxed: few lists have one, and every open list's names are moved
    /// in and out of its frame, which the set's 48 bytes would double.
    #[allow(clippy::box_collection)]
    set: Option<Box<HashSet<Key<'a>>>>,
}

impl Names<'_> {
    fn new(flags: Flags, seen_start: usize) -> Self {
        Names {
            flags,
            seen_start,
            bloom: 0,
            exact_scan: !flags.contains(Flags::NO_UNIQUE) && !flags.contains(Flags::IGNORE_CASE),
            set: None,
        }
    }
}

/// An open nested list.
struct Frame<'a, O> {
    /// The names of the list that holds this one, while this one is read.
    parent: Names<'a>,
    /// The name of the pair that holds the list, for error paths.
    name: &'a [u8],
    kind: Kind,
    open: O,
}

/// What a pair header's type code says comes next.
#[derive(Clone, Copy)]
enum Code {
    Pair(Type),
    Up,
    Next,
}

/// A pair header, decoded.
struct PairHeader<'a> {
    code: Code,
    name: &'a [u8],
    name_at: usize,
    /// The input from the name on.
    window: &'a [u8],
    datasize: u64,
    nitems: u64,
}

impl<'a> PairHeader<'a> {
    #[inline]
    fn name(&self) -> Name<'a> {
        Name {
            bytes: self.name,
            window: self.window,
        }
    }
}

/// The walk over an input of byte order `BE` (big-endian if true).
struct Scanner<'a, O, const BE: bool> {
    input: &'a [u8],
    pos: usize,
    /// The names of the innermost open list (the top-level list has no
    /// frame, being closed by the end of the input).
    names: Names<'a>,
    /// Open nested lists, innermost last.
    nested: Vec<Frame<'a, O>>,
    seen: Vec<(u64, &'a [u8])>,
    max_depth: u32,
    /// `DecodeOptions::max_expansion`, for the error.
    factor: u64,
    /// Memory the decoded form may still take.
    memory_left: u64,
    /// Whether plain leaves take the fast path (off in tests that
    /// compare the two paths).
    fast: bool,
}

impl<'a, O, const BE: bool> Scanner<'a, O, BE> {
    fn new(input: &'a [u8], options: &DecodeOptions, fast: bool) -> Self {
        Scanner {
            input,
            pos: 0,
            names: Names::new(Flags::NONE, 0),
            nested: Vec::with_capacity(8),
            // Room for a short list's names: most inputs never grow it.
            seen: Vec::with_capacity(SMALL),
            max_depth: options.max_depth,
            factor: options.max_expansion,
            memory_left: (input.len() as u64)
                .saturating_mul(options.max_expansion)
                .saturating_add(MEMORY_ALLOWANCE),
            fast,
        }
    }

    fn run<V: Visit<'a, Open = O>>(mut self, visit: &mut V) -> Result<Flags> {
        let flags = self.list_header(0)?;
        self.names = Names::new(flags, 0);
        visit.root(flags, BE);
        // The position is a local, not `self.pos`, while leaves go by: the
        // next header's address is then a register away from this one's
        // sizes, not a store and a load.
        let mut pos = self.pos;
        while pos < self.input.len() {
            if self.fast {
                if let Some(end) = self.plain_leaf(pos, visit) {
                    pos = end;
                    continue;
                }
            }
            self.pos = pos;
            self.item(visit)?;
            pos = self.pos;
        }
        self.pos = pos;
        if !self.nested.is_empty() {
            return Err(self.error(self.pos, DecodeRule::Unclosed));
        }
        Ok(flags)
    }

    /// The fast path for the pair at `pos`, if it is a valid pair of a
    /// fixed-size or plain-bytes type (no string array, no list, no
    /// marker) with a new name: hands it to `visit` and returns where it
    /// ends. Anything else, valid or not, is left to [`Scanner::item`]
    /// untouched (the duplicate check records the name only once every
    /// other check has passed), so every error still comes from there.
    /// Tests compare the two paths on corrupted input.
    #[inline(always)]
    fn plain_leaf<V: Visit<'a, Open = O>>(&mut self, pos: usize, visit: &mut V) -> Option<usize> {
        let input = self.input;
        let h = input.get(pos..)?.first_chunk::<PAIR_HEADER>()?;
        let namesize = usize::from(self.u16_at([h[1], h[2]]));
        let datasize = self.u64_at(h, 3);
        let nitems = self.u64_at(h, 11);
        let name_at = pos + PAIR_HEADER;
        let data_at = name_at + namesize;
        let (&nul, name) = input.get(name_at..data_at)?.split_last()?;
        let words = NameWords::read(input, data_at - 1, name);
        if nul != 0 || namesize > usize::from(wire::NAME_SIZE_MAX) || words.has_nul {
            return None;
        }
        let end = data_at.checked_add(usize::try_from(datasize).ok()?)?;
        let data = input.get(data_at..end)?;
        let leaf = match Type::from_code(h[0])? {
            Type::Number if nitems == 0 => {
                let word = *data.first_chunk::<8>()?;
                if datasize != 8 {
                    return None;
                }
                Leaf::Number(if BE {
                    u64::from_be_bytes(word)
                } else {
                    u64::from_le_bytes(word)
                })
            }
            Type::Null if nitems == 0 && datasize == 0 => Leaf::Null,
            Type::Bool if nitems == 0 => match data {
                [0] => Leaf::Bool(false),
                [1] => Leaf::Bool(true),
                _ => return None,
            },
            Type::String if nitems == 0 => match data.split_last() {
                Some((0, s)) if !has_nul(s) => Leaf::String(s),
                _ => return None,
            },
            Type::Binary if nitems == 0 && datasize != 0 => Leaf::Binary(data),
            Type::BoolArray
                if nitems != 0 && nitems == datasize && data.iter().all(|&b| b <= 1) =>
            {
                Leaf::BoolArray(data)
            }
            Type::NumberArray if nitems != 0 && nitems.checked_mul(8) == Some(datasize) => {
                Leaf::NumberArray(data)
            }
            _ => return None,
        };
        let cost = PAIR_COST + name.len() as u64 + datasize;
        let memory_left = self.memory_left.checked_sub(cost)?;
        if !self.record_name(name, words.fingerprint) {
            return None;
        }
        self.memory_left = memory_left;
        let name = Name {
            bytes: name,
            window: &input[name_at..],
        };
        visit.leaf(name, leaf);
        Some(end)
    }

    /// The item at `self.pos`, every rule checked in the order that picks
    /// the error.
    #[inline(never)]
    fn item<V: Visit<'a, Open = O>>(&mut self, visit: &mut V) -> Result<()> {
        let start = self.pos;
        let header = self.pair_header()?;
        match header.code {
            Code::Pair(ty) => self.pair(start, ty, header, visit),
            Code::Up => self.close_up(start, &header, visit),
            Code::Next => self.close_element(start, &header, visit),
        }
    }

    #[inline]
    fn left(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Takes `n` bytes, or fails naming the item that starts at `start`.
    #[inline]
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

    /// Takes exactly `N` bytes as an array.
    #[inline(always)]
    fn take_array<const N: usize>(&mut self, start: usize) -> Result<&'a [u8; N]> {
        match self.input[self.pos..].first_chunk::<N>() {
            Some(bytes) => {
                self.pos += N;
                Ok(bytes)
            }
            None => Err(self.truncated(N, start)),
        }
    }

    #[cold]
    fn truncated(&self, n: usize, start: usize) -> Error {
        let left = (self.input.len() - start) as u64;
        let needed = (n + self.pos - start) as u64;
        self.error(start, DecodeRule::Truncated { needed, left })
    }

    #[inline(always)]
    fn u16_at(&self, b: [u8; 2]) -> u16 {
        if BE {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    #[inline(always)]
    fn u64_at(&self, b: &[u8; 19], at: usize) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[at..at + 8]);
        if BE {
            u64::from_be_bytes(word)
        } else {
            u64::from_le_bytes(word)
        }
    }

    /// Reads the header of a list nested in `depth` others.
    fn list_header(&mut self, depth: usize) -> Result<Flags> {
        let start = self.pos;
        let h = self.take_array::<LIST_HEADER>(start)?;
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
        // The top-level header chose `BE`, so only a nested one differs.
        if big_endian != BE {
            return Err(self.error(start + 2, DecodeRule::ByteOrderMismatch));
        }
        let descriptors = self.u64_at(h, 3);
        if descriptors != 0 {
            return Err(self.error(start + 3, DecodeRule::Descriptors(descriptors)));
        }
        let declared = self.u64_at(h, 11);
        let actual = self.left() as u64;
        if declared != actual {
            return Err(self.error(start + 11, DecodeRule::SizeMismatch { declared, actual }));
        }
        if depth > self.max_depth as usize {
            let limit = self.max_depth;
            return Err(self.error(start, DecodeRule::TooDeep { limit }));
        }
        Ok(flags)
    }

    #[inline]
    fn pair_header(&mut self) -> Result<PairHeader<'a>> {
        let start = self.pos;
        let h = self.take_array::<PAIR_HEADER>(start)?;
        let code = h[0];
        let namesize = self.u16_at([h[1], h[2]]);
        let datasize = self.u64_at(h, 3);
        let nitems = self.u64_at(h, 11);
        let code = match Type::from_code(code) {
            Some(Type::Descriptor | Type::DescriptorArray) => {
                return Err(self.error(start, DecodeRule::DescriptorType))
            }
            Some(ty) => Code::Pair(ty),
            None if code == wire::NVLIST_UP => Code::Up,
            None if code == wire::NVLIST_ARRAY_NEXT => Code::Next,
            None => return Err(self.error(start, DecodeRule::UnknownType(code))),
        };
        if namesize == 0 || namesize > wire::NAME_SIZE_MAX {
            return Err(self.error(start + 1, DecodeRule::NameSize(namesize)));
        }
        let name_at = self.pos;
        let window = &self.input[name_at..];
        let raw = self.take(namesize.into(), start)?;
        let (name, nul) = raw.split_at(raw.len() - 1);
        if nul != [0] || has_nul(name) {
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
            window,
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

    /// Pops the innermost open list if `NVLIST_UP` closes it.
    fn pop_list(&mut self) -> Option<Frame<'a, O>> {
        match self.nested.last()?.kind {
            Kind::Up => self.pop(),
            Kind::Element { .. } => None,
        }
    }

    /// Pops the innermost open list if `NVLIST_ARRAY_NEXT` closes it, with
    /// its index and its array's length.
    fn pop_element(&mut self) -> Option<(Frame<'a, O>, usize, usize)> {
        match self.nested.last()?.kind {
            Kind::Element { index, total } => Some((self.pop()?, index, total)),
            Kind::Up => None,
        }
    }

    /// Pops the innermost open list and forgets its names; the names of
    /// the list that holds it are the frame's, to put back or keep.
    fn pop(&mut self) -> Option<Frame<'a, O>> {
        let frame = self.nested.pop()?;
        self.seen.truncate(self.names.seen_start);
        Some(frame)
    }

    fn close_up<V: Visit<'a, Open = O>>(
        &mut self,
        start: usize,
        h: &PairHeader<'_>,
        visit: &mut V,
    ) -> Result<()> {
        self.check_marker(start, h)?;
        let Some(frame) = self.pop_list() else {
            return Err(self.error(start, DecodeRule::UnexpectedUp));
        };
        self.names = frame.parent;
        visit.end_list(frame.open);
        Ok(())
    }

    fn close_element<V: Visit<'a, Open = O>>(
        &mut self,
        start: usize,
        h: &PairHeader<'_>,
        visit: &mut V,
    ) -> Result<()> {
        self.check_marker(start, h)?;
        let Some((mut frame, index, total)) = self.pop_element() else {
            return Err(self.error(start, DecodeRule::UnexpectedArrayNext));
        };
        if index + 1 == total {
            self.names = frame.parent;
            visit.end_array(frame.open);
            return Ok(());
        }
        // The next element's header is read with the array's element
        // closed, so a fault in it names the list that holds the array.
        let flags = self.list_header(self.nested.len() + 1)?;
        visit.next_element(&mut frame.open, flags);
        self.names = Names::new(flags, self.seen.len());
        frame.kind = Kind::Element {
            index: index + 1,
            total,
        };
        self.nested.push(frame);
        Ok(())
    }

    /// Records a name of the innermost list; false if the list already has
    /// it and must not. Small lists scan a vector of cheap fingerprints
    /// (where the bloom bits say a name may be there); long ones switch to
    /// a hash set of std's keyed SipHash, so that hostile names cannot be
    /// made to collide and turn this quadratic.
    /// `exact` is the name's [`NameWords::fingerprint`].
    #[inline(always)]
    fn record_name(&mut self, name: &'a [u8], exact: u64) -> bool {
        let names = &mut self.names;
        // The common case, a short unique list of case-sensitive names,
        // inline; the others in `record_name_slow`.
        if names.exact_scan {
            let fp = exact;
            let bit = bloom_bit(fp);
            let seen = &self.seen[names.seen_start..];
            if names.bloom & bit != 0 && seen.iter().any(|&(f, s)| f == fp && s == name) {
                return false;
            }
            if seen.len() < SMALL {
                names.bloom |= bit;
                self.seen.push((fp, name));
                return true;
            }
        }
        self.record_name_slow(name, exact)
    }

    #[inline(never)]
    fn record_name_slow(&mut self, name: &'a [u8], exact: u64) -> bool {
        let names = &mut self.names;
        if names.flags.contains(Flags::NO_UNIQUE) {
            return true;
        }
        let key = Key {
            name,
            fold: names.flags.contains(Flags::IGNORE_CASE),
        };
        if let Some(set) = &mut names.set {
            return set.insert(key);
        }
        let fp = if key.fold {
            folded_fingerprint(name)
        } else {
            exact
        };
        let bit = bloom_bit(fp);
        let seen = &self.seen[names.seen_start..];
        if names.bloom & bit != 0 && seen.iter().any(|&(f, s)| f == fp && key.same(s)) {
            return false;
        }
        names.bloom |= bit;
        if seen.len() < SMALL {
            self.seen.push((fp, name));
            return true;
        }
        let fold = key.fold;
        let mut set: HashSet<Key<'a>> = self
            .seen
            .drain(names.seen_start..)
            .map(|(_, name)| Key { name, fold })
            .collect();
        set.insert(key);
        names.set = Some(Box::new(set));
        names.exact_scan = false;
        true
    }

    /// Counts `bytes` of memory against the limit before they are taken.
    #[inline]
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

    #[inline]
    fn pair<V: Visit<'a, Open = O>>(
        &mut self,
        start: usize,
        ty: Type,
        h: PairHeader<'a>,
        visit: &mut V,
    ) -> Result<()> {
        let words = NameWords::read(self.input, h.name_at + h.name.len(), h.name);
        if !self.record_name(h.name, words.fingerprint) {
            return Err(self.pair_error(start, h.name, DecodeRule::DuplicateName));
        }
        // The memory of the pair, its name's bytes and (an upper bound of)
        // its data's; string arrays and list arrays also pay for each
        // element, and a nested list's bytes are paid for by its own
        // pairs. Those three pay once their counts are checked, before
        // anything is reserved for them; the others at once. (The sums
        // cannot overflow: the data size is within the input.)
        let base = PAIR_COST + h.name.len() as u64;
        if !matches!(ty, Type::StringArray | Type::NvList | Type::NvListArray) {
            self.spend(start, h.name, base + h.datasize)?;
        }
        let is_array = matches!(
            ty,
            Type::BoolArray | Type::NumberArray | Type::StringArray | Type::NvListArray
        );
        if is_array && h.nitems == 0 {
            return Err(self.pair_error(start, h.name, DecodeRule::EmptyArray));
        }
        if !is_array && h.nitems != 0 {
            return Err(self.bad_items(start, &h, ty));
        }
        let data_at = self.pos;
        let leaf = match ty {
            Type::Number => {
                if h.datasize != 8 {
                    return Err(self.bad_size(start, &h, ty));
                }
                let b = *self.take_array::<8>(start)?;
                Leaf::Number(if BE {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                })
            }
            Type::Null => {
                if h.datasize != 0 {
                    return Err(self.bad_size(start, &h, ty));
                }
                Leaf::Null
            }
            Type::Bool => {
                if h.datasize != 1 {
                    return Err(self.bad_size(start, &h, ty));
                }
                match self.take_array::<1>(start)? {
                    [0] => Leaf::Bool(false),
                    [1] => Leaf::Bool(true),
                    &[b] => return Err(self.pair_error(data_at, h.name, DecodeRule::BadBool(b))),
                }
            }
            Type::String => {
                if h.datasize == 0 {
                    return Err(self.bad_size(start, &h, ty));
                }
                let raw = self.take(h.datasize, start)?;
                let (s, nul) = raw.split_at(raw.len() - 1);
                if nul != [0] || has_nul(s) {
                    let rule = DecodeRule::StringNotTerminated;
                    return Err(self.pair_error(data_at, h.name, rule));
                }
                Leaf::String(s)
            }
            Type::Binary => {
                if h.datasize == 0 {
                    return Err(self.pair_error(start, h.name, DecodeRule::EmptyBinary));
                }
                Leaf::Binary(self.take(h.datasize, start)?)
            }
            Type::BoolArray => {
                if h.datasize != h.nitems {
                    return Err(self.bad_size(start, &h, ty));
                }
                let raw = self.take(h.datasize, start)?;
                if let Some(i) = raw.iter().position(|&b| b > 1) {
                    let rule = DecodeRule::BadBool(raw[i]);
                    return Err(self.pair_error(data_at + i, h.name, rule));
                }
                Leaf::BoolArray(raw)
            }
            Type::NumberArray => {
                if h.nitems.checked_mul(8) != Some(h.datasize) {
                    return Err(self.bad_size(start, &h, ty));
                }
                Leaf::NumberArray(self.take(h.datasize, start)?)
            }
            Type::StringArray => {
                if h.datasize == 0 || h.nitems > h.datasize {
                    return Err(self.bad_items(start, &h, ty));
                }
                let cost = STRING_COST.saturating_mul(h.nitems);
                self.spend(start, h.name, cost.saturating_add(base + h.datasize))?;
                let raw = self.take(h.datasize, start)?;
                let mut rest = raw;
                for _ in 0..h.nitems {
                    let Some(end) = rest.iter().position(|&b| b == 0) else {
                        let at = data_at + (raw.len() - rest.len());
                        let rule = DecodeRule::StringNotTerminated;
                        return Err(self.pair_error(at, h.name, rule));
                    };
                    rest = &rest[end + 1..];
                }
                if !rest.is_empty() {
                    return Err(self.bad_items(start, &h, ty));
                }
                Leaf::StringArray(raw)
            }
            Type::NvList => {
                if h.datasize == 0 {
                    return Err(self.bad_size(start, &h, ty));
                }
                self.spend(start, h.name, base)?;
                let flags = self.list_header(self.nested.len() + 1)?;
                let open = visit.begin_list(h.name(), flags);
                self.push(h.name, Kind::Up, flags, open);
                return Ok(());
            }
            Type::NvListArray => {
                // libnv's bound: every element needs at least a header.
                let fits = h
                    .nitems
                    .checked_mul(PAIR_HEADER as u64)
                    .is_some_and(|n| n <= self.left() as u64);
                if !fits {
                    return Err(self.bad_items(start, &h, ty));
                }
                self.spend(start, h.name, base + LIST_COST * h.nitems)?;
                // Fits in the input, so in a usize.
                let total = h.nitems as usize;
                let flags = self.list_header(self.nested.len() + 1)?;
                let open = visit.begin_array(h.name(), total, flags);
                self.push(h.name, Kind::Element { index: 0, total }, flags, open);
                return Ok(());
            }
            // Refused by `pair_header`.
            Type::Descriptor | Type::DescriptorArray => {
                return Err(self.error(start, DecodeRule::DescriptorType))
            }
        };
        visit.leaf(h.name(), leaf);
        Ok(())
    }

    fn push(&mut self, name: &'a [u8], kind: Kind, flags: Flags, open: O) {
        let names = Names::new(flags, self.seen.len());
        self.nested.push(Frame {
            parent: std::mem::replace(&mut self.names, names),
            name,
            kind,
            open,
        });
    }

    #[cold]
    fn bad_size(&self, start: usize, h: &PairHeader<'_>, ty: Type) -> Error {
        let rule = DecodeRule::BadDataSize {
            ty,
            datasize: h.datasize,
        };
        self.pair_error(start, h.name, rule)
    }

    #[cold]
    fn bad_items(&self, start: usize, h: &PairHeader<'_>, ty: Type) -> Error {
        let rule = DecodeRule::BadItemCount {
            ty,
            nitems: h.nitems,
        };
        self.pair_error(start, h.name, rule)
    }

    /// The path of the list being read: `l1.l2`, `lists[2]`, names quoted
    /// as value paths quote them.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.nested {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&crate::path::quote_str(&String::from_utf8_lossy(
                frame.name,
            )));
            if let Kind::Element { index, .. } = frame.kind {
                path.push_str(&format!("[{index}]"));
            }
        }
        path
    }

    #[cold]
    fn error(&self, offset: usize, rule: DecodeRule) -> Error {
        Error::decode(offset, self.path(), rule)
    }

    #[cold]
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
    #[inline]
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

/// The bloom bit of a fingerprint: six of its bits, well mixed.
#[inline(always)]
fn bloom_bit(fp: u64) -> u64 {
    1 << (fp.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// A fingerprint of a name in a list whose names fold: the length and
/// the first and last eight bytes, lower-cased. Equal names have equal
/// fingerprints, most others do not.
fn folded_fingerprint(name: &[u8]) -> u64 {
    let mut v = name.len() as u64;
    for &b in name.iter().take(8).chain(name.iter().rev().take(8)) {
        v = v.rotate_left(8) ^ u64::from(b.to_ascii_lowercase());
    }
    v
}

/// What two word loads tell about a name: whether it holds a NUL, and a
/// fingerprint (equal names have equal fingerprints, most others do not).
///
/// A name of up to 16 bytes is read as the two words that end where it
/// ends, the bytes before it (the pair header, always there) masked off:
/// no loop and no branch on its length, whose varying from pair to pair
/// the CPU would mispredict. Longer names take a loop for the NUL test.
struct NameWords {
    has_nul: bool,
    fingerprint: u64,
}

impl NameWords {
    /// The name `name`, which ends at `end` in `input`.
    #[inline(always)]
    fn read(input: &[u8], end: usize, name: &[u8]) -> NameWords {
        let len = name.len();
        if len > 16 {
            let (head, tail) = (name.first_chunk::<8>(), name.last_chunk::<8>());
            let (head, tail) = (
                head.map_or(0, |w| u64::from_le_bytes(*w)),
                tail.map_or(0, |w| u64::from_le_bytes(*w)),
            );
            return NameWords {
                has_nul: has_nul(name),
                fingerprint: head ^ tail.rotate_left(29) ^ len as u64,
            };
        }
        // The sixteen bytes that end with the name; a name at the very
        // start of a buffer (never in a list: a header comes first) is
        // copied there, to read the same.
        let window = end
            .checked_sub(16)
            .and_then(|start| input.get(start..))
            .and_then(|w| w.first_chunk::<16>())
            .copied()
            .unwrap_or_else(|| {
                let mut buf = [0u8; 16];
                buf[16 - len..].copy_from_slice(name);
                buf
            });
        let (head, tail) = window.split_at(8);
        let (head, tail) = (word(head), word(tail));
        // The name's bytes of each word: the last `len` of the sixteen.
        let tail_mask = high_bytes(len.min(8));
        let head_mask = high_bytes(len.saturating_sub(8));
        NameWords {
            has_nul: has_zero_byte(tail | !tail_mask) | has_zero_byte(head | !head_mask),
            fingerprint: (head & head_mask) ^ (tail & tail_mask).rotate_left(29) ^ len as u64,
        }
    }
}

/// Eight bytes as a little-endian word.
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    bytes
        .first_chunk::<8>()
        .map_or(0, |w| u64::from_le_bytes(*w))
}

/// A mask of the `n` (at most 8) most significant bytes of a word: the
/// last `n` of the eight bytes it was loaded from. A table, not a shift,
/// whose count of 64 would need a branch.
#[inline(always)]
fn high_bytes(n: usize) -> u64 {
    const MASKS: [u64; 9] = {
        let mut masks = [0u64; 9];
        let mut n = 1;
        while n <= 8 {
            masks[n] = u64::MAX << (64 - 8 * n);
            n += 1;
        }
        masks
    };
    MASKS[n.min(8)]
}

/// Whether some byte of `v` is zero: the classic test, exact when asking
/// only whether there is one.
#[inline(always)]
fn has_zero_byte(v: u64) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    v.wrapping_sub(LOW) & !v & HIGH != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NvList;

    /// Every item the walk hands over, as text.
    #[derive(Default)]
    struct Events(Vec<String>);

    impl<'a> Visit<'a> for Events {
        type Open = ();
        fn root(&mut self, flags: Flags, big_endian: bool) {
            self.0.push(format!("root {flags:?} {big_endian}"));
        }
        fn leaf(&mut self, name: Name<'a>, value: Leaf<'a>) {
            let window = name.window.get(..name.bytes.len()) == Some(name.bytes);
            self.0.push(format!("{:?} {window} {value:?}", name.bytes));
        }
        fn begin_list(&mut self, name: Name<'a>, flags: Flags) {
            self.0.push(format!("list {:?} {flags:?}", name.bytes));
        }
        fn end_list(&mut self, (): ()) {
            self.0.push("up".into());
        }
        fn begin_array(&mut self, name: Name<'a>, len: usize, flags: Flags) {
            self.0
                .push(format!("array {:?} {len} {flags:?}", name.bytes));
        }
        fn next_element(&mut self, (): &mut (), flags: Flags) {
            self.0.push(format!("next {flags:?}"));
        }
        fn end_array(&mut self, (): ()) {
            self.0.push("end".into());
        }
    }

    fn events(input: &[u8], fast: bool) -> (Result<Flags>, Vec<String>) {
        let mut events = Events::default();
        let result = walk(input, &DecodeOptions::default(), &mut events, fast);
        (result, events.0)
    }

    /// A list with a pair of every type, names of every length class
    /// around the word sizes, and nesting.
    fn sample() -> NvList {
        let inner = NvList::new()
            .with("x", 1u64)
            .with("s", "str")
            .with("12345678", true)
            .with("123456789", ());
        let mut top = NvList::new()
            .with("", 7u64)
            .with("n", ())
            .with("b", vec![1u8, 2])
            .with("nums", vec![1u64, 2, 3])
            .with("bools", vec![true, false])
            .with("strs", vec!["a", ""])
            .with("exactly_sixteen!", 5u64)
            .with("seventeen_bytes_!", 6u64)
            .with("inner", inner.clone())
            .with("arr", vec![inner, NvList::new()]);
        // Names one bit apart, so that a flipped bit makes a duplicate.
        for (name, n) in [("rb", 1u64), ("rc", 2), ("config", 3), ("confif", 4)] {
            top.insert(name, n);
        }
        top
    }

    /// The fast path for plain leaves accepts only what the full checks
    /// accept, hands over the same items, and leaves every error to them:
    /// compared on every truncation and on every byte of the sample set
    /// to values that break each rule.
    #[test]
    fn fast_path_agrees_with_the_full_checks() {
        let bytes = sample().pack();
        let fast = events(&bytes, true);
        assert!(fast.0.is_ok());
        assert_eq!(fast, events(&bytes, false));
        for len in 0..bytes.len() {
            assert_eq!(events(&bytes[..len], true), events(&bytes[..len], false));
        }
        for at in 0..bytes.len() {
            for value in [0, 1, 2, 7, 8, 9, 0x7f, 0x80, 0xfe, 0xff, bytes[at] ^ 1] {
                let mut mutated = bytes.clone();
                mutated[at] = value;
                let (fast, slow) = (events(&mutated, true), events(&mutated, false));
                assert_eq!(fast, slow, "byte {at} set to {value}");
            }
        }
    }

    #[test]
    fn name_words_match_the_bytes_for_every_length() {
        // Names at the end of a buffer of 40 bytes, and copied alone.
        for len in 0..40 {
            let mut buf = vec![0xaa; 40];
            buf.extend((0..len).map(|i| b'a' + i as u8 % 26));
            let end = buf.len();
            let name = buf[40..].to_vec();
            let in_place = NameWords::read(&buf, end, &name);
            let alone = NameWords::read(&name, len, &name);
            assert!(!in_place.has_nul && !alone.has_nul, "len {len}");
            assert_eq!(in_place.fingerprint, alone.fingerprint, "len {len}");
            for at in 0..len {
                let mut with_nul = buf.clone();
                with_nul[40 + at] = 0;
                let words = NameWords::read(&with_nul, end, &with_nul[40..]);
                assert!(words.has_nul, "len {len}, NUL at {at}");
            }
        }
    }

    #[test]
    fn high_bytes_masks_the_last_bytes_loaded() {
        assert_eq!(high_bytes(0), 0);
        assert_eq!(high_bytes(1), 0xff00_0000_0000_0000);
        assert_eq!(high_bytes(8), u64::MAX);
        assert_eq!(high_bytes(9), u64::MAX);
    }

    #[test]
    fn has_nul_at_every_position() {
        for len in 0..20 {
            let clean: Vec<u8> = (0..len).map(|i| 0x80 | i as u8).collect();
            assert!(!has_nul(&clean));
            for at in 0..len {
                let mut bytes = clean.clone();
                bytes[at] = 0;
                assert!(has_nul(&bytes), "len {len}, NUL at {at}");
            }
        }
        assert!(!has_nul(&[0x01; 9]));
        assert!(!has_nul(&[0xff; 16]));
    }
}
