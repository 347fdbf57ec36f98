//! Opening an image and reading its sections.
//!
//! Opening reads the two header slots and nothing else; reading a section
//! reads that section's bytes and nothing else. Memory is read a chunk at
//! a time, or mapped when it is stored uncompressed.

use std::io::Write;
use std::path::Path;

use crate::checksum::{crc32c, crc32c_append};
use crate::digest::{Digest, DIGEST_LEN};
use crate::error::{Error, ErrorKind, ImageFault, ImagePart, Result};
use crate::header::{Header, RawSlot};
use crate::memory::{chunk_len, Allowed, ChunkEntry, ChunkKind, MemoryStats, ENTRY_SIZE};
use crate::section::{validate_layout, Codec, SectionEntry, SectionKind};
use crate::storage::{lock_for_edit, Storage};
use crate::{DEFAULT_IDENT, HEADER_AREA, MAX_LOADED_SECTION, PAGE, SLOT_SIZE};
use snapshot_nvlist::text::shown;
use snapshot_nvlist::NvList;

/// Which producers' images to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentCheck {
    /// Only images whose IDENT is this one.
    Expect(String),
    /// Any IDENT (forced).
    Any,
}

/// How to open an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// The IDENT check; by default the image must carry [`DEFAULT_IDENT`].
    pub ident: IdentCheck,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            ident: IdentCheck::Expect(DEFAULT_IDENT.into()),
        }
    }
}

/// An open image: the header in force and the store it came from.
#[derive(Debug)]
pub struct Image<S: Storage = std::fs::File> {
    pub(crate) storage: S,
    pub(crate) header: Header,
    /// The slot the header came from.
    pub(crate) slot: u8,
    pub(crate) file_len: u64,
    /// Why the other slot is unusable, when it is neither blank nor valid.
    pub(crate) other_slot_fault: Option<Error>,
    /// Set while an edit writes, left set if it fails: the file may then
    /// hold a generation this handle does not know, so further edits
    /// through it are refused.
    pub(crate) stale: bool,
}

impl Image<std::fs::File> {
    /// Opens the image at `path` read-only.
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        Image::from_storage(file, options)
    }

    /// Opens the image at `path` for reading and in-place edits, holding
    /// an exclusive lock (see [`lock_for_edit`]) until it is dropped.
    pub fn open_rw(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        lock_for_edit(&file)
            .map_err(|e| Error::io(format!("locking {} for editing", path.display()), e))?;
        Image::from_storage(file, options)
    }

    /// Maps the memory section `name` read-only, for restore. Only an
    /// uncompressed section can be mapped. The mapping is not checked
    /// against the chunk checksums: run [`Image::verify`] first when the
    /// file may be damaged.
    pub fn map_memory(&self, name: &str) -> Result<memmap2::Mmap> {
        let (offset, len) = self.mappable(name)?;
        // SAFETY: the map is read-only. Like every file map, its contents
        // change if another process writes the file; edits of this crate
        // never rewrite a memory section in place.
        unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(&self.storage)
        }
        .map_err(|e| Error::io(format!("mapping section `{}`", shown(name)), e))
    }

    /// Maps the memory section `name` private and writable, for a guest
    /// to run on: pages are read from the file when first touched, and a
    /// page the guest writes becomes the process's own copy (the file is
    /// never written). The start is page-aligned, as KVM needs. The same
    /// conditions as [`Image::map_memory`] hold.
    pub fn map_memory_private(&self, name: &str) -> Result<memmap2::MmapMut> {
        let (offset, len) = self.mappable(name)?;
        // SAFETY: the map is private: writes to it never reach the file.
        // Another process writing the file changes pages not yet copied;
        // edits of this crate never rewrite a memory section in place.
        unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map_copy(&self.storage)
        }
        .map_err(|e| Error::io(format!("mapping section `{}`", shown(name)), e))
    }

    /// The offset and length of an uncompressed memory section.
    fn mappable(&self, name: &str) -> Result<(u64, usize)> {
        let entry = self.typed_section(name, SectionKind::Memory)?;
        let part = || ImagePart::Section(name.into());
        if entry.codec != Codec::None {
            return Err(Error::image(part(), entry.offset, ImageFault::Compressed));
        }
        if entry.parent.is_some() {
            return Err(Error::image(part(), entry.offset, ImageFault::InParent));
        }
        let len = usize::try_from(entry.size).map_err(|_| {
            Error::image(
                ImagePart::Section(name.into()),
                entry.offset,
                ImageFault::SectionTooLarge {
                    size: entry.size,
                    limit: usize::MAX as u64,
                },
            )
        })?;
        Ok((entry.offset, len))
    }
}

impl<S: Storage> Image<S> {
    /// Opens the image held by `storage`: reads and checks both header
    /// slots, takes the valid one of higher generation, and checks its
    /// index against the file's length.
    pub fn from_storage(storage: S, options: &OpenOptions) -> Result<Self> {
        let file_len = storage
            .len()
            .map_err(|e| Error::io("reading the image length", e))?;
        if file_len < HEADER_AREA {
            return Err(Error::image(
                ImagePart::File,
                0,
                ImageFault::TooShort { len: file_len },
            ));
        }
        let mut area = vec![0u8; HEADER_AREA as usize];
        storage
            .read_at(&mut area, 0)
            .map_err(|e| Error::io("reading the header", e))?;
        let mut slots: [Result<Option<RawSlot>>; 2] = [0u8, 1].map(|i| {
            let start = (u64::from(i) * SLOT_SIZE) as usize;
            Header::decode_slot(&area[start..start + SLOT_SIZE as usize], i)
        });
        let generation = |s: &Result<Option<RawSlot>>| match s {
            Ok(Some(raw)) => Some(raw.generation),
            _ => None,
        };
        let (g0, g1) = (generation(&slots[0]), generation(&slots[1]));
        let slot: u8 = match (g0, g1) {
            (Some(a), Some(b)) => u8::from(b > a),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => {
                let causes = slots.into_iter().filter_map(|s| s.err()).collect();
                return Err(Error::image(
                    ImagePart::File,
                    0,
                    ImageFault::NoValidHeader(causes),
                ));
            }
        };
        let other = 1 - slot;
        let (mut older, mut other_slot_fault) =
            match std::mem::replace(&mut slots[other as usize], Ok(None)) {
                Ok(raw) => (raw, None),
                Err(e) => (None, Some(e)),
            };
        let (first, second) = area.split_at(SLOT_SIZE as usize);
        if let (Some(generation), true) = (g0.filter(|&g| Some(g) == g1), first != second) {
            older = None;
            other_slot_fault = Some(Error::image(
                ImagePart::HeaderSlot(1),
                SLOT_SIZE,
                ImageFault::SameGeneration { generation },
            ));
        }
        let raw = match std::mem::replace(&mut slots[slot as usize], Ok(None)) {
            Ok(Some(raw)) => raw,
            _ => unreachable!("the chosen slot decoded"),
        };
        if let IdentCheck::Expect(expected) = &options.ident {
            if &raw.ident != expected {
                return Err(Error::image(
                    ImagePart::HeaderSlot(slot),
                    u64::from(slot) * SLOT_SIZE,
                    ImageFault::ForeignIdent {
                        found: raw.ident,
                        expected: expected.clone(),
                    },
                ));
            }
        }
        let ident = raw.ident.clone();
        let header = Header::from_raw(raw, slot, &storage, file_len)?;
        let layout = validate_layout(&header.sections, header.index, file_len);
        let mut image = Image {
            storage,
            header,
            slot,
            file_len,
            other_slot_fault,
            stale: false,
        };
        // A section written under one sync with the header may be
        // missing (the file shorter than the index says) or torn.
        let laid_out = layout.is_ok();
        let incomplete = match layout {
            Ok(()) => image.unsynced_fault(),
            Err(e) if !image.header.unsynced.is_empty() => Some(e),
            Err(e) => return Err(e),
        };
        let Some(cause) = incomplete else {
            return Ok(image);
        };
        // The edit wrote nothing the other slot's generation uses.
        let older = older.filter(|raw| raw.ident == ident).and_then(|raw| {
            let header = Header::from_raw(raw, other, &image.storage, file_len).ok()?;
            validate_layout(&header.sections, header.index, file_len).ok()?;
            Some(header)
        });
        let Some(older) = older else {
            // Nothing to fall back to: reads of the section will fail.
            return if laid_out { Ok(image) } else { Err(cause) };
        };
        let fault = ImageFault::IncompleteEdit {
            generation: image.header.generation,
            read: older.generation,
            cause: Box::new(cause),
        };
        image.other_slot_fault = Some(Error::image(
            ImagePart::HeaderSlot(slot),
            u64::from(slot) * SLOT_SIZE,
            fault,
        ));
        image.header = older;
        image.slot = other;
        Ok(image)
    }

    /// The first fault of the sections the header in force lists as
    /// unsynced: a checksum that fails (not an I/O error, which says
    /// nothing of the edit).
    fn unsynced_fault(&self) -> Option<Error> {
        self.header.unsynced.iter().find_map(|name| {
            let e = self.read_section(name).err()?;
            matches!(e.kind(), ErrorKind::Format { .. }).then_some(e)
        })
    }

    /// The header in force.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The slot (0 or 1) the header in force came from.
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// The file's length when opened or last edited.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The store, to hand back or reopen.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The section called `name`.
    pub fn section(&self, name: &str) -> Result<&SectionEntry> {
        self.header.section(name).ok_or_else(|| {
            Error::image(
                ImagePart::Section(name.into()),
                0,
                ImageFault::NoSuchSection,
            )
        })
    }

    pub(crate) fn typed_section(&self, name: &str, kind: SectionKind) -> Result<&SectionEntry> {
        let entry = self.section(name)?;
        if entry.kind != kind {
            return Err(Error::image(
                ImagePart::Section(name.into()),
                entry.offset,
                ImageFault::WrongSectionType {
                    expected: kind.keyword(),
                    found: entry.kind.keyword().into(),
                },
            ));
        }
        Ok(entry)
    }

    /// Reads `len` bytes at `offset`, for `part`.
    pub(crate) fn read_exact(&self, part: &ImagePart, offset: u64, len: u64) -> Result<Vec<u8>> {
        // Lengths come from a validated index, so they fit in the file;
        // the cap keeps one read from taking all memory.
        if len > MAX_LOADED_SECTION {
            return Err(Error::image(
                part.clone(),
                offset,
                ImageFault::SectionTooLarge {
                    size: len,
                    limit: MAX_LOADED_SECTION,
                },
            ));
        }
        let mut buf = vec![0u8; len as usize];
        self.storage
            .read_at(&mut buf, offset)
            .map_err(|e| Error::io(format!("reading {part} at byte {offset}"), e))?;
        Ok(buf)
    }

    /// The bytes of an nvlist or raw section, checksum checked.
    pub fn read_section(&self, name: &str) -> Result<Vec<u8>> {
        let entry = self.section(name)?;
        let part = ImagePart::Section(name.into());
        if entry.kind == SectionKind::Memory {
            return Err(Error::image(
                part,
                entry.offset,
                ImageFault::WrongSectionType {
                    expected: "nvlist or raw",
                    found: "memory".into(),
                },
            ));
        }
        let bytes = self.read_exact(&part, entry.offset, entry.size)?;
        check_crc(&part, entry.offset, entry.crc32c, &bytes)?;
        Ok(bytes)
    }

    /// The nvlist section `name`, checksum checked and decoded. Decode
    /// errors give the byte offset in the file.
    pub fn read_nvlist(&self, name: &str) -> Result<NvList> {
        let bytes = self.read_nvlist_bytes(name)?;
        self.unpack_section(name, &bytes)
    }

    /// The packed bytes of the nvlist section `name`, checksum checked.
    pub(crate) fn read_nvlist_bytes(&self, name: &str) -> Result<Vec<u8>> {
        self.typed_section(name, SectionKind::NvList)?;
        self.read_section(name)
    }

    /// `bytes`, read from the nvlist section `name`, decoded.
    pub(crate) fn unpack_section(&self, name: &str, bytes: &[u8]) -> Result<NvList> {
        NvList::unpack(bytes).map_err(|e| self.nvlist_fault(name, e))
    }

    /// A decode error of the nvlist section `name`, at its byte offset in
    /// the file.
    pub(crate) fn nvlist_fault(&self, name: &str, e: snapshot_nvlist::Error) -> Error {
        let offset = self.header.section(name).map_or(0, |s| s.offset);
        Error::image(
            ImagePart::Section(name.into()),
            offset + e.offset().unwrap_or(0),
            ImageFault::BadNvlist(e),
        )
    }

    /// The memory section `name`, its chunk table read and checked.
    pub fn memory(&self, name: &str) -> Result<Memory<'_, S>> {
        let entry = self.typed_section(name, SectionKind::Memory)?;
        let layout = entry.memory.expect("memory sections have a layout");
        let part = ImagePart::ChunkTable(name.into());
        let count = entry.chunk_count();
        // Read a piece at a time, so the table is held once, decoded,
        // never also as bytes; the checksum covers every piece.
        let mut table = Vec::with_capacity(count as usize);
        let (mut crc, mut bytes, mut bad_entry) = (0, Vec::new(), None);
        let per_piece = TABLE_PIECE / ENTRY_SIZE as u64;
        for first in (0..count).step_by(per_piece as usize) {
            let n = per_piece.min(count - first);
            let at = layout.table_offset + first * ENTRY_SIZE as u64;
            bytes.resize((n * ENTRY_SIZE as u64) as usize, 0);
            self.storage
                .read_at(&mut bytes, at)
                .map_err(|e| Error::io(format!("reading {part} at byte {at}"), e))?;
            crc = crc32c_append(crc, &bytes);
            for (k, e) in bytes.chunks_exact(ENTRY_SIZE).enumerate() {
                let i = first + k as u64;
                let allowed = Allowed {
                    zstd: entry.codec == Codec::Zstd,
                    parent: entry.parent.is_some(),
                };
                let decoded = ChunkEntry::decode(
                    e.try_into().expect("16 bytes"),
                    chunk_len(entry.size, layout.chunk_size, i),
                    allowed,
                    || (part.clone(), layout.table_offset + i * ENTRY_SIZE as u64),
                );
                match decoded {
                    Ok(e) => table.push(e),
                    // Damage is told by the checksum first.
                    Err(e) => bad_entry = bad_entry.or(Some(e)),
                }
            }
        }
        if crc != entry.crc32c {
            let fault = ImageFault::Checksum {
                stored: entry.crc32c,
                computed: crc,
            };
            return Err(Error::image(part, layout.table_offset, fault));
        }
        if let Some(e) = bad_entry {
            return Err(e);
        }
        let page_map = match entry.parent {
            Some(link) => {
                Some(self.page_map(entry, link.page_map_offset, link.page_map_crc32c, &table)?)
            }
            None => None,
        };
        Ok(Memory {
            image: self,
            entry,
            table,
            page_map,
        })
    }

    /// Reads a child section's page map and checks it against the chunk
    /// table: a partial chunk's stored length is that of the pages it
    /// sets, and no other chunk sets any.
    fn page_map(
        &self,
        entry: &SectionEntry,
        at: u64,
        crc: u32,
        table: &[ChunkEntry],
    ) -> Result<Vec<u8>> {
        let part = ImagePart::PageMap(entry.name.clone());
        let map = self.read_exact(&part, at, entry.page_count().div_ceil(8))?;
        check_crc(&part, at, crc, &map)?;
        let per_chunk = entry.memory.expect("memory layout").chunk_size / PAGE;
        for (i, e) in table.iter().enumerate() {
            let first = i as u64 * per_chunk;
            let pages = first..(first + per_chunk).min(entry.page_count());
            let stored: u64 = pages
                .filter(|&p| bit(&map, p))
                .map(|p| page_len(entry.size, p))
                .sum();
            let ok = match e.kind {
                ChunkKind::Pages => stored == u64::from(e.stored_len),
                _ => stored == 0,
            };
            if !ok {
                let fault = ImageFault::BadPageMap("disagrees with the chunk table");
                return Err(Error::image(part, at + first / 8, fault));
            }
        }
        Ok(map)
    }
}

/// Whether bit `i` of a bitmap is set (bit `i % 8` of byte `i / 8`).
pub(crate) fn bit(map: &[u8], i: u64) -> bool {
    map[(i / 8) as usize] & (1 << (i % 8)) != 0
}

/// Length of page `page` of memory of `size` bytes (the last may be
/// short).
pub(crate) fn page_len(size: u64, page: u64) -> u64 {
    (size - page * PAGE).min(PAGE)
}

/// Bytes of a chunk table read at a time.
const TABLE_PIECE: u64 = 1 << 20;

pub(crate) fn check_crc(part: &ImagePart, offset: u64, stored: u32, bytes: &[u8]) -> Result<()> {
    let computed = crc32c(bytes);
    if computed != stored {
        return Err(Error::image(
            part.clone(),
            offset,
            ImageFault::Checksum { stored, computed },
        ));
    }
    Ok(())
}

/// A memory section with its chunk table (and a child's page map).
pub struct Memory<'a, S: Storage> {
    image: &'a Image<S>,
    entry: &'a SectionEntry,
    table: Vec<ChunkEntry>,
    page_map: Option<Vec<u8>>,
}

impl<S: Storage> Memory<'_, S> {
    /// The index entry.
    pub fn entry(&self) -> &SectionEntry {
        self.entry
    }

    /// The chunk table.
    pub fn table(&self) -> &[ChunkEntry] {
        &self.table
    }

    pub(crate) fn image_storage(&self) -> &S {
        &self.image.storage
    }

    /// Bytes per chunk.
    pub fn chunk_size(&self) -> u64 {
        self.entry.memory.expect("memory layout").chunk_size
    }

    /// Length of chunk `index`.
    pub fn chunk_len(&self, index: u64) -> u64 {
        chunk_len(self.entry.size, self.chunk_size(), index)
    }

    /// File offset of chunk `index`.
    pub fn chunk_offset(&self, index: u64) -> u64 {
        self.entry.offset + index * self.chunk_size()
    }

    /// The page digest table (32 bytes a page), checked against the
    /// section's digest; `None` when the section has no digests.
    pub fn page_digests(&self) -> Result<Option<Vec<u8>>> {
        let (Some(at), Some(digest)) = (self.entry.page_digests, self.entry.digest) else {
            return Ok(None);
        };
        let part = ImagePart::PageDigests(self.entry.name.clone());
        let len = self.entry.page_count() * DIGEST_LEN as u64;
        let table = self.image.read_exact(&part, at, len)?;
        if Digest::of(&table) != digest {
            let fault = ImageFault::Digest { expected: digest };
            return Err(Error::image(part, at, fault));
        }
        Ok(Some(table))
    }

    /// Whether this image holds page `page` of a partial chunk.
    pub(crate) fn holds_page(&self, page: u64) -> bool {
        self.page_map.as_ref().is_some_and(|m| bit(m, page))
    }

    /// Writes the pages of partial chunk `index` that this image holds
    /// over `out` (the chunk's bytes), checking their checksum: a child's
    /// pages laid over its parent's chunk. They are stored packed, in
    /// page order: one read.
    pub(crate) fn overlay_pages(&self, index: u64, out: &mut [u8]) -> Result<()> {
        let entry = self.table[index as usize];
        debug_assert_eq!(entry.kind, ChunkKind::Pages);
        let offset = self.chunk_offset(index);
        let part = self.part(index);
        // The table's length was checked against the page map on open.
        let mut packed = vec![0; entry.stored_len as usize];
        self.image
            .storage
            .read_at(&mut packed, offset)
            .map_err(|e| Error::io(format!("reading {part} at byte {offset}"), e))?;
        check_crc(&part, offset, entry.crc32c, &packed)?;
        let first = index * (self.chunk_size() / PAGE);
        let mut stored = packed.chunks(PAGE as usize);
        for (p, page) in out.chunks_mut(PAGE as usize).enumerate() {
            if self.holds_page(first + p as u64) {
                let from = stored.next().expect("the page map agrees with the length");
                page.copy_from_slice(from);
            }
        }
        Ok(())
    }

    /// Chunk counts and bytes on disk.
    pub fn stats(&self) -> MemoryStats {
        let mut stats = MemoryStats {
            size: self.entry.size,
            ..MemoryStats::default()
        };
        self.table.iter().for_each(|e| stats.add(e));
        stats
    }

    fn part(&self, index: u64) -> ImagePart {
        ImagePart::Chunk {
            section: self.entry.name.clone(),
            index,
        }
    }

    /// Reads chunk `index` into `out` (resized to the chunk's length),
    /// checking its checksum and decompressing it. A zero chunk is not
    /// read: its bytes are zero by the table (verify checks the hole). A
    /// chunk that is partly or wholly the parent's is an error
    /// ([`ImageFault::InParent`]): read a child through its [`crate::Chain`].
    ///
    /// # Panics
    ///
    /// If `index` is not below the number of chunks.
    pub fn read_chunk(&self, index: u64, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> Result<()> {
        out.clear();
        out.resize(self.chunk_len(index) as usize, 0);
        self.read_chunk_into(index, out, scratch)
    }

    /// [`Memory::read_chunk`] straight into the caller's storage, such as
    /// the guest's memory at the chunk's place: no copy in between. `out`
    /// must be [`Memory::chunk_len`] bytes long. A zero chunk is filled
    /// with zeros; a caller whose buffer starts zeroed skips it by its
    /// [`ChunkKind`] in [`Memory::table`].
    ///
    /// # Panics
    ///
    /// If `index` is not below the number of chunks, or `out` has another
    /// length.
    pub fn read_chunk_into(&self, index: u64, out: &mut [u8], scratch: &mut Vec<u8>) -> Result<()> {
        let entry = self.table[index as usize];
        let len = self.chunk_len(index) as usize;
        assert_eq!(
            out.len(),
            len,
            "read_chunk_into: buffer of another length than the chunk"
        );
        let offset = self.chunk_offset(index);
        let part = self.part(index);
        let io = |e: std::io::Error| Error::io(format!("reading {part} at byte {offset}"), e);
        match entry.kind {
            ChunkKind::Zero => {
                out.fill(0);
                Ok(())
            }
            ChunkKind::Raw => {
                self.image.storage.read_at(out, offset).map_err(io)?;
                check_crc(&part, offset, entry.crc32c, out)
            }
            ChunkKind::Zstd => {
                scratch.clear();
                scratch.resize(entry.stored_len as usize, 0);
                self.image.storage.read_at(scratch, offset).map_err(io)?;
                check_crc(&part, offset, entry.crc32c, scratch)?;
                decompress_exact(scratch, out)
                    .map_err(|why| Error::image(part.clone(), offset, ImageFault::Decompress(why)))
            }
            ChunkKind::Parent | ChunkKind::Pages => {
                Err(Error::image(part, offset, ImageFault::InParent))
            }
        }
    }

    /// Writes the guest memory to `out`, zeros included, calling
    /// `progress` with the bytes done after each chunk.
    pub fn copy_to(&self, out: &mut dyn Write, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let (mut buf, mut scratch) = (Vec::new(), Vec::new());
        let mut done = 0;
        for i in 0..self.table.len() as u64 {
            // A zero chunk's file bytes are checked as verify does: a
            // mapping would read them, this copy writes zeros.
            if self.table[i as usize].kind == ChunkKind::Zero {
                self.check_chunk(i)?;
            }
            self.read_chunk(i, &mut buf, &mut scratch)?;
            out.write_all(&buf)
                .map_err(|e| Error::io("writing the memory out", e))?;
            done += buf.len() as u64;
            progress(done);
        }
        Ok(())
    }
}

/// The first bytes of a zstd frame (a skippable frame has others).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Decompresses one zstd frame into exactly `out.len()` bytes. The
/// stored bytes must be that one frame and nothing else: zstd itself
/// would also read a second frame or skip a skippable one, which could
/// carry bytes no reader checks.
pub(crate) fn decompress_exact(frame: &[u8], out: &mut [u8]) -> std::result::Result<(), String> {
    if !frame.starts_with(&ZSTD_MAGIC) {
        return Err("does not start with a zstd frame".into());
    }
    match zstd::zstd_safe::find_frame_compressed_size(frame) {
        Ok(n) if n == frame.len() => {}
        Ok(n) => {
            return Err(format!(
                "{} bytes follow the zstd frame of {n}",
                frame.len() - n
            ))
        }
        Err(code) => return Err(zstd::zstd_safe::get_error_name(code).to_owned()),
    }
    let want = out.len();
    let mut d = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    let got = d
        .decompress_to_buffer(frame, out)
        .map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!("{got} bytes instead of {want}"));
    }
    Ok(())
}
