use snapshot_nvlist::ValuePath;
use snapshot_nvlist::{NvList, Value};

use super::util::*;
use snapshot_image::{Image, OpenOptions};

#[test]
fn replace_and_extract_are_byte_identical() {
    let s = sample(false);
    let mut image = open(s.image).unwrap();
    let new = NvList::new().with("memsize", 1u64 << 30).pack();
    image.replace_section("config", &new).unwrap();
    assert_eq!(image.header().generation, 2);
    let image = open(image.into_storage()).unwrap();
    assert_eq!(image.read_section("config").unwrap(), new);
    assert_eq!(image.read_section("devices").unwrap(), s.devices);
    assert_eq!(extract_memory(&image).unwrap(), s.memory);
    let mut image = image;
    assert!(image.replace_section("config", b"not an nvlist").is_err());
    assert!(image.replace_section("memory", &new).is_err());
    assert!(image.replace_section("nope", &new).is_err());
    image.replace_section("extra", b"any bytes").unwrap();
}

#[test]
fn set_writes_only_the_section_and_the_other_slot() {
    let s = sample(false);
    let mut image = open(Recording {
        bytes: s.image,
        ..Recording::default()
    })
    .unwrap();
    let path = ValuePath::parse("devices.vhpet.timers[3].compval").unwrap();
    let (old, new) = image.set_text(&path, "0x40", None).unwrap();
    assert_eq!((old, new), (Value::Number(3), Value::Number(64)));
    let devices = image.section("devices").unwrap().clone();
    let storage = image.into_storage();
    assert_eq!(
        storage.writes,
        [(devices.offset, devices.size as usize), (4096, 4096)]
    );
    let image = open(storage.bytes).unwrap();
    assert_eq!(image.slot(), 1);
    assert_eq!(
        path.get(&image.read_nvlist("devices").unwrap()).unwrap(),
        Value::Number(64)
    );
}

#[test]
fn repeated_edits_do_not_grow_the_file() {
    let s = sample(false);
    let mut image = open(s.image).unwrap();
    let path = ValuePath::parse(r#"devices."basic metadata".name"#).unwrap();
    let mut lens = Vec::new();
    for i in 0..40 {
        // Growing and shrinking values move the section around.
        let text = "v".repeat(1 + (i * 397) % 6000);
        image.set_text(&path, &text, None).unwrap();
        lens.push(image.file_len());
    }
    let image = open(image.into_storage()).unwrap();
    assert!(image.verify(2, &|_| {}).is_sound());
    let max = *lens.iter().max().unwrap();
    assert!(max <= lens[0] + 4 * 8192, "file grew: {lens:?}");
    assert_eq!(image.file_len(), *lens.last().unwrap());
}

#[test]
fn unknown_keys_survive_edits() {
    let good = sample(false).image;
    let forged = forge(&good, |nv| {
        nv.insert("from_the_future", "kept");
        entry(nv, "devices").insert("hint", 7u64);
    });
    let mut image = open(forged).unwrap();
    let path = ValuePath::parse("devices.vhpet.freq_bt\\.sec");
    assert!(path.is_err(), "a dot needs quotes");
    let path = ValuePath::parse(r#"devices.vhpet."freq_bt.sec""#).unwrap();
    image.set_value(&path, Value::Number(11), false).unwrap();
    let bytes = image.into_storage();
    let size = u64::from_le_bytes(bytes[4096 + 64..4096 + 72].try_into().unwrap()) as usize;
    let nv = NvList::unpack(&bytes[4096 + 72..4096 + 72 + size]).unwrap();
    assert_eq!(nv.get_string("from_the_future").unwrap(), "kept");
    assert_eq!(
        entry(&mut nv.clone(), "devices")
            .get_number("hint")
            .unwrap(),
        7
    );
    assert_eq!(nv.get_number("generation").unwrap(), 2);
}

#[test]
fn type_change_needs_an_explicit_type() {
    let mut image = open(sample(false).image).unwrap();
    let path = ValuePath::parse("devices.vhpet.timers[0].compval").unwrap();
    assert!(image.set_text(&path, "hello", None).is_err());
    assert!(image
        .set_value(&path, Value::String("hello".into()), false)
        .is_err());
    image
        .set_text(&path, "hello", Some(snapshot_nvlist::Type::String))
        .unwrap();
    assert_eq!(image.header().generation, 2);
}

#[test]
fn memory_is_replaced_whole_and_other_sections_stay() {
    use snapshot_image::MemoryOptions;
    let s = sample(false);
    let mut image = open(s.image).unwrap();
    let mut new = vec![0u8; 5 * 4096 + 3];
    new[4096..8192].fill(0xab);
    for (zstd, compressed) in [(Some(3), 1), (None, 0)] {
        let options = MemoryOptions {
            chunk_size: 4096,
            zstd_level: zstd,
        };
        let stats = image
            .replace_memory("memory", &mut new.as_slice(), options, &mut |_| {})
            .unwrap();
        assert_eq!((stats.chunks, stats.zero_chunks), (6, 5));
        assert_eq!(stats.compressed_chunks, compressed);
        let reopened = open(image.into_storage()).unwrap();
        assert_eq!(extract_memory(&reopened).unwrap(), new);
        assert_eq!(reopened.read_section("devices").unwrap(), s.devices);
        assert_eq!(
            reopened.header().incompatible.is_empty(),
            compressed == 0,
            "the zstd feature follows the codec"
        );
        assert!(reopened.verify(2, &|_| {}).is_sound());
        image = reopened;
    }
    assert!(image
        .replace_memory(
            "devices",
            &mut new.as_slice(),
            Default::default(),
            &mut |_| {}
        )
        .is_err());
}

/// Memory replaced into space an earlier generation left bytes in (two
/// edits of `devices` leave its older copy past every current extent):
/// its zero chunks and zero pages read, map and verify as zero.
#[test]
fn memory_replaced_over_older_bytes_reads_and_maps_its_zeros() {
    use snapshot_image::MemoryOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.img");
    std::fs::write(&path, sample(false).image).unwrap();
    let edit = ValuePath::parse("devices.vhpet.timers[0].compval").unwrap();
    for v in [1, 2] {
        let mut image = Image::open_rw(&path, &OpenOptions::default()).unwrap();
        image.set_value(&edit, Value::Number(v), false).unwrap();
    }
    let image = Image::open(&path, &OpenOptions::default()).unwrap();
    let devices = image.section("devices").unwrap().offset;
    let last_end = image
        .header()
        .sections
        .iter()
        .map(|s| {
            s.memory
                .map_or(s.offset + s.size, |m| m.table_offset + 16 * s.chunk_count())
        })
        .max()
        .unwrap();
    assert!(
        devices < last_end && image.file_len() > last_end,
        "older bytes lie past the extents"
    );
    // A zero chunk over them, then a chunk with a zero page between data.
    let mut new = vec![0u8; 4 * 4096];
    new[4096..8192].fill(0x11);
    new[3 * 4096..].fill(0x22);
    let options = MemoryOptions {
        chunk_size: 8192,
        zstd_level: None,
    };
    let mut image = Image::open_rw(&path, &OpenOptions::default()).unwrap();
    image
        .replace_memory("memory", &mut new.as_slice(), options, &mut |_| {})
        .unwrap();
    drop(image);
    let image = Image::open(&path, &OpenOptions::default()).unwrap();
    assert!(image.verify(2, &|_| {}).is_sound());
    assert_eq!(extract_memory(&image).unwrap(), new);
    assert_eq!(&image.map_memory("memory").unwrap()[..], &new[..]);
}

/// A list nested `depth` levels deep.
fn nested(depth: usize) -> snapshot_nvlist::Value {
    let mut nv = NvList::new().with("leaf", 1u64);
    for _ in 1..depth {
        nv = NvList::new().with("n", nv);
    }
    snapshot_nvlist::Value::NvList(nv)
}

#[test]
fn an_edit_the_reader_would_refuse_writes_nothing() {
    let s = sample(false);
    let mut image = open(s.image.clone()).unwrap();
    let path = snapshot_nvlist::ValuePath::parse("devices.vhpet.deep").unwrap();
    // Deeper than the decoder accepts: the edit is refused, and the file
    // is as it was, byte for byte.
    let mut list = image.read_nvlist("devices").unwrap();
    list.insert("deep", nested(300));
    let err = image.replace_section("devices", &list.pack()).unwrap_err();
    assert!(err.to_string().contains("section `devices`"), "{err}");
    let mut list = image.read_nvlist("devices").unwrap();
    list.get_nvlist_mut("vhpet").unwrap().insert("deep", 1u64);
    image.replace_section("devices", &list.pack()).unwrap();
    let before = image.into_storage();
    let mut image = open(before.clone()).unwrap();
    let err = image.set_value(&path, nested(300), true).unwrap_err();
    assert!(err.to_string().contains("nest deeper than 256"), "{err}");
    assert_eq!(image.into_storage(), before);

    // A raw section larger than any reader loads.
    let mut image = open(before.clone()).unwrap();
    let huge = vec![0u8; (snapshot_image::MAX_LOADED_SECTION + 1) as usize];
    let err = image.replace_section("extra", &huge).unwrap_err();
    assert!(
        err.to_string()
            .contains("exceeds the 1073741824-byte limit"),
        "{err}"
    );
    drop(huge);
    assert_eq!(image.into_storage(), before);
}

#[test]
fn a_refused_memory_replacement_writes_nothing() {
    use snapshot_image::MemoryOptions;
    let s = sample(false);
    // The generation at its maximum: no next generation to commit.
    let forged = forge(&s.image, |nv| {
        nv.insert("generation", u64::MAX);
    });
    let mut image = open(forged.clone()).unwrap();
    let new = vec![0xabu8; 4 << 20];
    let options = MemoryOptions {
        chunk_size: 4096,
        zstd_level: None,
    };
    let err = image
        .replace_memory("memory", &mut new.as_slice(), options, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("generation"), "{err}");
    assert_eq!(
        image.into_storage(),
        forged,
        "nothing written, nothing grown"
    );

    // A source that fails half way: what was appended is given back.
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("source went away"));
            }
            self.0 -= 1;
            buf.fill(7);
            Ok(buf.len())
        }
    }
    let mut image = open(s.image.clone()).unwrap();
    let err = image
        .replace_memory("memory", &mut Failing(100), options, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("source went away"), "{err:?}");
    assert_eq!(image.into_storage(), s.image);
}

/// A section write that fails part way (a full disk) gives back what it
/// appended: the file keeps its length and its bytes, and reads as before.
#[test]
fn a_failed_section_write_gives_back_what_it_appended() {
    use std::io;

    /// Writes past the end land half, then fail; everything else works.
    struct FullDisk(Vec<u8>);
    impl snapshot_image::Storage for FullDisk {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            snapshot_image::Storage::read_at(&self.0, buf, offset)
        }
        fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
            use snapshot_image::Storage;
            if offset + buf.len() as u64 > self.0.len() as u64 {
                Storage::write_at(&mut self.0, &buf[..buf.len() / 2], offset)?;
                return Err(io::Error::other("no space left"));
            }
            Storage::write_at(&mut self.0, buf, offset)
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn len(&self) -> io::Result<u64> {
            snapshot_image::Storage::len(&self.0)
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            snapshot_image::Storage::set_len(&mut self.0, len)
        }
    }

    let s = sample(false);
    let mut image = open(FullDisk(s.image.clone())).unwrap();
    // Larger than any free extent inside the file: it goes at the end.
    let big = NvList::new().with("blob", vec![7u8; 64 << 10]).pack();
    let err = image.replace_section("config", &big).unwrap_err();
    assert!(err.io_error().is_some(), "{err}");
    let bytes = image.into_storage().0;
    assert_eq!(bytes, s.image, "the file as it was");
}

#[test]
fn put_section_adds_then_replaces_and_keeps_the_rest() {
    use snapshot_image::SectionKind;
    let s = sample(false);
    let mut image = open(s.image).unwrap();
    let list = NvList::new().with("pages", vec![3u64, 1, 2]).pack();
    image
        .put_section("workingset", SectionKind::NvList, &list)
        .unwrap();
    let image = open(image.into_storage()).unwrap();
    assert_eq!(image.read_section("workingset").unwrap(), list);
    assert_eq!(image.read_section("devices").unwrap(), s.devices);
    assert_eq!(extract_memory(&image).unwrap(), s.memory);
    assert!(image.verify(1, &|_| {}).is_sound());
    let mut image = image;
    let again = NvList::new().with("pages", vec![9u64]).pack();
    image
        .put_section("workingset", SectionKind::NvList, &again)
        .unwrap();
    assert_eq!(image.read_section("workingset").unwrap(), again);
    assert_eq!(image.header().sections.len(), 6);
    // A section of another kind, bytes a reader would refuse, and an
    // empty name are refused without writing.
    let generation = image.header().generation;
    for (name, kind, bytes) in [
        ("workingset", SectionKind::Raw, &b"x"[..]),
        ("memory", SectionKind::Raw, &b"x"[..]),
        ("new", SectionKind::NvList, &b"not an nvlist"[..]),
        ("", SectionKind::Raw, &b"x"[..]),
        ("new", SectionKind::Memory, &b"x"[..]),
    ] {
        assert!(image.put_section(name, kind, bytes).is_err(), "{name}");
    }
    assert_eq!(image.header().generation, generation);
    assert!(image.section("new").is_err());
}
