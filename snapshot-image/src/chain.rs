//! A child image and the parents its memory stands on, read as one.
//!
//! A child names its parent by path (relative to the child's directory)
//! and, per memory section, by the digest the parent's section had when
//! the child was made. Opening a chain follows the paths and checks the
//! digests, so a missing, moved or changed parent is an error naming it,
//! never memory read from the wrong file.

use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::digest::DIGEST_LEN;
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::memory::{ChunkKind, MemoryStats};
use crate::reader::{Image, Memory, OpenOptions};
use crate::section::{SectionEntry, SectionKind};
use crate::verify::VerifyReport;
use crate::PAGE;

/// The most images a chain may have: a loop of parents ends here.
pub const MAX_CHAIN: usize = 64;

/// An image and its parents, the image first.
#[derive(Debug)]
pub struct Chain {
    links: Vec<(PathBuf, Image<File>)>,
}

impl Chain {
    /// Opens the image at `path` and every parent, each checked to be the
    /// one its child was made on. A flat image is a chain of one.
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Chain> {
        let path = path.as_ref().to_path_buf();
        let top = Image::open(&path, options)?;
        let mut links = vec![(path, top)];
        loop {
            let (child_path, child) = links.last().expect("one image at least");
            let Some(reference) = &child.header().parent else {
                return Ok(Chain { links });
            };
            if links.len() == MAX_CHAIN {
                let fault = ImageFault::ChainTooLong { limit: MAX_CHAIN };
                return Err(Error::image(ImagePart::File, 0, fault));
            }
            let parent_path = resolve_parent(child_path, reference);
            let parent = open_parent(&parent_path, options)?;
            check_link(child, &parent, &parent_path)?;
            links.push((parent_path, parent));
        }
    }

    /// The images, the child first, with the paths they were opened at.
    pub fn images(&self) -> impl Iterator<Item = (&Path, &Image<File>)> {
        self.links.iter().map(|(p, i)| (p.as_path(), i))
    }

    /// The image the chain was opened at.
    pub fn top(&self) -> &Image<File> {
        &self.links[0].1
    }

    /// The memory section `name` through the chain: each image's part
    /// of it, down to the first that holds it whole.
    pub fn memory(&self, name: &str) -> Result<ChainMemory<'_>> {
        let mut levels = Vec::new();
        for (_, image) in &self.links {
            let memory = image.memory(name)?;
            let child = memory.entry().parent.is_some();
            levels.push(memory);
            if !child {
                break;
            }
        }
        Ok(ChainMemory { levels })
    }
}

impl Chain {
    /// Verifies every image of the chain (see [`Image::verify`]), and
    /// that each child's digests of the pages it leaves to its parent are
    /// the parent's: the image's reports, the child first.
    pub fn verify(
        &self,
        threads: usize,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Vec<(PathBuf, VerifyReport)> {
        let mut reports: Vec<(PathBuf, VerifyReport)> = self
            .links
            .iter()
            .map(|(p, i)| (p.clone(), i.verify(threads, progress)))
            .collect();
        for (k, pair) in self.links.windows(2).enumerate() {
            let (child, parent) = (&pair[0].1, &pair[1].1);
            for entry in child
                .header()
                .sections
                .iter()
                .filter(|s| s.parent.is_some())
            {
                if let Err(e) = check_parent_pages(child, parent, &entry.name) {
                    reports[k].1.problems.push(e);
                }
            }
        }
        reports
    }
}

/// Checks that the digests `child` records for the pages of section
/// `name` it does not hold are `parent`'s for them.
fn check_parent_pages(child: &Image<File>, parent: &Image<File>, name: &str) -> Result<()> {
    let mine = child.memory(name)?;
    let theirs = parent.memory(name)?;
    let no = || Error::image(ImagePart::Section(name.into()), 0, ImageFault::NoDigests);
    let (a, b) = (
        mine.page_digests()?.ok_or_else(no)?,
        theirs.page_digests()?.ok_or_else(no)?,
    );
    let per_chunk = mine.chunk_size() / PAGE;
    for (i, e) in mine.table().iter().enumerate() {
        if !matches!(e.kind, ChunkKind::Parent | ChunkKind::Pages) {
            continue;
        }
        let first = i as u64 * per_chunk;
        for p in first..first + mine.chunk_len(i as u64).div_ceil(PAGE) {
            let at = (p * DIGEST_LEN as u64) as usize;
            if !mine.holds_page(p) && a[at..at + DIGEST_LEN] != b[at..at + DIGEST_LEN] {
                let part = ImagePart::Chunk {
                    section: name.into(),
                    index: i as u64,
                };
                let fault = ImageFault::PageDigest { page: p };
                return Err(Error::image(part, mine.chunk_offset(i as u64), fault));
            }
        }
    }
    Ok(())
}

/// Where a parent recorded as `reference` in the image at `child` is:
/// relative to the child's directory unless absolute.
pub fn resolve_parent(child: &Path, reference: &str) -> PathBuf {
    let reference = Path::new(reference);
    match child.parent() {
        Some(dir) if reference.is_relative() => dir.join(reference),
        _ => reference.to_path_buf(),
    }
}

/// The reference a child at `child` records for its parent at `parent`:
/// the parent's path relative to the child's directory, so the pair can
/// be moved together; absolute when the two share no ancestor.
pub fn parent_reference(child: &Path, parent: &Path) -> Result<String> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .map(|a| normalize(&a))
            .map_err(|e| Error::io(format!("resolving {}", p.display()), e))
    };
    let parent = absolute(parent)?;
    let dir = absolute(child)?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let (p, d): (Vec<_>, Vec<_>) = (parent.components().collect(), dir.components().collect());
    let common = p.iter().zip(&d).take_while(|(a, b)| a == b).count();
    let relative: PathBuf = if common == 0 {
        parent.clone()
    } else {
        let ups = d[common..].iter().map(|_| Component::ParentDir);
        ups.chain(p[common..].iter().copied()).collect()
    };
    relative.to_str().map(str::to_owned).ok_or_else(|| {
        Error::io(
            format!("recording the parent {}", parent.display()),
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"),
        )
    })
}

/// `path` with `.` and `..` components folded (it is absolute).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn open_parent(path: &Path, options: &OpenOptions) -> Result<Image<File>> {
    let file = File::open(path).map_err(|e| {
        let fault = ImageFault::ParentMissing {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        Error::image(ImagePart::File, 0, fault)
    })?;
    Image::from_storage(file, options)
}

/// Checks that `parent` is the image each of `child`'s linked memory
/// sections was made on: same size and chunk size, and the digest the
/// child recorded.
fn check_link(child: &Image<File>, parent: &Image<File>, path: &Path) -> Result<()> {
    for entry in &child.header().sections {
        let Some(link) = entry.parent else { continue };
        let theirs = parent.header().section(&entry.name);
        let found = match theirs {
            Some(p) if p.kind == SectionKind::Memory => p.digest,
            _ => None,
        };
        let same_shape = theirs.is_some_and(|p| {
            p.size == entry.size
                && p.memory.map(|m| m.chunk_size) == entry.memory.map(|m| m.chunk_size)
        });
        if found != Some(link.digest) || !same_shape {
            let fault = ImageFault::ParentChanged {
                path: path.display().to_string(),
                section: entry.name.clone(),
                expected: link.digest,
                found: match (theirs, found) {
                    (None, _) => "no such section".into(),
                    (Some(_), None) => "none".into(),
                    (Some(_), Some(d)) => d.to_string(),
                },
            };
            return Err(Error::image(
                ImagePart::Section(entry.name.clone()),
                entry.offset,
                fault,
            ));
        }
    }
    Ok(())
}

/// A memory section read through a chain: the child's pages over its
/// parent's, down to an image that holds the section whole.
pub struct ChainMemory<'a> {
    levels: Vec<Memory<'a, File>>,
}

impl ChainMemory<'_> {
    /// The top image's index entry (its digest is of the whole memory).
    pub fn entry(&self) -> &SectionEntry {
        self.levels[0].entry()
    }

    /// Guest memory bytes.
    pub fn size(&self) -> u64 {
        self.entry().size
    }

    /// Bytes per chunk (the same in every image of a chain).
    pub fn chunk_size(&self) -> u64 {
        self.levels[0].chunk_size()
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u64 {
        self.levels[0].table().len() as u64
    }

    /// Length of chunk `index`.
    pub fn chunk_len(&self, index: u64) -> u64 {
        self.levels[0].chunk_len(index)
    }

    /// The page digest table of the whole memory (the top image's, which
    /// covers its parents' pages too); `None` without digests.
    pub fn page_digests(&self) -> Result<Option<Vec<u8>>> {
        self.levels[0].page_digests()
    }

    /// The top image's chunk counts and bytes on disk.
    pub fn stats(&self) -> MemoryStats {
        self.levels[0].stats()
    }

    /// Whether chunk `index` is all zero by the tables (nothing read).
    pub fn is_zero(&self, index: u64) -> bool {
        for level in &self.levels {
            match level.table()[index as usize].kind {
                ChunkKind::Zero => return true,
                ChunkKind::Parent => continue,
                _ => return false,
            }
        }
        false
    }

    /// Reads chunk `index` into `out` (resized to its length): from the
    /// nearest image that holds it whole, then each child's own pages of
    /// it laid over, in order, every piece checked against its checksum.
    pub fn read_chunk(&self, index: u64, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> Result<()> {
        out.clear();
        out.resize(self.chunk_len(index) as usize, 0);
        self.read_chunk_into(index, out, scratch)
    }

    /// [`ChainMemory::read_chunk`] into the caller's storage, which must
    /// be [`ChainMemory::chunk_len`] bytes long.
    ///
    /// # Panics
    ///
    /// If `index` is not below the number of chunks, or `out` has another
    /// length.
    pub fn read_chunk_into(&self, index: u64, out: &mut [u8], scratch: &mut Vec<u8>) -> Result<()> {
        let i = index as usize;
        let whole = self
            .levels
            .iter()
            .position(|l| !matches!(l.table()[i].kind, ChunkKind::Parent | ChunkKind::Pages))
            .expect("the last image of a chain holds every chunk");
        self.levels[whole].read_chunk_into(index, out, scratch)?;
        for level in self.levels[..whole].iter().rev() {
            if level.table()[i].kind == ChunkKind::Pages {
                level.overlay_pages(index, out)?;
            }
        }
        Ok(())
    }

    /// Checks zero chunk `index` as verify does: the image whose table
    /// says it is zero holds zero bytes there (a hole, or zeros).
    pub fn check_zero_chunk(&self, index: u64) -> Result<()> {
        let level = self
            .levels
            .iter()
            .find(|l| l.table()[index as usize].kind == ChunkKind::Zero);
        match level {
            Some(l) => l.check_chunk(index),
            None => Ok(()),
        }
    }

    /// Writes the guest memory to `out`, calling `progress` with the
    /// bytes done after each chunk.
    pub fn copy_to(&self, out: &mut dyn Write, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let (mut buf, mut scratch) = (Vec::new(), Vec::new());
        let mut done = 0;
        for i in 0..self.chunk_count() {
            if self.is_zero(i) {
                self.check_zero_chunk(i)?;
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
