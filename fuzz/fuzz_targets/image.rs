//! Arbitrary bytes as an image file: opening, verifying and reading every
//! section must never panic, and a verified image must read whole. The
//! header slots' checksums are recomputed first, so that mutations reach
//! the index decoder and the layout checks instead of stopping at the
//! checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_image::{crc32c, IdentCheck, Image, OpenOptions, SectionKind};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    for slot in 0..2 {
        let base = slot * 4096;
        if bytes.len() >= base + 4096 {
            let crc = crc32c(&bytes[base..base + 4092]);
            bytes[base + 4092..base + 4096].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let options = OpenOptions {
        ident: IdentCheck::Any,
    };
    let Ok(image) = Image::from_storage(bytes, &options) else {
        return;
    };
    let sound = image.verify(2, &|_| {}).is_sound();
    for s in &image.header().sections {
        let read = match s.kind {
            SectionKind::Memory => image
                .memory(&s.name)
                .and_then(|m| m.copy_to(&mut std::io::sink(), &mut |_| {})),
            _ => image.read_section(&s.name).map(drop),
        };
        assert!(!sound || read.is_ok(), "verified, yet {read:?}");
    }
});
