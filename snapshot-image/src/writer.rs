//! Writing a new image, section after section.
//!
//! Sections are written at increasing 4096-aligned offsets after the
//! header area; the header goes last, so an image cut short while being
//! built has no valid header and is refused, never half-read. Memory
//! streams from any `Read` one chunk at a time: zero chunks are skipped
//! (left as holes), the rest written at their fixed offsets.

use std::io::Read;
use std::sync::mpsc;

use crate::chain::ChainMemory;
use crate::checksum::crc32c;
use crate::digest::{push_page_digests, zero_page, Digest, DIGEST_LEN};
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::header::{valid_ident, Header};
use crate::memory::{ChunkEntry, ChunkKind, MemoryStats};
use crate::prepare::{Packer, Pages, Stored};
use crate::reader::{bit, Memory};
use crate::section::{check_content, Codec, MemoryLayout, ParentLink, SectionEntry, SectionKind};
use crate::storage::Storage;
use crate::{align_up, DEFAULT_CHUNK_SIZE, HEADER_AREA, MAX_LOADED_SECTION, PAGE, SLOT_SIZE};
use snapshot_nvlist::NvList;

/// How to store a memory section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryOptions {
    /// Bytes per chunk: a power of two, 4096..=1 GiB.
    pub chunk_size: u64,
    /// zstd level to compress chunks with, or `None` to store them raw
    /// (mappable). A chunk that does not shrink is stored raw anyway.
    pub zstd_level: Option<i32>,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            zstd_level: None,
        }
    }
}

/// Writes a new image into a store.
pub struct Builder<S: Storage> {
    storage: S,
    header: Header,
    /// Where the next section goes.
    next: u64,
    /// The end of the last section: the file's length, so that any
    /// truncation cuts into a section and is detected.
    end: u64,
    /// The header whose version and unknown keys the image keeps.
    kept: Option<Header>,
}

impl<S: Storage> Builder<S> {
    /// Starts an image with the producer's `ident` (1 to 63 bytes of
    /// UTF-8 without NUL) and an optional producer description. The store
    /// is truncated to the header area.
    pub fn new(mut storage: S, ident: &str, producer: Option<String>) -> Result<Self> {
        if !valid_ident(ident) {
            return Err(Error::image(
                ImagePart::HeaderSlot(0),
                0,
                ImageFault::InvalidIdent,
            ));
        }
        storage
            .set_len(0)
            .and_then(|()| storage.set_len(HEADER_AREA))
            .map_err(|e| Error::io("truncating the image", e))?;
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        Ok(Builder {
            storage,
            header: Header::new(ident, producer, created),
            next: HEADER_AREA,
            end: HEADER_AREA,
            kept: None,
        })
    }

    /// Carries `from`'s format version, creation time, producer and the
    /// keys this version does not know, of the header and of each section
    /// entry (by section name), into the image being built: what
    /// rewriting an image whole keeps, as an edit in place does. Applied
    /// when the image is finished, to the sections added by then.
    pub fn keep_header(&mut self, from: &Header) {
        self.kept = Some(from.clone());
    }

    fn check_name(&self, name: &str) -> Result<()> {
        let fault = if name.is_empty() {
            ImageFault::BadSectionName
        } else if self.header.section(name).is_some() {
            ImageFault::DuplicateSection
        } else {
            return Ok(());
        };
        Err(Error::image(
            ImagePart::Section(name.into()),
            self.next,
            fault,
        ))
    }

    fn write(&mut self, part: &ImagePart, bytes: &[u8], offset: u64) -> Result<()> {
        self.storage
            .write_at(bytes, offset)
            .map_err(|e| Error::io(format!("writing {part} at byte {offset}"), e))
    }

    fn advance(&mut self, end: u64) -> Result<()> {
        self.end = end;
        self.next = align_up(end).ok_or_else(|| {
            Error::image(
                ImagePart::File,
                end,
                ImageFault::PastEnd {
                    size: 0,
                    file_len: u64::MAX,
                },
            )
        })?;
        Ok(())
    }

    fn add_bytes(&mut self, name: &str, kind: SectionKind, bytes: &[u8]) -> Result<()> {
        self.check_name(name)?;
        let part = ImagePart::Section(name.into());
        let offset = self.next;
        check_content(name, kind, bytes, offset)?;
        self.write(&part, bytes, offset)?;
        let mut entry = SectionEntry::new(name, kind, offset, bytes.len() as u64, crc32c(bytes));
        entry.digest = Some(Digest::of(bytes));
        self.header.sections.push(entry);
        self.advance(offset + bytes.len() as u64)
    }

    /// Adds an nvlist section from packed bytes, stored exactly as given
    /// (so extract gives them back byte for byte). They must unpack as a
    /// reader unpacks them, as must every section added.
    pub fn add_packed(&mut self, name: &str, packed: &[u8]) -> Result<()> {
        self.add_bytes(name, SectionKind::NvList, packed)
    }

    /// Adds an nvlist section.
    pub fn add_nvlist(&mut self, name: &str, list: &NvList) -> Result<()> {
        self.add_bytes(name, SectionKind::NvList, &list.pack())
    }

    /// Adds a section of opaque bytes (not empty).
    pub fn add_raw(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.add_bytes(name, SectionKind::Raw, bytes)
    }

    /// Adds a memory section, reading `source` to its end one chunk at a
    /// time (only one chunk is held). `progress` gets the bytes read so
    /// far after each chunk.
    pub fn add_memory(
        &mut self,
        name: &str,
        source: &mut dyn Read,
        options: MemoryOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<MemoryStats> {
        self.check_name(name)?;
        let mut chunk = MemoryWriter::new(options, self.next, name, 0)?;
        chunk.stream(&mut self.storage, source, progress)?;
        self.finish_memory(chunk)
    }

    /// Adds a memory section from a slice, without copying it.
    pub fn add_memory_slice(
        &mut self,
        name: &str,
        memory: &[u8],
        options: MemoryOptions,
    ) -> Result<MemoryStats> {
        self.check_name(name)?;
        let mut chunk = MemoryWriter::new(options, self.next, name, 0)?;
        let mut pieces = memory.chunks(options.chunk_size as usize);
        chunk.push_all(&mut self.storage, |_| Ok(pieces.next()), &mut |_| {})?;
        self.finish_memory(chunk)
    }

    /// Adds a memory section from a store (a raw memory file), reading
    /// it a chunk at a time and skipping the chunks the store reports as
    /// holes, so a sparse file of a mostly empty guest is not read whole.
    pub fn add_memory_from(
        &mut self,
        name: &str,
        source: &dyn Storage,
        options: MemoryOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<MemoryStats> {
        self.check_name(name)?;
        let mut chunk = MemoryWriter::new(options, self.next, name, 0)?;
        let len = source
            .len()
            .map_err(|e| Error::io(format!("reading memory for section `{name}`"), e))?;
        let next = read_chunks(source, name, options.chunk_size, len);
        chunk.push_all(&mut self.storage, next, progress)?;
        self.finish_memory(chunk)
    }

    /// Adds a copy of another image's memory section, a chunk at a time:
    /// each chunk checked as it is read, zero chunks kept as holes without
    /// reading more than verify does (nothing, where the file has a hole),
    /// compressed when the source's are. A rewrite of an image claiming
    /// terabytes of holes costs what is stored, not what is claimed.
    pub fn add_memory_copy<T: Storage>(
        &mut self,
        name: &str,
        source: &Memory<'_, T>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<MemoryStats> {
        self.check_name(name)?;
        let options = MemoryOptions {
            chunk_size: source.chunk_size(),
            zstd_level: (source.stats().compressed_chunks > 0).then_some(3),
        };
        let mut w = MemoryWriter::new(options, self.next, name, 0)?;
        // A child stays a child on the same parent: its own pages are
        // copied, the parent's left to the parent.
        if let Some(link) = source.entry().parent {
            let table = source.page_digests()?.ok_or_else(|| {
                Error::image(ImagePart::Section(name.into()), 0, ImageFault::NoDigests)
            })?;
            w.child = Some(Child::new(link.digest, table, source.entry().page_count()));
        }
        let (mut buf, mut scratch) = (Vec::new(), Vec::new());
        for (i, entry) in source.table().iter().enumerate() {
            let i = i as u64;
            let len = source.chunk_len(i);
            match entry.kind {
                ChunkKind::Zero => {
                    source.check_chunk(i)?;
                    w.push_zero(&mut self.storage, len)?;
                }
                ChunkKind::Parent => w.push_parent(len)?,
                ChunkKind::Pages => {
                    buf.clear();
                    buf.resize(len as usize, 0);
                    source.overlay_pages(i, &mut buf)?;
                    let first = i * (options.chunk_size / PAGE);
                    let held: Vec<bool> = (0..buf.len().div_ceil(PAGE as usize) as u64)
                        .map(|p| source.holds_page(first + p))
                        .collect();
                    let pages = Pages::scan(&buf, Some(&held));
                    w.push_pages(&mut self.storage, &buf, Some(&held), pages)?;
                }
                ChunkKind::Raw | ChunkKind::Zstd => {
                    source.read_chunk(i, &mut buf, &mut scratch)?;
                    w.push(&mut self.storage, &buf)?;
                }
            }
            progress(w.stats.size);
        }
        self.finish_memory(w)
    }

    /// Adds memory section `name` holding the memory `chain` reads, whole
    /// (a flattened copy): every chunk read through the chain, checked,
    /// and stored as a full image stores it.
    pub fn add_memory_chain(
        &mut self,
        name: &str,
        chain: &ChainMemory<'_>,
        options: MemoryOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<MemoryStats> {
        self.check_name(name)?;
        let options = MemoryOptions {
            chunk_size: chain.chunk_size(),
            ..options
        };
        let mut w = MemoryWriter::new(options, self.next, name, 0)?;
        let (mut buf, mut scratch) = (Vec::new(), Vec::new());
        for i in 0..chain.chunk_count() {
            if chain.is_zero(i) {
                w.push_zero(&mut self.storage, chain.chunk_len(i))?;
            } else {
                chain.read_chunk(i, &mut buf, &mut scratch)?;
                w.push(&mut self.storage, &buf)?;
            }
            progress(w.stats.size);
        }
        self.finish_memory(w)
    }

    /// Adds memory section `name` as a child of `parent` (the same
    /// section of the image this one records as its parent, with
    /// [`Builder::set_parent`]): only the pages that differ from the
    /// parent's are stored, found by their digests. With `dirty`, a
    /// bitmap of the pages that may have changed since the parent was
    /// taken (bit `i % 8` of byte `i / 8` for page `i`, as KVM's dirty
    /// log gives it in 64-bit little-endian words), only those pages are
    /// read: the others are taken to be the parent's.
    pub fn add_memory_child(
        &mut self,
        name: &str,
        source: &dyn Storage,
        parent: &ChainMemory<'_>,
        dirty: Option<&[u8]>,
        options: MemoryOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<MemoryStats> {
        self.check_name(name)?;
        let part = || ImagePart::Section(name.into());
        let io = |at: u64| {
            move |e| {
                Error::io(
                    format!("reading memory for section `{name}` at byte {at}"),
                    e,
                )
            }
        };
        let size = source.len().map_err(io(0))?;
        let pe = parent.entry();
        if size != pe.size {
            let fault = ImageFault::ParentSize {
                size,
                parent: pe.size,
            };
            return Err(Error::image(part(), 0, fault));
        }
        let (Some(link_digest), Some(table)) = (pe.digest, parent.page_digests()?) else {
            return Err(Error::image(part(), 0, ImageFault::NoDigests));
        };
        let pages = pe.page_count();
        if let Some(map) = dirty {
            if (map.len() as u64) < pages.div_ceil(8) {
                let fault = ImageFault::DirtyMapShort {
                    len: map.len() as u64,
                    pages,
                };
                return Err(Error::image(part(), 0, fault));
            }
        }
        let options = MemoryOptions {
            chunk_size: parent.chunk_size(),
            ..options
        };
        let mut w = MemoryWriter::new(options, self.next, name, 0)?;
        w.child = Some(Child::new(link_digest, table, pages));
        let Some(map) = dirty else {
            let next = read_chunks(source, name, options.chunk_size, size);
            w.push_all(&mut self.storage, next, progress)?;
            return self.finish_memory(w);
        };
        let per_chunk = options.chunk_size / PAGE;
        let mut buf = Vec::new();
        for i in 0..parent.chunk_count() {
            let at = i * options.chunk_size;
            let len = parent.chunk_len(i);
            let first = i * per_chunk;
            let held: Vec<bool> = (0..len.div_ceil(PAGE))
                .map(|p| bit(map, first + p))
                .collect();
            if !held.contains(&true) {
                w.push_parent(len)?;
            } else {
                buf.resize(len as usize, 0);
                for (p, _) in held.iter().enumerate().filter(|(_, d)| **d) {
                    let from = p * PAGE as usize;
                    let to = (from + PAGE as usize).min(buf.len());
                    source
                        .read_at(&mut buf[from..to], at + from as u64)
                        .map_err(io(at + from as u64))?;
                }
                let pages = Pages::scan(&buf, Some(&held));
                w.push_pages(&mut self.storage, &buf, Some(&held), pages)?;
            }
            progress(at + len);
        }
        self.finish_memory(w)
    }

    /// Records `reference` as the image's parent (a path relative to
    /// the new image's directory, see [`crate::parent_reference`]).
    pub fn set_parent(&mut self, reference: String) {
        self.header.parent = Some(reference);
    }

    fn finish_memory(&mut self, w: MemoryWriter) -> Result<MemoryStats> {
        let (entry, stats) = w.finish(&mut self.storage)?;
        let end = entry_end(&entry);
        self.header.sections.push(entry);
        self.advance(end)?;
        Ok(stats)
    }

    /// Writes the header and syncs; the image is complete. Returns the
    /// store.
    pub fn finish(mut self) -> Result<S> {
        if let Some(from) = self.kept.take() {
            self.header.keep_from(&from);
        }
        if !self.header.sections.iter().any(|s| s.parent.is_some()) {
            // Nothing stands on a parent: the image is whole.
            self.header.parent = None;
        }
        // The index, when it does not fit in the slot, goes after the
        // last section and is synced with the sections.
        let next = self.next;
        let encoded = self.header.encode(|_| Ok(next))?;
        if let Some((extent, bytes)) = &encoded.index {
            self.write(&ImagePart::IndexExtent, bytes, extent.offset)?;
            self.end = encoded.index_end();
        }
        let mut area = encoded.slot;
        area.resize((2 * SLOT_SIZE) as usize, 0);
        // Extend first so trailing zero chunks are holes inside the file.
        self.storage
            .set_len(self.end)
            .map_err(|e| Error::io("sizing the image", e))?;
        self.storage
            .sync()
            .map_err(|e| Error::io("syncing the sections", e))?;
        self.write(&ImagePart::HeaderSlot(0), &area, 0)?;
        self.storage
            .sync()
            .map_err(|e| Error::io("syncing the header", e))?;
        Ok(self.storage)
    }
}

/// The end of the last extent of a section.
pub(crate) fn entry_end(entry: &SectionEntry) -> u64 {
    entry
        .extents()
        .iter()
        .map(|e| e.start + e.len)
        .max()
        .unwrap_or(entry.offset)
}

/// What a child's memory writer knows of the parent.
pub(crate) struct Child {
    /// The parent section's digest, recorded in the link.
    digest: Digest,
    /// The parent's page digests.
    parent_digests: Vec<u8>,
    /// The page map being made.
    page_map: Vec<u8>,
}

impl Child {
    pub(crate) fn new(digest: Digest, parent_digests: Vec<u8>, pages: u64) -> Child {
        Child {
            digest,
            parent_digests,
            page_map: vec![0; pages.div_ceil(8) as usize],
        }
    }

    fn parent_page(&self, page: u64) -> &[u8] {
        let at = (page * DIGEST_LEN as u64) as usize;
        &self.parent_digests[at..at + DIGEST_LEN]
    }
}

/// A memory section being written: chunks at fixed offsets from
/// `offset`, then the chunk table, the page digests and (for a child)
/// the page map after them.
pub(crate) struct MemoryWriter {
    name: String,
    options: MemoryOptions,
    offset: u64,
    /// Where the file held no data when the writer started.
    fresh_from: u64,
    table: Vec<ChunkEntry>,
    stats: MemoryStats,
    packer: Packer,
    /// The page digests of the memory so far.
    digests: Vec<u8>,
    /// Set when the section is a child's.
    pub(crate) child: Option<Child>,
}

impl MemoryWriter {
    /// A writer of section `name` from `offset`; the file never held
    /// data at or past `fresh_from` (where holes need no punching).
    pub(crate) fn new(
        options: MemoryOptions,
        offset: u64,
        name: &str,
        fresh_from: u64,
    ) -> Result<MemoryWriter> {
        let part = ImagePart::Section(name.into());
        let cs = options.chunk_size;
        if !cs.is_power_of_two() || !(4096..=1 << 30).contains(&cs) {
            return Err(Error::image(part, offset, ImageFault::BadChunkSize(cs)));
        }
        Ok(MemoryWriter {
            name: name.into(),
            options,
            offset,
            fresh_from,
            table: Vec::new(),
            stats: MemoryStats::default(),
            packer: Packer::new(options.zstd_level)?,
            digests: Vec::new(),
            child: None,
        })
    }

    /// Reads `source` to its end one chunk at a time (a few chunks are
    /// held), storing each; `progress` gets the bytes stored so far.
    pub(crate) fn stream(
        &mut self,
        storage: &mut dyn Storage,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let part = ImagePart::Section(self.name.clone());
        let size = self.options.chunk_size as usize;
        let mut ended = false;
        let next = |spare: Option<Vec<u8>>| {
            if ended {
                return Ok(None);
            }
            let mut buf = spare.unwrap_or_default();
            buf.resize(size, 0);
            let n = read_full(source, &mut buf)
                .map_err(|e| Error::io(format!("reading memory for {part}"), e))?;
            buf.truncate(n);
            ended = n < size;
            Ok((n > 0).then_some(buf))
        };
        self.push_all(storage, next, progress)
    }

    /// Stores the chunks `next` gives, in order, each prepared (scanned,
    /// hashed, packed) on a second thread while this one writes the
    /// chunk before it: the hashing and the file system's work overlap.
    /// `next` is given back the buffer of a chunk stored, to fill again,
    /// and gives `None` at the end; `progress` gets the bytes stored.
    pub(crate) fn push_all<B: AsRef<[u8]> + Send>(
        &mut self,
        storage: &mut dyn Storage,
        mut next: impl FnMut(Option<B>) -> Result<Option<B>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        // A full image's chunks are all packed, there; a child's only
        // where they differ from the parent's whole, here.
        let mut packer = match self.child {
            None => Some(std::mem::replace(&mut self.packer, Packer::new(None)?)),
            Some(_) => None,
        };
        let packer = std::thread::scope(|s| {
            let (jobs, queue) = mpsc::sync_channel::<B>(2);
            let (done, prepared) = mpsc::channel();
            let worker = s.spawn(move || {
                for chunk in queue {
                    let pages = Pages::scan(chunk.as_ref(), None);
                    let stored = packer.as_mut().map(|p| p.pack(chunk.as_ref(), &pages));
                    if done.send((chunk, pages, stored)).is_err() {
                        break;
                    }
                }
                packer
            });
            let mut stored = || -> Result<()> {
                let (mut in_flight, mut spare, mut ended) = (0, None, false);
                loop {
                    if !ended {
                        match next(spare.take())? {
                            Some(chunk) => {
                                // The worker only stops early when it
                                // panics, which the join below passes on.
                                if jobs.send(chunk).is_err() {
                                    return Ok(());
                                }
                                in_flight += 1;
                            }
                            None => ended = true,
                        }
                    }
                    if in_flight == 0 {
                        return Ok(());
                    }
                    if in_flight == 2 || ended {
                        let Ok((chunk, pages, packed)) = prepared.recv() else {
                            return Ok(());
                        };
                        in_flight -= 1;
                        self.store(storage, chunk.as_ref(), pages, packed)?;
                        progress(self.stats.size);
                        spare = Some(chunk);
                    }
                }
            };
            let stored = stored();
            drop(jobs);
            let packer = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            stored.map(|()| packer)
        })?;
        if let Some(packer) = packer {
            self.packer = packer;
        }
        Ok(())
    }

    /// Writes the chunk table after the chunks; returns the section's
    /// index entry.
    pub(crate) fn finish(self, storage: &mut dyn Storage) -> Result<(SectionEntry, MemoryStats)> {
        let part = ImagePart::Section(self.name.clone());
        if self.stats.size == 0 {
            return Err(Error::image(part, self.offset, ImageFault::Empty));
        }
        let data_end = self.offset + self.stats.size;
        let table_offset = align_up(data_end).ok_or_else(|| {
            Error::image(
                part,
                self.offset,
                ImageFault::PastEnd {
                    size: self.stats.size,
                    file_len: u64::MAX,
                },
            )
        })?;
        let table: Vec<u8> = self.table.iter().flat_map(|e| e.encode()).collect();
        let write = |storage: &mut dyn Storage, part: ImagePart, bytes: &[u8], at: u64| {
            storage
                .write_at(bytes, at)
                .map_err(|e| Error::io(format!("writing {part} at byte {at}"), e))
        };
        write(
            storage,
            ImagePart::ChunkTable(self.name.clone()),
            &table,
            table_offset,
        )?;
        let after = |at: u64, len: usize| align_up(at + len as u64).expect("below the table's end");
        let digests_offset = after(table_offset, table.len());
        write(
            storage,
            ImagePart::PageDigests(self.name.clone()),
            &self.digests,
            digests_offset,
        )?;
        let link = match &self.child {
            Some(child) => {
                let at = after(digests_offset, self.digests.len());
                write(
                    storage,
                    ImagePart::PageMap(self.name.clone()),
                    &child.page_map,
                    at,
                )?;
                Some(ParentLink {
                    digest: child.digest,
                    page_map_offset: at,
                    page_map_crc32c: crc32c(&child.page_map),
                })
            }
            None => None,
        };
        let mut entry = SectionEntry::new(
            &self.name,
            SectionKind::Memory,
            self.offset,
            self.stats.size,
            crc32c(&table),
        );
        entry.memory = Some(MemoryLayout {
            chunk_size: self.options.chunk_size,
            table_offset,
        });
        if self.stats.compressed_chunks > 0 {
            entry.codec = Codec::Zstd;
        }
        entry.digest = Some(Digest::of(&self.digests));
        entry.page_digests = Some(digests_offset);
        entry.parent = link;
        Ok((entry, self.stats))
    }

    /// Records the next chunk as zero, its `len` bytes left a hole.
    fn push_zero(&mut self, storage: &mut dyn Storage, len: u64) -> Result<()> {
        let at = self.offset + self.table.len() as u64 * self.options.chunk_size;
        self.clear(storage, at, len)?;
        for p in 0..len.div_ceil(PAGE) {
            match (p + 1) * PAGE > len {
                true => push_page_digests(&vec![0; (len % PAGE) as usize], &mut self.digests),
                false => self.digests.extend_from_slice(zero_page()),
            }
        }
        self.record(ChunkEntry::ZERO, len)
    }

    /// Records the chunk just stored (its page digests already taken).
    /// The page digests are held until the section ends, and a reader
    /// loads them whole: past the limit of a loaded section, the memory
    /// is refused, so a claim of terabytes of holes costs at most that.
    fn record(&mut self, entry: ChunkEntry, len: u64) -> Result<()> {
        let held = self.digests.len() as u64;
        if held > MAX_LOADED_SECTION {
            let fault = ImageFault::SectionTooLarge {
                size: held,
                limit: MAX_LOADED_SECTION,
            };
            return Err(Error::image(
                ImagePart::PageDigests(self.name.clone()),
                self.offset,
                fault,
            ));
        }
        self.stats.size += len;
        self.stats.add(&entry);
        self.table.push(entry);
        Ok(())
    }

    /// Records the next chunk, of `len` bytes, as the parent's whole.
    fn push_parent(&mut self, len: u64) -> Result<()> {
        let child = self.child.as_ref().expect("a child's writer");
        let first = self.stats.size / PAGE;
        for p in first..first + len.div_ceil(PAGE) {
            self.digests.extend_from_slice(child.parent_page(p));
        }
        let entry = ChunkEntry {
            kind: ChunkKind::Parent,
            stored_len: 0,
            crc32c: 0,
        };
        self.record(entry, len)
    }

    /// Stores the next chunk of a child, `data`, whose pages are
    /// `pages`, of which only those `read` says (all with `None`) were
    /// read and hold its bytes (the others are the parent's): each read
    /// page whose digest is not the parent's is stored; the chunk is the
    /// parent's, partial, or stored whole.
    fn push_pages(
        &mut self,
        storage: &mut dyn Storage,
        data: &[u8],
        read: Option<&[bool]>,
        pages: Pages,
    ) -> Result<()> {
        let child = self.child.as_ref().expect("a child's writer");
        let first = self.stats.size / PAGE;
        let count = pages.zero.len();
        let mut digests = Vec::with_capacity(count * DIGEST_LEN);
        let mut changed = vec![false; count];
        for p in 0..count {
            let theirs = child.parent_page(first + p as u64);
            if read.is_none_or(|read| read[p]) {
                changed[p] = pages.digest(p) != theirs;
                digests.extend_from_slice(pages.digest(p));
            } else {
                digests.extend_from_slice(theirs);
            }
        }
        if !changed.contains(&true) {
            return self.push_parent(data.len() as u64);
        }
        if !changed.contains(&false) {
            // Every page was read: `pages` has all the digests.
            let stored = self.packer.pack(data, &pages);
            return self.store_whole(storage, data, pages, stored);
        }
        // The changed pages, packed in page order, are one write (zero
        // ones left holes).
        let at = self.offset + self.table.len() as u64 * self.options.chunk_size;
        let child = self.child.as_mut().expect("a child's writer");
        let (mut packed, mut zero) = (Vec::new(), Vec::new());
        for (p, page) in data.chunks(PAGE as usize).enumerate() {
            if changed[p] {
                let page_no = first + p as u64;
                child.page_map[(page_no / 8) as usize] |= 1 << (page_no % 8);
                packed.extend_from_slice(page);
                zero.push(pages.zero[p]);
            }
        }
        self.write_pages(storage, &packed, at, &zero)?;
        storage.start_writeback(at, packed.len() as u64);
        let (stored, crc) = (packed.len() as u64, crc32c(&packed));
        self.digests.extend_from_slice(&digests);
        let entry = ChunkEntry {
            kind: ChunkKind::Pages,
            stored_len: stored as u32,
            crc32c: crc,
        };
        self.record(entry, data.len() as u64)
    }

    /// Makes `len` bytes at `at` read as zero without storing them: a
    /// hole. Past `fresh_from` the file never held data, so nothing is
    /// done; before it, bytes an older generation left are punched out.
    fn clear(&mut self, storage: &mut dyn Storage, at: u64, len: u64) -> Result<()> {
        let end = (at + len).min(self.fresh_from);
        if at < end {
            storage.punch_hole(at, end - at).map_err(|e| {
                Error::io(
                    format!("clearing bytes {at}..{end} of section `{}`", self.name),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Writes a raw chunk's pages that are not zero (`zero` says which
    /// are), in runs, leaving its zero pages holes: the chunk still reads
    /// whole at its fixed offset (and maps), and a zero page takes no
    /// disk. The caller starts the chunk's writeback, once.
    fn write_pages(
        &mut self,
        storage: &mut dyn Storage,
        data: &[u8],
        at: u64,
        zero: &[bool],
    ) -> Result<()> {
        let page = PAGE as usize;
        let mut start = 0;
        while start < zero.len() {
            let end = (start..zero.len())
                .find(|&p| zero[p] != zero[start])
                .unwrap_or(zero.len());
            let (from, to) = (start * page, (end * page).min(data.len()));
            self.store_run(storage, &data[from..to], at + from as u64, zero[start])?;
            start = end;
        }
        Ok(())
    }

    /// Writes `bytes` at `at`, or leaves them a hole when they are zero.
    fn store_run(
        &mut self,
        storage: &mut dyn Storage,
        bytes: &[u8],
        at: u64,
        zero: bool,
    ) -> Result<()> {
        if zero {
            return self.clear(storage, at, bytes.len() as u64);
        }
        storage
            .write_at(bytes, at)
            .map_err(|e| Error::io(format!("writing section `{}` at byte {at}", self.name), e))
    }

    /// Stores the next chunk (full-size except the last); a child's only
    /// where it differs from the parent's.
    fn push(&mut self, storage: &mut dyn Storage, data: &[u8]) -> Result<()> {
        let pages = Pages::scan(data, None);
        let stored = self.child.is_none().then(|| self.packer.pack(data, &pages));
        self.store(storage, data, pages, stored)
    }

    /// Stores the next chunk, `data`, whose pages are `pages`: a full
    /// image's as `stored` says, a child's (`stored` is `None`) where it
    /// differs from the parent's.
    fn store(
        &mut self,
        storage: &mut dyn Storage,
        data: &[u8],
        pages: Pages,
        stored: Option<Stored>,
    ) -> Result<()> {
        match stored {
            Some(stored) => self.store_whole(storage, data, pages, stored),
            None => self.push_pages(storage, data, None, pages),
        }
    }

    /// Stores the next chunk whole, as `stored` says.
    fn store_whole(
        &mut self,
        storage: &mut dyn Storage,
        data: &[u8],
        pages: Pages,
        stored: Stored,
    ) -> Result<()> {
        let index = self.table.len() as u64;
        let at = self.offset + index * self.options.chunk_size;
        let entry = match stored {
            Stored::Zero => return self.push_zero(storage, data.len() as u64),
            Stored::Zstd { frame, crc32c } => {
                storage
                    .write_at(&frame, at)
                    .map_err(|e| Error::io(format!("writing chunk {index} at byte {at}"), e))?;
                storage.start_writeback(at, frame.len() as u64);
                ChunkEntry {
                    kind: ChunkKind::Zstd,
                    stored_len: frame.len() as u32,
                    crc32c,
                }
            }
            Stored::Raw { crc32c } => {
                self.write_pages(storage, data, at, &pages.zero)?;
                // The section is synced before its header is written: the
                // chunk goes to disk while the next ones are made.
                storage.start_writeback(at, data.len() as u64);
                ChunkEntry {
                    kind: ChunkKind::Raw,
                    stored_len: data.len() as u32,
                    crc32c,
                }
            }
        };
        self.digests.extend_from_slice(&pages.digests);
        self.record(entry, data.len() as u64)
    }
}

/// The next chunk of `len` bytes of memory from `source`, for
/// [`MemoryWriter::push_all`]: read into the buffer given back, or
/// zeros without reading where the source has a hole.
fn read_chunks<'a>(
    source: &'a dyn Storage,
    name: &'a str,
    chunk_size: u64,
    len: u64,
) -> impl FnMut(Option<Vec<u8>>) -> Result<Option<Vec<u8>>> + 'a {
    let mut at = 0;
    move |spare| {
        if at >= len {
            return Ok(None);
        }
        let n = (len - at).min(chunk_size);
        let mut buf = spare.unwrap_or_default();
        buf.resize(n as usize, 0);
        if source.is_hole(at, n) {
            buf.fill(0);
        } else {
            source.read_at(&mut buf, at).map_err(|e| {
                Error::io(
                    format!("reading memory for section `{name}` at byte {at}"),
                    e,
                )
            })?;
        }
        at += n;
        Ok(Some(buf))
    }
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
fn read_full(source: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match source.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
