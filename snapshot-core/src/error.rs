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
    /// A value of a record could not be read as its Rust type, or could not
    /// be written for an older reader.
    Value {
        /// Path of the value from the outermost record
        /// (`vhpet.timers[3].compval`).
        path: String,
        /// The version conversion under way, when the record was stored in
        /// (or is written for) another version than the current one.
        step: Option<Step>,
        /// What is wrong with the value.
        fault: ValueFault,
    },
    /// A migration function of a record failed.
    Migration {
        /// Path of the record from the outermost record.
        path: String,
        /// The step the migration performs.
        step: Step,
        /// What the migration reported.
        source: MigrationError,
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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImagePart {
    /// The file as a whole (its length, its header area).
    #[error("image")]
    File,
    /// One of the two header slots (0 or 1).
    #[error("header slot {0}")]
    HeaderSlot(u8),
    /// The header index: the section list of the header in use.
    #[error("index")]
    Index,
    /// A named section.
    #[error("section `{0}`")]
    Section(String),
    /// The chunk table of a memory section.
    #[error("section `{0}`, chunk table")]
    ChunkTable(String),
    /// One chunk of a memory section.
    #[error("section `{section}`, chunk {index}")]
    Chunk {
        /// The memory section.
        section: String,
        /// The chunk's number, from 0.
        index: u64,
    },
}

/// What is wrong with an image file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageFault {
    /// The file is shorter than its header area.
    #[error("file of {len} bytes is shorter than the 8192-byte header area")]
    TooShort {
        /// The file's length.
        len: u64,
    },
    /// The slot's trailer does not hold the image magic.
    #[error("no image magic: not a snapshot image header")]
    BadMagic,
    /// Stored and computed CRC32C differ: the bytes were changed.
    #[error("checksum mismatch (stored crc32c {stored:08x}, computed {computed:08x})")]
    Checksum {
        /// The checksum recorded in the file.
        stored: u32,
        /// The checksum of the bytes as read.
        computed: u32,
    },
    /// Neither header slot is valid; holds each slot's fault.
    #[error("no valid header slot{}", causes(.0))]
    NoValidHeader(Vec<Error>),
    /// The IDENT field is not NUL-padded UTF-8.
    #[error("IDENT is not NUL-padded UTF-8")]
    BadIdent,
    /// The image was written by another producer.
    #[error("IDENT `{found}` is not `{expected}` (another producer's image; force to read it)")]
    ForeignIdent {
        /// The IDENT in the file.
        found: String,
        /// The IDENT this reader expects.
        expected: String,
    },
    /// The packed header nvlist does not fit in its slot.
    #[error("header nvlist of {size} bytes exceeds the {room} bytes of a slot")]
    IndexTooLarge {
        /// The size needed or stated.
        size: u64,
        /// The room in a slot.
        room: u64,
    },
    /// The header nvlist does not decode.
    #[error("header nvlist: {0}")]
    IndexDecode(Error),
    /// An nvlist section does not decode (the inner error's offset is
    /// within the section).
    #[error("not a packed nvlist: {0}")]
    BadNvlist(Error),
    /// A required key is missing or has the wrong type.
    #[error("key `{key}` is missing or not {expected}")]
    BadKey {
        /// The key (`sections[2].offset`).
        key: String,
        /// The type or form it must have.
        expected: &'static str,
    },
    /// The format version is not `MAJOR.MINOR`.
    #[error("format version `{0}` is not MAJOR.MINOR")]
    BadVersion(String),
    /// The format's major version is not one this reader knows.
    #[error("format version {found} is not supported (this reader knows {supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The version this reader writes.
        supported: String,
    },
    /// The image uses incompatible features this reader lacks.
    #[error("uses incompatible features this reader lacks: {}", .0.join(", "))]
    UnknownFeatures(Vec<String>),
    /// A section type this reader does not know.
    #[error("unknown section type `{0}`")]
    UnknownSectionType(String),
    /// A codec this reader does not know, or that the section type does
    /// not allow.
    #[error("unknown or disallowed codec `{0}`")]
    UnknownCodec(String),
    /// Two sections share a name.
    #[error("a second section of this name")]
    DuplicateSection,
    /// A section name is empty or not UTF-8.
    #[error("section name is empty or not UTF-8")]
    BadSectionName,
    /// An extent is not aligned to 4096 bytes or starts in the header
    /// area.
    #[error("extent is not 4096-aligned or starts inside the header area")]
    Misaligned,
    /// An extent reaches past the end of the file (or of `u64`).
    #[error("extent of {size} bytes reaches past the end of the {file_len}-byte file")]
    PastEnd {
        /// The extent's size.
        size: u64,
        /// The file's length.
        file_len: u64,
    },
    /// Two extents overlap.
    #[error("overlaps {other}")]
    Overlap {
        /// The other part.
        other: ImagePart,
    },
    /// A memory chunk size that is not a power of two in 4 KiB..=1 GiB.
    #[error("chunk size {0} is not a power of two in 4096..=1 GiB")]
    BadChunkSize(u64),
    /// A chunk table entry breaks a rule (kind, length, reserved bytes).
    #[error("bad chunk table entry: {0}")]
    BadChunkEntry(&'static str),
    /// A chunk recorded as zero holds non-zero bytes.
    #[error("chunk recorded as zero holds non-zero bytes")]
    NotZero,
    /// A compressed chunk does not decompress to its length.
    #[error("chunk does not decompress: {0}")]
    Decompress(String),
    /// No section of that name.
    #[error("no such section")]
    NoSuchSection,
    /// The section is of another type than the operation needs.
    #[error("section is of type `{found}`, not {expected}")]
    WrongSectionType {
        /// The type needed.
        expected: &'static str,
        /// The section's type.
        found: String,
    },
    /// The section is larger than this reader loads into memory.
    #[error("section of {size} bytes exceeds the {limit}-byte limit")]
    SectionTooLarge {
        /// The section's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The memory section is compressed, so it cannot be mapped.
    #[error("memory is compressed, so it cannot be mapped (extract it instead)")]
    Compressed,
    /// A section with no bytes: every section holds at least one.
    #[error("section is empty (every section holds bytes)")]
    Empty,
    /// An earlier edit through this handle failed part-way, so the file
    /// may hold a newer generation than the handle knows.
    #[error("an earlier edit through this handle failed part-way; reopen the image to see which generation is in force")]
    StaleHandle,
    /// The producer's IDENT is empty, too long or holds a NUL.
    #[error("IDENT must be 1 to 63 bytes of UTF-8 without NUL")]
    InvalidIdent,
}

/// A conversion of a record between two versions, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The version converted from.
    pub from: u32,
    /// The version converted to.
    pub to: u32,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{} -> v{}", self.from, self.to)
    }
}

/// What is wrong with a value of a record (see [`ErrorKind::Value`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueFault {
    /// The pair has another type than the Rust type is stored as.
    WrongType {
        /// What the Rust type is stored as (`number`, `binary or null`).
        expected: &'static str,
        /// The type found.
        found: Type,
    },
    /// A number does not fit the Rust type: it is never truncated.
    OutOfRange {
        /// The Rust type.
        ty: &'static str,
        /// The stored value, as text.
        value: String,
    },
    /// A number is not a Unicode scalar value, so not a `char`.
    InvalidChar(u64),
    /// A string or binary read as `String` is not UTF-8.
    NotUtf8,
    /// A fixed-size array was stored with another length.
    BadLength {
        /// The length of the Rust array.
        expected: usize,
        /// The stored length.
        found: usize,
    },
    /// A positional list (tuple, generic sequence) has a pair whose name is
    /// not its position.
    BadPosition {
        /// The position.
        index: usize,
    },
    /// A field the record needs is not stored.
    Missing,
    /// A metadata pair of records is missing: the list is not a record.
    NotARecord {
        /// The missing pair (`.schema`, `.version`, ...).
        missing: &'static str,
    },
    /// A stored field is neither current, former, nor declared removed:
    /// refused, since dropping it would lose state silently.
    Unknown,
    /// A field is stored twice (possible only in a `NO_UNIQUE` list).
    Duplicate,
    /// The record belongs to another schema.
    WrongSchema {
        /// The schema of the Rust type.
        expected: String,
        /// The stored schema name.
        found: String,
    },
    /// A record's version number is 0, or its minimum reader version is
    /// newer than the record.
    BadVersion {
        /// The stored number.
        value: u32,
        /// The largest valid number.
        max: u32,
    },
    /// The record is newer than this build, and says this build cannot read
    /// it losslessly.
    TooNew {
        /// The stored version.
        stored: u32,
        /// The oldest reader version the record says it needs.
        min_reader: u32,
        /// This build's version of the record.
        reader: u32,
    },
    /// A version outside `1..=current` was asked for.
    UnsupportedVersion {
        /// The version asked for.
        target: u32,
        /// The current version.
        current: u32,
    },
    /// A step down has no down migration.
    NoDowngrade,
    /// A field removed in a step has no down migration to restore it for
    /// the older reader, which expects it.
    NotRestored,
    /// A field added after the target version holds a non-default value,
    /// which the older reader would lose.
    NotDefault {
        /// The version that added the field.
        since: u32,
    },
    /// The variant name is not a variant of the enum.
    UnknownVariant(String),
    /// A generic record whose instances differ in a field's default, asked
    /// to step down by its schema name.
    AmbiguousRecord(String),
}

impl fmt::Display for ValueFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueFault::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ValueFault::OutOfRange { ty, value } => write!(f, "{value} does not fit {ty}"),
            ValueFault::InvalidChar(n) => write!(f, "{n:#x} is not a char"),
            ValueFault::NotUtf8 => f.write_str("string is not UTF-8"),
            ValueFault::BadLength { expected, found } => {
                write!(f, "expected {expected} items, found {found}")
            }
            ValueFault::BadPosition { index } => {
                write!(
                    f,
                    "pair {index} of a positional list is not named `{index}`"
                )
            }
            ValueFault::Missing => f.write_str("missing"),
            ValueFault::NotARecord { missing } => write!(f, "not a record: no `{missing}` pair"),
            ValueFault::Unknown => {
                f.write_str("unknown field (neither current, former, nor declared removed)")
            }
            ValueFault::Duplicate => f.write_str("stored twice"),
            ValueFault::WrongSchema { expected, found } => {
                write!(f, "record of schema `{found}`, expected `{expected}`")
            }
            ValueFault::BadVersion { value: 0, .. } => f.write_str("version 0 does not exist"),
            ValueFault::BadVersion { value, max } => {
                write!(f, "{value} is newer than the record's version {max}")
            }
            ValueFault::TooNew {
                stored,
                min_reader,
                reader,
            } => write!(
                f,
                "stored version {stored} is newer than this build's version {reader} \
                 and needs a reader of version {min_reader} or later"
            ),
            ValueFault::UnsupportedVersion { target, current } => {
                write!(
                    f,
                    "cannot write version {target}: versions are 1..={current}"
                )
            }
            ValueFault::NoDowngrade => f.write_str("no down migration for this step"),
            ValueFault::NotRestored => f.write_str(
                "removed in this step, and no down migration restores it for the older reader",
            ),
            ValueFault::NotDefault { since } => write!(
                f,
                "added in version {since} and holds a non-default value \
                 that an older reader would lose"
            ),
            ValueFault::UnknownVariant(name) => write!(f, "unknown variant `{name}`"),
            ValueFault::AmbiguousRecord(name) => write!(
                f,
                "the instances of the generic record `{name}` differ in their defaults, and a \
                 stored record does not say which one wrote it: write the record holding it \
                 with `to_nvlist_for`"
            ),
        }
    }
}

/// The error of a migration function. `?` converts an nvlist [`Error`]
/// (a missing pair, a wrong type) into it, so getters work inside
/// migrations.
#[derive(Clone, PartialEq, Eq)]
pub struct MigrationError(Box<MigrationErrorKind>);

/// What a migration function reported.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationErrorKind {
    /// An nvlist operation failed.
    NvList(Error),
    /// A stored value cannot be converted (a number too large for the
    /// older type, an impossible combination), in the function's words.
    Invalid {
        /// The pair concerned.
        name: String,
        /// Why it cannot be converted.
        reason: String,
    },
}

impl MigrationError {
    /// A value that cannot be converted: `name` is the pair, `reason` says
    /// why.
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> MigrationError {
        MigrationError(Box::new(MigrationErrorKind::Invalid {
            name: name.into(),
            reason: reason.into(),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &MigrationErrorKind {
        &self.0
    }
}

impl From<Error> for MigrationError {
    fn from(e: Error) -> MigrationError {
        MigrationError(Box::new(MigrationErrorKind::NvList(e)))
    }
}

impl fmt::Debug for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            MigrationErrorKind::NvList(e) => fmt::Display::fmt(e, f),
            MigrationErrorKind::Invalid { name, reason } => write!(f, "`{name}`: {reason}"),
        }
    }
}

impl std::error::Error for MigrationError {}

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

    /// A fault of a value at the current position; callers up the stack
    /// prepend the path with [`Error::in_field`] and [`Error::in_index`].
    pub(crate) fn value(fault: ValueFault) -> Error {
        ErrorKind::Value {
            path: String::new(),
            step: None,
            fault,
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

    /// The path of a value or migration error, if it has one.
    pub fn path(&self) -> Option<&str> {
        match &*self.0 {
            ErrorKind::Value { path, .. } | ErrorKind::Migration { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Prepends a field (or record) name to the path of a value error,
    /// quoted as value paths quote it (`vhpet.".version"`), so the path
    /// can be given to `snapshot get`. Paths are only built on the error
    /// path, so decoding stays free of string work.
    #[doc(hidden)]
    pub fn in_field(mut self, name: &str) -> Error {
        if let Some(path) = self.path_mut() {
            let sep = if path.is_empty() || path.starts_with('[') {
                ""
            } else {
                "."
            };
            let name = crate::image::quote_str(name);
            *path = format!("{name}{sep}{path}");
        }
        self
    }

    /// Names the place a record is stored under (`key`) instead of its
    /// schema name (`record`) at the head of the path: an error of a
    /// `virtio_net` record kept as `virtio_net0` reads
    /// `virtio_net0.mtu: ...`, not `virtio_net0.virtio_net.mtu: ...`.
    ///
    /// ```
    /// use snapshot_core::{NvList, Snapshot};
    ///
    /// #[derive(Snapshot, Debug)]
    /// #[snapshot(name = "virtio_net")]
    /// struct Net {
    ///     mtu: u16,
    /// }
    ///
    /// let nv = NvList::new()
    ///     .with(".schema", "virtio_net").with(".version", 1u64).with("mtu", "big");
    /// let err = Net::from_nvlist(&nv).unwrap_err().stored_as(Net::NAME, "virtio_net0");
    /// assert_eq!(err.to_string(), "virtio_net0.mtu: expected number, found string");
    /// ```
    pub fn stored_as(mut self, record: &str, key: &str) -> Error {
        if let Some(path) = self.path_mut() {
            if let Some(rest) = path.strip_prefix(&*crate::image::quote_str(record)) {
                if rest.is_empty() || rest.starts_with('.') || rest.starts_with('[') {
                    *path = format!("{}{rest}", crate::image::quote_str(key));
                    return self;
                }
            }
        }
        self.in_field(key)
    }

    /// Prepends an array index to the path of a value error.
    #[doc(hidden)]
    pub fn in_index(mut self, index: usize) -> Error {
        if let Some(path) = self.path_mut() {
            let sep = if path.is_empty() || path.starts_with('[') {
                ""
            } else {
                "."
            };
            *path = format!("[{index}]{sep}{path}");
        }
        self
    }

    /// Records the version step under way, unless an inner record already
    /// recorded its own.
    pub(crate) fn in_step(mut self, new: Step) -> Error {
        if let ErrorKind::Value { step, .. } = &mut *self.0 {
            step.get_or_insert(new);
        }
        self
    }

    fn path_mut(&mut self) -> Option<&mut String> {
        match &mut *self.0 {
            ErrorKind::Value { path, .. } | ErrorKind::Migration { path, .. } => Some(path),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, err: &std::io::Error) -> Error {
        ErrorKind::Io {
            context: context.into(),
            kind: err.kind(),
            message: err.to_string(),
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
            ErrorKind::Value { path, step, fault } => {
                write!(f, "{path}: {fault}")?;
                match step {
                    Some(step) => write!(f, " (converting {step})"),
                    None => Ok(()),
                }
            }
            ErrorKind::Migration { path, step, source } => {
                write!(f, "{path}: migration {step} failed: {source}")
            }
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

/// The faults of both header slots, for [`ImageFault::NoValidHeader`].
fn causes(errors: &[Error]) -> String {
    errors.iter().map(|e| format!("; {e}")).collect()
}

/// An error of the schema history: reading or writing the committed
/// schema files and fixtures, or a failed compatibility check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A schema file does not follow the recorded text form.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file of the history could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of the history is not what its name says.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong, from a parse error or a mismatch.
        message: String,
    },
    /// The compatibility check failed; each problem says what to do.
    #[error("schema check failed:\n{}", .problems.join("\n"))]
    Check {
        /// One line per problem, naming the type and version.
        problems: Vec<String>,
    },
    /// A record of an image cannot be rewritten for the target.
    #[error("{path}: {message}")]
    Migrate {
        /// `section.key` of the record.
        path: String,
        /// The record, the version step, and why.
        message: String,
    },
    /// No release matches the requested name.
    #[error("no release matches `{wanted}` (known: {})", .known.join(", "))]
    UnknownRelease {
        /// The name asked for.
        wanted: String,
        /// The releases the program declares.
        known: Vec<String>,
    },
    /// The image could not be read or written.
    #[error(transparent)]
    Image(#[from] Error),
}
