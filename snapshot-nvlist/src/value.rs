//! The value tree: [`NvList`], [`Value`], [`NvString`], [`Flags`], [`Type`].
//!
//! An [`NvList`] can only hold what libnv can pack: every way in
//! ([`NvList::try_insert`], [`NvList::try_push`], the decoder, the text
//! parser, serde) checks the pair first, so [`NvList::pack`] cannot fail.

use std::fmt;

pub use super::string::NvString;
use crate::error::{Error, ErrorKind, InvalidPair, Result};

/// Longest name libnv accepts, in bytes, without the terminating NUL.
pub const NAME_MAX: usize = 2047;

/// The type of a pair, with libnv's numeric codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Type {
    /// `NV_TYPE_NULL`: a name with no value.
    Null = 1,
    /// `NV_TYPE_BOOL`.
    Bool = 2,
    /// `NV_TYPE_NUMBER`: an unsigned 64-bit integer.
    Number = 3,
    /// `NV_TYPE_STRING`: bytes without NUL.
    String = 4,
    /// `NV_TYPE_NVLIST`: a nested list.
    NvList = 5,
    /// `NV_TYPE_DESCRIPTOR`: recognised, never stored.
    Descriptor = 6,
    /// `NV_TYPE_BINARY`: at least one byte.
    Binary = 7,
    /// `NV_TYPE_BOOL_ARRAY`.
    BoolArray = 8,
    /// `NV_TYPE_NUMBER_ARRAY`.
    NumberArray = 9,
    /// `NV_TYPE_STRING_ARRAY`.
    StringArray = 10,
    /// `NV_TYPE_NVLIST_ARRAY`.
    NvListArray = 11,
    /// `NV_TYPE_DESCRIPTOR_ARRAY`: recognised, never stored.
    DescriptorArray = 12,
}

impl Type {
    /// The type of a libnv type code, if it is one (markers are not types).
    pub fn from_code(code: u8) -> Option<Type> {
        Some(match code {
            1 => Type::Null,
            2 => Type::Bool,
            3 => Type::Number,
            4 => Type::String,
            5 => Type::NvList,
            6 => Type::Descriptor,
            7 => Type::Binary,
            8 => Type::BoolArray,
            9 => Type::NumberArray,
            10 => Type::StringArray,
            11 => Type::NvListArray,
            12 => Type::DescriptorArray,
            _ => return None,
        })
    }

    /// The keyword of this type in the text form (`number`, `string[]`).
    pub fn keyword(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Bool => "bool",
            Type::Number => "number",
            Type::String => "string",
            Type::NvList => "nvlist",
            Type::Descriptor => "descriptor",
            Type::Binary => "binary",
            Type::BoolArray => "bool[]",
            Type::NumberArray => "number[]",
            Type::StringArray => "string[]",
            Type::NvListArray => "nvlist[]",
            Type::DescriptorArray => "descriptor[]",
        }
    }
}

impl fmt::Display for Type {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The public flags of a list, as stored in its packed header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// No flags: unique, case-sensitive names.
    pub const NONE: Flags = Flags(0);
    /// `NV_FLAG_IGNORE_CASE`: names compare ASCII case-insensitively.
    pub const IGNORE_CASE: Flags = Flags(0x01);
    /// `NV_FLAG_NO_UNIQUE`: several pairs may share a name.
    pub const NO_UNIQUE: Flags = Flags(0x02);
    /// The bits above; any other bit in a header is refused.
    pub(crate) const PUBLIC_MASK: u8 = 0x03;

    /// The flags as the header byte holds them.
    #[inline]
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The public flags among `bits`, or `None` if another bit is set.
    #[inline]
    pub fn from_bits(bits: u8) -> Option<Flags> {
        (bits & !Self::PUBLIC_MASK == 0).then_some(Flags(bits))
    }

    /// Whether every flag of `other` is set in `self`.
    #[inline]
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    #[inline]
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// The value of a pair: one variant per storable libnv type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `NULL`: presence only.
    Null,
    /// `BOOL`.
    Bool(bool),
    /// `NUMBER`: libnv's only integer type.
    Number(u64),
    /// `STRING`.
    String(NvString),
    /// `NVLIST`.
    NvList(NvList),
    /// `BINARY`: never empty.
    Binary(Vec<u8>),
    /// `BOOL_ARRAY`: never empty.
    BoolArray(Vec<bool>),
    /// `NUMBER_ARRAY`: never empty.
    NumberArray(Vec<u64>),
    /// `STRING_ARRAY`: never empty.
    StringArray(Vec<NvString>),
    /// `NVLIST_ARRAY`: never empty.
    NvListArray(Vec<NvList>),
}

impl Value {
    /// The libnv type of this value.
    pub fn ty(&self) -> Type {
        match self {
            Value::Null => Type::Null,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::NvList(_) => Type::NvList,
            Value::Binary(_) => Type::Binary,
            Value::BoolArray(_) => Type::BoolArray,
            Value::NumberArray(_) => Type::NumberArray,
            Value::StringArray(_) => Type::StringArray,
            Value::NvListArray(_) => Type::NvListArray,
        }
    }

    /// Why libnv could not store this value, if it could not. Nested lists
    /// are valid by construction and not walked.
    pub(crate) fn check(&self) -> Option<InvalidPair> {
        let empty = match self {
            Value::String(s) if s.has_nul() => return Some(InvalidPair::NulInString),
            Value::StringArray(a) if a.iter().any(NvString::has_nul) => {
                return Some(InvalidPair::NulInString)
            }
            Value::Binary(b) if b.is_empty() => return Some(InvalidPair::EmptyBinary),
            Value::BoolArray(a) => a.is_empty(),
            Value::NumberArray(a) => a.is_empty(),
            Value::StringArray(a) => a.is_empty(),
            Value::NvListArray(a) => a.is_empty(),
            _ => false,
        };
        empty.then_some(InvalidPair::EmptyArray)
    }
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl From<$t> for Value {
            #[inline]
            fn from($v: $t) -> Value {
                $e
            }
        }
    )*};
}

value_from! {
    bool => |v| Value::Bool(v);
    u64 => |v| Value::Number(v);
    u32 => |v| Value::Number(v.into());
    u16 => |v| Value::Number(v.into());
    u8 => |v| Value::Number(v.into());
    &str => |v| Value::String(v.into());
    String => |v| Value::String(v.into());
    NvString => |v| Value::String(v);
    NvList => |v| Value::NvList(v);
    Vec<u8> => |v| Value::Binary(v);
    &[u8] => |v| Value::Binary(v.to_vec());
    Vec<bool> => |v| Value::BoolArray(v);
    &[bool] => |v| Value::BoolArray(v.to_vec());
    Vec<u64> => |v| Value::NumberArray(v);
    &[u64] => |v| Value::NumberArray(v.to_vec());
    Vec<NvString> => |v| Value::StringArray(v);
    Vec<String> => |v| Value::StringArray(v.into_iter().map(NvString::from).collect());
    Vec<&str> => |v| Value::StringArray(v.into_iter().map(NvString::from).collect());
    Vec<NvList> => |v| Value::NvListArray(v);
    () => |_v| Value::Null;
}

/// An ordered list of name/value pairs, as libnv's `nvlist_t`.
///
/// Names are unique unless the list has [`Flags::NO_UNIQUE`], and compare
/// ASCII case-insensitively when it has [`Flags::IGNORE_CASE`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NvList {
    flags: Flags,
    pairs: Vec<(NvString, Value)>,
}

/// Generates the typed getters: each tells "missing" from "wrong type".
macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident -> $ret:ty, $variant:ident, $ty:ident, |$v:ident| $e:expr;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, name: impl AsRef<[u8]>) -> Result<$ret> {
            let name = name.as_ref();
            match self.get(name) {
                Some(Value::$variant($v)) => Ok($e),
                Some(other) => Err(wrong_type(name, Type::$ty, other.ty())),
                None => Err(not_found(name)),
            }
        }
    )*};
}

#[inline]
pub(crate) fn not_found(name: &[u8]) -> Error {
    ErrorKind::NotFound {
        name: String::from_utf8_lossy(name).into_owned(),
    }
    .into()
}

#[inline]
pub(crate) fn wrong_type(name: &[u8], expected: Type, found: Type) -> Error {
    ErrorKind::WrongType {
        name: String::from_utf8_lossy(name).into_owned(),
        expected,
        found,
    }
    .into()
}

/// A string value as `&str`, or the error that names its pair.
#[inline]
pub(crate) fn utf8<'a>(name: &[u8], bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        ErrorKind::NotUtf8 {
            name: String::from_utf8_lossy(name).into_owned(),
        }
        .into()
    })
}

#[inline]
fn invalid(name: &[u8], reason: InvalidPair) -> Error {
    ErrorKind::InvalidPair {
        name: String::from_utf8_lossy(name).into_owned(),
        reason,
    }
    .into()
}

impl NvList {
    /// An empty list with unique, case-sensitive names.
    #[inline]
    pub fn new() -> NvList {
        NvList::default()
    }

    /// An empty list with the given flags.
    #[inline]
    pub fn with_flags(flags: Flags) -> NvList {
        NvList {
            flags,
            pairs: Vec::new(),
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
        self.pairs.len()
    }

    /// Whether the list has no pairs.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&NvString, &Value)> + '_ {
        self.pairs.iter().map(|(n, v)| (n, v))
    }

    /// The pairs in order, values editable: for the record engine, which
    /// keeps every value valid for libnv (a record stays a record). Not
    /// part of the stable API: a value made invalid here (an empty array)
    /// packs into bytes libnv refuses.
    #[doc(hidden)]
    #[inline]
    pub fn pairs_mut(&mut self) -> impl Iterator<Item = (&NvString, &mut Value)> + '_ {
        self.pairs.iter_mut().map(|(n, v)| (&*n, v))
    }

    #[inline]
    fn names_equal(&self, a: &[u8], b: &[u8]) -> bool {
        if self.flags.contains(Flags::IGNORE_CASE) {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    }

    #[inline]
    fn position(&self, name: &[u8]) -> Option<usize> {
        // The flag is tested once, not per pair: lookups in long lists are
        // this loop.
        if self.flags.contains(Flags::IGNORE_CASE) {
            self.pairs
                .iter()
                .position(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        } else {
            self.pairs.iter().position(|(n, _)| n.as_bytes() == name)
        }
    }

    /// The value of the first pair called `name`.
    #[inline]
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&Value> {
        self.position(name.as_ref()).map(|i| &self.pairs[i].1)
    }

    /// Every value called `name`, in order (several only with `NO_UNIQUE`).
    #[inline]
    pub fn get_all<'a, N>(&'a self, name: &'a N) -> impl Iterator<Item = &'a Value> + 'a
    where
        N: AsRef<[u8]> + ?Sized,
    {
        self.pairs
            .iter()
            .filter(move |(n, _)| self.names_equal(n.as_bytes(), name.as_ref()))
            .map(|(_, v)| v)
    }

    /// Whether a pair called `name` exists.
    #[inline]
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.position(name.as_ref()).is_some()
    }

    getters! {
        /// The `BOOL` pair called `name`.
        get_bool -> bool, Bool, Bool, |v| *v;
        /// The `NUMBER` pair called `name`.
        get_number -> u64, Number, Number, |v| *v;
        /// The `STRING` pair called `name`, as bytes.
        get_string_bytes -> &[u8], String, String, |v| v.as_bytes();
        /// The `NVLIST` pair called `name`.
        get_nvlist -> &NvList, NvList, NvList, |v| v;
        /// The `BINARY` pair called `name`.
        get_binary -> &[u8], Binary, Binary, |v| v;
        /// The `BOOL_ARRAY` pair called `name`.
        get_bool_array -> &[bool], BoolArray, BoolArray, |v| v;
        /// The `NUMBER_ARRAY` pair called `name`.
        get_number_array -> &[u64], NumberArray, NumberArray, |v| v;
        /// The `STRING_ARRAY` pair called `name`.
        get_string_array -> &[NvString], StringArray, StringArray, |v| v;
        /// The `NVLIST_ARRAY` pair called `name`.
        get_nvlist_array -> &[NvList], NvListArray, NvListArray, |v| v;
    }

    /// The `NULL` pair called `name`.
    #[inline]
    pub fn get_null(&self, name: impl AsRef<[u8]>) -> Result<()> {
        let name = name.as_ref();
        match self.get(name) {
            Some(Value::Null) => Ok(()),
            Some(other) => Err(wrong_type(name, Type::Null, other.ty())),
            None => Err(not_found(name)),
        }
    }

    /// The `STRING` pair called `name`, which must be UTF-8.
    pub fn get_string(&self, name: impl AsRef<[u8]>) -> Result<&str> {
        let name = name.as_ref();
        utf8(name, self.get_string_bytes(name)?)
    }

    /// The `NVLIST` pair called `name`, to edit in place.
    #[inline]
    pub fn get_nvlist_mut(&mut self, name: impl AsRef<[u8]>) -> Result<&mut NvList> {
        let name = name.as_ref();
        let i = self.position(name).ok_or_else(|| not_found(name))?;
        match &mut self.pairs[i].1 {
            Value::NvList(v) => Ok(v),
            other => Err(wrong_type(name, Type::NvList, other.ty())),
        }
    }

    /// The `NVLIST_ARRAY` pair called `name`, to edit its elements in place.
    /// The number of elements cannot change this way (an array is never
    /// empty); use [`NvList::insert`] for that.
    #[inline]
    pub fn get_nvlist_array_mut(&mut self, name: impl AsRef<[u8]>) -> Result<&mut [NvList]> {
        let name = name.as_ref();
        let i = self.position(name).ok_or_else(|| not_found(name))?;
        match &mut self.pairs[i].1 {
            Value::NvListArray(v) => Ok(v),
            other => Err(wrong_type(name, Type::NvListArray, other.ty())),
        }
    }

    fn check_pair(name: &NvString, value: &Value) -> Result<()> {
        if name.has_nul() {
            return Err(invalid(name.as_bytes(), InvalidPair::NulInName));
        }
        if name.as_bytes().len() > NAME_MAX {
            return Err(invalid(name.as_bytes(), InvalidPair::NameTooLong));
        }
        match value.check() {
            Some(reason) => Err(invalid(name.as_bytes(), reason)),
            None => Ok(()),
        }
    }

    /// Sets `name` to `value`: replaces the first pair of that name in
    /// place (keeping its position), or appends a new pair. Returns the
    /// value replaced.
    ///
    /// Fails if libnv could not store the pair: a NUL in the name or a
    /// string, a name over 2047 bytes, an empty binary or array.
    pub fn try_insert(
        &mut self,
        name: impl Into<NvString>,
        value: impl Into<Value>,
    ) -> Result<Option<Value>> {
        let (name, value) = (name.into(), value.into());
        Self::check_pair(&name, &value)?;
        match self.position(name.as_bytes()) {
            Some(i) => {
                let slot = &mut self.pairs[i];
                slot.0 = name;
                Ok(Some(std::mem::replace(&mut slot.1, value)))
            }
            None => {
                self.pairs.push((name, value));
                Ok(None)
            }
        }
    }

    /// [`NvList::try_insert`] for pairs known to be valid.
    ///
    /// # Panics
    ///
    /// If libnv could not store the pair (see [`NvList::try_insert`]).
    #[inline]
    pub fn insert(&mut self, name: impl Into<NvString>, value: impl Into<Value>) -> Option<Value> {
        self.try_insert(name, value)
            .unwrap_or_else(|e| panic!("NvList::insert: {e}"))
    }

    /// Appends a pair at the end. In a list without `NO_UNIQUE`, fails if
    /// the name is already present; otherwise as [`NvList::try_insert`].
    #[inline]
    pub fn try_push(&mut self, name: impl Into<NvString>, value: impl Into<Value>) -> Result<()> {
        let (name, value) = (name.into(), value.into());
        Self::check_pair(&name, &value)?;
        if !self.flags.contains(Flags::NO_UNIQUE) && self.contains(name.as_bytes()) {
            return Err(invalid(name.as_bytes(), InvalidPair::Duplicate));
        }
        self.pairs.push((name, value));
        Ok(())
    }

    /// [`NvList::try_push`] for pairs known to be valid.
    ///
    /// # Panics
    ///
    /// If the pair is invalid or a duplicate (see [`NvList::try_push`]).
    #[inline]
    pub fn push(&mut self, name: impl Into<NvString>, value: impl Into<Value>) {
        self.try_push(name, value)
            .unwrap_or_else(|e| panic!("NvList::push: {e}"))
    }

    /// Builder form of [`NvList::insert`].
    ///
    /// # Panics
    ///
    /// As [`NvList::insert`].
    #[inline]
    pub fn with(mut self, name: impl Into<NvString>, value: impl Into<Value>) -> NvList {
        self.insert(name, value);
        self
    }

    /// Removes the first pair called `name` and returns its value.
    #[inline]
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> Option<Value> {
        let i = self.position(name.as_ref())?;
        Some(self.pairs.remove(i).1)
    }

    /// Renames the first pair called `from` to `to`, keeping its position
    /// and value. Returns whether a pair was renamed.
    pub fn rename(&mut self, from: impl AsRef<[u8]>, to: impl Into<NvString>) -> Result<bool> {
        let to = to.into();
        let Some(i) = self.position(from.as_ref()) else {
            return Ok(false);
        };
        Self::check_pair(&to, &Value::Null)?;
        if !self.flags.contains(Flags::NO_UNIQUE) {
            if let Some(j) = self.position(to.as_bytes()) {
                if j != i {
                    return Err(invalid(to.as_bytes(), InvalidPair::Duplicate));
                }
            }
        }
        self.pairs[i].0 = to;
        Ok(true)
    }

    /// Appends a pair its caller knows to be valid and new: the data model,
    /// which never produces an empty array or a NUL, and numbers its pairs.
    /// Not part of the stable API (see [`NvList::pairs_mut`]).
    #[doc(hidden)]
    #[inline]
    pub fn push_unchecked(&mut self, name: NvString, value: Value) {
        debug_assert!(Self::check_pair(&name, &value).is_ok());
        self.pairs.push((name, value));
    }

    /// A list of pairs the decoder has already checked.
    #[inline]
    pub(crate) fn from_parts(flags: Flags, pairs: Vec<(NvString, Value)>) -> NvList {
        NvList { flags, pairs }
    }

    #[inline]
    pub(crate) fn pairs(&self) -> &[(NvString, Value)] {
        &self.pairs
    }
}

impl<'a> IntoIterator for &'a NvList {
    type Item = (&'a NvString, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (NvString, Value)>,
        fn(&'a (NvString, Value)) -> (&'a NvString, &'a Value),
    >;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter().map(|(n, v)| (n, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_in_place() {
        let mut nv = NvList::new().with("a", 1u64).with("b", 2u64);
        assert_eq!(nv.insert("a", 3u64), Some(Value::Number(1)));
        let names: Vec<_> = nv.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(nv.get_number("a").unwrap(), 3);
    }

    #[test]
    fn getters_tell_missing_from_wrong_type() {
        let nv = NvList::new().with("a", "x");
        assert!(matches!(
            nv.get_number("a").unwrap_err().kind(),
            ErrorKind::WrongType {
                expected: Type::Number,
                found: Type::String,
                ..
            }
        ));
        assert!(matches!(
            nv.get_number("b").unwrap_err().kind(),
            ErrorKind::NotFound { .. }
        ));
    }

    #[test]
    fn ignore_case_lookup() {
        let mut nv = NvList::with_flags(Flags::IGNORE_CASE);
        nv.insert("Name", 1u64);
        assert_eq!(nv.get_number("NAME").unwrap(), 1);
        nv.insert("name", 2u64);
        assert_eq!(nv.len(), 1);
    }

    #[test]
    fn no_unique_push() {
        let mut nv = NvList::with_flags(Flags::NO_UNIQUE);
        nv.push("d", 1u64);
        nv.push("d", 2u64);
        assert_eq!(nv.get_all("d").count(), 2);
        let mut unique = NvList::new();
        unique.push("d", 1u64);
        assert!(unique.try_push("d", 2u64).is_err());
    }

    #[test]
    fn invalid_pairs_are_refused() {
        let mut nv = NvList::new();
        let reason = |e: Error| match e.kind() {
            ErrorKind::InvalidPair { reason, .. } => *reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(nv.try_insert("a\0b", 1u64).unwrap_err()),
            InvalidPair::NulInName
        );
        assert_eq!(
            reason(nv.try_insert("a", "x\0").unwrap_err()),
            InvalidPair::NulInString
        );
        assert_eq!(
            reason(nv.try_insert("a", Vec::<u8>::new()).unwrap_err()),
            InvalidPair::EmptyBinary
        );
        assert_eq!(
            reason(nv.try_insert("a", Vec::<u64>::new()).unwrap_err()),
            InvalidPair::EmptyArray
        );
        assert_eq!(
            reason(nv.try_insert("x".repeat(NAME_MAX + 1), 1u64).unwrap_err()),
            InvalidPair::NameTooLong
        );
        assert!(nv.try_insert("x".repeat(NAME_MAX), 1u64).is_ok());
        assert!(nv.try_insert("", 1u64).is_ok());
    }

    #[test]
    fn rename_keeps_position_and_refuses_collision() {
        let mut nv = NvList::new().with("a", 1u64).with("b", 2u64);
        assert!(nv.rename("a", "c").unwrap());
        assert_eq!(nv.iter().next().unwrap().0, "c");
        assert!(nv.rename("c", "b").is_err());
        assert!(!nv.rename("zz", "y").unwrap());
    }
}
