//! Streams QEMU 7.2 wrote, kept in `tests/streams` so these tests run
//! without QEMU (`-M none`: RAM, timer, slirp's legacy section and the
//! global state; `-M microvm -m 2`: RAM blocks, vCPU, devices): read whole
//! and written back, and every kind of damage refused with an error that
//! names the byte, never a panic.

use std::collections::HashMap;
use std::path::Path;

use snapshot_qemu::{parse, Body, RamEntry, Stream};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/streams")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const FIXTURES: [&str; 2] = ["machine-none.mig", "microvm.mig"];

/// `s` written back, each page from where `bytes` holds it.
fn written(s: &Stream, bytes: &[u8]) -> Vec<u8> {
    let mut pages = HashMap::new();
    for section in &s.sections {
        if let Body::Ram(entries) = &section.body {
            for e in entries {
                if let RamEntry::Page {
                    block,
                    offset,
                    data,
                    ..
                } = e
                {
                    pages.insert((block.clone(), *offset), data.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    snapshot_qemu::write(
        s,
        bytes,
        &mut |block, offset, w| w.write_all(&bytes[pages[&(block.to_owned(), offset)].clone()]),
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn the_streams_parse_write_back_and_go_through_an_image() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let s = parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(written(&s, &bytes) == bytes, "{name}: written back differs");
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("x.snap");
        snapshot_qemu::import(&bytes, std::fs::File::create(&image).unwrap(), None).unwrap();
        let opened = snapshot_core::image::Image::open(&image, &Default::default()).unwrap();
        let mut back = Vec::new();
        snapshot_qemu::export(&opened, &mut back).unwrap();
        assert!(back == bytes, "{name}: exported differs");
    }
}

/// Where each section starts, and where the end-of-file marker is.
fn boundaries(s: &Stream, bytes: &[u8]) -> Vec<usize> {
    let tail = 1 + s.vmdesc_range.len();
    (0..=s.sections.len())
        .map(|k| {
            let prefix = Stream {
                sections: s.sections[..k].to_vec(),
                ..s.clone()
            };
            written(&prefix, bytes).len() - tail
        })
        .collect()
}

#[test]
fn a_stream_cut_anywhere_is_refused_naming_the_byte() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let s = parse(&bytes).unwrap();
        let starts = boundaries(&s, &bytes);
        assert_eq!(starts.len(), s.sections.len() + 1);
        // Every byte of the small stream; around every section boundary
        // and every 97th byte of the other.
        let cuts: Vec<usize> = if bytes.len() < 4096 {
            (0..bytes.len()).collect()
        } else {
            let mut c: Vec<usize> = starts
                .iter()
                .flat_map(|&b| [b.saturating_sub(1), b, b + 1])
                .chain((0..bytes.len()).step_by(97))
                .collect();
            c.retain(|&x| x < bytes.len());
            c
        };
        for cut in cuts {
            let e = parse(&bytes[..cut]).expect_err(&format!("{name} cut at {cut}"));
            assert!(e.offset <= cut, "{name} cut at {cut}: {e}");
            assert!(!e.message.is_empty());
        }
        // Cut at a section boundary past the configuration: said to be cut
        // short, naming the last section that could be read.
        for &at in &starts[1..] {
            let e = parse(&bytes[..at]).unwrap_err().to_string();
            assert!(e.contains("cut short"), "{name} cut at {at}: {e}");
        }
        // Cut in the middle of RAM: the record is named.
        let ram = s.sections.iter().position(|x| x.idstr == "ram").unwrap();
        let inside = (starts[ram] + starts[ram + 1]) / 2;
        let e = parse(&bytes[..inside]).unwrap_err().to_string();
        assert!(e.contains("ram") || e.contains("cut short"), "{e}");
    }
}

#[test]
fn a_wrong_magic_version_or_section_type_is_named() {
    let bytes = fixture("machine-none.mig");
    let with = |at: usize, b: u8| {
        let mut x = bytes.clone();
        x[at] = b;
        parse(&x).unwrap_err().to_string()
    };
    let e = with(0, b'X');
    assert!(e.starts_with("byte 0: not a QEMU migration stream"), "{e}");
    let e = with(7, 2);
    assert!(
        e.starts_with("byte 4: format version 2; only 3 is read"),
        "{e}"
    );
    let s = parse(&bytes).unwrap();
    let first = boundaries(&s, &bytes)[0];
    let e = with(first, 0x42);
    assert_eq!(e, format!("byte {first}: unknown section type 0x42"));
    // Without magic or description at all.
    let e = parse(b"NOPE").unwrap_err().to_string();
    assert!(e.contains("not a QEMU migration stream"), "{e}");
}

#[test]
fn a_description_that_does_not_match_the_sections_is_refused() {
    let bytes = fixture("microvm.mig");
    let s = parse(&bytes).unwrap();
    let desc = std::str::from_utf8(&bytes[s.vmdesc_range.start + 5..]).unwrap();
    let prefix = &bytes[..s.vmdesc_range.start + 5];
    let swap = |from: &str, to: &str| {
        assert!(desc.contains(from), "{from}");
        let edited = desc.replacen(from, to, 1);
        let mut x = prefix.to_vec();
        // The description's length, before it, as QEMU writes it.
        let len = (edited.len() as u32).to_be_bytes();
        x[s.vmdesc_range.start + 1..s.vmdesc_range.start + 5].copy_from_slice(&len);
        x.extend_from_slice(edited.as_bytes());
        parse(&x).map(drop).map_err(|e| e.to_string())
    };
    // Another device at a section's place, a field of another size, and
    // hostile sizes: each refused, none allocated.
    let e = swap("\"name\": \"timer\"", "\"name\": \"other\"").unwrap_err();
    assert!(e.contains("the vmdesc describes `other`"), "{e}");
    let e = swap("\"size\": 8", "\"size\": 9").unwrap_err();
    assert!(e.contains("byte "), "{e}");
    let e = swap("\"size\": 8", "\"size\": 1099511627776").unwrap_err();
    assert!(e.contains("byte "), "{e}");
    let e = swap("\"array_len\": ", "\"array_len\": 99999999999").unwrap_err();
    assert!(e.contains("byte "), "{e}");
}

#[test]
fn hostile_ram_lengths_are_refused() {
    let bytes = fixture("microvm.mig");
    let s = parse(&bytes).unwrap();
    let ram = boundaries(&s, &bytes)[s.sections.iter().position(|x| x.idstr == "ram").unwrap()];
    // The section header (type, id, idstr "ram", instance, version), then
    // the total of the block list with its flag, then the first block's
    // name and length.
    let total_at = ram + 1 + 4 + 1 + 3 + 4 + 4;
    let total = u64::from_be_bytes(bytes[total_at..total_at + 8].try_into().unwrap()) & !0xfff;
    let name_len = usize::from(bytes[total_at + 8]);
    let len_at = total_at + 9 + name_len;
    let first = u64::from_be_bytes(bytes[len_at..len_at + 8].try_into().unwrap());

    // A total the blocks do not add up to.
    let mut x = bytes.clone();
    x[total_at..total_at + 8].copy_from_slice(&(0x7fff_ffff_ffff_f000u64 | 4).to_be_bytes());
    let e = parse(&x).unwrap_err().to_string();
    assert!(e.starts_with("byte ") && e.contains("ram: "), "{e}");

    // A block of 2^62 bytes, the total to match: the stream parses (its
    // pages are where they were), the import refuses before allocating.
    let huge = 1u64 << 62;
    let mut x = bytes.clone();
    x[total_at..total_at + 8].copy_from_slice(&((total - first + huge) | 4).to_be_bytes());
    x[len_at..len_at + 8].copy_from_slice(&huge.to_be_bytes());
    parse(&x).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("x.snap")).unwrap();
    let e = snapshot_qemu::import(&x, file, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("larger than an image's memory section holds"),
        "{e}"
    );
}

/// Records QEMU never writes (an end of section with address bits, two
/// kinds of record at once) are refused: read as something else, they
/// would be written back as other bytes. Found by the fuzz target.
#[test]
fn ram_records_qemu_never_writes_are_refused() {
    let bytes = fixture("machine-none.mig");
    // The RAM section's records: its block list (none), then its end.
    let eos = 42;
    assert_eq!(bytes[eos..eos + 8], 0x10u64.to_be_bytes());
    for header in [0x8000_0010u64, 0x14, 0x30] {
        let mut x = bytes.clone();
        x[eos..eos + 8].copy_from_slice(&header.to_be_bytes());
        let e = parse(&x).unwrap_err().to_string();
        assert!(e.contains("not one QEMU writes"), "{header:#x}: {e}");
        assert!(e.starts_with(&format!("byte {eos}: ")), "{e}");
    }
}

/// An image whose stored description claims a page size no stream has is
/// refused at export, naming it, rather than sizing pages by it.
#[test]
fn an_image_with_a_lying_description_is_refused_at_export() {
    use snapshot_core::image::{Image, OpenOptions};
    use snapshot_core::nvlist::Value;
    let bytes = fixture("microvm.mig");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.snap");
    snapshot_qemu::import(&bytes, std::fs::File::create(&path).unwrap(), None).unwrap();
    let mut image = Image::open_rw(&path, &OpenOptions::default()).unwrap();
    let mut qemu = image.read_nvlist("qemu").unwrap();
    let Some(Value::Binary(desc)) = qemu.get("vmdesc") else {
        panic!("qemu.vmdesc is binary");
    };
    let json = std::str::from_utf8(&desc[5..]).unwrap();
    assert!(json.contains("\"page_size\": 4096"), "{json}");
    let json = json.replacen(
        "\"page_size\": 4096",
        "\"page_size\": 18446744073709551615",
        1,
    );
    let mut lying = vec![desc[0]];
    lying.extend_from_slice(&(json.len() as u32).to_be_bytes());
    lying.extend_from_slice(json.as_bytes());
    qemu.insert("vmdesc", Value::Binary(lying));
    image.replace_section("qemu", &qemu.pack()).unwrap();
    let image = Image::open(&path, &OpenOptions::default()).unwrap();
    let e = snapshot_qemu::export(&image, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("page_size 18446744073709551615"), "{e}");
}
