//! [`NvString`]: names and string values, stored inline when short.
//!
//! Almost every pair name in device state is shorter than 23 bytes; keeping
//! those inline spares the decoder one allocation (and the drop one free)
//! per pair, which is most of its remaining cost.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Bytes kept inline; longer strings go to the heap.
const INLINE: usize = 22;

/// A name or string value: bytes without NUL, usually but not always UTF-8
/// (C producers may store any bytes).
#[derive(Clone)]
pub struct NvString(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl NvString {
    /// The bytes, without the NUL terminator the wire form adds.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    /// The string as UTF-8, if it is.
    #[inline]
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The string with invalid UTF-8 replaced by U+FFFD, for messages.
    #[inline]
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// The owned bytes.
    #[inline]
    pub fn into_bytes(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline { .. } => self.as_bytes().to_vec(),
            Repr::Heap(b) => b.into_vec(),
        }
    }

    /// The first `len` bytes of `window` (`len <= window.len()`). When the
    /// window holds at least `INLINE` bytes, a short string is copied with
    /// one fixed-size move instead of a variable-length one, whose result
    /// the CPU cannot forward to the next read of the value; the bytes past
    /// `len` are never read. The decoder passes the input from the name on.
    #[inline]
    pub(crate) fn from_window(window: &[u8], len: usize) -> NvString {
        match window.first_chunk::<INLINE>() {
            Some(chunk) if len <= INLINE => NvString(Repr::Inline {
                len: len as u8,
                buf: *chunk,
            }),
            _ => NvString::from(&window[..len]),
        }
    }

    #[inline]
    pub(crate) fn has_nul(&self) -> bool {
        self.as_bytes().contains(&0)
    }
}

impl Default for NvString {
    #[inline]
    fn default() -> NvString {
        NvString::from(&b""[..])
    }
}

impl From<&[u8]> for NvString {
    fn from(b: &[u8]) -> NvString {
        if b.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..b.len()].copy_from_slice(b);
            NvString(Repr::Inline {
                len: b.len() as u8,
                buf,
            })
        } else {
            NvString(Repr::Heap(b.into()))
        }
    }
}

impl From<Vec<u8>> for NvString {
    #[inline]
    fn from(b: Vec<u8>) -> NvString {
        if b.len() <= INLINE {
            NvString::from(&b[..])
        } else {
            NvString(Repr::Heap(b.into_boxed_slice()))
        }
    }
}

impl From<&str> for NvString {
    #[inline]
    fn from(s: &str) -> NvString {
        NvString::from(s.as_bytes())
    }
}

impl From<String> for NvString {
    #[inline]
    fn from(s: String) -> NvString {
        NvString::from(s.into_bytes())
    }
}

impl From<&String> for NvString {
    #[inline]
    fn from(s: &String) -> NvString {
        NvString::from(s.as_bytes())
    }
}

impl From<&NvString> for NvString {
    #[inline]
    fn from(s: &NvString) -> NvString {
        s.clone()
    }
}

impl AsRef<[u8]> for NvString {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

// Equality, order and hash are those of `as_bytes()`: an inline buffer's
// bytes past its length are not part of the value.
impl PartialEq for NvString {
    #[inline]
    fn eq(&self, other: &NvString) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for NvString {}

impl PartialOrd for NvString {
    #[inline]
    fn partial_cmp(&self, other: &NvString) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NvString {
    #[inline]
    fn cmp(&self, other: &NvString) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for NvString {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq<str> for NvString {
    #[inline]
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for NvString {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for NvString {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl fmt::Display for NvString {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_agree() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 100] {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_add(1)).collect();
            let a = NvString::from(&bytes[..]);
            let b = NvString::from(bytes.clone());
            assert_eq!(a.as_bytes(), &bytes[..]);
            assert_eq!(a, b);
            assert_eq!(a.clone().into_bytes(), bytes);
            assert_eq!(std::mem::size_of::<NvString>(), 24);
        }
    }

    #[test]
    fn from_window_ignores_the_bytes_past_len() {
        let window = b"name\0and what follows it in the buffer";
        let a = NvString::from_window(window, 4);
        assert_eq!(a, NvString::from("name"));
        assert_eq!(a.as_bytes(), b"name");
        let short = NvString::from_window(b"ab\0", 2);
        assert_eq!(short, NvString::from("ab"));
        let long = NvString::from_window(&[b'x'; 40], 30);
        assert_eq!(long.as_bytes(), &[b'x'; 30]);
    }
}
