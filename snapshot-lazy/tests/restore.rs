use std::sync::Arc;

use snapshot_lazy::LazyOptions;

use super::util::{self, Rng, PAGE};

/// Touches every page of `path`'s memory lazily, in random order from
/// two threads, and compares each with the eager read.
fn every_page_matches(test: &str, chunk: usize, chunks: usize, tail: usize, zstd: Option<i32>) {
    if !util::uffd_usable(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(chunk, chunks, tail);
    util::image(&path, &mem, chunk, zstd);
    let eager = util::eager(&path);
    assert_eq!(eager, mem, "the eager read is the memory written");

    let lazy = Arc::new(util::start(&path, LazyOptions::default()));
    assert_eq!(lazy.len(), mem.len().div_ceil(PAGE) * PAGE);
    assert_eq!(lazy.as_ptr() as usize % PAGE, 0, "page-aligned for KVM");
    let mut pages: Vec<usize> = (0..lazy.len() / PAGE).collect();
    Rng::new(chunks as u64).shuffle(&mut pages);
    let half = pages.len() / 2;
    let (a, b) = (pages[..half].to_vec(), pages[half..].to_vec());
    let eager = Arc::new(eager);
    let touch = |pages: Vec<usize>| {
        let (lazy, eager) = (lazy.clone(), eager.clone());
        std::thread::spawn(move || {
            for p in pages {
                let at = p * PAGE;
                let end = (at + PAGE).min(eager.len());
                assert!(lazy[at..end] == eager[at..end], "page {p} differs");
                assert!(
                    lazy[end..at + PAGE].iter().all(|&b| b == 0),
                    "tail of page {p}"
                );
            }
        })
    };
    let (ta, tb) = (touch(a), touch(b));
    ta.join().unwrap();
    tb.join().unwrap();

    let stats = lazy.stats();
    let chunks_in_all = mem.len().div_ceil(chunk) as u64;
    assert_eq!(stats.chunks_faulted, chunks_in_all, "{stats:?}");
    assert_eq!(stats.pages_loaded, stats.pages_total, "{stats:?}");
    assert!(stats.faults_served >= chunks_in_all, "{stats:?}");
    assert_eq!(stats.chunks_prefetched, 0);
    assert!(lazy.error().is_none());
}

#[test]
fn raw_chunks_read_as_the_eager_restore_reads_them() {
    every_page_matches("raw_chunks", 64 << 10, 12, 0, None);
}

#[test]
fn zstd_chunks_read_as_the_eager_restore_reads_them() {
    every_page_matches("zstd_chunks", 64 << 10, 12, 0, Some(3));
}

#[test]
fn a_short_last_chunk_and_a_partial_last_page_read_as_eager() {
    every_page_matches("short_last_chunk_raw", 64 << 10, 5, 3 * PAGE + 100, None);
    every_page_matches(
        "short_last_chunk_zstd",
        64 << 10,
        5,
        3 * PAGE + 100,
        Some(3),
    );
}

#[test]
fn page_sized_chunks_read_as_eager() {
    every_page_matches("page_sized_chunks", PAGE, 40, 0, Some(3));
}

#[test]
fn writes_stay_in_memory_and_the_image_is_unchanged() {
    if !util::uffd_usable("writes_stay_in_memory") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(64 << 10, 4, 0);
    util::image(&path, &mem, 64 << 10, Some(3));
    let before = std::fs::read(&path).unwrap();
    let mut lazy = util::start(&path, LazyOptions::default());
    // A write is the first touch of chunk 1 (zero) and of chunk 2.
    lazy[(64 << 10) + 10] = 0xaa;
    lazy[(128 << 10) + 20] = 0xbb;
    assert_eq!(lazy[(64 << 10) + 10], 0xaa);
    assert_eq!(lazy[(64 << 10) + 11], 0);
    assert_eq!(lazy[(128 << 10) + 21], mem[(128 << 10) + 21]);
    assert_eq!(lazy[..64 << 10], mem[..64 << 10]);
    drop(lazy);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn the_kernel_s_accesses_are_served() {
    if !util::uffd_usable("the_kernel_s_accesses_are_served") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(64 << 10, 6, 0);
    util::image(&path, &mem, 64 << 10, Some(3));
    let lazy = util::start(&path, LazyOptions::default());
    let got = util::read_by_kernel(&lazy, 0, mem.len()).unwrap();
    assert!(got == mem);
}

#[test]
fn a_child_image_reads_through_its_parent_as_eager() {
    if !util::uffd_usable("child_image") {
        return;
    }
    let chunk = 64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let (parent, child) = (dir.path().join("base.snap"), dir.path().join("child.snap"));
    let base = util::guest(chunk, 8, 0);
    util::image(&parent, &base, chunk, Some(3));
    let mut mem = base.clone();
    // One page of chunk 0, all of chunk 2, a page of the zero chunk 4,
    // chunk 5 zeroed.
    mem[PAGE + 7] ^= 0xff;
    mem[2 * chunk..3 * chunk]
        .iter_mut()
        .for_each(|b| *b = b.wrapping_add(1));
    mem[4 * chunk + 3 * PAGE] = 9;
    mem[5 * chunk..6 * chunk].fill(0);
    util::child_image(&child, &parent, &mem);
    assert!(
        util::chain(&child).images().count() == 2,
        "the child stands on its parent"
    );
    assert_eq!(util::eager(&child), mem);

    let lazy = util::start(&child, LazyOptions::default());
    let mut pages: Vec<usize> = (0..mem.len() / PAGE).collect();
    Rng::new(11).shuffle(&mut pages);
    for p in pages {
        let at = p * PAGE;
        assert!(lazy[at..at + PAGE] == mem[at..at + PAGE], "page {p}");
    }
    assert_eq!(lazy.stats().pages_loaded, lazy.stats().pages_total);
}
