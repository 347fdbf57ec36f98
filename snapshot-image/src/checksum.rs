//! CRC32C, the checksum of every header slot, section and memory chunk.
//!
//! CRC32C (Castagnoli) because x86-64 (SSE4.2) and arm64 compute it in
//! hardware: checking a chunk costs less than reading it from disk.

/// The CRC32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// The CRC32C of the bytes before `bytes` (`crc`) and `bytes`: a long
/// extent checked piece by piece.
pub(crate) fn crc32c_append(crc: u32, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, bytes)
}

/// Whether every byte of `bytes` is zero, a word at a time.
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    // SAFETY: every bit pattern is a valid u128, and align_to only hands
    // out the aligned middle of the slice.
    let (head, body, tail) = unsafe { bytes.align_to::<u128>() };
    head.iter().all(|&b| b == 0) && body.iter().all(|&w| w == 0) && tail.iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The check value of the CRC-32C catalogue entry.
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn zero_detection() {
        let mut buf = vec![0u8; 4099];
        assert!(is_zero(&buf));
        for i in [0, 1, 17, 4098] {
            buf[i] = 1;
            assert!(!is_zero(&buf[..]), "byte {i}");
            buf[i] = 0;
        }
    }
}
