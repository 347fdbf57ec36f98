//! The one error type of `snapshot-core`.
//!
//! Every error says what was wrong and where: the byte offset and pair path
//! for binary input, the line and column for text input, the pair name for
//! lookups. The kind is boxed so that `Result<T>` stays one pointer wide on
//! the hot decode path.

use std::fmt;

use crate::nvlist::Type;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of `snapshot-core`: see [`Error::kind`] for what went wrong.
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
    /// An image file broke a rule of the container format, or cannot be
    /// used by this reader.
    Image {
        /// The part of the file the fault is in.
        part: ImagePart,
        /// Byte offset in the file where that part (or the fault) starts.
        offset: u64,
        /// What is wrong.
        fault: ImageFault,
    },
    /// A value path (`devices.vhpet.timers[3].compval`) is malformed or
    /// does not lead to a value.
    Path {
        /// The path as given.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing the underlying file failed.
    Io {
        /// What was being done (`reading section devices`).
        context: String,
        /// The operating system's error kind.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
}

/// A part of an image file, named in errors so damage can be located.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImagePart {
    /// The file as a whole (its length, its header area).
    File,
    /// One of the two header slots (0 or 1).
    HeaderSlot(u8),
    /// The header index: the section list of the header in use.
    Index,
    /// A named section.
    Section(String),
    /// The chunk table of a memory section.
    ChunkTable(String),
    /// One chunk of a memory section.
    Chunk {
        /// The memory section.
        section: String,
        /// The chunk's number, from 0.
        index: u64,
    },
}

/// What is wrong with an image file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageFault {
    /// The file is shorter than its header area.
    TooShort {
        /// The file's length.
        len: u64,
    },
    /// The slot's trailer does not hold the image magic.
    BadMagic,
    /// Stored and computed CRC32C differ: the bytes were changed.
    Checksum {
        /// The checksum recorded in the file.
        stored: u32,
        /// The checksum of the bytes as read.
        computed: u32,
    },
    /// Neither header slot is valid; holds each slot's fault.
    NoValidHeader(Vec<Error>),
    /// The IDENT field is not NUL-padded UTF-8.
    BadIdent,
    /// The image was written by another producer.
    ForeignIdent {
        /// The IDENT in the file.
        found: String,
        /// The IDENT this reader expects.
        expected: String,
    },
    /// The packed header nvlist does not fit in its slot.
    IndexTooLarge {
        /// The size needed or stated.
        size: u64,
        /// The room in a slot.
        room: u64,
    },
    /// The header nvlist does not decode.
    IndexDecode(Error),
    /// An nvlist section does not decode (the inner error's offset is
    /// within the section).
    BadNvlist(Error),
    /// A required key is missing or has the wrong type.
    BadKey {
        /// The key (`sections[2].offset`).
        key: String,
        /// The type or form it must have.
        expected: &'static str,
    },
    /// The format version is not `MAJOR.MINOR`.
    BadVersion(String),
    /// The format's major version is not one this reader knows.
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The version this reader writes.
        supported: String,
    },
    /// The image uses incompatible features this reader lacks.
    UnknownFeatures(Vec<String>),
    /// A section type this reader does not know.
    UnknownSectionType(String),
    /// A codec this reader does not know, or that the section type does
    /// not allow.
    UnknownCodec(String),
    /// Two sections share a name.
    DuplicateSection,
    /// A section name is empty or not UTF-8.
    BadSectionName,
    /// An extent is not aligned to 4096 bytes or starts in the header
    /// area.
    Misaligned,
    /// An extent reaches past the end of the file (or of `u64`).
    PastEnd {
        /// The extent's size.
        size: u64,
        /// The file's length.
        file_len: u64,
    },
    /// Two extents overlap.
    Overlap {
        /// The other part.
        other: ImagePart,
    },
    /// A memory chunk size that is not a power of two in 4 KiB..=1 GiB.
    BadChunkSize(u64),
    /// A chunk table entry breaks a rule (kind, length, reserved bytes).
    BadChunkEntry(&'static str),
    /// A chunk recorded as zero holds non-zero bytes.
    NotZero,
    /// A compressed chunk does not decompress to its length.
    Decompress(String),
    /// No section of that name.
    NoSuchSection,
    /// The section is of another type than the operation needs.
    WrongSectionType {
        /// The type needed.
        expected: &'static str,
        /// The section's type.
        found: String,
    },
    /// The section is larger than this reader loads into memory.
    SectionTooLarge {
        /// The section's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The memory section is compressed, so it cannot be mapped.
    Compressed,
    /// A section with no bytes: every section holds at least one.
    Empty,
    /// An earlier edit through this handle failed part-way, so the file
    /// may hold a newer generation than the handle knows.
    StaleHandle,
    /// The producer's IDENT is empty, too long or holds a NUL.
    InvalidIdent,
}

/// A rule of the packed nvlist format, broken by the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeRule {
    /// The input ends before an item that needs `needed` bytes.
    Truncated {
        /// Bytes the item needs.
        needed: u64,
        /// Bytes left in the input.
        left: u64,
    },
    /// The header magic is not `0x6c`.
    BadMagic(u8),
    /// The header version is not 0.
    BadVersion(u8),
    /// The header has flag bits libnv does not define.
    UnknownFlags(u8),
    /// A nested header's byte order differs from the top-level header's.
    ByteOrderMismatch,
    /// The header's size field does not match the bytes that follow it.
    SizeMismatch {
        /// The size the header states.
        declared: u64,
        /// The bytes actually left after the header.
        actual: u64,
    },
    /// The header counts file descriptors, which a file cannot carry.
    Descriptors(u64),
    /// A pair type outside libnv's types.
    UnknownType(u8),
    /// A descriptor or descriptor-array pair, which a file cannot carry.
    DescriptorType,
    /// The name size is outside 1..=2048.
    NameSize(u16),
    /// The name is not terminated by exactly one NUL at its end.
    NameNotTerminated,
    /// The pair's data size exceeds the bytes left.
    DataSizeTooLarge {
        /// The data size the pair states.
        datasize: u64,
        /// Bytes left in the input.
        left: u64,
    },
    /// The data size does not fit the pair's type.
    BadDataSize {
        /// The pair's type.
        ty: Type,
        /// The data size the pair states.
        datasize: u64,
    },
    /// A scalar pair has a non-zero item count, or an array's count does not
    /// match its data.
    BadItemCount {
        /// The pair's type.
        ty: Type,
        /// The item count the pair states.
        nitems: u64,
    },
    /// A string is not terminated by exactly one NUL at its end.
    StringNotTerminated,
    /// A bool byte other than 0 or 1.
    BadBool(u8),
    /// A zero-length binary (libnv cannot create one).
    EmptyBinary,
    /// An array with zero items (libnv cannot create one).
    EmptyArray,
    /// A second pair of the same name in a list without `NO_UNIQUE`.
    DuplicateName,
    /// An `NVLIST_UP` marker with no nested list open.
    UnexpectedUp,
    /// An `NVLIST_ARRAY_NEXT` marker with no array element open.
    UnexpectedArrayNext,
    /// A marker pair with a name, data or items.
    BadMarker,
    /// The input ends inside a nested list or array.
    Unclosed,
    /// Lists nest deeper than the decoder's limit.
    TooDeep {
        /// The limit.
        limit: u32,
    },
    /// The input is larger than the decoder's limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

/// Why a pair cannot be stored in an nvlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidPair {
    /// The name holds a NUL byte.
    NulInName,
    /// The name is longer than 2047 bytes.
    NameTooLong,
    /// A string (or string-array item) holds a NUL byte.
    NulInString,
    /// A binary of zero bytes.
    EmptyBinary,
    /// An array of zero items.
    EmptyArray,
    /// A pair of this name already exists and the list is unique.
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
            ErrorKind::Decode { offset, .. } | ErrorKind::Image { offset, .. } => Some(offset),
            _ => None,
        }
    }

    pub(crate) fn decode(offset: usize, path: String, rule: DecodeRule) -> Error {
        ErrorKind::Decode {
            offset: offset as u64,
            path,
            rule,
        }
        .into()
    }

    pub(crate) fn image(part: ImagePart, offset: u64, fault: ImageFault) -> Error {
        ErrorKind::Image {
            part,
            offset,
            fault,
        }
        .into()
    }

    pub(crate) fn io(context: impl Into<String>, err: &std::io::Error) -> Error {
        ErrorKind::Io {
            context: context.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
        .into()
    }

    pub(crate) fn path(path: impl Into<String>, message: impl Into<String>) -> Error {
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
                write!(f, "byte {offset}, pair `{path}`: {rule}")
            }
            ErrorKind::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}:{column}: {message}"),
            ErrorKind::NotFound { name } => write!(f, "no pair named `{name}`"),
            ErrorKind::WrongType {
                name,
                expected,
                found,
            } => write!(f, "`{name}`: expected {expected}, found {found}"),
            ErrorKind::NotUtf8 { name } => write!(f, "`{name}`: string is not UTF-8"),
            ErrorKind::InvalidPair { name, reason } => write!(f, "pair `{name}`: {reason}"),
            ErrorKind::Image {
                part,
                offset,
                fault,
            } => write!(f, "{part} (byte {offset}): {fault}"),
            ErrorKind::Path { path, message } => write!(f, "path `{path}`: {message}"),
            ErrorKind::Io {
                context, message, ..
            } => write!(f, "{context}: {message}"),
        }
    }
}

impl fmt::Display for DecodeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeRule::Truncated { needed, left } => {
                write!(f, "truncated: needs {needed} bytes, {left} left")
            }
            DecodeRule::BadMagic(m) => write!(f, "bad magic 0x{m:02x} (expected 0x6c)"),
            DecodeRule::BadVersion(v) => write!(f, "unsupported header version {v} (expected 0)"),
            DecodeRule::UnknownFlags(x) => write!(f, "unknown header flags 0x{x:02x}"),
            DecodeRule::ByteOrderMismatch => {
                write!(
                    f,
                    "nested header byte order differs from the top-level header"
                )
            }
            DecodeRule::SizeMismatch { declared, actual } => write!(
                f,
                "header size {declared} does not match the {actual} bytes that follow"
            ),
            DecodeRule::Descriptors(n) => write!(
                f,
                "header counts {n} file descriptors; a file cannot carry descriptors"
            ),
            DecodeRule::UnknownType(t) => write!(f, "unknown pair type {t}"),
            DecodeRule::DescriptorType => {
                write!(f, "descriptor pair: a file cannot carry file descriptors")
            }
            DecodeRule::NameSize(n) => write!(f, "name size {n} outside 1..=2048"),
            DecodeRule::NameNotTerminated => {
                write!(f, "name is not terminated by exactly one NUL")
            }
            DecodeRule::DataSizeTooLarge { datasize, left } => {
                write!(f, "data size {datasize} exceeds the {left} bytes left")
            }
            DecodeRule::BadDataSize { ty, datasize } => {
                write!(f, "data size {datasize} is invalid for {ty}")
            }
            DecodeRule::BadItemCount { ty, nitems } => {
                write!(f, "item count {nitems} is invalid for {ty}")
            }
            DecodeRule::StringNotTerminated => {
                write!(f, "string is not terminated by exactly one NUL")
            }
            DecodeRule::BadBool(b) => write!(f, "bool byte {b} is neither 0 nor 1"),
            DecodeRule::EmptyBinary => write!(f, "zero-length binary"),
            DecodeRule::EmptyArray => write!(f, "array with zero items"),
            DecodeRule::DuplicateName => {
                write!(f, "duplicate name in a list without NO_UNIQUE")
            }
            DecodeRule::UnexpectedUp => write!(f, "NVLIST_UP marker with no nested list open"),
            DecodeRule::UnexpectedArrayNext => {
                write!(f, "NVLIST_ARRAY_NEXT marker with no array element open")
            }
            DecodeRule::BadMarker => write!(f, "marker pair with a name, data or items"),
            DecodeRule::Unclosed => write!(f, "input ends inside a nested list"),
            DecodeRule::TooDeep { limit } => write!(f, "lists nest deeper than {limit}"),
            DecodeRule::TooLarge { limit } => write!(f, "input larger than {limit} bytes"),
        }
    }
}

impl fmt::Display for ImagePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImagePart::File => f.write_str("image"),
            ImagePart::HeaderSlot(n) => write!(f, "header slot {n}"),
            ImagePart::Index => f.write_str("index"),
            ImagePart::Section(name) => write!(f, "section `{name}`"),
            ImagePart::ChunkTable(name) => write!(f, "section `{name}`, chunk table"),
            ImagePart::Chunk { section, index } => write!(f, "section `{section}`, chunk {index}"),
        }
    }
}

impl fmt::Display for ImageFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageFault::TooShort { len } => {
                write!(
                    f,
                    "file of {len} bytes is shorter than the 8192-byte header area"
                )
            }
            ImageFault::BadMagic => f.write_str("no image magic: not a snapshot image header"),
            ImageFault::Checksum { stored, computed } => write!(
                f,
                "checksum mismatch (stored crc32c {stored:08x}, computed {computed:08x})"
            ),
            ImageFault::NoValidHeader(causes) => {
                f.write_str("no valid header slot")?;
                for cause in causes {
                    write!(f, "; {cause}")?;
                }
                Ok(())
            }
            ImageFault::BadIdent => f.write_str("IDENT is not NUL-padded UTF-8"),
            ImageFault::ForeignIdent { found, expected } => write!(
                f,
                "IDENT `{found}` is not `{expected}` (another producer's image; force to read it)"
            ),
            ImageFault::IndexTooLarge { size, room } => {
                write!(
                    f,
                    "header nvlist of {size} bytes exceeds the {room} bytes of a slot"
                )
            }
            ImageFault::IndexDecode(e) => write!(f, "header nvlist: {e}"),
            ImageFault::BadNvlist(e) => write!(f, "not a packed nvlist: {e}"),
            ImageFault::BadKey { key, expected } => {
                write!(f, "key `{key}` is missing or not {expected}")
            }
            ImageFault::BadVersion(v) => write!(f, "format version `{v}` is not MAJOR.MINOR"),
            ImageFault::UnsupportedVersion { found, supported } => write!(
                f,
                "format version {found} is not supported (this reader knows {supported})"
            ),
            ImageFault::UnknownFeatures(names) => write!(
                f,
                "uses incompatible features this reader lacks: {}",
                names.join(", ")
            ),
            ImageFault::UnknownSectionType(t) => write!(f, "unknown section type `{t}`"),
            ImageFault::UnknownCodec(c) => write!(f, "unknown or disallowed codec `{c}`"),
            ImageFault::DuplicateSection => f.write_str("a second section of this name"),
            ImageFault::BadSectionName => f.write_str("section name is empty or not UTF-8"),
            ImageFault::Misaligned => {
                f.write_str("extent is not 4096-aligned or starts inside the header area")
            }
            ImageFault::PastEnd { size, file_len } => write!(
                f,
                "extent of {size} bytes reaches past the end of the {file_len}-byte file"
            ),
            ImageFault::Overlap { other } => write!(f, "overlaps {other}"),
            ImageFault::BadChunkSize(n) => {
                write!(f, "chunk size {n} is not a power of two in 4096..=1 GiB")
            }
            ImageFault::BadChunkEntry(why) => write!(f, "bad chunk table entry: {why}"),
            ImageFault::NotZero => f.write_str("chunk recorded as zero holds non-zero bytes"),
            ImageFault::Decompress(why) => write!(f, "chunk does not decompress: {why}"),
            ImageFault::NoSuchSection => f.write_str("no such section"),
            ImageFault::WrongSectionType { expected, found } => {
                write!(f, "section is of type `{found}`, not {expected}")
            }
            ImageFault::SectionTooLarge { size, limit } => {
                write!(f, "section of {size} bytes exceeds the {limit}-byte limit")
            }
            ImageFault::Compressed => {
                f.write_str("memory is compressed, so it cannot be mapped (extract it instead)")
            }
            ImageFault::Empty => f.write_str("section is empty (every section holds bytes)"),
            ImageFault::StaleHandle => f.write_str(
                "an earlier edit through this handle failed part-way; reopen the image to see which generation is in force",
            ),
            ImageFault::InvalidIdent => {
                f.write_str("IDENT must be 1 to 63 bytes of UTF-8 without NUL")
            }
        }
    }
}

impl fmt::Display for InvalidPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidPair::NulInName => "name holds a NUL byte",
            InvalidPair::NameTooLong => "name is longer than 2047 bytes",
            InvalidPair::NulInString => "string holds a NUL byte",
            InvalidPair::EmptyBinary => "zero-length binary (libnv cannot store one)",
            InvalidPair::EmptyArray => "array with zero items (libnv cannot store one)",
            InvalidPair::Duplicate => "a pair of this name already exists",
        })
    }
}
