use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use snapshot_image::{Builder, MemoryOptions};
use snapshot_lazy::{ErrorKind, LazyMemory, LazyOptions};

use super::util::{self, PAGE};

const CHUNK: usize = 64 << 10;

/// An image whose chunk `bad` has one byte changed on disk.
fn damaged(dir: &std::path::Path, zstd: Option<i32>, bad: u64) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.join("vm.snap");
    let mem = util::guest(CHUNK, 6, 0);
    util::image(&path, &mem, CHUNK, zstd);
    let offset = {
        let image = util::open(&path);
        let memory = image.memory(util::SECTION).unwrap();
        memory.chunk_offset(bad) + 5
    };
    let mut file = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    let mut byte = [0u8];
    std::io::Read::read_exact(&mut file, &mut byte).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&[byte[0] ^ 0x40]).unwrap();
    (path, mem)
}

fn a_damaged_chunk_fails_its_access(test: &str, zstd: Option<i32>) {
    if !util::uffd_usable(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, mem) = damaged(dir.path(), zstd, 2);
    let lazy = std::sync::Arc::new(util::start(&path, LazyOptions::default()));
    let l = lazy.clone();
    let got = util::within(Duration::from_secs(30), move || {
        util::read_by_kernel(&l, 2 * CHUNK + PAGE, PAGE)
    });
    let err = got.expect_err("a damaged chunk is not read as zeros");
    assert_eq!(err.raw_os_error(), Some(libc::EFAULT), "{err}");
    let error = lazy.error().expect("the fill's error is kept");
    assert_eq!(error.chunk(), Some((util::SECTION, 2)), "{error}");
    let shown = format!("{error}: {}", std::error::Error::source(&*error).unwrap());
    assert!(shown.contains("chunk 2 of section `memory`"), "{shown}");
    assert!(shown.contains("checksum"), "{shown}");
    // Again: still fails, still no hang.
    let l = lazy.clone();
    let again = util::within(Duration::from_secs(30), move || {
        util::read_by_kernel(&l, 2 * CHUNK, 16)
    });
    assert!(again.is_err());
    // The other chunks are whole.
    let l = lazy.clone();
    let other = util::within(Duration::from_secs(30), move || {
        util::read_by_kernel(&l, 0, 2 * CHUNK)
    });
    assert!(other.unwrap() == mem[..2 * CHUNK]);
    assert!(lazy[3 * CHUNK..] == mem[3 * CHUNK..]);
}

#[test]
fn a_damaged_raw_chunk_fails_its_access_and_is_named() {
    a_damaged_chunk_fails_its_access("damaged_raw_chunk", None);
}

#[test]
fn a_damaged_zstd_chunk_fails_its_access_and_is_named() {
    a_damaged_chunk_fails_its_access("damaged_zstd_chunk", Some(3));
}

#[test]
fn a_damaged_chunk_met_by_the_prefetch_is_kept_as_the_error() {
    if !util::uffd_usable("damaged_prefetch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = damaged(dir.path(), Some(3), 3);
    let options = LazyOptions {
        prefetch: Some(vec![3 * (CHUNK / PAGE) as u64]),
        ..LazyOptions::default()
    };
    let lazy = util::start(&path, options);
    let start = std::time::Instant::now();
    while !lazy.stats().prefetch_done {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(lazy.error().unwrap().chunk(), Some((util::SECTION, 3)));
    assert_eq!(lazy.stats().chunks_prefetched, 0);
}

#[test]
fn bad_arguments_are_refused_at_start() {
    if !util::uffd_usable("bad_arguments") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(CHUNK, 2, 0);
    let file = std::fs::File::create(&path).unwrap();
    let mut b = Builder::new(file, "snapshot", None).unwrap();
    b.add_memory_slice(util::SECTION, &mem, MemoryOptions::default())
        .unwrap();
    b.add_raw("notes", b"not memory").unwrap();
    b.finish().unwrap();

    let err = LazyMemory::start(util::chain(&path), "nothing", LazyOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Image(_)), "{err}");
    let err = LazyMemory::start(util::chain(&path), "notes", LazyOptions::default()).unwrap_err();
    assert!(err.to_string().contains("notes"), "{err}");
    let pages = (mem.len() / PAGE) as u64;
    let options = LazyOptions {
        prefetch: Some(vec![0, pages]),
        ..LazyOptions::default()
    };
    let err = LazyMemory::start(util::chain(&path), util::SECTION, options).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PrefetchPage { page, pages: p } if *page == pages && *p == pages),
        "{err}"
    );
}
