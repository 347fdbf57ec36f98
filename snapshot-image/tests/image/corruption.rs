use super::util::*;

/// Flips bits through the whole image: every bit of the header index and
/// of the chunk table, one bit of every other byte that carries meaning
/// and of every 16th padding byte (the bit position rotating). After each flip the image must be refused, fail
/// verification, or extract exactly as before.
#[test]
fn no_single_bit_flip_changes_a_section_silently() {
    for zstd in [false, true] {
        let s = sample(zstd);
        let good = extract_all(&open(s.image.clone()).unwrap()).unwrap();
        let (dense, meaningful) = {
            let image = open(s.image.clone()).unwrap();
            let m = image.section("memory").unwrap().memory.unwrap();
            let nv_end = 72 + u64::from_le_bytes(s.image[64..72].try_into().unwrap()) as usize;
            let table = m.table_offset as usize..m.table_offset as usize + 4 * 16;
            let dense =
                move |i: usize| i < nv_end || (4084..4096).contains(&i) || table.contains(&i);
            (dense, meaningful_bytes(&image))
        };
        let mut flips = 0;
        let mut detected = 0;
        let mut bytes = s.image.clone();
        for i in 0..bytes.len() {
            // Every bit of the header index and the chunk table, one bit
            // of every other meaningful byte, one bit of every 16th
            // padding byte (keeps the test fast in debug builds).
            let bits: Vec<u8> = if dense(i) {
                (0..8).collect()
            } else if meaningful[i] || i % 16 == 0 {
                vec![(i % 8) as u8]
            } else {
                continue;
            };
            for bit in bits {
                bytes[i] ^= 1 << bit;
                flips += 1;
                let outcome = open(Borrowed(&bytes)).map(|image| {
                    let report = image.verify(1, &|_| {});
                    (report.is_sound(), extract_all(&image))
                });
                match outcome {
                    Err(_) | Ok((false, _)) => detected += 1,
                    Ok((true, extracted)) => {
                        assert!(
                            !meaningful[i],
                            "flip of bit {bit} of byte {i} (zstd {zstd}) not detected"
                        );
                        assert_eq!(
                        extracted.as_ref().ok(),
                        Some(&good),
                        "flip of bit {bit} of byte {i} (zstd {zstd}) passed verify but changed data"
                        )
                    }
                }
                bytes[i] ^= 1 << bit;
            }
        }
        assert!(detected > flips / 4, "{detected} of {flips} detected");
    }
}

/// The bytes that carry meaning: both slots (the unused one must stay
/// blank), each section's bytes, chunk tables, and every chunk's stored
/// bytes (a zero chunk's whole hole). Only padding between extents and
/// after a compressed frame is left, and flipping it changes nothing read.
fn meaningful_bytes<S: snapshot_image::Storage>(image: &snapshot_image::Image<S>) -> Vec<bool> {
    let mut m = vec![false; image.file_len() as usize];
    let mut mark = |start: u64, len: u64| {
        m[start as usize..(start + len) as usize].fill(true);
    };
    mark(0, 8192);
    for s in &image.header().sections {
        match s.memory {
            None => mark(s.offset, s.size),
            Some(layout) => {
                mark(layout.table_offset, s.chunk_count() * 16);
                let memory = image.memory(&s.name).unwrap();
                for (i, e) in memory.table().iter().enumerate() {
                    let i = i as u64;
                    let len = match e.kind {
                        snapshot_image::ChunkKind::Zstd => u64::from(e.stored_len),
                        _ => memory.chunk_len(i),
                    };
                    mark(memory.chunk_offset(i), len);
                }
            }
        }
    }
    // The slot padding is checked to be zero, the nvlist within it too.
    m
}

#[test]
fn truncation_anywhere_is_detected() {
    let s = sample(true);
    for len in 0..s.image.len() {
        let cut = s.image[..len].to_vec();
        let outcome = open(cut).map(|image| image.verify(1, &|_| {}).is_sound());
        assert!(
            !matches!(outcome, Ok(true)),
            "truncated to {len} bytes and still sound"
        );
    }
}

#[test]
fn verify_names_every_damaged_chunk_and_section() {
    let s = sample(false);
    let mut bytes = s.image.clone();
    let image = open(s.image.clone()).unwrap();
    let devices = image.section("devices").unwrap().offset as usize;
    let memory = image.memory("memory").unwrap();
    let (c0, c1, c3) = (
        memory.chunk_offset(0) as usize,
        memory.chunk_offset(1) as usize,
        memory.chunk_offset(3) as usize,
    );
    bytes[devices + 30] ^= 4;
    bytes[c0 + 5] ^= 1;
    bytes[c1 + 100] = 9;
    bytes[c3] ^= 0x80;
    let image = open(bytes).unwrap();
    let report = image.verify(2, &|_| {});
    let messages: Vec<String> = report.problems.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages[0].starts_with(&format!("section `devices` (byte {devices})")));
    assert!(messages[1].starts_with(&format!("section `memory`, chunk 0 (byte {c0})")));
    assert!(messages[2].contains("chunk 1") && messages[2].contains("non-zero"));
    assert!(messages[3].contains("chunk 3"));
}
