//! Checking every checksummed byte of an image, on all cores.
//!
//! Verification does not stop at the first fault: it reports every
//! damaged slot, section and chunk, so the damage can be located and its
//! extent judged.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::checksum::{crc32c_append, is_zero};
use crate::digest::{push_page_digests, zero_page, Digest, DIGEST_LEN};
use crate::error::{Error, ImageFault, ImagePart};
use crate::memory::ChunkKind;
use crate::reader::{check_crc, decompress_exact, Image, Memory};
use crate::section::{check_content, SectionKind};
use crate::storage::Storage;
use crate::PAGE;

/// What verification found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Every fault, in file order within each section.
    pub problems: Vec<Error>,
    /// Bytes of section data checked.
    pub checked_bytes: u64,
    /// Whether the header slot not in force is damaged (one of
    /// `problems`).
    pub other_slot_damaged: bool,
    /// Damaged chunks found but not listed in `problems` (past
    /// [`LISTED_CHUNKS`] in a section).
    pub unlisted: u64,
}

impl VerifyReport {
    /// Whether nothing is damaged.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.unlisted == 0
    }

    /// Whether the only damage is to the header slot not in force: the
    /// image reads whole, but has lost its second header. An edit
    /// interrupted by a crash leaves exactly this (it cannot be told from
    /// media damage), and the next edit rewrites the slot.
    pub fn only_other_slot_damaged(&self) -> bool {
        self.other_slot_damaged && self.problems.len() == 1 && self.unlisted == 0
    }
}

impl<S: Storage + Sync> Image<S> {
    /// Checks the other header slot, every section's checksum (and that
    /// nvlist sections decode) and digest, every memory chunk's checksum,
    /// that compressed chunks decompress, that zero chunks read as zero,
    /// and that every page this image holds has its recorded digest. A
    /// child's pages in its parent are the parent's to check (see
    /// [`crate::Chain::verify`]).
    /// Memory is split across `threads` threads; `progress` gets the
    /// bytes checked so far.
    pub fn verify(&self, threads: usize, progress: &(dyn Fn(u64) + Sync)) -> VerifyReport {
        let mut report = VerifyReport::default();
        if let Some(fault) = &self.other_slot_fault {
            report.problems.push(fault.clone());
            // A tie is not what an interrupted edit leaves.
            let tie = matches!(fault.fault(), Some(ImageFault::SameGeneration { .. }));
            report.other_slot_damaged = !tie;
        }
        for entry in &self.header.sections {
            match entry.kind {
                SectionKind::NvList | SectionKind::Raw => {
                    // One read: the checksum, then the reader's own rule
                    // for the content, then the digest.
                    let checked = self.read_section(&entry.name).and_then(|bytes| {
                        check_content(&entry.name, entry.kind, &bytes, entry.offset)?;
                        Ok(bytes)
                    });
                    match checked {
                        Ok(bytes) => {
                            if let Some(expected) =
                                entry.digest.filter(|d| *d != Digest::of(&bytes))
                            {
                                let part = ImagePart::Section(entry.name.clone());
                                let fault = ImageFault::Digest { expected };
                                report
                                    .problems
                                    .push(Error::image(part, entry.offset, fault));
                            }
                        }
                        Err(e) => report.problems.push(e),
                    }
                    report.checked_bytes += entry.size;
                }
                SectionKind::Memory => match self
                    .memory(&entry.name)
                    .and_then(|m| m.page_digests().map(|d| (m, d)))
                {
                    Ok((memory, digests)) => {
                        let (problems, unlisted, bytes) =
                            verify_chunks(&memory, digests.as_deref(), threads, progress);
                        report.problems.extend(problems);
                        report.unlisted += unlisted;
                        report.checked_bytes += bytes;
                    }
                    Err(e) => report.problems.push(e),
                },
            }
        }
        report
    }
}

impl<S: Storage> Memory<'_, S> {
    /// Checks chunk `index` as verify does: its checksum, that it
    /// decompresses, and for a zero chunk that the file's bytes there are
    /// zero, which [`Memory::read_chunk`] does not look at but a mapping
    /// reads.
    ///
    /// # Panics
    ///
    /// If `index` is not below the number of chunks.
    pub fn check_chunk(&self, index: u64) -> Result<(), Error> {
        check_chunk(self, index, None, &mut Vec::new(), &mut Vec::new())
    }
}

/// Damaged chunks a report lists per memory section, the first in file
/// order; the others are counted: a table of millions of bad entries
/// costs a count, not an error each.
pub const LISTED_CHUNKS: usize = 100;

/// Checks every chunk; each thread takes a contiguous run of chunks so
/// its reads stay sequential. Returns the first [`LISTED_CHUNKS`]
/// problems, the number of the others, and the bytes checked.
fn verify_chunks<S: Storage + Sync>(
    memory: &Memory<'_, S>,
    digests: Option<&[u8]>,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Error>, u64, u64) {
    let count = memory.table().len() as u64;
    let threads = (threads.max(1) as u64).min(count.max(1));
    let per = count.div_ceil(threads);
    let done = AtomicU64::new(0);
    let unlisted = AtomicU64::new(0);
    // Each thread keeps the first of its own run, which is in order.
    let run = |t: u64| {
        let (mut buf, mut out, mut problems) = (Vec::new(), Vec::new(), Vec::new());
        for i in t * per..((t + 1) * per).min(count) {
            if let Err(e) = check_chunk(memory, i, digests, &mut buf, &mut out) {
                match problems.len() < LISTED_CHUNKS {
                    true => problems.push((i, e)),
                    false => drop(unlisted.fetch_add(1, Ordering::Relaxed)),
                }
            }
            let len = memory.chunk_len(i);
            progress(done.fetch_add(len, Ordering::Relaxed) + len);
        }
        problems
    };
    let mut problems: Vec<(u64, Error)> = if threads == 1 {
        run(0)
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || run(t))).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a verify thread panicked"))
                .collect()
        })
    };
    problems.sort_by_key(|(i, _)| *i);
    let more = problems.len().saturating_sub(LISTED_CHUNKS);
    problems.truncate(LISTED_CHUNKS);
    (
        problems.into_iter().map(|(_, e)| e).collect(),
        unlisted.into_inner() + more as u64,
        done.into_inner(),
    )
}

/// Bytes of a zero or raw chunk checked at a time: a chunk of up to 1 GiB
/// costs a verifying thread this much, not its size. (A zstd chunk is
/// decompressed whole: one chunk per thread.)
const PIECE: u64 = 1 << 20;

/// Checks `bytes`, the pages of chunk `index` from byte `from` of the
/// chunk, against the page digest table, where `held` says a page is
/// this image's.
fn check_digests(
    digests: Option<&[u8]>,
    part: &ImagePart,
    offset: u64,
    first_page: u64,
    bytes: &[u8],
    held: &dyn Fn(u64) -> bool,
) -> Result<(), Error> {
    let Some(table) = digests else { return Ok(()) };
    for (k, page) in bytes.chunks(PAGE as usize).enumerate() {
        let p = first_page + k as u64;
        if !held(p) {
            continue;
        }
        let at = (p * DIGEST_LEN as u64) as usize;
        if table[at..at + DIGEST_LEN] != Digest::of(page).0 {
            let fault = ImageFault::PageDigest { page: p };
            return Err(Error::image(part.clone(), offset + k as u64 * PAGE, fault));
        }
    }
    Ok(())
}

/// Checks that the pages of a zero chunk of `len` bytes have the digest
/// of a zero page: a comparison with one digest, nothing hashed for each
/// page, so a section claiming terabytes of holes costs its table.
fn check_zero_digests(
    digests: Option<&[u8]>,
    part: &ImagePart,
    offset: u64,
    first_page: u64,
    len: u64,
) -> Result<(), Error> {
    let Some(table) = digests else { return Ok(()) };
    for k in 0..len.div_ceil(PAGE) {
        let at = ((first_page + k) * DIGEST_LEN as u64) as usize;
        let short = (len - k * PAGE).min(PAGE);
        let expected = match short == PAGE {
            true => *zero_page(),
            false => Digest::of(&vec![0; short as usize]).0,
        };
        if table[at..at + DIGEST_LEN] != expected {
            let fault = ImageFault::PageDigest {
                page: first_page + k,
            };
            return Err(Error::image(part.clone(), offset + k * PAGE, fault));
        }
    }
    Ok(())
}

/// Compares page digests `computed` from page `first_page` on with the
/// table.
fn compare_digests(
    digests: Option<&[u8]>,
    part: &ImagePart,
    offset: u64,
    first_page: u64,
    computed: &[u8],
) -> Result<(), Error> {
    let Some(table) = digests else { return Ok(()) };
    let at = (first_page * DIGEST_LEN as u64) as usize;
    let recorded = &table[at..at + computed.len()];
    match computed
        .chunks(DIGEST_LEN)
        .zip(recorded.chunks(DIGEST_LEN))
        .position(|(a, b)| a != b)
    {
        None => Ok(()),
        Some(k) => {
            let fault = ImageFault::PageDigest {
                page: first_page + k as u64,
            };
            Err(Error::image(part.clone(), offset + k as u64 * PAGE, fault))
        }
    }
}

fn check_chunk<S: Storage>(
    memory: &Memory<'_, S>,
    index: u64,
    digests: Option<&[u8]>,
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let first_page = index * (memory.chunk_size() / PAGE);
    let all = |_: u64| true;
    let entry = memory.table()[index as usize];
    let offset = memory.chunk_offset(index);
    let part = ImagePart::Chunk {
        section: memory.entry().name.clone(),
        index,
    };
    let storage = memory.image_storage();
    let read = |buf: &mut Vec<u8>, at: u64, len: u64| {
        buf.resize(len as usize, 0);
        storage
            .read_at(buf, at)
            .map_err(|e| Error::io(format!("reading {part} at byte {at}"), e))
    };
    let pieces = |len: u64| {
        (0..len.div_ceil(PIECE)).map(move |k| (offset + k * PIECE, PIECE.min(len - k * PIECE)))
    };
    match entry.kind {
        // A mapping reads the chunk's bytes, so they must really be zero;
        // holes are zero without reading them.
        ChunkKind::Zero => {
            for (at, len) in pieces(memory.chunk_len(index)) {
                if !storage.is_hole(at, len) {
                    read(buf, at, len)?;
                    if !is_zero(buf) {
                        return Err(Error::image(part, at, ImageFault::NotZero));
                    }
                }
            }
            check_zero_digests(digests, &part, offset, first_page, memory.chunk_len(index))
        }
        ChunkKind::Raw => {
            // Damage is told by the checksum first, the digests after.
            let (mut crc, mut computed) = (0, Vec::new());
            for (at, len) in pieces(u64::from(entry.stored_len)) {
                read(buf, at, len)?;
                crc = crc32c_append(crc, buf);
                if digests.is_some() {
                    push_page_digests(buf, &mut computed);
                }
            }
            match crc == entry.crc32c {
                true => compare_digests(digests, &part, offset, first_page, &computed),
                false => Err(Error::image(
                    part,
                    offset,
                    ImageFault::Checksum {
                        stored: entry.crc32c,
                        computed: crc,
                    },
                )),
            }
        }
        ChunkKind::Zstd => {
            read(buf, offset, u64::from(entry.stored_len))?;
            check_crc(&part, offset, entry.crc32c, buf)?;
            out.resize(memory.chunk_len(index) as usize, 0);
            decompress_exact(buf, out)
                .map_err(|why| Error::image(part.clone(), offset, ImageFault::Decompress(why)))?;
            check_digests(digests, &part, offset, first_page, out, &all)
        }
        ChunkKind::Pages => {
            out.clear();
            out.resize(memory.chunk_len(index) as usize, 0);
            memory.overlay_pages(index, out)?;
            let held = |p| memory.holds_page(p);
            check_digests(digests, &part, offset, first_page, out, &held)
        }
        ChunkKind::Parent => Ok(()),
    }
}
