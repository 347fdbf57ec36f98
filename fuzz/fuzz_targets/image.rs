//! Arbitrary bytes as an image file: opening, verifying and reading every
//! section must never panic, and a verified image must read whole.
//!
//! Before that, every checksum is made valid, as a hostile producer would
//! make it: each section's and chunk table's CRC32C in the index, each
//! chunk's in its table, then both header slots'. Mutations therefore
//! reach the decoders, the layout and entry rules, the zstd frame checks
//! and the zero-chunk checks instead of stopping at the first checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_core::{NvList, Value};
use snapshot_image::{crc32c, IdentCheck, Image, OpenOptions, SectionKind};

/// Chunks whose checksums are fixed per memory section, to keep a run fast.
const MAX_FIXED_CHUNKS: u64 = 1 << 12;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    seal(&mut bytes);
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

/// Makes every checksum the index leads to valid, then the slots'.
fn seal(bytes: &mut [u8]) {
    for slot in 0..2 {
        let base = slot * 4096;
        if bytes.len() < base + 4096 {
            continue;
        }
        let size = u64::from_le_bytes(bytes[base + 64..base + 72].try_into().unwrap());
        if size <= 4012 {
            let nv_at = base + 72..base + 72 + size as usize;
            if let Ok(mut nv) = NvList::unpack(&bytes[nv_at]) {
                if let Ok(sections) = nv.get_nvlist_array_mut("sections") {
                    for entry in sections {
                        fix_entry(bytes, entry);
                    }
                }
                let packed = nv.pack();
                if packed.len() <= 4012 {
                    bytes[base + 64..base + 72]
                        .copy_from_slice(&(packed.len() as u64).to_le_bytes());
                    bytes[base + 72..base + 4084].fill(0);
                    bytes[base + 72..base + 72 + packed.len()].copy_from_slice(&packed);
                }
            }
        }
        let crc = crc32c(&bytes[base..base + 4092]);
        bytes[base + 4092..base + 4096].copy_from_slice(&crc.to_le_bytes());
    }
}

/// `file[at..at + len]`, when the file holds it.
fn extent(file: &[u8], at: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(at).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    file.get(start..end)
}

/// Sets the index entry's checksum to its extent's, and for memory each
/// chunk's (in the table) and the table's.
fn fix_entry(file: &mut [u8], entry: &mut NvList) {
    let number = |nv: &NvList, k: &str| match nv.get(k) {
        Some(Value::Number(n)) => Some(*n),
        _ => None,
    };
    let (Some(offset), Some(size)) = (number(entry, "offset"), number(entry, "size")) else {
        return;
    };
    let kind = entry.get_string("type").unwrap_or("").to_owned();
    let crc = match kind.as_str() {
        "memory" => {
            let (Some(chunk), Some(table)) =
                (number(entry, "chunk_size"), number(entry, "table_offset"))
            else {
                return;
            };
            if chunk == 0 {
                return;
            }
            let count = size.div_ceil(chunk);
            for i in 0..count.min(MAX_FIXED_CHUNKS) {
                let Some(at) = table.checked_add(i * 16) else {
                    return;
                };
                let Some(e) = extent(file, at, 16) else {
                    return;
                };
                let stored = u64::from(u32::from_le_bytes(e[4..8].try_into().unwrap()));
                if e[0] == 0 {
                    continue;
                }
                let Some(data_at) = i.checked_mul(chunk).and_then(|o| o.checked_add(offset)) else {
                    return;
                };
                let Some(data) = extent(file, data_at, stored) else {
                    continue;
                };
                let crc = crc32c(data);
                let at = at as usize;
                file[at + 8..at + 12].copy_from_slice(&crc.to_le_bytes());
            }
            match count
                .checked_mul(16)
                .and_then(|len| extent(file, table, len))
            {
                Some(t) => crc32c(t),
                None => return,
            }
        }
        _ => match extent(file, offset, size) {
            Some(data) => crc32c(data),
            None => return,
        },
    };
    entry.insert("crc32c", u64::from(crc));
}
