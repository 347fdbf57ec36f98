//! The one error type of `snapshot-core`.
//!
//! Every error says what was wrong and where: the byte offset and pair path
//! for binary input, the line and column for text input, the pair name for
//! lookups. The kind is boxed so that `Result<T>` stays one pointer wide on
//! the hot decode path.

use std::fmt;

use snapshot_nvlist::text::shown;
use snapshot_nvlist::Type;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of `snapshot-core`: see [`Error::kind`] for what went wrong.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorKind>);

/// What went wrong, with where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An nvlist could not be decoded, parsed or looked into: the error
    /// of the nvlist crate, with its byte offset, line or pair name.
    NvList(snapshot_nvlist::Error),
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
    /// A record holds a variant added after the version it is written
    /// for, which the older reader does not know.
    VariantTooNew {
        /// The variant.
        variant: String,
        /// The version that added it.
        since: u32,
    },
    /// A field stored through `#[snapshot(with = ...)]` or
    /// `#[snapshot(serde)]` did not convert back to its type: the
    /// conversion's message.
    Conversion(String),
    /// A value read or written through the serde bridge was refused by
    /// the type's serde impl, or does not have the shape it asks for: the
    /// message.
    Serde(String),
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
                write!(
                    f,
                    "record of schema `{}`, expected `{}`",
                    shown(found),
                    shown(expected)
                )
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
            ValueFault::UnknownVariant(name) => write!(f, "unknown variant `{}`", shown(name)),
            ValueFault::VariantTooNew { variant, since } => write!(
                f,
                "variant `{}` was added in version {since}: an older reader does not know it",
                shown(variant)
            ),
            ValueFault::Conversion(message) => {
                write!(f, "does not convert back to its type: {}", shown(message))
            }
            ValueFault::Serde(message) => f.write_str(&shown(message).to_string()),
            ValueFault::AmbiguousRecord(name) => write!(
                f,
                "the instances of the generic record `{}` differ in their defaults, and a \
                 stored record does not say which one wrote it: write the record holding it \
                 with `to_nvlist_for`",
                shown(name)
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

impl From<snapshot_nvlist::Error> for MigrationError {
    fn from(e: snapshot_nvlist::Error) -> MigrationError {
        Error::from(e).into()
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
            MigrationErrorKind::Invalid { name, reason } => {
                write!(f, "`{}`: {reason}", shown(name))
            }
        }
    }
}

impl std::error::Error for MigrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            MigrationErrorKind::NvList(e) => e.source(),
            MigrationErrorKind::Invalid { .. } => None,
        }
    }
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The byte offset in the input, for decode errors.
    pub fn offset(&self) -> Option<u64> {
        match *self.0 {
            ErrorKind::NvList(ref e) => e.offset(),
            _ => None,
        }
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
            prepend_field(path, name);
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
            if let Some(rest) = path.strip_prefix(&*snapshot_nvlist::quote_str(record)) {
                if rest.is_empty() || rest.starts_with('.') || rest.starts_with('[') {
                    *path = format!("{}{rest}", snapshot_nvlist::quote_str(key));
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
            prepend_index(path, index);
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
}

/// Prepends a field name to a value path, quoted as value paths quote it.
pub(crate) fn prepend_field(path: &mut String, name: &str) {
    let sep = if path.is_empty() || path.starts_with('[') {
        ""
    } else {
        "."
    };
    let name = snapshot_nvlist::quote_str(name);
    *path = format!("{name}{sep}{path}");
}

/// Prepends an array index to a value path.
pub(crate) fn prepend_index(path: &mut String, index: usize) {
    let sep = if path.is_empty() || path.starts_with('[') {
        ""
    } else {
        "."
    };
    *path = format!("[{index}]{sep}{path}");
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl From<snapshot_nvlist::Error> for Error {
    fn from(e: snapshot_nvlist::Error) -> Error {
        ErrorKind::NvList(e).into()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The nvlist error is shown as it is (transparent); a migration's
        // error is part of the message.
        match &*self.0 {
            ErrorKind::NvList(e) => e.source(),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::NvList(e) => fmt::Display::fmt(e, f),
            ErrorKind::Value { path, step, fault } => {
                // A fault of the outermost value has no path to name.
                if !path.is_empty() {
                    write!(f, "{}: ", shown(path))?;
                }
                write!(f, "{fault}")?;
                match step {
                    Some(step) => write!(f, " (converting {step})"),
                    None => Ok(()),
                }
            }
            ErrorKind::Migration { path, step, source } => {
                write!(f, "{}: migration {step} failed: {source}", shown(path))
            }
        }
    }
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
    #[error("{}: {}", shown(.path), shown(.message))]
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
    Image(#[from] snapshot_image::Error),
    /// A record could not be read or written.
    #[error(transparent)]
    Record(#[from] Error),
}
