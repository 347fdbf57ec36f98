//! Copies of byte buffers (device pages, binary pairs) in pieces.
//!
//! glibc's `memcpy` copies more than about 2 KiB with `rep movsb`, which on
//! AMD Zen runs two to four times slower when the destination lies 1 to
//! 63 bytes past the source modulo 4 KiB; where a buffer lands in a packed
//! nvlist is up to its place in the list, so some states hit that on
//! every page they encode or decode. Pieces of 2 KiB use the vector loop,
//! which costs the same on every alignment, and no more than `rep movsb`
//! at its best.

/// The largest piece, at or below glibc's `rep movsb` threshold.
const PIECE: usize = 2048;

/// Appends `src` to `out`.
#[inline]
pub(crate) fn extend(out: &mut Vec<u8>, src: &[u8]) {
    if src.len() <= PIECE {
        out.extend_from_slice(src);
        return;
    }
    out.reserve(src.len());
    for piece in src.chunks(PIECE) {
        out.extend_from_slice(piece);
    }
}

/// `src.to_vec()`.
#[inline]
pub fn to_vec(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    extend(&mut out, src);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_length_around_the_piece() {
        for len in [0, 1, PIECE - 1, PIECE, PIECE + 1, 2 * PIECE, 3 * PIECE + 7] {
            let src: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            assert_eq!(to_vec(&src), src);
            let mut out = vec![9u8];
            extend(&mut out, &src);
            assert_eq!(out[0], 9);
            assert_eq!(&out[1..], &src[..]);
        }
    }
}
