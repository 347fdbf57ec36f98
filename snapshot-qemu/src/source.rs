//! The bytes of a stream file, mapped rather than read.
//!
//! The parser needs the whole stream at once (its description is at the
//! end). Reading a gigabyte into a new buffer costs more than parsing it
//! (the kernel clears every page of the buffer, then copies the file into
//! it); mapping the file uses the page cache's own pages. The mapping is
//! read-only and private: a stream truncated by another program while it
//! is being imported ends the process with SIGBUS, before any image is
//! renamed into place.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

/// A stream's bytes: a mapping of a regular file, or what was read from
/// anything else (a pipe, an empty file).
pub enum StreamBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl StreamBytes {
    /// The bytes of the file at `path`.
    pub fn open(path: &Path) -> std::io::Result<StreamBytes> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // Populated up front: one pass over the page tables instead
            // of a fault per page as the parser walks the stream.
            // SAFETY: the map is read-only and private; the file changing
            // under it is the caveat the module documents.
            let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
            return Ok(StreamBytes::Mapped(map));
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes)?;
        Ok(StreamBytes::Read(bytes))
    }
}

impl Deref for StreamBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            StreamBytes::Mapped(m) => m,
            StreamBytes::Read(v) => v,
        }
    }
}
