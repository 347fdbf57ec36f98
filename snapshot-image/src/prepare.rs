//! The CPU side of storing a memory chunk, apart from its writes: which
//! of its pages are zero, their digests, its checksum, its zstd frame.
//!
//! Apart so that a build can run it on a second core while the first
//! writes the chunk before (see `MemoryWriter::push_all`): writing, the
//! file system's work, is most of a build, and hashing most of the rest.

use crate::checksum::{crc32c, is_zero};
use crate::digest::{zero_page, Digest, DIGEST_LEN};
use crate::error::{Error, Result};
use crate::PAGE;

/// What a chunk's pages are.
pub(crate) struct Pages {
    /// The digest of each page, `DIGEST_LEN` bytes each (zeros for a
    /// page not read).
    pub(crate) digests: Vec<u8>,
    /// Whether each page is zero (`false` for a page not read).
    pub(crate) zero: Vec<bool>,
}

impl Pages {
    /// Scans the pages of `data` (the last may be short) that `read`
    /// holds, all with `None`. A whole zero page is not hashed: its
    /// digest is known.
    pub(crate) fn scan(data: &[u8], read: Option<&[bool]>) -> Pages {
        let count = data.len().div_ceil(PAGE as usize);
        let mut pages = Pages {
            digests: vec![0; count * DIGEST_LEN],
            zero: vec![false; count],
        };
        for (p, page) in data.chunks(PAGE as usize).enumerate() {
            if read.is_some_and(|read| !read[p]) {
                continue;
            }
            pages.zero[p] = is_zero(page);
            let digest = match pages.zero[p] && page.len() == PAGE as usize {
                true => *zero_page(),
                false => Digest::of(page).0,
            };
            pages.digests[p * DIGEST_LEN..(p + 1) * DIGEST_LEN].copy_from_slice(&digest);
        }
        pages
    }

    /// The digest of page `p`.
    pub(crate) fn digest(&self, p: usize) -> &[u8] {
        &self.digests[p * DIGEST_LEN..(p + 1) * DIGEST_LEN]
    }

    /// Whether every page is zero.
    pub(crate) fn all_zero(&self) -> bool {
        !self.zero.contains(&false)
    }
}

/// How a whole chunk is stored.
pub(crate) enum Stored {
    /// Not at all: every byte is zero.
    Zero,
    /// As it is, with the CRC32C of its bytes.
    Raw { crc32c: u32 },
    /// As a zstd frame smaller than the chunk, with the frame's CRC32C.
    Zstd { frame: Vec<u8>, crc32c: u32 },
}

/// Decides how each whole chunk is stored, compressing where asked.
pub(crate) struct Packer {
    compressor: Option<zstd::bulk::Compressor<'static>>,
}

impl Packer {
    /// A packer compressing at `zstd_level`, or storing raw with `None`.
    pub(crate) fn new(zstd_level: Option<i32>) -> Result<Packer> {
        let compressor = zstd_level
            .map(zstd::bulk::Compressor::new)
            .transpose()
            .map_err(|e| Error::io("starting zstd", e))?;
        Ok(Packer { compressor })
    }

    /// How to store `data`, whose pages are `pages`. A frame that does
    /// not fit below the chunk's size is not worth keeping: the chunk is
    /// stored raw.
    pub(crate) fn pack(&mut self, data: &[u8], pages: &Pages) -> Stored {
        if pages.all_zero() {
            return Stored::Zero;
        }
        if let Some(c) = &mut self.compressor {
            let room = data.len() - 1;
            let mut frame = Vec::with_capacity(room);
            if c.compress_to_buffer(data, &mut frame).is_ok() && frame.len() <= room {
                let crc32c = crc32c(&frame);
                return Stored::Zstd { frame, crc32c };
            }
        }
        Stored::Raw {
            crc32c: crc32c(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_hashes_pages_and_knows_zero_ones() {
        let mut data = vec![0u8; 3 * PAGE as usize + 100];
        data[PAGE as usize] = 1;
        let pages = Pages::scan(&data, None);
        assert_eq!(pages.zero, [true, false, true, true]);
        for (p, page) in data.chunks(PAGE as usize).enumerate() {
            assert_eq!(pages.digest(p), Digest::of(page).0, "page {p}");
        }
        let read = Pages::scan(&data, Some(&[false, true, false, false]));
        assert_eq!(read.zero, [false; 4]);
        assert_eq!(read.digest(1), pages.digest(1));
        assert_eq!(read.digest(0), [0; DIGEST_LEN]);
    }

    #[test]
    fn pack_stores_zero_raw_or_smaller_frames() {
        let zero = vec![0u8; 8192];
        let mut raw = Packer::new(None).unwrap();
        assert!(matches!(
            raw.pack(&zero, &Pages::scan(&zero, None)),
            Stored::Zero
        ));
        let text = b"state ".repeat(2000);
        let pages = Pages::scan(&text, None);
        assert!(
            matches!(raw.pack(&text, &pages), Stored::Raw { crc32c } if crc32c == crate::crc32c(&text))
        );
        let mut zstd = Packer::new(Some(1)).unwrap();
        match zstd.pack(&text, &pages) {
            Stored::Zstd { frame, crc32c } => {
                assert!(frame.len() < text.len());
                assert_eq!(crc32c, crate::crc32c(&frame));
                assert_eq!(zstd::bulk::decompress(&frame, text.len()).unwrap(), text);
            }
            _ => panic!("text compresses"),
        }
    }
}
