use snapshot_image::ErrorKind;
use snapshot_image::{IdentCheck, SectionKind};
use snapshot_nvlist::{Flags, NvList, NvString};

use super::util::*;

fn refused(bytes: Vec<u8>) -> String {
    match open(bytes) {
        Ok(image) => {
            // Some lies only show when read: they must not pass verify.
            let report = image.verify(2, &|_| {});
            assert!(!report.is_sound(), "a lying image verified");
            report.problems[0].to_string()
        }
        Err(e) => {
            assert!(is_image_error(&e), "{e:?}");
            e.to_string()
        }
    }
}

#[test]
fn lying_indexes_are_refused() {
    let good = sample(true).image;
    let len = good.len() as u64;
    type Lie = Box<dyn Fn(&mut NvList)>;
    let cases: Vec<(&str, Lie)> = vec![
        (
            "huge offset",
            Box::new(|nv| {
                entry(nv, "devices").insert("offset", u64::MAX - 4095);
            }),
        ),
        (
            "size past end",
            Box::new(move |nv| {
                entry(nv, "devices").insert("size", len);
            }),
        ),
        (
            "huge size",
            Box::new(|nv| {
                entry(nv, "memory").insert("size", 1u64 << 62);
            }),
        ),
        (
            "overlap",
            Box::new(|nv| {
                let at = entry(nv, "config").get_number("offset").unwrap();
                entry(nv, "kernel").insert("offset", at);
            }),
        ),
        (
            "table over data",
            Box::new(|nv| {
                let at = entry(nv, "memory").get_number("offset").unwrap();
                entry(nv, "memory").insert("table_offset", at);
            }),
        ),
        (
            "unaligned",
            Box::new(|nv| {
                let at = entry(nv, "config").get_number("offset").unwrap();
                entry(nv, "config").insert("offset", at + 1);
            }),
        ),
        (
            "in header area",
            Box::new(|nv| {
                entry(nv, "config").insert("offset", 4096u64);
            }),
        ),
        (
            "chunk size",
            Box::new(|nv| {
                entry(nv, "memory").insert("chunk_size", 3u64);
            }),
        ),
        (
            "huge chunk size",
            Box::new(|nv| {
                entry(nv, "memory").insert("chunk_size", 1u64 << 40);
            }),
        ),
        (
            "crc type",
            Box::new(|nv| {
                entry(nv, "config").insert("crc32c", 1u64 << 33);
            }),
        ),
        (
            "wrong crc",
            Box::new(|nv| {
                entry(nv, "config").insert("crc32c", 5u64);
            }),
        ),
        (
            "duplicate",
            Box::new(|nv| {
                entry(nv, "kernel").insert("name", "config");
            }),
        ),
        (
            "unknown type",
            Box::new(|nv| {
                entry(nv, "kernel").insert("type", "video");
            }),
        ),
        (
            "codec on nvlist",
            Box::new(|nv| {
                entry(nv, "kernel").insert("codec", "zstd");
            }),
        ),
        (
            "zstd without codec",
            Box::new(|nv| {
                entry(nv, "memory").insert("codec", "none");
            }),
        ),
        (
            "missing key",
            Box::new(|nv| {
                entry(nv, "kernel").remove("size");
            }),
        ),
        (
            "sections not array",
            Box::new(|nv| {
                nv.insert("sections", 1u64);
            }),
        ),
        (
            "major version",
            Box::new(|nv| {
                nv.insert("version", "2.0");
            }),
        ),
        (
            "garbage version",
            Box::new(|nv| {
                nv.insert("version", "one");
            }),
        ),
        (
            "unknown feature",
            Box::new(|nv| {
                nv.insert(
                    "incompatible",
                    vec![NvString::from("zstd"), NvString::from("encrypted")],
                );
            }),
        ),
        (
            "memory is nvlist",
            Box::new(|nv| {
                entry(nv, "memory").insert("type", "nvlist");
            }),
        ),
    ];
    for (what, edit) in cases {
        let message = refused(forge(&good, edit));
        assert!(message.contains("byte "), "{what}: {message}");
    }
}

#[test]
fn unknown_feature_and_version_are_named() {
    let good = sample(false).image;
    let e = open(forge(&good, |nv| {
        nv.insert("incompatible", vec![NvString::from("encrypted")]);
    }))
    .unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    let e = open(forge(&good, |nv| {
        nv.insert("version", "3.1");
    }))
    .unwrap_err();
    assert!(e.to_string().contains("3.1"), "{e}");
}

#[test]
fn broken_slots_are_refused() {
    let good = sample(false).image;
    // A nvlist size past the slot, checksum fixed.
    let mut bad = good.clone();
    bad[64..72].copy_from_slice(&u64::MAX.to_le_bytes());
    reseal(&mut bad, 0);
    assert!(is_image_error(&open(bad).unwrap_err()));
    // Garbage nvlist, checksum fixed.
    let mut bad = good.clone();
    bad[72..90].fill(0xff);
    reseal(&mut bad, 0);
    assert!(is_image_error(&open(bad).unwrap_err()));
    // Not an image at all, short or long.
    for junk in [vec![], vec![7u8; 100], vec![0u8; 9000], vec![0x5a; 20000]] {
        assert!(is_image_error(&open(junk).unwrap_err()));
    }
}

#[test]
fn foreign_ident_is_refused_unless_forced() {
    let mut good = sample(false).image;
    good[..8].copy_from_slice(b"bhyve\0\0\0");
    reseal(&mut good, 0);
    let e = open(good.clone()).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Format { .. }) && e.to_string().contains("bhyve"),
        "{e}"
    );
    assert!(open_any(good.clone()).is_ok());
    let expect_bhyve = snapshot_image::OpenOptions {
        ident: IdentCheck::Expect("bhyve".into()),
    };
    assert!(snapshot_image::Image::from_storage(good, &expect_bhyve).is_ok());
}

#[test]
fn lying_chunk_table_is_refused() {
    let s = sample(true);
    let image = open(s.image.clone()).unwrap();
    let m = image.section("memory").unwrap().clone();
    let table = m.memory.unwrap().table_offset as usize;
    for (byte, value) in [(0, 9u8), (4, 0xff), (7, 0x7f), (16 + 4, 1), (13, 1)] {
        let mut bad = s.image.clone();
        bad[table + byte] = value;
        // The table checksum catches it; with a forged checksum the entry
        // rules still do.
        let crc = snapshot_image::crc32c(&bad[table..table + 64]);
        let forged = forge(&bad, |nv| {
            entry(nv, "memory").insert("crc32c", u64::from(crc));
        });
        for img in [bad, forged] {
            refused(img);
        }
    }
}

/// Random damage, with the slot checksum recomputed half of the time so
/// that the damage reaches the index decoder and the layout checks: open,
/// verify and extraction must return, never panic, and a sound verdict
/// must mean every section reads.
#[test]
fn random_damage_never_panics() {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    for zstd in [false, true] {
        let good = sample(zstd).image;
        let nv_end = 72 + u64::from_le_bytes(good[64..72].try_into().unwrap()) as usize;
        for round in 0..5000 {
            let mut bad = good.clone();
            for _ in 0..1 + rand(4) {
                // Most damage goes to the index, where it is most varied.
                let at = if rand(2) == 0 {
                    72 + rand(nv_end - 72)
                } else {
                    rand(bad.len())
                };
                bad[at] = rand(256) as u8;
            }
            match rand(8) {
                0 => bad.truncate(rand(bad.len())),
                1 => bad.extend(vec![0u8; rand(9000)]),
                _ => {}
            }
            if round % 2 == 0 && bad.len() >= 4096 {
                reseal(&mut bad, 0);
            }
            if let Ok(image) = open(bad) {
                if image.verify(2, &|_| {}).is_sound() {
                    for s in &image.header().sections {
                        let read = match s.kind {
                            SectionKind::Memory => image
                                .memory(&s.name)
                                .and_then(|m| m.copy_to(&mut std::io::sink(), &mut |_| {})),
                            _ => image.read_section(&s.name).map(drop),
                        };
                        assert!(read.is_ok(), "round {round}: {read:?}");
                    }
                }
            }
        }
    }
}

/// `nv` with the NO_UNIQUE flag, its pairs kept.
fn no_unique(nv: &mut NvList) -> &mut NvList {
    let mut out = NvList::with_flags(Flags::NO_UNIQUE);
    for (name, value) in nv.iter() {
        out.push(name.clone(), value.clone());
    }
    *nv = out;
    nv
}

/// The rules of docs/format.md that a lax reader would let through with
/// every checksum valid.
#[test]
fn images_are_read_as_strictly_as_the_spec_says() {
    let good = sample(true).image;
    let fault = |bytes: Vec<u8>| open(bytes).unwrap_err().to_string();
    // A key twice in the header or in an entry: either value could be
    // meant.
    // (The decoder refuses duplicates already, unless the list says
    // NO_UNIQUE.)
    let twice = fault(forge(&good, |nv| {
        no_unique(nv).push("generation", 9u64);
    }));
    assert!(twice.contains("key `generation` appears twice"), "{twice}");
    let twice = fault(forge(&good, |nv| {
        no_unique(entry(nv, "kernel")).push("size", 1u64);
    }));
    assert!(
        twice.contains("key `sections[2].size` appears twice"),
        "{twice}"
    );
    // A zstd section without the feature an older reader refuses by.
    let unnamed = fault(forge(&good, |nv| {
        nv.remove("incompatible");
    }));
    assert!(
        unnamed.contains("without naming the `zstd` feature"),
        "{unnamed}"
    );
    // Any minor version reads, however long.
    let minor = "1.".to_owned() + &"9".repeat(40);
    let image = open(forge(&good, |nv| {
        nv.insert("version", minor.as_str());
    }))
    .unwrap();
    assert_eq!(image.header().version.minor, u64::MAX);
    // A memory section of more chunks than a reader holds the table of.
    let many = fault(forge(&good, |nv| {
        entry(nv, "memory").insert("size", (snapshot_image::MAX_CHUNKS + 1) * CHUNK);
    }));
    assert!(many.contains("chunks exceed the limit"), "{many}");
}

#[test]
fn two_slots_of_one_generation_that_differ_are_reported() {
    let good = sample(false).image;
    let mut tie = good.clone();
    tie.copy_within(0..4096, 4096);
    let tie = forge(&tie, |nv| {
        nv.insert("producer", "another");
    });
    let image = open(tie).unwrap();
    assert_eq!(image.slot(), 0);
    let report = image.verify(1, &|_| {});
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("both header slots hold generation 1"),
        "{problems:?}"
    );
    assert!(!report.only_other_slot_damaged());
    // The same slot twice is no tie: nothing to report.
    let mut same = good;
    same.copy_within(0..4096, 4096);
    assert!(open(same).unwrap().verify(1, &|_| {}).is_sound());
}

/// A zstd chunk is one frame and nothing else: a skippable frame or a
/// second frame after it could carry bytes no reader checks.
#[test]
fn a_zstd_chunk_holds_one_frame_and_nothing_after_it() {
    let s = sample(true);
    let image = open(s.image.clone()).unwrap();
    let memory = image.memory("memory").unwrap();
    let index = memory
        .table()
        .iter()
        .position(|e| e.kind == snapshot_image::ChunkKind::Zstd)
        .expect("the sample compresses a chunk");
    let at = memory.chunk_offset(index as u64) as usize;
    let stored = memory.table()[index].stored_len as usize;
    let table_at = memory.entry().memory.unwrap().table_offset as usize;
    let table_len = memory.table().len() * 16;
    let frame = s.image[at..at + stored].to_vec();
    let skippable = [&[0x50, 0x2a, 0x4d, 0x18], &4u32.to_le_bytes()[..], b"evil"].concat();
    for extra in [skippable, frame.clone()] {
        let mut bad = s.image.clone();
        bad[at + stored..at + stored + extra.len()].copy_from_slice(&extra);
        let longer = [&frame[..], &extra[..]].concat();
        let entry_at = table_at + index * 16;
        bad[entry_at + 4..entry_at + 8].copy_from_slice(&(longer.len() as u32).to_le_bytes());
        let crc = snapshot_image::crc32c(&longer);
        bad[entry_at + 8..entry_at + 12].copy_from_slice(&crc.to_le_bytes());
        let table_crc = snapshot_image::crc32c(&bad[table_at..table_at + table_len]);
        let bad = forge(&bad, |nv| {
            entry(nv, "memory").insert("crc32c", u64::from(table_crc));
        });
        let image = open(bad).unwrap();
        let report = image.verify(1, &|_| {});
        let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            problems.len() == 1 && problems[0].contains("bytes follow the zstd frame"),
            "{problems:?}"
        );
        assert!(extract_memory(&image).is_err());
    }
}

/// The builder writes no section a reader would refuse: the rule the
/// edits check by, before anything is written.
#[test]
fn the_builder_refuses_a_section_the_reader_would_refuse() {
    let mut deep = NvList::new().with("x", 1u64);
    for _ in 0..=snapshot_nvlist::DecodeOptions::default().max_depth {
        deep = NvList::new().with("inner", deep);
    }
    let mut b = snapshot_image::Builder::new(Vec::new(), "snapshot", None).unwrap();
    let e = b.add_nvlist("devices", &deep).unwrap_err();
    assert!(e.to_string().contains("section `devices`"), "{e}");
    let e = b.add_packed("config", b"not an nvlist").unwrap_err();
    assert!(e.to_string().contains("not a packed nvlist"), "{e}");
    b.add_nvlist("devices", &NvList::new().with("x", 1u64))
        .unwrap();
    assert_eq!(
        open(b.finish().unwrap()).unwrap().header().sections.len(),
        1
    );
}

/// Millions of damaged chunks cost a count, not an error each: a report
/// lists the first of a section in file order and counts the rest.
#[test]
fn damaged_chunks_past_the_first_are_counted() {
    let memory: Vec<u8> = (0..300 * CHUNK).map(|i| (i % 251) as u8 + 1).collect();
    let mut b = snapshot_image::Builder::new(Vec::new(), "snapshot", None).unwrap();
    let options = snapshot_image::MemoryOptions {
        chunk_size: CHUNK,
        zstd_level: None,
    };
    b.add_memory_slice("memory", &memory, options).unwrap();
    let mut bytes = b.finish().unwrap();
    let image = open(bytes.clone()).unwrap();
    let at = image.section("memory").unwrap().offset as usize;
    for i in 0..300 {
        bytes[at + i * CHUNK as usize + 7] ^= 0xff;
    }
    let report = open(bytes).unwrap().verify(2, &|_| {});
    assert_eq!(report.problems.len(), snapshot_image::LISTED_CHUNKS);
    assert_eq!(report.unlisted, 300 - snapshot_image::LISTED_CHUNKS as u64);
    assert!(!report.is_sound());
    let first = report.problems[0].to_string();
    assert!(first.contains("chunk 0 "), "{first}");
    let last = report.problems[snapshot_image::LISTED_CHUNKS - 1].to_string();
    assert!(last.contains("chunk 99 "), "{last}");
}

/// A file of kilobytes whose index claims 1 TiB of memory in holes:
/// rewriting it (what migrate does) is refused when the page digests it
/// would hold pass the limit of a loaded section, in bounded memory.
#[test]
fn a_rewrite_of_a_terabyte_claim_is_refused_not_held() {
    use snapshot_image::{Builder, Image, MemoryOptions, OpenOptions};
    use std::io::Write;
    const TIB: u64 = 1 << 40;
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    b.add_memory_slice("memory", &[0u8; 4096], MemoryOptions::default())
        .unwrap();
    let image = b.finish().unwrap();
    let table_len = (TIB >> 20) * 16;
    let table_crc = snapshot_image::crc32c(&vec![0u8; table_len as usize]);
    let mut offset = 0;
    let forged = forge(&image, |nv| {
        let m = entry(nv, "memory");
        offset = m.get_number("offset").unwrap();
        m.insert("size", TIB);
        m.insert("table_offset", offset + TIB);
        m.insert("crc32c", u64::from(table_crc));
    });
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&forged[..offset as usize]).unwrap();
    file.set_len(offset + TIB + table_len).unwrap();
    let image = Image::from_storage(file, &OpenOptions::default()).unwrap();
    let memory = image.memory("memory").unwrap();
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    let e = b
        .add_memory_copy("memory", &memory, &mut |_| {})
        .unwrap_err();
    assert!(
        e.to_string().contains("page digests") && e.to_string().contains("exceeds"),
        "{e}"
    );
}
