use std::cell::RefCell;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::util::{open, Faulty};
use snapshot_image::Storage;

use snapshot_image::{
    parent_reference, Builder, Chain, ErrorKind, Image, ImageFault, MemoryOptions, OpenOptions,
};

const MIB: usize = 1 << 20;

/// Memory of `mib` MiB whose every other page is data, seeded.
fn memory(mib: usize, seed: u8) -> Vec<u8> {
    let mut m = vec![0u8; mib * MIB];
    for (i, page) in m.chunks_mut(4096).enumerate() {
        if i % 2 == 0 {
            page.fill((i % 251) as u8 ^ seed);
        }
    }
    m
}

/// `base` with one page in `every` changed (rewritten, or zeroed).
fn changed(base: &[u8], every: usize, round: u8) -> Vec<u8> {
    let mut m = base.to_vec();
    for (i, page) in m.chunks_mut(4096).enumerate() {
        if (i + round as usize) % every == 0 {
            match i % 3 {
                0 => page.fill(0),
                _ => page.fill(round.wrapping_mul(31).wrapping_add(i as u8) | 1),
            }
        }
    }
    m
}

fn write_raw(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn build_full(path: &Path, memory: &[u8], zstd: bool) {
    let mut b = Builder::new(File::create(path).unwrap(), "snapshot", None).unwrap();
    b.add_nvlist("devices", &snapshot_nvlist::NvList::new().with("n", 1u64))
        .unwrap();
    let options = MemoryOptions {
        zstd_level: zstd.then_some(3),
        ..MemoryOptions::default()
    };
    b.add_memory_slice("memory", memory, options).unwrap();
    b.finish().unwrap();
}

/// Builds `child` on `parent` from `raw`, with a dirty bitmap or not.
fn build_child(child: &Path, parent: &Path, raw: &Path, dirty: Option<&[u8]>) {
    let chain = Chain::open(parent, &OpenOptions::default()).unwrap();
    let memory = chain.memory("memory").unwrap();
    let mut b = Builder::new(File::create(child).unwrap(), "snapshot", None).unwrap();
    b.set_parent(parent_reference(child, parent).unwrap());
    let source = File::open(raw).unwrap();
    let options = MemoryOptions::default();
    b.add_memory_child("memory", &source, &memory, dirty, options, &mut |_| {})
        .unwrap();
    b.finish().unwrap();
}

fn extract(path: &Path) -> Vec<u8> {
    let chain = Chain::open(path, &OpenOptions::default()).unwrap();
    let mut out = Vec::new();
    chain
        .memory("memory")
        .unwrap()
        .copy_to(&mut out, &mut |_| {})
        .unwrap();
    out
}

fn fault(e: &snapshot_image::Error) -> ImageFault {
    match e.kind() {
        ErrorKind::Format { fault, .. } => fault.clone(),
        other => panic!("{other:?}"),
    }
}

/// Pages whose bits are set in a KVM-style dirty bitmap.
fn dirty_map(a: &[u8], b: &[u8]) -> Vec<u8> {
    let pages = a.len().div_ceil(4096);
    let mut map = vec![0u8; pages.div_ceil(64) * 8];
    for (i, (x, y)) in a.chunks(4096).zip(b.chunks(4096)).enumerate() {
        if x != y {
            map[i / 8] |= 1 << (i % 8);
        }
    }
    map
}

/// A partial chunk's pages are stored packed: one that became zero is a
/// hole among them, and the section's short last page is the last of them.
#[test]
fn partial_chunks_pack_zero_and_short_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut base_mem = memory(2, 3);
    base_mem.extend_from_slice(&[9u8; 2 * 4096 + 100]);
    let base = dir.path().join("base.img");
    build_full(&base, &base_mem, false);
    let mut next = base_mem.clone();
    next[..4096].fill(0);
    next[4096..8192].fill(5);
    next[3 * 4096] = 0xaa;
    let len = next.len();
    next[2 * MIB..2 * MIB + 4096].fill(1);
    next[len - 1] = 1;
    let raw = write_raw(dir.path(), "raw", &next);
    for dirty in [None, Some(dirty_map(&base_mem, &next))] {
        let child = dir.path().join("child.img");
        build_child(&child, &base, &raw, dirty.as_deref());
        assert_eq!(extract(&child), next, "dirty bitmap: {}", dirty.is_some());
        let image = Image::open(&child, &OpenOptions::default()).unwrap();
        let stats = image.memory("memory").unwrap().stats();
        assert_eq!((stats.chunks, stats.partial_chunks), (3, 2), "{stats:?}");
        // Pages 0 (now zero), 1 and 3 of chunk 0, pages 0 and 2 of chunk 2.
        assert_eq!(stats.stored_bytes, 4 * 4096 + 100, "{stats:?}");
        let chain = Chain::open(&child, &OpenOptions::default()).unwrap();
        for (path, report) in chain.verify(1, &|_| {}) {
            assert!(
                report.is_sound(),
                "{}: {:?}",
                path.display(),
                report.problems
            );
        }
    }
}

#[test]
fn a_chain_reads_back_byte_for_byte_and_stores_only_changes() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    for zstd in [false, true] {
        let base_mem = memory(8, 7);
        let base = dir.path().join(format!("base{zstd}.img"));
        build_full(&base, &base_mem, zstd);
        let mut parent = base.clone();
        let mut expected = base_mem.clone();
        for round in 1..=4u8 {
            let next = changed(&expected, 20, round);
            let raw = write_raw(dir.path(), "raw", &next);
            let child = dir.path().join(format!("c{zstd}{round}.img"));
            let dirty = (round % 2 == 0).then(|| dirty_map(&expected, &next));
            build_child(&child, &parent, &raw, dirty.as_deref());
            assert_eq!(extract(&child), next, "round {round}, zstd {zstd}");
            let image = Image::open(&child, &OpenOptions::default()).unwrap();
            let stats = image.memory("memory").unwrap().stats();
            assert!(stats.partial_chunks > 0 && stats.chunks == 8, "{stats:?}");
            // About a twentieth of the pages, some of them zero holes.
            let disk = std::fs::metadata(&child).unwrap().blocks() * 512;
            assert!(disk < (next.len() / 10) as u64, "{disk} bytes on disk");
            let chain = Chain::open(&child, &OpenOptions::default()).unwrap();
            assert_eq!(chain.images().count(), round as usize + 1);
            for (path, report) in chain.verify(2, &|_| {}) {
                assert!(
                    report.is_sound(),
                    "{}: {:?}",
                    path.display(),
                    report.problems
                );
            }
            (parent, expected) = (child, next);
        }
    }
}

#[test]
fn an_unchanged_memory_is_all_parent_and_a_flattened_copy_has_the_same_root() {
    let dir = tempfile::tempdir().unwrap();
    let mem = memory(4, 1);
    let base = dir.path().join("base.img");
    build_full(&base, &mem, false);
    let raw = write_raw(dir.path(), "raw", &mem);
    let child = dir.path().join("child.img");
    build_child(&child, &base, &raw, None);
    let image = Image::open(&child, &OpenOptions::default()).unwrap();
    let stats = image.memory("memory").unwrap().stats();
    assert_eq!(stats.parent_chunks, 4);
    assert_eq!(stats.stored_bytes, 0);
    // A map of a child is refused: its pages are elsewhere.
    assert_eq!(
        fault(&image.map_memory("memory").unwrap_err()),
        ImageFault::InParent
    );
    assert_eq!(
        fault(
            &image
                .memory("memory")
                .unwrap()
                .copy_to(&mut Vec::new(), &mut |_| {})
                .unwrap_err()
        ),
        ImageFault::InParent
    );
    // The memory digest is the content's: the same as the parent's.
    let parent = Image::open(&base, &OpenOptions::default()).unwrap();
    assert_eq!(
        image.section("memory").unwrap().digest,
        parent.section("memory").unwrap().digest
    );
    let chain = Chain::open(&child, &OpenOptions::default()).unwrap();
    let flat = dir.path().join("flat.img");
    let mut b = Builder::new(File::create(&flat).unwrap(), "snapshot", None).unwrap();
    b.add_nvlist("devices", &snapshot_nvlist::NvList::new().with("n", 1u64))
        .unwrap();
    let memory = chain.memory("memory").unwrap();
    b.add_memory_chain("memory", &memory, MemoryOptions::default(), &mut |_| {})
        .unwrap();
    b.finish().unwrap();
    let flat_image = Image::open(&flat, &OpenOptions::default()).unwrap();
    assert!(flat_image.header().parent.is_none());
    assert_eq!(flat_image.header().root, parent.header().root);
    assert!(flat_image.header().root.is_some());
}

#[test]
fn a_missing_moved_or_changed_parent_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mem = memory(2, 3);
    let base = dir.path().join("base.img");
    build_full(&base, &mem, false);
    let raw = write_raw(dir.path(), "raw", &changed(&mem, 7, 1));
    let child = dir.path().join("child.img");
    build_child(&child, &base, &raw, None);
    let moved = dir.path().join("moved.img");
    std::fs::rename(&base, &moved).unwrap();
    let e = Chain::open(&child, &OpenOptions::default()).unwrap_err();
    assert!(matches!(fault(&e), ImageFault::ParentMissing { .. }), "{e}");
    assert!(e.to_string().contains("base.img"), "{e}");
    // Another image at the parent's path is not the parent.
    build_full(&base, &memory(2, 4), false);
    let e = Chain::open(&child, &OpenOptions::default()).unwrap_err();
    assert!(matches!(fault(&e), ImageFault::ParentChanged { .. }), "{e}");
    assert!(
        e.to_string().contains("base.img") && e.to_string().contains("has changed"),
        "{e}"
    );
    // The pair moved together still reads: the reference is relative.
    std::fs::rename(&moved, &base).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    for name in ["base.img", "child.img"] {
        std::fs::rename(dir.path().join(name), sub.join(name)).unwrap();
    }
    assert_eq!(extract(&sub.join("child.img")), changed(&mem, 7, 1));
}

#[test]
fn damage_in_a_child_or_its_parent_is_found_and_located() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let mem = memory(4, 5);
    let base = dir.path().join("base.img");
    build_full(&base, &mem, false);
    let next = changed(&mem, 9, 1);
    let raw = write_raw(dir.path(), "raw", &next);
    let child = dir.path().join("child.img");
    build_child(&child, &base, &raw, None);
    // Damage one page the child holds (chunk 2 is partial).
    let image = Image::open(&child, &OpenOptions::default()).unwrap();
    let offset = image.section("memory").unwrap().offset;
    let page = (2 * MIB / 4096..3 * MIB / 4096)
        .find(|p| {
            mem[p * 4096..(p + 1) * 4096] != next[p * 4096..(p + 1) * 4096] && next[p * 4096] != 0
        })
        .unwrap();
    drop(image);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&child)
        .unwrap();
    f.write_at(&[0xee], offset + page as u64 * 4096 + 5)
        .unwrap();
    let chain = Chain::open(&child, &OpenOptions::default()).unwrap();
    let reports = chain.verify(1, &|_| {});
    let problems: Vec<String> = reports[0]
        .1
        .problems
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("chunk 2") && problems[0].contains("checksum"),
        "{problems:?}"
    );
    assert!(reports[1].1.is_sound());
    let e = chain
        .memory("memory")
        .unwrap()
        .copy_to(&mut Vec::new(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("chunk 2"), "{e}");
    // Damage in the parent, in a chunk the child leaves to it.
    let base_offset = Image::open(&base, &OpenOptions::default())
        .unwrap()
        .section("memory")
        .unwrap()
        .offset;
    f.write_at(&[next[page * 4096 + 5]], offset + page as u64 * 4096 + 5)
        .unwrap();
    let g = std::fs::OpenOptions::new().write(true).open(&base).unwrap();
    g.write_at(&[0x11], base_offset + 3 * MIB as u64 + 4096 * 6 + 1)
        .unwrap();
    let chain = Chain::open(&child, &OpenOptions::default()).unwrap();
    let reports = chain.verify(1, &|_| {});
    assert!(reports[0].1.is_sound(), "{:?}", reports[0].1.problems);
    assert_eq!(reports[1].0, base);
    let problems: Vec<String> = reports[1]
        .1
        .problems
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        problems.len() == 1 && problems[0].contains("chunk 3"),
        "{problems:?}"
    );
}

#[test]
fn a_child_build_cut_short_leaves_no_image_that_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mem = memory(2, 9);
    let base = dir.path().join("base.img");
    build_full(&base, &mem, false);
    let raw = write_raw(dir.path(), "raw", &changed(&mem, 5, 2));
    let chain = Chain::open(&base, &OpenOptions::default()).unwrap();
    let parent = chain.memory("memory").unwrap();
    let mut finished = false;
    // Every write up to the header is cut somewhere in this range.
    let budgets = (0..24).chain((24..12_000).step_by(97));
    for budget in budgets {
        for torn in [false, true] {
            let store = Shared(Rc::new(RefCell::new(Faulty::new(Vec::new(), budget, torn))));
            let built = Builder::new(store.clone(), "snapshot", None).and_then(|mut b| {
                b.set_parent("base.img".into());
                let source = File::open(&raw).unwrap();
                let options = MemoryOptions::default();
                b.add_memory_child("memory", &source, &parent, None, options, &mut |_| {})?;
                b.finish()
            });
            let state = store.0.borrow();
            match built {
                Ok(_) => {
                    finished = true;
                    assert!(open(state.durable.clone()).is_ok());
                }
                // The header is written last: a build cut before it
                // leaves no image, never one that reads wrong.
                Err(_) => {
                    for bytes in [&state.bytes, &state.durable] {
                        assert!(open(bytes.clone()).is_err(), "budget {budget}");
                    }
                }
            }
        }
    }
    assert!(finished);
}

/// A store tests keep a hold of while a builder owns it.
#[derive(Clone)]
struct Shared(Rc<RefCell<Faulty>>);

impl Storage for Shared {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.0.borrow().read_at(buf, offset)
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.0.borrow_mut().write_at(buf, offset)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().sync()
    }
    fn len(&self) -> std::io::Result<u64> {
        self.0.borrow().len()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.0.borrow_mut().set_len(len)
    }
}

#[test]
fn a_dirty_bitmap_too_short_or_memory_of_another_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mem = memory(2, 9);
    let base = dir.path().join("base.img");
    build_full(&base, &mem, false);
    let chain = Chain::open(&base, &OpenOptions::default()).unwrap();
    let parent = chain.memory("memory").unwrap();
    let raw = write_raw(dir.path(), "raw", &mem);
    let short = write_raw(dir.path(), "short", &mem[..MIB]);
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    let e = b
        .add_memory_child(
            "memory",
            &File::open(&raw).unwrap(),
            &parent,
            Some(&[0u8; 3]),
            MemoryOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(fault(&e), ImageFault::DirtyMapShort { .. }), "{e}");
    let e = b
        .add_memory_child(
            "memory",
            &File::open(&short).unwrap(),
            &parent,
            None,
            MemoryOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(fault(&e), ImageFault::ParentSize { .. }), "{e}");
}

/// A parent whose digests a tool without them left stale (its section
/// changed, the digest kept as an unknown key) cannot be a parent: the
/// digest is not used, and the child build says why.
#[test]
fn a_parent_with_stale_digests_is_refused() {
    let mem = memory(1, 2);
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    b.add_memory_slice("memory", &mem, MemoryOptions::default())
        .unwrap();
    let bytes = b.finish().unwrap();
    let forged = super::util::forge(&bytes, |nv| {
        super::util::entry(nv, "memory").insert("blake3_crc32c", 1u64);
    });
    let dir = tempfile::tempdir().unwrap();
    let base = write_raw(dir.path(), "base.img", &forged);
    let image = Image::open(&base, &OpenOptions::default()).unwrap();
    assert_eq!(image.section("memory").unwrap().digest, None);
    assert!(image.header().root.is_some() && image.header().computed_root().is_none());
    let chain = Chain::open(&base, &OpenOptions::default()).unwrap();
    let parent = chain.memory("memory").unwrap();
    let raw = write_raw(dir.path(), "raw", &mem);
    let mut b = Builder::new(Vec::new(), "snapshot", None).unwrap();
    let options = MemoryOptions::default();
    let source = File::open(&raw).unwrap();
    let e = b
        .add_memory_child("memory", &source, &parent, None, options, &mut |_| {})
        .unwrap_err();
    assert_eq!(fault(&e), ImageFault::NoDigests, "{e}");
}
