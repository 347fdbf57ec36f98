//! Writing a new image, section after section.
//!
//! Sections are written at increasing 4096-aligned offsets after the
//! header area; the header goes last, so an image cut short while being
//! built has no valid header and is refused, never half-read. Memory
//! streams from any `Read` one chunk at a time: zero chunks are skipped
//! (left as holes), the rest written at their fixed offsets.

use std::io::Read;

use crate::checksum::{crc32c, is_zero};
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::header::{valid_ident, Header};
use crate::memory::{ChunkEntry, ChunkKind, MemoryStats};
use crate::reader::Memory;
use crate::section::{check_content, Codec, MemoryLayout, SectionEntry, SectionKind};
use crate::storage::Storage;
use crate::{align_up, DEFAULT_CHUNK_SIZE, HEADER_AREA, PAGE, SLOT_SIZE};
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
        self.header.sections.push(SectionEntry::new(
            name,
            kind,
            offset,
            bytes.len() as u64,
            crc32c(bytes),
        ));
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
        for piece in memory.chunks(options.chunk_size as usize) {
            chunk.push(&mut self.storage, piece)?;
        }
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
        let mut buf = Vec::new();
        let mut at = 0;
        while at < len {
            let n = (len - at).min(options.chunk_size);
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
            chunk.push(&mut self.storage, &buf)?;
            at += n;
            progress(at);
        }
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
        let (mut buf, mut scratch) = (Vec::new(), Vec::new());
        for (i, entry) in source.table().iter().enumerate() {
            let i = i as u64;
            if entry.kind == ChunkKind::Zero {
                source.check_chunk(i)?;
                w.push_zero(&mut self.storage, source.chunk_len(i))?;
            } else {
                source.read_chunk(i, &mut buf, &mut scratch)?;
                w.push(&mut self.storage, &buf)?;
            }
            progress(w.stats.size);
        }
        self.finish_memory(w)
    }

    fn finish_memory(&mut self, w: MemoryWriter) -> Result<MemoryStats> {
        let (entry, stats) = w.finish(&mut self.storage)?;
        let end = entry.memory.expect("memory layout").table_offset + 16 * stats.chunks;
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

/// A memory section being written: chunks at fixed offsets from
/// `offset`, then the chunk table after them.
pub(crate) struct MemoryWriter {
    name: String,
    options: MemoryOptions,
    offset: u64,
    /// Where the file held no data when the writer started.
    fresh_from: u64,
    table: Vec<ChunkEntry>,
    stats: MemoryStats,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    packed: Vec<u8>,
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
        let compressor = options
            .zstd_level
            .map(zstd::bulk::Compressor::new)
            .transpose()
            .map_err(|e| Error::io("starting zstd", e))?;
        Ok(MemoryWriter {
            name: name.into(),
            options,
            offset,
            fresh_from,
            table: Vec::new(),
            stats: MemoryStats::default(),
            compressor,
            packed: Vec::with_capacity(if options.zstd_level.is_some() {
                cs as usize
            } else {
                0
            }),
        })
    }

    /// Reads `source` to its end one chunk at a time (only one chunk is
    /// held), storing each; `progress` gets the bytes read so far.
    pub(crate) fn stream(
        &mut self,
        storage: &mut dyn Storage,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let part = ImagePart::Section(self.name.clone());
        let mut buf = vec![0u8; self.options.chunk_size as usize];
        loop {
            let n = read_full(source, &mut buf)
                .map_err(|e| Error::io(format!("reading memory for {part}"), e))?;
            if n == 0 {
                return Ok(());
            }
            self.push(storage, &buf[..n])?;
            progress(self.stats.size);
            if n < buf.len() {
                return Ok(());
            }
        }
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
        storage.write_at(&table, table_offset).map_err(|e| {
            Error::io(
                format!(
                    "writing {} at byte {table_offset}",
                    ImagePart::ChunkTable(self.name.clone())
                ),
                e,
            )
        })?;
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
        Ok((entry, self.stats))
    }

    /// Records the next chunk as zero, its `len` bytes left a hole.
    fn push_zero(&mut self, storage: &mut dyn Storage, len: u64) -> Result<()> {
        let at = self.offset + self.table.len() as u64 * self.options.chunk_size;
        self.clear(storage, at, len)?;
        self.stats.size += len;
        self.stats.add(&ChunkEntry::ZERO);
        self.table.push(ChunkEntry::ZERO);
        Ok(())
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

    /// Writes a raw chunk's pages that are not zero, in runs, leaving
    /// its zero pages holes: the chunk still reads whole at its fixed
    /// offset (and maps), and a zero page takes no disk. Each page is
    /// scanned once.
    fn write_pages(&mut self, storage: &mut dyn Storage, data: &[u8], at: u64) -> Result<()> {
        let page = PAGE as usize;
        let mut run = (0, is_zero(&data[..page.min(data.len())]));
        for start in (page..data.len()).step_by(page) {
            let zero = is_zero(&data[start..(start + page).min(data.len())]);
            if zero != run.1 {
                self.store_run(storage, &data[run.0..start], at + run.0 as u64, run.1)?;
                run = (start, zero);
            }
        }
        self.store_run(storage, &data[run.0..], at + run.0 as u64, run.1)?;
        // The section is synced before its header is written: the chunk
        // goes to disk while the next ones are made.
        storage.start_writeback(at, data.len() as u64);
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

    /// Stores the next chunk (full-size except the last).
    fn push(&mut self, storage: &mut dyn Storage, data: &[u8]) -> Result<()> {
        let index = self.table.len() as u64;
        let at = self.offset + index * self.options.chunk_size;
        if is_zero(data) {
            return self.push_zero(storage, data.len() as u64);
        }
        // A frame that does not fit below the chunk's size is not worth
        // keeping: the chunk is stored raw.
        let compressed = match &mut self.compressor {
            Some(c) => {
                self.packed.clear();
                let room = data.len() - 1;
                self.packed.reserve(room);
                c.compress_to_buffer(data, &mut self.packed).is_ok() && self.packed.len() <= room
            }
            None => false,
        };
        let entry = if compressed {
            storage
                .write_at(&self.packed, at)
                .map_err(|e| Error::io(format!("writing chunk {index} at byte {at}"), e))?;
            storage.start_writeback(at, self.packed.len() as u64);
            ChunkEntry {
                kind: ChunkKind::Zstd,
                stored_len: self.packed.len() as u32,
                crc32c: crc32c(&self.packed),
            }
        } else {
            self.write_pages(storage, data, at)?;
            ChunkEntry {
                kind: ChunkKind::Raw,
                stored_len: data.len() as u32,
                crc32c: crc32c(data),
            }
        };
        self.stats.size += data.len() as u64;
        self.stats.add(&entry);
        self.table.push(entry);
        Ok(())
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
