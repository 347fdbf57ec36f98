#![warn(missing_docs)]
//! The snapshot image file: one file holding a VM snapshot's sections,
//! checksummed, crash-safe to edit in place, with guest memory mappable
//! for restore. It knows nvlists (the crate `snapshot-nvlist`) and bytes,
//! nothing of records or schemas.
//!
//! Use [`Builder`] to write a new image (memory streams from any `Read`),
//! [`Image`] to open one (only the header is read), read one section,
//! map or stream the memory, verify everything, and edit a section or a
//! single value in place. The byte layout is specified in `docs/format.md`.
//!
//! Every read of file bytes goes through a [`Storage`], so tests can cut
//! an edit short after any write and check the file still opens.
//!
//! ```
//! use snapshot_image::{Builder, Image, MemoryOptions, OpenOptions};
//! use snapshot_nvlist::{NvList, Value, ValuePath};
//!
//! // A file works the same; a Vec keeps the example in memory.
//! let mut b = Builder::new(Vec::new(), "snapshot", None)?;
//! b.add_nvlist("devices", &NvList::new().with("vhpet", NvList::new().with("config", 1u64)))?;
//! b.add_memory_slice("memory", &vec![0u8; 1 << 20], MemoryOptions::default())?;
//! let mut image = Image::from_storage(b.finish()?, &OpenOptions::default())?;
//!
//! let path = ValuePath::parse("devices.vhpet.config")?;
//! image.set_text(&path, "0x10", None)?; // in place, crash-safe
//! assert_eq!(path.get(&image.read_nvlist("devices")?)?, Value::Number(16));
//! assert_eq!(image.header().generation, 2);
//! assert!(image.verify(2, &|_| {}).is_sound());
//! # Ok::<(), snapshot_image::Error>(())
//! ```

mod chain;
mod checksum;
mod digest;
mod edit;
pub mod error;
mod header;
mod memory;
mod prepare;
mod reader;
mod replace;
mod section;
mod storage;
mod verify;
mod writer;

pub use chain::{parent_reference, resolve_parent, Chain, ChainMemory, MAX_CHAIN};
pub use checksum::crc32c;
pub use digest::{Digest, DIGEST_LEN};
pub use error::{Error, ErrorKind, ImageFault, ImagePart, Result};
pub use header::{FormatVersion, Header, IndexExtent};
pub use memory::{ChunkEntry, ChunkKind, MemoryStats};
pub use reader::{IdentCheck, Image, Memory, OpenOptions};
pub use replace::{replace_file, temp_beside};
pub use section::{Codec, MemoryLayout, ParentLink, SectionEntry, SectionKind};
pub use storage::{lock_for_edit, Storage};
pub use verify::{VerifyReport, LISTED_CHUNKS};
pub use writer::{Builder, MemoryOptions};

/// Size of one header slot; the first slot is the proposal's 4096-byte
/// header.
pub const SLOT_SIZE: u64 = 4096;
/// The two header slots; sections start after them.
pub const HEADER_AREA: u64 = 2 * SLOT_SIZE;
/// Every extent starts on this boundary, so memory can be mapped.
pub const ALIGN: u64 = 4096;
/// The page a raw memory chunk's zero runs are left holes at (the
/// smallest guest page, and the file system's block).
pub const PAGE: u64 = 4096;
/// Bytes of the IDENT field at the start of each slot.
pub const IDENT_LEN: usize = 64;
/// The IDENT written and expected when the caller names none.
pub const DEFAULT_IDENT: &str = "snapshot";
/// The format version this code writes; it reads any `1.x`.
pub const FORMAT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 0 };
/// Memory chunk size when the caller names none.
pub const DEFAULT_CHUNK_SIZE: u64 = 1 << 20;
/// The largest nvlist or raw section loaded into memory whole.
pub const MAX_LOADED_SECTION: u64 = 1 << 30;
/// The most chunks a memory section may have: its table, 16 bytes a
/// chunk, is held in memory while the section is read, so this caps that
/// at 128 MiB (8 TiB of memory in the default 1 MiB chunks, 32 GiB in
/// 4 KiB ones).
pub const MAX_CHUNKS: u64 = 1 << 23;
/// The incompatible feature a memory section with zstd chunks sets.
pub const FEATURE_ZSTD: &str = "zstd";
/// The incompatible feature of an image whose section index is too large
/// for a header slot and is kept in an extent the header points to.
pub const FEATURE_INDEX_EXTENT: &str = "index-extent";
/// The incompatible feature of a child image, whose memory is partly
/// its parent's.
pub const FEATURE_PARENT: &str = "parent";
/// Incompatible features this reader supports.
pub const KNOWN_FEATURES: &[&str] = &[FEATURE_ZSTD, FEATURE_INDEX_EXTENT, FEATURE_PARENT];

/// Rounds `n` up to a multiple of [`ALIGN`], or `None` on overflow.
pub(crate) fn align_up(n: u64) -> Option<u64> {
    n.checked_add(ALIGN - 1).map(|v| v & !(ALIGN - 1))
}
