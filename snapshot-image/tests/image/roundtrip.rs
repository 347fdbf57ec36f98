use snapshot_image::{Builder, ChunkKind, Codec, MemoryOptions, SectionKind};
use snapshot_nvlist::NvList;

use super::util::*;

#[test]
fn every_section_kind_round_trips() {
    for zstd in [false, true] {
        let s = sample(zstd);
        let image = open(s.image.clone()).unwrap();
        assert_eq!(image.header().generation, 1);
        assert_eq!(image.header().ident, "snapshot");
        assert_eq!(
            extract_all(&image).unwrap(),
            [s.config, s.devices, s.kernel, s.raw, s.memory]
        );
        assert_eq!(image.read_nvlist("devices").unwrap(), devices());
        let memory = image.memory("memory").unwrap();
        let kinds: Vec<_> = memory.table().iter().map(|e| e.kind).collect();
        let third = if zstd {
            ChunkKind::Zstd
        } else {
            ChunkKind::Raw
        };
        assert_eq!(
            kinds,
            [ChunkKind::Raw, ChunkKind::Zero, third, ChunkKind::Raw]
        );
        let stats = memory.stats();
        assert_eq!((stats.chunks, stats.zero_chunks), (4, 1));
        assert_eq!(
            memory.entry().codec,
            if zstd { Codec::Zstd } else { Codec::None }
        );
        assert_eq!(
            image.header().incompatible,
            if zstd {
                vec!["zstd".to_string()]
            } else {
                vec![]
            }
        );
        assert!(image.verify(2, &|_| {}).is_sound());
    }
}

/// Chunks read into the guest's own buffer, in place, give the memory the
/// streaming copy gives, and a damaged chunk is refused the same way.
#[test]
fn chunks_read_in_place_into_guest_memory() {
    for zstd in [false, true] {
        let s = sample(zstd);
        let image = open(s.image.clone()).unwrap();
        let memory = image.memory("memory").unwrap();
        // Garbage first, so a zero chunk must be written too.
        let mut guest = vec![0xa5u8; s.memory.len()];
        let mut scratch = Vec::new();
        let mut at = 0;
        for i in 0..memory.table().len() as u64 {
            let len = memory.chunk_len(i) as usize;
            memory
                .read_chunk_into(i, &mut guest[at..at + len], &mut scratch)
                .unwrap();
            at += len;
        }
        assert_eq!(at, guest.len());
        assert_eq!(guest, s.memory);

        // A flipped byte in the first chunk's data is caught in place too.
        let first = memory.chunk_offset(0) as usize;
        let mut bad = s.image.clone();
        bad[first + 100] ^= 1;
        let image = open(bad).unwrap();
        let memory = image.memory("memory").unwrap();
        let len = memory.chunk_len(0) as usize;
        let err = memory
            .read_chunk_into(0, &mut guest[..len], &mut scratch)
            .unwrap_err();
        assert!(is_image_error(&err), "{err}");
    }
}

#[test]
#[should_panic(expected = "buffer of another length than the chunk")]
fn reading_a_chunk_into_a_buffer_of_another_length_is_a_bug() {
    let s = sample(false);
    let image = open(s.image).unwrap();
    let memory = image.memory("memory").unwrap();
    let mut short = vec![0u8; 10];
    let _ = memory.read_chunk_into(0, &mut short, &mut Vec::new());
}

#[test]
fn memory_streams_from_a_reader_and_a_slice_alike() {
    let memory = memory();
    let options = MemoryOptions {
        chunk_size: CHUNK,
        zstd_level: None,
    };
    let mut a = Builder::new(Vec::new(), "snapshot", None).unwrap();
    a.add_memory("memory", &mut memory.as_slice(), options, &mut |_| {})
        .unwrap();
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    b.add_memory_slice("memory", &memory, options).unwrap();
    let (a, b) = (
        open(a.finish().unwrap()).unwrap(),
        open(b.finish().unwrap()).unwrap(),
    );
    assert_eq!(extract_memory(&a).unwrap(), memory);
    assert_eq!(extract_memory(&b).unwrap(), memory);
    assert_eq!(a.header().sections, b.header().sections);
}

#[test]
fn all_zero_memory_and_page_multiple_sizes() {
    for len in [4096usize, 3 * 4096, 4097] {
        let memory = vec![0u8; len];
        let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
        b.add_memory_slice(
            "memory",
            &memory,
            MemoryOptions {
                chunk_size: CHUNK,
                zstd_level: Some(1),
            },
        )
        .unwrap();
        let image = open(b.finish().unwrap()).unwrap();
        assert_eq!(extract_memory(&image).unwrap(), memory);
        assert_eq!(image.memory("memory").unwrap().stats().stored_bytes, 0);
    }
}

#[test]
fn opening_reads_only_the_header_and_a_section_only_itself() {
    let s = sample(false);
    let image = open(Recording {
        bytes: s.image,
        ..Recording::default()
    })
    .unwrap();
    let devices = image.section("devices").unwrap().clone();
    let storage = image.into_storage();
    assert_eq!(*storage.reads.borrow(), [(0, 8192)]);
    let image = open(storage).unwrap();
    image.read_section("devices").unwrap();
    let storage = image.into_storage();
    assert_eq!(
        *storage.reads.borrow(),
        [
            (0, 8192),
            (0, 8192),
            (devices.offset, devices.size as usize)
        ]
    );
    assert_eq!(devices.kind, SectionKind::NvList);
}

#[test]
fn memory_file_is_sparse_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let mut memory = vec![0u8; 64 << 20];
    memory[5 << 20] = 7;
    let file = std::fs::File::create(&path).unwrap();
    let mut b = Builder::new(file, "snapshot", None).unwrap();
    b.add_nvlist("config", &NvList::new().with("a", 1u64))
        .unwrap();
    b.add_memory_slice("memory", &memory, MemoryOptions::default())
        .unwrap();
    b.finish().unwrap();
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.len() > 64 << 20);
    assert!(
        meta.blocks() * 512 < 8 << 20,
        "zero chunks must be holes: {} bytes on disk",
        meta.blocks() * 512
    );
    let image =
        snapshot_image::Image::open(&path, &snapshot_image::OpenOptions::default()).unwrap();
    let map = image.map_memory("memory").unwrap();
    assert_eq!(&map[..], &memory[..]);
    assert!(image.verify(2, &|_| {}).is_sound());
    // Verify reads a file through a map: damage in data and in a hole.
    let at = image.section("memory").unwrap().offset;
    drop(map);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_at(&[8], at + (5 << 20) + 1).unwrap();
    file.write_at(&[9], at + (40 << 20)).unwrap();
    let report = image.verify(2, &|_| {});
    let messages: Vec<String> = report.problems.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("chunk 5") && messages[0].contains("checksum"));
    assert!(messages[1].contains("chunk 40") && messages[1].contains("non-zero"));
}

/// Zero pages scattered through data chunks (every other 4 KiB page, as
/// in a guest that has run) take no disk, and the chunks still read, map
/// and verify whole.
#[test]
fn scattered_zero_pages_take_no_disk() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img");
    let mut memory = vec![0u8; 16 << 20];
    for (i, page) in memory.chunks_mut(4096).enumerate() {
        if i % 2 == 0 {
            page.fill((i % 251) as u8 + 1);
        }
    }
    let file = std::fs::File::create(&path).unwrap();
    let mut b = Builder::new(file, "snapshot", None).unwrap();
    let stats = b
        .add_memory_slice("memory", &memory, MemoryOptions::default())
        .unwrap();
    b.finish().unwrap();
    assert_eq!(stats.zero_chunks, 0, "no chunk is all zero");
    let disk = std::fs::metadata(&path).unwrap().blocks() * 512;
    assert!(
        // Half the pages, their digests (32 bytes a page), the table.
        disk <= (memory.len() as u64 / 2) + memory.len() as u64 / 128 + (64 << 10),
        "{disk} bytes on disk for {} of memory, half of it zero pages",
        memory.len()
    );
    let image =
        snapshot_image::Image::open(&path, &snapshot_image::OpenOptions::default()).unwrap();
    assert!(image.verify(2, &|_| {}).is_sound());
    assert!(extract_memory(&image).unwrap() == memory);
    assert!(image.map_memory("memory").unwrap()[..] == memory[..]);
}

#[test]
fn holes_are_found_and_data_is_not_a_hole() {
    use snapshot_image::Storage;
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("f")).unwrap();
    Storage::set_len(&mut file, 16 << 20).unwrap();
    file.write_at(&[1; 4096], 8 << 20).unwrap();
    file.sync().unwrap();
    assert!(!file.is_hole(8 << 20, 4096));
    assert!(!file.is_hole(0, 16 << 20));
    assert!(!file.is_hole((8 << 20) - 4096, 8192));
    // A file system without hole reporting says "data": never a false hole.
    if file.is_hole(0, 1 << 20) {
        assert!(file.is_hole(12 << 20, 4 << 20));
    }
}

#[test]
fn memory_from_a_sparse_file_skips_its_holes() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let file = std::fs::File::create(&raw).unwrap();
    use std::os::unix::fs::FileExt;
    let tail = 64 << 20;
    file.set_len(tail).unwrap();
    file.write_all_at(b"data", 3 << 20).unwrap();
    file.write_all_at(b"end", tail - 3).unwrap();
    let file = std::fs::File::open(&raw).unwrap();
    let mut read = 0;
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    let stats = b
        .add_memory_from("memory", &file, MemoryOptions::default(), &mut |d| read = d)
        .unwrap();
    assert_eq!((stats.size, read), (tail, tail));
    assert_eq!((stats.chunks, stats.zero_chunks), (64, 62));
    let image = open(b.finish().unwrap()).unwrap();
    assert_eq!(
        extract_memory(&image).unwrap(),
        std::fs::read(&raw).unwrap()
    );
}
