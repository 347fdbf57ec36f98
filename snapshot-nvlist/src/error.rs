//! The error type of the nvlist crate.
//!
//! Every error says what was wrong and where: the byte offset and pair path
//! for binary input, the line and column for text input, the pair name for
//! lookups, the character for value paths. The kind is boxed so that
//! `Result<T>` stays one pointer wide on the hot decode path.

use std::fmt;

use crate::text::shown;

use crate::Type;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the nvlist crate: see [`Error::kind`] for what went wrong.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorKind>);

/// What went wrong, with where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A packed nvlist broke a rule of the wire format.
    Decode {
        /// Byte offset in the input where the offending item starts.
        offset: u64,
        /// Path of the pair being read (`l1.l2.leaf`, `lists[2].idx`), or
        /// empty when the fault is in the top-level header.
        path: String,
        /// The rule that was broken.
        rule: DecodeRule,
    },
    /// The text form of an nvlist could not be parsed.
    Parse {
        /// 1-based line of the offending token.
        line: u32,
        /// 1-based column (in characters) of the offending token.
        column: u32,
        /// What was expected or what is wrong.
        message: String,
    },
    /// A lookup found no pair of that name.
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// A lookup found a pair of another type than the getter's.
    WrongType {
        /// The name looked up.
        name: String,
        /// The type the getter reads.
        expected: Type,
        /// The type of the stored pair.
        found: Type,
    },
    /// A string pair holds bytes that are not UTF-8, so it cannot be
    /// returned as `&str` (use the `_bytes` getter).
    NotUtf8 {
        /// The name looked up.
        name: String,
    },
    /// A pair cannot be put in an nvlist because libnv could not represent
    /// it (a NUL inside a name or string, an empty binary or array, ...).
    InvalidPair {
        /// The pair's name (lossily decoded).
        name: String,
        /// Why it cannot be stored.
        reason: InvalidPair,
    },
    /// A value path (`devices.vhpet.timers[3].compval`) is malformed or
    /// does not lead to a value.
    Path {
        /// The path as given.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A rule of the packed nvlist format, broken by the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeRule {
    /// The input ends before an item that needs `needed` bytes.
    #[error("truncated: needs {needed} bytes, {left} left")]
    Truncated {
        /// Bytes the item needs.
        needed: u64,
        /// Bytes left in the input.
        left: u64,
    },
    /// The header magic is not `0x6c`.
    #[error("bad magic 0x{0:02x} (expected 0x6c)")]
    BadMagic(u8),
    /// The header version is not 0.
    #[error("unsupported header version {0} (expected 0)")]
    BadVersion(u8),
    /// The header has flag bits libnv does not define.
    #[error("unknown header flags 0x{0:02x}")]
    UnknownFlags(u8),
    /// A nested header's byte order differs from the top-level header's.
    #[error("nested header byte order differs from the top-level header")]
    ByteOrderMismatch,
    /// The header's size field does not match the bytes that follow it.
    #[error("header size {declared} does not match the {actual} bytes that follow")]
    SizeMismatch {
        /// The size the header states.
        declared: u64,
        /// The bytes actually left after the header.
        actual: u64,
    },
    /// The header counts file descriptors, which a file cannot carry.
    #[error("header counts {0} file descriptors; a file cannot carry descriptors")]
    Descriptors(u64),
    /// A pair type outside libnv's types.
    #[error("unknown pair type {0}")]
    UnknownType(u8),
    /// A descriptor or descriptor-array pair, which a file cannot carry.
    #[error("descriptor pair: a file cannot carry file descriptors")]
    DescriptorType,
    /// The name size is outside 1..=2048.
    #[error("name size {0} outside 1..=2048")]
    NameSize(u16),
    /// The name is not terminated by exactly one NUL at its end.
    #[error("name is not terminated by exactly one NUL")]
    NameNotTerminated,
    /// The pair's data size exceeds the bytes left.
    #[error("data size {datasize} exceeds the {left} bytes left")]
    DataSizeTooLarge {
        /// The data size the pair states.
        datasize: u64,
        /// Bytes left in the input.
        left: u64,
    },
    /// The data size does not fit the pair's type.
    #[error("data size {datasize} is invalid for {ty}")]
    BadDataSize {
        /// The pair's type.
        ty: Type,
        /// The data size the pair states.
        datasize: u64,
    },
    /// A scalar pair has a non-zero item count, or an array's count does not
    /// match its data.
    #[error("item count {nitems} is invalid for {ty}")]
    BadItemCount {
        /// The pair's type.
        ty: Type,
        /// The item count the pair states.
        nitems: u64,
    },
    /// A string is not terminated by exactly one NUL at its end.
    #[error("string is not terminated by exactly one NUL")]
    StringNotTerminated,
    /// A bool byte other than 0 or 1.
    #[error("bool byte {0} is neither 0 nor 1")]
    BadBool(u8),
    /// A zero-length binary (libnv cannot create one).
    #[error("zero-length binary")]
    EmptyBinary,
    /// An array with zero items (libnv cannot create one).
    #[error("array with zero items")]
    EmptyArray,
    /// A second pair of the same name in a list without `NO_UNIQUE`.
    #[error("duplicate name in a list without NO_UNIQUE")]
    DuplicateName,
    /// An `NVLIST_UP` marker with no nested list open.
    #[error("NVLIST_UP marker with no nested list open")]
    UnexpectedUp,
    /// An `NVLIST_ARRAY_NEXT` marker with no array element open.
    #[error("NVLIST_ARRAY_NEXT marker with no array element open")]
    UnexpectedArrayNext,
    /// A marker pair with a name, data or items.
    #[error("marker pair with a name, data or items")]
    BadMarker,
    /// The input ends inside a nested list or array.
    #[error("input ends inside a nested list")]
    Unclosed,
    /// Lists nest deeper than the decoder's limit.
    #[error("lists nest deeper than {limit}")]
    TooDeep {
        /// The limit.
        limit: u32,
    },
    /// The input is larger than the decoder's limit.
    #[error("input larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Decoded, the input would take more memory than the decoder's
    /// limit allows for its size: empty strings, a byte each packed and
    /// 24 held.
    #[error(
        "decoded, the list would take more than {factor} bytes of memory per packed byte \
         (an array of empty strings is the usual cause)"
    )]
    TooMuchMemory {
        /// The limit: bytes of memory per packed byte.
        factor: u64,
    },
}

/// Why a pair cannot be stored in an nvlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPair {
    /// The name holds a NUL byte.
    #[error("name holds a NUL byte")]
    NulInName,
    /// The name is longer than 2047 bytes.
    #[error("name is longer than 2047 bytes")]
    NameTooLong,
    /// A string (or string-array item) holds a NUL byte.
    #[error("string holds a NUL byte")]
    NulInString,
    /// A binary of zero bytes.
    #[error("zero-length binary (libnv cannot store one)")]
    EmptyBinary,
    /// An array of zero items.
    #[error("array with zero items (libnv cannot store one)")]
    EmptyArray,
    /// A pair of this name already exists and the list is unique.
    #[error("a pair of this name already exists")]
    Duplicate,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The byte offset in the input, for decode errors.
    pub fn offset(&self) -> Option<u64> {
        match *self.0 {
            ErrorKind::Decode { offset, .. } => Some(offset),
            _ => None,
        }
    }

    /// A value-path error re-pointed at `path` (the pair a value was
    /// parsed for, rather than the text given for it); other errors are
    /// returned as they are.
    pub fn at_path(mut self, path: &str) -> Error {
        if let ErrorKind::Path { path: p, .. } = &mut *self.0 {
            *p = path.to_owned();
        }
        self
    }

    pub(crate) fn decode(offset: usize, path: String, rule: DecodeRule) -> Error {
        ErrorKind::Decode {
            offset: offset as u64,
            path,
            rule,
        }
        .into()
    }

    pub(crate) fn bad_path(path: impl Into<String>, message: impl Into<String>) -> Error {
        ErrorKind::Path {
            path: path.into(),
            message: message.into(),
        }
        .into()
    }

    pub(crate) fn parse(line: u32, column: u32, message: impl Into<String>) -> Error {
        ErrorKind::Parse {
            line,
            column,
            message: message.into(),
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl std::error::Error for Error {}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Decode { offset, path, rule } if path.is_empty() => {
                write!(f, "byte {offset}: {rule}")
            }
            ErrorKind::Decode { offset, path, rule } => {
                write!(f, "byte {offset}, pair `{}`: {rule}", shown(path))
            }
            ErrorKind::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}:{column}: {message}"),
            ErrorKind::NotFound { name } => write!(f, "no pair named `{}`", shown(name)),
            ErrorKind::WrongType {
                name,
                expected,
                found,
            } => write!(f, "`{}`: expected {expected}, found {found}", shown(name)),
            ErrorKind::NotUtf8 { name } => write!(f, "`{}`: string is not UTF-8", shown(name)),
            ErrorKind::InvalidPair { name, reason } => {
                write!(f, "pair `{}`: {reason}", shown(name))
            }
            ErrorKind::Path { path, message } => write!(f, "path `{}`: {message}", shown(path)),
        }
    }
}
