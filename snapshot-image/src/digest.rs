//! BLAKE3 content digests: of every 4 KiB page of guest memory, of each
//! section, and of the whole image.
//!
//! A memory section's digest is the hash of its page digest table, and
//! a chunk's that of its pages' digests: both are defined by the guest
//! bytes alone, whatever the chunks' kinds, compression or parents, so
//! the same memory has the same digests in a full image, a child image
//! and its flattened copy. That is what lets a child recognise the pages
//! its parent already holds, and what a chunk store can deduplicate on.
//! CRC32C stays the check of stored bytes; the digests name content.

use std::fmt;

use crate::PAGE;

/// Bytes of one digest.
pub const DIGEST_LEN: usize = 32;

/// A BLAKE3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; DIGEST_LEN]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// A digest from its 32 stored bytes, `None` for another length.
    pub fn from_slice(bytes: &[u8]) -> Option<Digest> {
        bytes.try_into().ok().map(Digest)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// Appends the digest of each 4 KiB page of `data` (the last may be
/// short) to `out`.
pub(crate) fn push_page_digests(data: &[u8], out: &mut Vec<u8>) {
    for page in data.chunks(PAGE as usize) {
        out.extend_from_slice(blake3::hash(page).as_bytes());
    }
}

/// The digest of a whole zero page, made once: zero chunks have many.
pub(crate) fn zero_page() -> &'static [u8; DIGEST_LEN] {
    static ZERO: std::sync::OnceLock<Digest> = std::sync::OnceLock::new();
    &ZERO.get_or_init(|| Digest::of(&[0; PAGE as usize])).0
}

/// The root digest of an image whose sections are, in index order,
/// `(name, kind keyword, digest)`: every part length-prefixed, so no two
/// lists of sections give the same input.
pub(crate) fn root<'a>(sections: impl Iterator<Item = (&'a str, &'a str, Digest)>) -> Digest {
    let mut h = blake3::Hasher::new();
    for (name, kind, digest) in sections {
        for part in [name.as_bytes(), kind.as_bytes()] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.update(&digest.0);
    }
    Digest(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_digests_cover_a_short_last_page() {
        let data = vec![7u8; 4096 + 10];
        let mut out = Vec::new();
        push_page_digests(&data, &mut out);
        assert_eq!(out.len(), 64);
        assert_eq!(&out[32..], Digest::of(&[7u8; 10]).0);
    }

    #[test]
    fn root_separates_names_from_kinds() {
        let d = Digest::of(b"x");
        let a = root([("ab", "c", d)].into_iter());
        let b = root([("a", "bc", d)].into_iter());
        assert_ne!(a, b);
        assert_eq!(Digest::of(b"").to_string().len(), 64);
    }
}
