//! A checked, borrowed view of a packed nvlist: read its values in place,
//! without building an [`NvList`](crate::NvList).
//!
//! Use [`View::parse`] instead of [`NvList::unpack`](crate::NvList::unpack)
//! whenever the list is only read: it is the same walk (`scan.rs`), so it
//! accepts exactly what `unpack` accepts and refuses the rest with the same
//! error, offset and path, but it allocates one vector instead of a tree,
//! and strings, binaries and arrays stay in the buffer. Use `unpack` to
//! edit a list, to keep it past its buffer, or to pack it again.
//!
//! The vector is a pre-order record of the input: a node for each list
//! (its flags, its number of pairs and where its nodes end) and one for
//! each pair (its name and checked value). A list's pairs are found by
//! skipping from pair to pair over the nodes of the lists nested in it,
//! so a lookup costs the pairs of one list, not those of the whole input.

use std::fmt;
use std::ops::Range;

use crate::error::Result;
use crate::scan::{self, DecodeOptions, Leaf, Name, Visit};
use crate::value::{not_found, utf8, wrong_type};
use crate::{Flags, Type};

/// A packed nvlist, checked as [`NvList::unpack`](crate::NvList::unpack)
/// checks it, read in place.
///
/// ```
/// use snapshot_nvlist::{NvList, View};
///
/// let inner = NvList::new().with("compval", 4096u64);
/// let bytes = NvList::new().with("timers", vec![inner]).pack();
/// let view = View::parse(&bytes)?;
/// let timer = view.root().get_nvlist_array("timers")?.get(0).unwrap();
/// assert_eq!(timer.get_number("compval")?, 4096);
/// # Ok::<(), snapshot_nvlist::Error>(())
/// ```
pub struct View<'a> {
    nodes: Vec<Node<'a>>,
    /// The top-level list's flags and number of pairs (its node is the
    /// first).
    flags: Flags,
    len: usize,
    big_endian: bool,
}

/// One list or pair of the input, in input order.
#[derive(Clone, Copy, Debug)]
enum Node<'a> {
    /// A list: its pairs' nodes follow, up to `end`.
    List {
        flags: Flags,
        len: usize,
        end: usize,
    },
    /// A pair whose value is not a list.
    Leaf { name: &'a [u8], value: Leaf<'a> },
    /// An `NVLIST` pair: its list's node follows, up to `end`.
    ListPair { name: &'a [u8], end: usize },
    /// An `NVLIST_ARRAY` pair: its elements' list nodes follow, one after
    /// the other's end, up to `end`.
    ArrayPair {
        name: &'a [u8],
        len: usize,
        end: usize,
    },
}

impl<'a> Node<'a> {
    /// The name of the pair whose node is `at`, and the node after it
    /// (and after the lists nested in it); `None` for a list's node.
    #[inline]
    fn pair(&self, at: usize) -> Option<(&'a [u8], usize)> {
        match *self {
            Node::Leaf { name, .. } => Some((name, at + 1)),
            Node::ListPair { name, end } | Node::ArrayPair { name, end, .. } => Some((name, end)),
            Node::List { .. } => None,
        }
    }
}

impl<'a> View<'a> {
    /// Checks `bytes`, which must hold exactly one packed nvlist, with the
    /// default [`DecodeOptions`].
    pub fn parse(bytes: &'a [u8]) -> Result<View<'a>> {
        View::parse_with(bytes, &DecodeOptions::default())
    }

    /// Checks `bytes` with explicit limits (the limits of
    /// [`NvList::unpack_with`](crate::NvList::unpack_with), memory
    /// included, so that both accept the same inputs).
    pub fn parse_with(bytes: &'a [u8], options: &DecodeOptions) -> Result<View<'a>> {
        // A pair takes at least 20 packed bytes, and most lists' pairs
        // about 32: one allocation, usually.
        let mut record = Record {
            nodes: Vec::with_capacity(bytes.len() / 32 + 2),
            list: 0,
            len: 0,
            big_endian: false,
        };
        let flags = scan::scan(bytes, options, &mut record)?;
        record.close_list();
        Ok(View {
            nodes: record.nodes,
            flags,
            len: record.len,
            big_endian: record.big_endian,
        })
    }

    /// The top-level list.
    pub fn root(&self) -> ListView<'_> {
        ListView {
            nodes: &self.nodes,
            flags: self.flags,
            len: self.len,
            first: 1,
            end: self.nodes.len(),
            big_endian: self.big_endian,
        }
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.root(), f)
    }
}

/// Builds the nodes as the walk hands over the items.
struct Record<'a> {
    nodes: Vec<Node<'a>>,
    /// The node of the innermost open list.
    list: usize,
    /// The pairs of the innermost open list so far.
    len: usize,
    big_endian: bool,
}

/// What a nested list's parent was doing when the list opened.
struct Open {
    parent: usize,
    parent_len: usize,
    /// The node of the pair that holds the list.
    pair: usize,
}

impl<'a> Record<'a> {
    /// Records the innermost list's length and end.
    fn close_list(&mut self) {
        let end_at = self.nodes.len();
        if let Some(Node::List { len, end, .. }) = self.nodes.get_mut(self.list) {
            *len = self.len;
            *end = end_at;
        }
    }

    /// Records a pair that holds a list, and opens the list.
    fn open(&mut self, pair: Node<'a>, flags: Flags) -> Open {
        let open = Open {
            parent: self.list,
            parent_len: self.len + 1,
            pair: self.nodes.len(),
        };
        self.nodes.push(pair);
        self.open_list(flags);
        open
    }

    fn open_list(&mut self, flags: Flags) {
        self.list = self.nodes.len();
        self.len = 0;
        self.nodes.push(Node::List {
            flags,
            len: 0,
            end: 0,
        });
    }

    fn restore(&mut self, open: &Open) {
        self.list = open.parent;
        self.len = open.parent_len;
    }
}

impl<'a> Visit<'a> for Record<'a> {
    type Open = Open;

    fn root(&mut self, flags: Flags, big_endian: bool) {
        self.big_endian = big_endian;
        self.open_list(flags);
    }

    #[inline(always)]
    fn leaf(&mut self, name: Name<'a>, value: Leaf<'a>) {
        self.len += 1;
        self.nodes.push(Node::Leaf {
            name: name.bytes,
            value,
        });
    }

    fn begin_list(&mut self, name: Name<'a>, flags: Flags) -> Open {
        self.open(
            Node::ListPair {
                name: name.bytes,
                end: 0,
            },
            flags,
        )
    }

    fn end_list(&mut self, open: Open) {
        self.close_list();
        let end_at = self.nodes.len();
        if let Some(Node::ListPair { end, .. }) = self.nodes.get_mut(open.pair) {
            *end = end_at;
        }
        self.restore(&open);
    }

    fn begin_array(&mut self, name: Name<'a>, len: usize, flags: Flags) -> Open {
        let pair = Node::ArrayPair {
            name: name.bytes,
            len,
            end: 0,
        };
        self.open(pair, flags)
    }

    fn next_element(&mut self, _open: &mut Open, flags: Flags) {
        self.close_list();
        self.open_list(flags);
    }

    fn end_array(&mut self, open: Open) {
        self.close_list();
        let end_at = self.nodes.len();
        if let Some(Node::ArrayPair { end, .. }) = self.nodes.get_mut(open.pair) {
            *end = end_at;
        }
        self.restore(&open);
    }
}

/// A list of a [`View`]: its flags and pairs, looked up as
/// [`NvList`](crate::NvList)'s are, with the same errors.
#[derive(Clone, Copy)]
pub struct ListView<'v> {
    nodes: &'v [Node<'v>],
    flags: Flags,
    len: usize,
    /// The node of the first pair, and the node past the last one's.
    first: usize,
    end: usize,
    big_endian: bool,
}

/// The value of a pair of a [`View`], borrowed from the packed bytes.
#[derive(Clone, Copy, Debug)]
pub enum ValueView<'v> {
    /// `NULL`.
    Null,
    /// `BOOL`.
    Bool(bool),
    /// `NUMBER`.
    Number(u64),
    /// `STRING`, without its NUL: bytes, usually but not always UTF-8.
    String(&'v [u8]),
    /// `NVLIST`.
    NvList(ListView<'v>),
    /// `BINARY`: never empty.
    Binary(&'v [u8]),
    /// `BOOL_ARRAY`: never empty.
    BoolArray(Bools<'v>),
    /// `NUMBER_ARRAY`: never empty.
    NumberArray(Numbers<'v>),
    /// `STRING_ARRAY`: never empty.
    StringArray(Strings<'v>),
    /// `NVLIST_ARRAY`: never empty.
    NvListArray(Lists<'v>),
}

impl ValueView<'_> {
    /// The libnv type of this value.
    pub fn ty(&self) -> Type {
        match self {
            ValueView::Null => Type::Null,
            ValueView::Bool(_) => Type::Bool,
            ValueView::Number(_) => Type::Number,
            ValueView::String(_) => Type::String,
            ValueView::NvList(_) => Type::NvList,
            ValueView::Binary(_) => Type::Binary,
            ValueView::BoolArray(_) => Type::BoolArray,
            ValueView::NumberArray(_) => Type::NumberArray,
            ValueView::StringArray(_) => Type::StringArray,
            ValueView::NvListArray(_) => Type::NvListArray,
        }
    }
}

/// Generates the typed getters: each tells "missing" from "wrong type".
macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident -> $ret:ty, $variant:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, name: impl AsRef<[u8]>) -> Result<$ret> {
            let name = name.as_ref();
            match self.get(name) {
                Some(ValueView::$variant(v)) => Ok(v),
                Some(other) => Err(wrong_type(name, Type::$variant, other.ty())),
                None => Err(not_found(name)),
            }
        }
    )*};
}

impl<'v> ListView<'v> {
    /// The list whose node is `at`, if it is a list's.
    fn at(nodes: &'v [Node<'v>], at: usize, big_endian: bool) -> Option<ListView<'v>> {
        match nodes.get(at)? {
            &Node::List { flags, len, end } => Some(ListView {
                nodes,
                flags,
                len,
                first: at + 1,
                end,
                big_endian,
            }),
            _ => None,
        }
    }

    /// The list's flags.
    #[inline]
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// Number of pairs.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no pairs.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in order: names without their NUL, and values.
    #[inline]
    pub fn iter(&self) -> Pairs<'v> {
        Pairs {
            nodes: self.nodes,
            next: self.first,
            end: self.end,
            left: self.len,
            big_endian: self.big_endian,
        }
    }

    /// The value of the first pair called `name`.
    #[inline]
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<ValueView<'v>> {
        let (pairs, at) = self.position(name.as_ref())?;
        pairs.value(at)
    }

    /// The node of the first pair called `name`, and the pairs to read it
    /// with.
    #[inline]
    fn position(&self, name: &[u8]) -> Option<(Pairs<'v>, usize)> {
        let mut pairs = self.iter();
        // The flag is tested once, not per pair.
        let at = if self.flags.contains(Flags::IGNORE_CASE) {
            pairs.next_named_at(|n| n.eq_ignore_ascii_case(name))
        } else {
            pairs.next_named_at(|n| n == name)
        }?;
        Some((pairs, at))
    }

    /// Where the value of the first pair called `name` lies in `packed`,
    /// the bytes this view was parsed from, when it is not a list: the
    /// bytes an edit that keeps the value's type and size writes.
    pub(crate) fn value_range(&self, name: &[u8], packed: &[u8]) -> Option<Range<usize>> {
        let (_, at) = self.position(name)?;
        let Node::Leaf { name, value } = self.nodes[at] else {
            return None;
        };
        // The value follows the name and its NUL.
        let start =
            (name.as_ptr() as usize).checked_sub(packed.as_ptr() as usize)? + name.len() + 1;
        let len = match value {
            Leaf::Null => 0,
            Leaf::Bool(_) => 1,
            Leaf::Number(_) => 8,
            Leaf::String(s) => s.len() + 1,
            Leaf::Binary(d) | Leaf::BoolArray(d) | Leaf::NumberArray(d) | Leaf::StringArray(d) => {
                d.len()
            }
        };
        (start + len <= packed.len()).then_some(start..start + len)
    }

    /// Whether the list's numbers are big-endian.
    pub(crate) fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// Every value called `name`, in order (several only with `NO_UNIQUE`).
    pub fn get_all<'n>(&self, name: &'n [u8]) -> impl Iterator<Item = ValueView<'v>> + 'n
    where
        'v: 'n,
    {
        let fold = self.flags.contains(Flags::IGNORE_CASE);
        let mut pairs = self.iter();
        std::iter::from_fn(move || {
            pairs.next_named(|n| {
                if fold {
                    n.eq_ignore_ascii_case(name)
                } else {
                    n == name
                }
            })
        })
    }

    /// Whether a pair called `name` exists.
    #[inline]
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.get(name).is_some()
    }

    getters! {
        /// The `BOOL` pair called `name`.
        get_bool -> bool, Bool;
        /// The `NUMBER` pair called `name`.
        get_number -> u64, Number;
        /// The `STRING` pair called `name`, as bytes.
        get_string_bytes -> &'v [u8], String;
        /// The `NVLIST` pair called `name`.
        get_nvlist -> ListView<'v>, NvList;
        /// The `BINARY` pair called `name`.
        get_binary -> &'v [u8], Binary;
        /// The `BOOL_ARRAY` pair called `name`.
        get_bool_array -> Bools<'v>, BoolArray;
        /// The `NUMBER_ARRAY` pair called `name`.
        get_number_array -> Numbers<'v>, NumberArray;
        /// The `STRING_ARRAY` pair called `name`.
        get_string_array -> Strings<'v>, StringArray;
        /// The `NVLIST_ARRAY` pair called `name`.
        get_nvlist_array -> Lists<'v>, NvListArray;
    }

    /// The `NULL` pair called `name`.
    pub fn get_null(&self, name: impl AsRef<[u8]>) -> Result<()> {
        let name = name.as_ref();
        match self.get(name) {
            Some(ValueView::Null) => Ok(()),
            Some(other) => Err(wrong_type(name, Type::Null, other.ty())),
            None => Err(not_found(name)),
        }
    }

    /// The `STRING` pair called `name`, which must be UTF-8.
    pub fn get_string(&self, name: impl AsRef<[u8]>) -> Result<&'v str> {
        let name = name.as_ref();
        utf8(name, self.get_string_bytes(name)?)
    }
}

impl fmt::Debug for ListView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs = self.iter().map(|(n, v)| (String::from_utf8_lossy(n), v));
        f.debug_map().entries(pairs).finish()
    }
}

impl<'v> IntoIterator for ListView<'v> {
    type Item = (&'v [u8], ValueView<'v>);
    type IntoIter = Pairs<'v>;
    fn into_iter(self) -> Pairs<'v> {
        self.iter()
    }
}

/// The pairs of a [`ListView`], in order.
#[derive(Clone)]
pub struct Pairs<'v> {
    nodes: &'v [Node<'v>],
    next: usize,
    end: usize,
    left: usize,
    big_endian: bool,
}

impl<'v> Iterator for Pairs<'v> {
    type Item = (&'v [u8], ValueView<'v>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let at = self.next;
        let (name, next) = self.nodes.get(at)?.pair(at)?;
        self.next = next;
        self.left -= 1;
        Some((name, self.value(at)?))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Pairs<'_> {}

impl<'v> Pairs<'v> {
    /// The value of the next pair whose name is `wanted`, the pairs
    /// before it skipped by name alone.
    #[inline]
    fn next_named(&mut self, wanted: impl Fn(&[u8]) -> bool) -> Option<ValueView<'v>> {
        let at = self.next_named_at(wanted)?;
        self.value(at)
    }

    /// The node of the next pair whose name is `wanted`.
    #[inline]
    fn next_named_at(&mut self, wanted: impl Fn(&[u8]) -> bool) -> Option<usize> {
        while self.next < self.end {
            let at = self.next;
            let (name, next) = self.nodes.get(at)?.pair(at)?;
            self.next = next;
            self.left -= 1;
            if wanted(name) {
                return Some(at);
            }
        }
        None
    }

    /// The value of the pair whose node is `at`.
    #[inline]
    fn value(&self, at: usize) -> Option<ValueView<'v>> {
        Some(match *self.nodes.get(at)? {
            Node::Leaf { value, .. } => self.leaf(value),
            Node::ListPair { .. } => {
                ValueView::NvList(ListView::at(self.nodes, at + 1, self.big_endian)?)
            }
            Node::ArrayPair { len, .. } => ValueView::NvListArray(Lists {
                nodes: self.nodes,
                next: at + 1,
                left: len,
                big_endian: self.big_endian,
            }),
            Node::List { .. } => return None,
        })
    }

    #[inline]
    fn leaf(&self, value: Leaf<'v>) -> ValueView<'v> {
        match value {
            Leaf::Null => ValueView::Null,
            Leaf::Bool(b) => ValueView::Bool(b),
            Leaf::Number(n) => ValueView::Number(n),
            Leaf::String(s) => ValueView::String(s),
            Leaf::Binary(b) => ValueView::Binary(b),
            Leaf::BoolArray(a) => ValueView::BoolArray(Bools(a)),
            Leaf::NumberArray(a) => ValueView::NumberArray(Numbers {
                bytes: a,
                big_endian: self.big_endian,
            }),
            Leaf::StringArray(a) => ValueView::StringArray(Strings(a)),
        }
    }
}

/// The elements of an `NVLIST_ARRAY` pair, in order.
#[derive(Clone, Copy)]
pub struct Lists<'v> {
    nodes: &'v [Node<'v>],
    /// The node of the next element.
    next: usize,
    left: usize,
    big_endian: bool,
}

impl<'v> Lists<'v> {
    /// Element `index`, found by skipping the ones before it.
    pub fn get(&self, index: usize) -> Option<ListView<'v>> {
        { *self }.nth(index)
    }
}

impl<'v> Iterator for Lists<'v> {
    type Item = ListView<'v>;

    #[inline]
    fn next(&mut self) -> Option<ListView<'v>> {
        if self.left == 0 {
            return None;
        }
        let list = ListView::at(self.nodes, self.next, self.big_endian)?;
        self.next = list.end;
        self.left -= 1;
        Some(list)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Lists<'_> {}

impl fmt::Debug for Lists<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

/// The items of a `BOOL_ARRAY` pair, in place (each byte checked to be 0
/// or 1).
#[derive(Clone, Copy)]
pub struct Bools<'v>(&'v [u8]);

impl<'v> Bools<'v> {
    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never, for a checked pair).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Item `index`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<bool> {
        self.0.get(index).map(|&b| b == 1)
    }

    /// The items in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = bool> + 'v {
        self.0.iter().map(|&b| b == 1)
    }
}

impl fmt::Debug for Bools<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The items of a `NUMBER_ARRAY` pair, read in place in the list's byte
/// order.
#[derive(Clone, Copy)]
pub struct Numbers<'v> {
    bytes: &'v [u8],
    big_endian: bool,
}

impl<'v> Numbers<'v> {
    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes.len() / 8
    }

    /// Whether there are none (never, for a checked pair).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Item `index`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<u64> {
        let at = index.checked_mul(8)?;
        let word = self.bytes.get(at..)?.first_chunk::<8>()?;
        Some(self.number(*word))
    }

    /// The items in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u64> + 'v {
        let this = *self;
        self.bytes.chunks_exact(8).map(move |c| {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            this.number(word)
        })
    }

    #[inline]
    fn number(&self, word: [u8; 8]) -> u64 {
        if self.big_endian {
            u64::from_be_bytes(word)
        } else {
            u64::from_le_bytes(word)
        }
    }
}

impl fmt::Debug for Numbers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The items of a `STRING_ARRAY` pair, in place: each without its NUL.
#[derive(Clone, Copy)]
pub struct Strings<'v>(&'v [u8]);

impl<'v> Strings<'v> {
    /// Number of items (counted: each ends with the only NUL it holds).
    pub fn len(&self) -> usize {
        self.0.iter().filter(|&&b| b == 0).count()
    }

    /// Whether there are none (never, for a checked pair).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items in order.
    pub fn iter(&self) -> impl Iterator<Item = &'v [u8]> + 'v {
        // Every item ends with a NUL: split the bytes before the last one.
        let body = self.0.strip_suffix(&[0]).unwrap_or(self.0);
        body.split(|&b| b == 0)
    }
}

impl fmt::Debug for Strings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.iter().map(String::from_utf8_lossy);
        f.debug_list().entries(items).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/nvlist.md gives the view's memory as 40 bytes a node.
    #[test]
    fn a_node_takes_40_bytes() {
        assert_eq!(std::mem::size_of::<Node<'_>>(), 40);
    }
}
