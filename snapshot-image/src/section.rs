//! Section index entries and the rules their extents must keep.
//!
//! An entry is read from and written back to its nvlist without losing
//! keys this version does not know, so an older tool editing a newer image
//! keeps what the newer producer recorded.

use std::fmt;

use crate::digest::{Digest, DIGEST_LEN};
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::header::{duplicate_key, IndexExtent};
use crate::memory::{chunk_count, ENTRY_SIZE};
use crate::{ALIGN, HEADER_AREA, MAX_CHUNKS, MAX_LOADED_SECTION, PAGE};
use snapshot_nvlist::{NvList, Value, View};

/// What a section holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// A packed nvlist (`config`, `devices`, `kernel`).
    NvList,
    /// Opaque bytes of the producer's choosing.
    Raw,
    /// Guest memory in fixed-size chunks with a chunk table.
    Memory,
}

impl SectionKind {
    /// The name written in the index.
    pub fn keyword(self) -> &'static str {
        match self {
            SectionKind::NvList => "nvlist",
            SectionKind::Raw => "raw",
            SectionKind::Memory => "memory",
        }
    }

    fn from_keyword(word: &str) -> Option<SectionKind> {
        [SectionKind::NvList, SectionKind::Raw, SectionKind::Memory]
            .into_iter()
            .find(|k| k.keyword() == word)
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// How a section's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// As they are.
    None,
    /// Memory only: chunks may be zstd frames.
    Zstd,
}

impl Codec {
    /// The name written in the index.
    pub fn keyword(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Where a memory section keeps its chunk table, and its chunk size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLayout {
    /// Bytes per chunk (a power of two); chunk `i` starts at
    /// `offset + i * chunk_size`.
    pub chunk_size: u64,
    /// File offset of the chunk table (16 bytes per chunk).
    pub table_offset: u64,
}

/// How a child image's memory section stands on its parent's section of
/// the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParentLink {
    /// The digest of the parent's section when the child was made: a
    /// parent whose section has another is not the child's parent.
    pub digest: Digest,
    /// File offset of the page map: one bit a page, set for the pages of
    /// a partial chunk this image holds (the others are the parent's).
    pub page_map_offset: u64,
    /// CRC32C of the page map.
    pub page_map_crc32c: u32,
}

/// One section of the index.
#[derive(Clone, Debug, PartialEq)]
pub struct SectionEntry {
    /// The section's name (`devices`).
    pub name: String,
    /// What it holds.
    pub kind: SectionKind,
    /// File offset of its bytes (of chunk 0 for memory).
    pub offset: u64,
    /// Its length in bytes (the guest memory size for memory).
    pub size: u64,
    /// How its bytes are stored.
    pub codec: Codec,
    /// CRC32C of its bytes; of the chunk table for memory.
    pub crc32c: u32,
    /// Memory sections only.
    pub memory: Option<MemoryLayout>,
    /// The BLAKE3 digest of the content (see `digest`): `None` in an
    /// image written without digests, or whose digest is stale (its
    /// section changed by a tool that does not keep digests).
    pub digest: Option<Digest>,
    /// Memory with a digest: file offset of its page digest table, 32
    /// bytes for each 4 KiB page.
    pub page_digests: Option<u64>,
    /// Memory of a child image: its link to the parent's section.
    pub parent: Option<ParentLink>,
    /// The entry as read, so unknown keys survive an edit.
    pub(crate) extra: NvList,
}

/// Index keys of an entry.
const NAME: &str = "name";
const TYPE: &str = "type";
const OFFSET: &str = "offset";
const SIZE: &str = "size";
const CODEC: &str = "codec";
const CRC32C: &str = "crc32c";
const CHUNK_SIZE: &str = "chunk_size";
const TABLE_OFFSET: &str = "table_offset";
const DIGEST: &str = "blake3";
/// The entry's `crc32c` when the digest was made: a digest whose
/// section has since changed under a tool that does not know digests
/// (and keeps the key as an unknown one) differs, and is not used.
const DIGEST_CRC32C: &str = "blake3_crc32c";
const PAGE_DIGESTS: &str = "page_digests";
const PARENT_DIGEST: &str = "parent_blake3";
const PAGE_MAP: &str = "page_map";
const PAGE_MAP_CRC32C: &str = "page_map_crc32c";
/// The keys of digests and parents, removed when the entry has none.
const DIGEST_KEYS: [&str; 6] = [
    DIGEST,
    DIGEST_CRC32C,
    PAGE_DIGESTS,
    PARENT_DIGEST,
    PAGE_MAP,
    PAGE_MAP_CRC32C,
];

/// A byte range of the file that one part of the image owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Extent {
    pub part: ImagePart,
    pub start: u64,
    pub len: u64,
}

impl SectionEntry {
    /// A new entry with no unknown keys.
    pub(crate) fn new(name: &str, kind: SectionKind, offset: u64, size: u64, crc: u32) -> Self {
        SectionEntry {
            name: name.to_owned(),
            kind,
            offset,
            size,
            codec: Codec::None,
            crc32c: crc,
            memory: None,
            digest: None,
            page_digests: None,
            parent: None,
            extra: NvList::new(),
        }
    }

    /// Memory: the number of 4 KiB pages (the last may be short).
    pub fn page_count(&self) -> u64 {
        match self.memory {
            Some(_) => self.size.div_ceil(PAGE),
            None => 0,
        }
    }

    /// Memory: the number of chunks.
    pub fn chunk_count(&self) -> u64 {
        match self.memory {
            Some(m) => chunk_count(self.size, m.chunk_size),
            None => 0,
        }
    }

    /// The file ranges this section owns.
    pub(crate) fn extents(&self) -> Vec<Extent> {
        let mut out = vec![Extent {
            part: ImagePart::Section(self.name.clone()),
            start: self.offset,
            len: self.size,
        }];
        if let Some(m) = self.memory {
            out.push(Extent {
                part: ImagePart::ChunkTable(self.name.clone()),
                start: m.table_offset,
                len: self.chunk_count() * ENTRY_SIZE as u64,
            });
        }
        if let Some(at) = self.page_digests {
            out.push(Extent {
                part: ImagePart::PageDigests(self.name.clone()),
                start: at,
                len: self.page_count() * DIGEST_LEN as u64,
            });
        }
        if let Some(link) = self.parent {
            out.push(Extent {
                part: ImagePart::PageMap(self.name.clone()),
                start: link.page_map_offset,
                len: self.page_count().div_ceil(8),
            });
        }
        out
    }

    /// The entry as an index nvlist, unknown keys kept in place.
    pub(crate) fn to_nvlist(&self) -> NvList {
        let mut nv = self.extra.clone();
        nv.insert(NAME, self.name.as_str());
        nv.insert(TYPE, self.kind.keyword());
        nv.insert(OFFSET, self.offset);
        nv.insert(SIZE, self.size);
        nv.insert(CODEC, self.codec.keyword());
        nv.insert(CRC32C, u64::from(self.crc32c));
        if let Some(m) = self.memory {
            nv.insert(CHUNK_SIZE, m.chunk_size);
            nv.insert(TABLE_OFFSET, m.table_offset);
        }
        for key in DIGEST_KEYS {
            nv.remove(key);
        }
        if let Some(d) = self.digest {
            nv.insert(DIGEST, Value::Binary(d.0.to_vec()));
            nv.insert(DIGEST_CRC32C, u64::from(self.crc32c));
        }
        if let Some(at) = self.page_digests {
            nv.insert(PAGE_DIGESTS, at);
        }
        if let Some(link) = self.parent {
            nv.insert(PARENT_DIGEST, Value::Binary(link.digest.0.to_vec()));
            nv.insert(PAGE_MAP, link.page_map_offset);
            nv.insert(PAGE_MAP_CRC32C, u64::from(link.page_map_crc32c));
        }
        nv
    }

    /// Reads entry `i` of the index; `at` is the slot's offset, for errors.
    pub(crate) fn from_nvlist(nv: &NvList, i: usize, at: u64) -> Result<SectionEntry> {
        let key = |k: &str| format!("sections[{i}].{k}");
        let bad = |k: &str, expected| {
            Error::image(
                ImagePart::Index,
                at,
                ImageFault::BadKey {
                    key: key(k),
                    expected,
                },
            )
        };
        let number = |k: &str| match nv.get(k) {
            Some(Value::Number(n)) => Ok(*n),
            _ => Err(bad(k, "a number")),
        };
        let string = |k: &str| match nv.get(k) {
            Some(Value::String(s)) => s.to_str().ok_or_else(|| bad(k, "a UTF-8 string")),
            _ => Err(bad(k, "a string")),
        };
        if let Some(k) = duplicate_key(nv) {
            let fault = ImageFault::DuplicateKey(key(&k));
            return Err(Error::image(ImagePart::Index, at, fault));
        }
        let name = string(NAME)?;
        let fault = |f| Error::image(ImagePart::Section(name.to_owned()), at, f);
        if name.is_empty() {
            return Err(fault(ImageFault::BadSectionName));
        }
        let ty = string(TYPE)?;
        let kind = SectionKind::from_keyword(ty)
            .ok_or_else(|| fault(ImageFault::UnknownSectionType(ty.to_owned())))?;
        let codec = match (string(CODEC)?, kind) {
            ("none", _) => Codec::None,
            ("zstd", SectionKind::Memory) => Codec::Zstd,
            (other, _) => return Err(fault(ImageFault::UnknownCodec(other.to_owned()))),
        };
        let crc = u32::try_from(number(CRC32C)?).map_err(|_| bad(CRC32C, "a 32-bit number"))?;
        let memory = match kind {
            SectionKind::Memory => Some(MemoryLayout {
                chunk_size: number(CHUNK_SIZE)?,
                table_offset: number(TABLE_OFFSET)?,
            }),
            _ => None,
        };
        let digest_at = |k: &str| match nv.get(k) {
            None => Ok(None),
            Some(Value::Binary(b)) if b.len() == DIGEST_LEN => Ok(Digest::from_slice(b)),
            Some(_) => Err(bad(k, "a 32-byte binary")),
        };
        let optional = |k: &str| nv.get(k).map(|_| number(k)).transpose();
        // A stale digest is dropped with what it covers; the keys go at
        // the next edit.
        let mut digest = digest_at(DIGEST)?;
        let mut page_digests = optional(PAGE_DIGESTS)?;
        if digest.is_some() && optional(DIGEST_CRC32C)? != Some(u64::from(crc)) {
            (digest, page_digests) = (None, None);
        }
        if kind == SectionKind::Memory && (digest.is_none() || page_digests.is_none()) {
            (digest, page_digests) = (None, None);
        }
        let parent = match digest_at(PARENT_DIGEST)? {
            None => None,
            Some(d) if kind == SectionKind::Memory => Some(ParentLink {
                digest: d,
                page_map_offset: number(PAGE_MAP)?,
                page_map_crc32c: u32::try_from(number(PAGE_MAP_CRC32C)?)
                    .map_err(|_| bad(PAGE_MAP_CRC32C, "a 32-bit number"))?,
            }),
            Some(_) => return Err(bad(PARENT_DIGEST, "absent (not a memory section)")),
        };
        Ok(SectionEntry {
            name: name.to_owned(),
            kind,
            offset: number(OFFSET)?,
            size: number(SIZE)?,
            codec,
            crc32c: crc,
            memory,
            digest,
            page_digests: page_digests.filter(|_| kind == SectionKind::Memory),
            parent,
            extra: nv.clone(),
        })
    }
}

/// Refuses content for an nvlist or raw section `name` that a reader
/// would refuse: empty, larger than a section is loaded, or (for an
/// nvlist section) not a packed nvlist the checked decoder accepts,
/// nesting limit included. The builder and every edit check by this one
/// rule, before anything is written. `at` is the offset to name.
pub(crate) fn check_content(name: &str, kind: SectionKind, bytes: &[u8], at: u64) -> Result<()> {
    let part = ImagePart::Section(name.into());
    if bytes.is_empty() {
        return Err(Error::image(part, at, ImageFault::Empty));
    }
    let size = bytes.len() as u64;
    if size > MAX_LOADED_SECTION {
        let limit = MAX_LOADED_SECTION;
        return Err(Error::image(
            part,
            at,
            ImageFault::SectionTooLarge { size, limit },
        ));
    }
    match kind {
        // The view accepts exactly what `unpack` accepts, without building
        // the tree.
        SectionKind::NvList => View::parse(bytes).map(drop).map_err(|e| {
            Error::image(part, at + e.offset().unwrap_or(0), ImageFault::BadNvlist(e))
        }),
        SectionKind::Raw => Ok(()),
        SectionKind::Memory => Err(Error::image(
            part,
            at,
            ImageFault::WrongSectionType {
                expected: "nvlist or raw",
                found: "memory".into(),
            },
        )),
    }
}

/// Checks that every section's extents are aligned, inside the file and
/// disjoint, names are unique, and memory chunk sizes are sane. After
/// this, every offset and length in `sections` can be read without
/// overflow and without allocating more than the file holds.
pub(crate) fn validate_layout(
    sections: &[SectionEntry],
    index: Option<IndexExtent>,
    file_len: u64,
) -> Result<()> {
    // The index extent was checked against the file when it was read.
    let mut extents: Vec<Extent> = index.iter().map(IndexExtent::extent).collect();
    for (i, s) in sections.iter().enumerate() {
        let part = ImagePart::Section(s.name.clone());
        if sections[..i].iter().any(|o| o.name == s.name) {
            return Err(Error::image(part, s.offset, ImageFault::DuplicateSection));
        }
        if let Some(m) = s.memory {
            let ok = m.chunk_size.is_power_of_two() && (ALIGN..=1 << 30).contains(&m.chunk_size);
            if !ok {
                return Err(Error::image(
                    part,
                    s.offset,
                    ImageFault::BadChunkSize(m.chunk_size),
                ));
            }
            let count = s.chunk_count();
            if count > MAX_CHUNKS {
                let limit = MAX_CHUNKS;
                let fault = ImageFault::TooManyChunks { count, limit };
                return Err(Error::image(part, s.offset, fault));
            }
        }
        // The data extent is checked before the table's length is derived
        // from it, so that length cannot overflow.
        for e in s.extents() {
            check_extent(&e, file_len)?;
            extents.push(e);
        }
    }
    extents.sort_by_key(|e| e.start);
    for pair in extents.windows(2) {
        if pair[0].start + pair[0].len > pair[1].start {
            return Err(Error::image(
                pair[1].part.clone(),
                pair[1].start,
                ImageFault::Overlap {
                    other: pair[0].part.clone(),
                },
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_extent(e: &Extent, file_len: u64) -> Result<()> {
    if e.start % ALIGN != 0 || e.start < HEADER_AREA || e.len == 0 {
        return Err(Error::image(
            e.part.clone(),
            e.start,
            ImageFault::Misaligned,
        ));
    }
    match e.start.checked_add(e.len) {
        Some(end) if end <= file_len => Ok(()),
        _ => Err(Error::image(
            e.part.clone(),
            e.start,
            ImageFault::PastEnd {
                size: e.len,
                file_len,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, offset: u64, size: u64) -> SectionEntry {
        SectionEntry::new(name, SectionKind::Raw, offset, size, 0)
    }

    #[test]
    fn layout_rules() {
        let len = 5 * ALIGN;
        assert!(validate_layout(&[raw("a", 8192, 4096), raw("b", 12288, 1)], None, len).is_ok());
        let fault = |s: &[SectionEntry]| match validate_layout(s, None, len).unwrap_err().kind() {
            crate::ErrorKind::Format { fault, .. } => fault.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fault(&[raw("a", 4096, 1)]), ImageFault::Misaligned);
        assert_eq!(fault(&[raw("a", 8193, 1)]), ImageFault::Misaligned);
        assert_eq!(fault(&[raw("a", 8192, 0)]), ImageFault::Misaligned);
        assert!(matches!(
            fault(&[raw("a", 8192, u64::MAX)]),
            ImageFault::PastEnd { .. }
        ));
        assert!(matches!(
            fault(&[raw("a", 8192, 4097), raw("b", 12288, 1)]),
            ImageFault::Overlap { .. }
        ));
        assert_eq!(
            fault(&[raw("a", 8192, 1), raw("a", 12288, 1)]),
            ImageFault::DuplicateSection
        );
    }

    #[test]
    fn memory_table_counts() {
        let mut m = SectionEntry::new("memory", SectionKind::Memory, 8192, 4096 * 3 + 1, 0);
        m.memory = Some(MemoryLayout {
            chunk_size: 4096,
            table_offset: 8192 + 4 * 4096,
        });
        assert_eq!(m.chunk_count(), 4);
        assert!(validate_layout(&[m.clone()], None, 8192 + 5 * 4096).is_ok());
        m.memory = Some(MemoryLayout {
            chunk_size: 3000,
            table_offset: 8192 + 4 * 4096,
        });
        assert!(validate_layout(&[m], None, 8192 + 5 * 4096).is_err());
    }
}
