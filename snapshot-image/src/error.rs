//! The error type of the image crate.
//!
//! Every error names the part of the file (header slot, index, section,
//! chunk) and the byte offset where the fault is, or keeps the operating
//! system's `io::Error` as its source, so a caller can tell damaged or
//! hostile input from a failing disk.

use std::fmt;

use snapshot_nvlist::text::shown;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the image crate: see [`Error::kind`] for what went wrong.
pub struct Error(Box<ErrorKind>);

/// What went wrong, with where it went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file broke a rule of the container format, or cannot be used
    /// by this reader.
    Format {
        /// The part of the file the fault is in.
        part: ImagePart,
        /// Byte offset in the file where that part (or the fault) starts.
        offset: u64,
        /// What is wrong.
        fault: ImageFault,
    },
    /// A value path or a value given as text is wrong, or does not lead
    /// to a value of the section.
    NvList(snapshot_nvlist::Error),
    /// Reading or writing the underlying file failed.
    Io {
        /// What was being done (`reading section devices`).
        context: String,
        /// The operating system's error.
        source: std::io::Error,
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
    /// The section index kept outside the header, when it does not fit
    /// in a slot.
    #[error("index extent")]
    IndexExtent,
    /// A named section.
    #[error("section `{}`", shown(.0))]
    Section(String),
    /// The chunk table of a memory section.
    #[error("section `{}`, chunk table", shown(.0))]
    ChunkTable(String),
    /// The page digest table of a memory section.
    #[error("section `{}`, page digests", shown(.0))]
    PageDigests(String),
    /// The page map of a child image's memory section.
    #[error("section `{}`, page map", shown(.0))]
    PageMap(String),
    /// One chunk of a memory section.
    #[error("section `{}`, chunk {index}", shown(.section))]
    Chunk {
        /// The memory section.
        section: String,
        /// The chunk's number, from 0.
        index: u64,
    },
}

/// What is wrong with an image file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
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
    #[error(
        "IDENT `{}` is not `{}` (another producer's image; force to read it)",
        shown(.found),
        shown(.expected)
    )]
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
    IndexDecode(snapshot_nvlist::Error),
    /// An nvlist section does not decode (the inner error's offset is
    /// within the section).
    #[error("not a packed nvlist: {0}")]
    BadNvlist(snapshot_nvlist::Error),
    /// A required key is missing or has the wrong type.
    #[error("key `{}` is missing or not {expected}", shown(.key))]
    BadKey {
        /// The key (`sections[2].offset`).
        key: String,
        /// The type or form it must have.
        expected: &'static str,
    },
    /// The format version is not `MAJOR.MINOR`.
    #[error("format version `{}` is not MAJOR.MINOR", shown(.0))]
    BadVersion(String),
    /// The format's major version is not one this reader knows.
    #[error(
        "format version {} is not supported (this reader knows {supported})",
        shown(.found)
    )]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The version this reader writes.
        supported: String,
    },
    /// The image uses incompatible features this reader lacks.
    #[error(
        "uses incompatible features this reader lacks: {}",
        shown(&.0.join(", "))
    )]
    UnknownFeatures(Vec<String>),
    /// A section type this reader does not know.
    #[error("unknown section type `{}`", shown(.0))]
    UnknownSectionType(String),
    /// A codec this reader does not know, or that the section type does
    /// not allow.
    #[error("unknown or disallowed codec `{}`", shown(.0))]
    UnknownCodec(String),
    /// Two sections share a name.
    #[error("a second section of this name")]
    DuplicateSection,
    /// Both header slots hold the same generation with different
    /// contents: no edit writes this (each commits generation + 1), so
    /// which state is meant cannot be told. Slot 0 is read.
    #[error(
        "both header slots hold generation {generation} with different contents (no edit \
         writes this; slot 0 is read)"
    )]
    SameGeneration {
        /// The generation both claim.
        generation: u64,
    },
    /// The newest generation's edit did not reach the disk whole: a
    /// section it wrote under the same sync as its header fails its
    /// check, so the generation before it, in the other slot, is read.
    #[error(
        "generation {generation} was not completely written ({cause}); generation {read}, in \
         the other slot, is read"
    )]
    IncompleteEdit {
        /// The generation whose edit was cut short.
        generation: u64,
        /// The generation read instead.
        read: u64,
        /// How its section failed.
        cause: Box<Error>,
    },
    /// A key appears twice in the header nvlist or a section entry:
    /// which one a reader takes would decide what the image says.
    #[error("key `{}` appears twice", shown(.0))]
    DuplicateKey(String),
    /// A section uses a codec whose incompatible feature the header does
    /// not name, so an older reader would not know to refuse it.
    #[error("uses `{0}` without naming the `{0}` feature in `incompatible`")]
    FeatureNotNamed(&'static str),
    /// A memory section has more chunks than a reader holds the table of.
    #[error("{count} chunks exceed the limit of {limit} per memory section")]
    TooManyChunks {
        /// Chunks the section's size and chunk size make.
        count: u64,
        /// The most a reader accepts.
        limit: u64,
    },
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
    #[error("section is of type `{}`, not {expected}", shown(.found))]
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
    /// A child image's memory is partly in its parent: it is read
    /// through the chain ([`crate::Chain`]), not from the child alone.
    #[error("memory is partly in the parent image: open the chain, or flatten the image")]
    InParent,
    /// A page's content does not have its recorded digest.
    #[error("page {page} does not have its recorded BLAKE3 digest")]
    PageDigest {
        /// The page's number in the section, from 0.
        page: u64,
    },
    /// Bytes that do not have their recorded digest: a section's, or a
    /// page digest table (whose digest is its section's).
    #[error("does not have its recorded BLAKE3 digest {expected}")]
    Digest {
        /// The digest recorded.
        expected: crate::Digest,
    },
    /// A page map disagrees with the chunk table.
    #[error("page map: {0}")]
    BadPageMap(&'static str),
    /// The image has no page digests, which this operation needs.
    #[error("has no page digests (written without them, or changed by a tool that drops them): rebuild it with this version")]
    NoDigests,
    /// A parent image is missing.
    #[error("parent image {} is missing ({reason})", shown(.path))]
    ParentMissing {
        /// The parent's path, resolved.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The parent image at the recorded path is not the one the child was
    /// made on.
    #[error(
        "parent image {} has changed: its section `{}` has digest {found}, the child was made on {expected}",
        shown(.path),
        shown(.section)
    )]
    ParentChanged {
        /// The parent's path, resolved.
        path: String,
        /// The memory section.
        section: String,
        /// The digest the child records.
        expected: crate::Digest,
        /// The parent's digest, if it has one.
        found: String,
    },
    /// A child's memory is not the size of its parent's.
    #[error("memory of {size} bytes, but the parent's is {parent}")]
    ParentSize {
        /// The new memory's size.
        size: u64,
        /// The parent's.
        parent: u64,
    },
    /// A dirty bitmap too short for the memory's pages.
    #[error("dirty bitmap of {len} bytes is too short for {pages} pages")]
    DirtyMapShort {
        /// The bitmap's length.
        len: u64,
        /// Pages of the memory.
        pages: u64,
    },
    /// A chain longer than a reader follows, or a loop of parents.
    #[error("chain of more than {limit} images (or a loop of parents)")]
    ChainTooLong {
        /// The most images a chain may have.
        limit: usize,
    },
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The byte offset in the file (or in the nvlist) where the fault is.
    pub fn offset(&self) -> Option<u64> {
        match &*self.0 {
            ErrorKind::Format { offset, .. } => Some(*offset),
            ErrorKind::NvList(e) => e.offset(),
            ErrorKind::Io { .. } => None,
        }
    }

    /// The fault, for a format error.
    pub fn fault(&self) -> Option<&ImageFault> {
        match &*self.0 {
            ErrorKind::Format { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The operating system's error, for an I/O failure.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match &*self.0 {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn image(part: ImagePart, offset: u64, fault: ImageFault) -> Error {
        ErrorKind::Format {
            part,
            offset,
            fault,
        }
        .into()
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        ErrorKind::Io {
            context: context.into(),
            source,
        }
        .into()
    }
}

/// A copy, for a report that keeps an error the handle also keeps (the
/// spare header slot's fault). An I/O error is copied as its kind and
/// message, which is all `io::Error` lets a copy keep.
impl Clone for Error {
    fn clone(&self) -> Error {
        match &*self.0 {
            ErrorKind::Format {
                part,
                offset,
                fault,
            } => Error::image(part.clone(), *offset, fault.clone()),
            ErrorKind::NvList(e) => e.clone().into(),
            ErrorKind::Io { context, source } => Error::io(
                context.clone(),
                std::io::Error::new(source.kind(), source.to_string()),
            ),
        }
    }
}

/// Equal when of the same kind at the same place; I/O errors compare by
/// context and kind (`io::Error` has no equality of its own).
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        match (&*self.0, &*other.0) {
            (
                ErrorKind::Format {
                    part,
                    offset,
                    fault,
                },
                ErrorKind::Format {
                    part: p,
                    offset: o,
                    fault: f,
                },
            ) => part == p && offset == o && fault == f,
            (ErrorKind::NvList(a), ErrorKind::NvList(b)) => a == b,
            (
                ErrorKind::Io { context, source },
                ErrorKind::Io {
                    context: c,
                    source: s,
                },
            ) => context == c && source.kind() == s.kind(),
            _ => false,
        }
    }
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
        // A format fault's message holds its nvlist error, and an nvlist
        // error is shown as it is: neither is a source again. The I/O
        // error is, so that a caller can find it in the chain.
        match &*self.0 {
            ErrorKind::Format { .. } => None,
            ErrorKind::NvList(e) => e.source(),
            ErrorKind::Io { source, .. } => Some(source),
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
            ErrorKind::Format {
                part,
                offset,
                fault,
            } => write!(f, "{part} (byte {offset}): {fault}"),
            ErrorKind::NvList(e) => fmt::Display::fmt(e, f),
            ErrorKind::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

/// The faults of both header slots, for [`ImageFault::NoValidHeader`].
fn causes(errors: &[Error]) -> String {
    errors.iter().map(|e| format!("; {e}")).collect()
}
