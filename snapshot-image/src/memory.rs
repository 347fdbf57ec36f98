//! The chunk table of a memory section: one 16-byte entry per chunk.
//!
//! Chunks sit at fixed offsets whatever their content, so an uncompressed
//! section maps into memory as is; the table only says how each chunk is
//! stored and what its checksum is.

use crate::error::{Error, ImageFault, ImagePart, Result};

/// Bytes per chunk table entry.
pub const ENTRY_SIZE: usize = 16;

/// How one chunk is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkKind {
    /// All zero: nothing written, the file has a hole there.
    Zero,
    /// The chunk's bytes as they are.
    Raw,
    /// A zstd frame, at the start of the chunk's slot.
    Zstd,
    /// Child images only: nothing stored, the parent's chunk is this one.
    Parent,
    /// Child images only: the pages the page map sets are stored one
    /// after another, in page order, from the start of the chunk's slot
    /// (a zero one as a hole); the others are the parent's. Packed, so
    /// that a few scattered pages are one write and one read, not one
    /// each. The checksum covers the stored pages in order.
    Pages,
}

/// One chunk table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkEntry {
    /// How the chunk is stored.
    pub kind: ChunkKind,
    /// Bytes stored in the file (0 for a zero chunk).
    pub stored_len: u32,
    /// CRC32C of the stored bytes (0 for a zero chunk).
    pub crc32c: u32,
}

impl ChunkEntry {
    /// The zero chunk's entry.
    pub const ZERO: ChunkEntry = ChunkEntry {
        kind: ChunkKind::Zero,
        stored_len: 0,
        crc32c: 0,
    };

    /// The 16 bytes of the entry: kind, 3 zero bytes, stored length,
    /// CRC32C, 4 zero bytes (little-endian).
    pub(crate) fn encode(&self) -> [u8; ENTRY_SIZE] {
        let mut out = [0u8; ENTRY_SIZE];
        out[0] = match self.kind {
            ChunkKind::Zero => 0,
            ChunkKind::Raw => 1,
            ChunkKind::Zstd => 2,
            ChunkKind::Parent => 3,
            ChunkKind::Pages => 5,
        };
        out[4..8].copy_from_slice(&self.stored_len.to_le_bytes());
        out[8..12].copy_from_slice(&self.crc32c.to_le_bytes());
        out
    }

    /// Decodes and checks entry `index` for a chunk of `chunk_len` bytes.
    pub(crate) fn decode(
        bytes: &[u8; ENTRY_SIZE],
        chunk_len: u64,
        allowed: Allowed,
        part: impl Fn() -> (ImagePart, u64),
    ) -> Result<ChunkEntry> {
        let fail = |why| {
            let (part, at) = part();
            Err(Error::image(part, at, ImageFault::BadChunkEntry(why)))
        };
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        if bytes[1..4] != [0; 3] || word(12) != 0 {
            return fail("reserved bytes are not zero");
        }
        let entry = ChunkEntry {
            kind: match bytes[0] {
                0 => ChunkKind::Zero,
                1 => ChunkKind::Raw,
                2 if allowed.zstd => ChunkKind::Zstd,
                2 => return fail("zstd chunk in a section whose codec is none"),
                3 if allowed.parent => ChunkKind::Parent,
                // 4 is retired: a partial chunk whose pages sat at
                // their places in the slot, one write and read each.
                5 if allowed.parent => ChunkKind::Pages,
                3 | 5 => return fail("parent's chunk in a section without a parent"),
                _ => return fail("unknown chunk kind"),
            },
            stored_len: word(4),
            crc32c: word(8),
        };
        let stored = u64::from(entry.stored_len);
        match entry.kind {
            ChunkKind::Zero | ChunkKind::Parent if stored != 0 || entry.crc32c != 0 => {
                fail("chunk stored elsewhere with a length or checksum")
            }
            ChunkKind::Pages if stored == 0 || stored >= chunk_len => {
                fail("partial chunk's length is not below the chunk's")
            }
            ChunkKind::Raw if stored != chunk_len => fail("raw chunk length is not the chunk's"),
            ChunkKind::Zstd if stored == 0 || stored >= chunk_len => {
                fail("compressed length is not below the chunk's")
            }
            _ => Ok(entry),
        }
    }
}

/// The chunk kinds a section's entries may have.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Allowed {
    /// The section's codec is zstd.
    pub zstd: bool,
    /// The section has a parent.
    pub parent: bool,
}

/// Number of chunks of a memory section.
pub(crate) fn chunk_count(size: u64, chunk_size: u64) -> u64 {
    size.div_ceil(chunk_size)
}

/// Length of chunk `index` (the last one may be short).
pub(crate) fn chunk_len(size: u64, chunk_size: u64, index: u64) -> u64 {
    (size - index * chunk_size).min(chunk_size)
}

/// What a memory section holds and takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Guest memory bytes.
    pub size: u64,
    /// Chunks in all.
    pub chunks: u64,
    /// Chunks that are all zero (holes in the file).
    pub zero_chunks: u64,
    /// Chunks stored as zstd frames.
    pub compressed_chunks: u64,
    /// Chunks that are the parent's whole.
    pub parent_chunks: u64,
    /// Chunks with some pages of their own, the rest the parent's.
    pub partial_chunks: u64,
    /// Bytes of chunk data stored in the file (holes excluded).
    pub stored_bytes: u64,
}

impl MemoryStats {
    /// Counts one chunk in.
    pub(crate) fn add(&mut self, entry: &ChunkEntry) {
        self.chunks += 1;
        self.stored_bytes += u64::from(entry.stored_len);
        match entry.kind {
            ChunkKind::Zero => self.zero_chunks += 1,
            ChunkKind::Zstd => self.compressed_chunks += 1,
            ChunkKind::Parent => self.parent_chunks += 1,
            ChunkKind::Pages => self.partial_chunks += 1,
            ChunkKind::Raw => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: [u8; 16], len: u64) -> Result<ChunkEntry> {
        let allowed = Allowed {
            zstd: true,
            parent: true,
        };
        ChunkEntry::decode(&bytes, len, allowed, || (ImagePart::File, 0))
    }

    #[test]
    fn entries_round_trip() {
        for e in [
            ChunkEntry::ZERO,
            ChunkEntry {
                kind: ChunkKind::Raw,
                stored_len: 4096,
                crc32c: 7,
            },
            ChunkEntry {
                kind: ChunkKind::Zstd,
                stored_len: 10,
                crc32c: 9,
            },
        ] {
            assert_eq!(decode(e.encode(), 4096).unwrap(), e);
        }
    }

    #[test]
    fn entry_rules() {
        let raw = ChunkEntry {
            kind: ChunkKind::Raw,
            stored_len: 4096,
            crc32c: 7,
        }
        .encode();
        assert!(decode(raw, 4095).is_err(), "raw length must match");
        let mut reserved = raw;
        reserved[13] = 1;
        assert!(decode(reserved, 4096).is_err());
        let mut kind = raw;
        kind[0] = 3;
        assert!(decode(kind, 4096).is_err());
        let mut zero = ChunkEntry::ZERO.encode();
        zero[8] = 1;
        assert!(
            decode(zero, 4096).is_err(),
            "zero chunk carries no checksum"
        );
        let zstd = ChunkEntry {
            kind: ChunkKind::Zstd,
            stored_len: 4096,
            crc32c: 0,
        };
        assert!(
            decode(zstd.encode(), 4096).is_err(),
            "compressed must be smaller"
        );
        let none = Allowed::default();
        assert!(ChunkEntry::decode(&zstd.encode(), 8192, none, || (ImagePart::File, 0)).is_err());
        let parent = ChunkEntry {
            kind: ChunkKind::Parent,
            stored_len: 0,
            crc32c: 0,
        };
        assert_eq!(decode(parent.encode(), 4096).unwrap(), parent);
        assert!(ChunkEntry::decode(&parent.encode(), 4096, none, || (ImagePart::File, 0)).is_err());
        let pages = ChunkEntry {
            kind: ChunkKind::Pages,
            stored_len: 4096,
            crc32c: 1,
        };
        assert_eq!(decode(pages.encode(), 8192).unwrap(), pages);
        assert!(
            decode(pages.encode(), 4096).is_err(),
            "a whole chunk is raw"
        );
    }

    #[test]
    fn counts() {
        assert_eq!(chunk_count(1, 4096), 1);
        assert_eq!(chunk_count(8192, 4096), 2);
        assert_eq!(chunk_len(8193, 4096, 2), 1);
    }
}
