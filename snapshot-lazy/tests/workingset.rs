use std::time::{Duration, Instant};

use snapshot_lazy::{LazyOptions, WorkingSet, WORKINGSET_SECTION};

use super::util::{self, PAGE};

const CHUNK: usize = 64 << 10;
const PER_CHUNK: u64 = (CHUNK / PAGE) as u64;

#[test]
fn the_first_touched_page_of_each_chunk_is_recorded_in_order() {
    if !util::uffd_usable("recording") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(CHUNK, 8, 0);
    util::image(&path, &mem, CHUNK, Some(3));
    let options = LazyOptions {
        record_for: Some(Duration::from_secs(600)),
        ..LazyOptions::default()
    };
    let lazy = util::start(&path, options);
    // Pages of chunks 5, 1 (zero), 5 again, 0 and 7.
    let touched = [
        5 * PER_CHUNK + 3,
        PER_CHUNK + 9,
        5 * PER_CHUNK,
        2,
        7 * PER_CHUNK,
    ];
    for p in touched {
        let at = p as usize * PAGE;
        assert!(lazy[at..at + PAGE] == mem[at..at + PAGE]);
    }
    assert_eq!(
        lazy.recorded(),
        vec![5 * PER_CHUNK + 3, PER_CHUNK + 9, 2, 7 * PER_CHUNK]
    );
    let ws = lazy.working_set();
    assert_eq!(ws.window_ms, 600_000);
    assert_eq!(ws.section, util::SECTION);

    // Written into the image in place, read back.
    drop(lazy);
    let mut image = snapshot_image::Image::open_rw(&path, &Default::default()).unwrap();
    assert_eq!(WorkingSet::read(&image).unwrap(), None);
    ws.write(&mut image).unwrap();
    drop(image);
    let image = util::open(&path);
    assert!(image.verify(1, &|_| {}).is_sound());
    assert_eq!(WorkingSet::read(&image).unwrap(), Some(ws.clone()));
    // Recorded again, it replaces the first.
    let mut image = snapshot_image::Image::open_rw(&path, &Default::default()).unwrap();
    let again = WorkingSet {
        pages: vec![1],
        ..ws
    };
    again.write(&mut image).unwrap();
    drop(image);
    let image = util::open(&path);
    assert_eq!(WorkingSet::read(&image).unwrap(), Some(again));
    assert_eq!(
        image
            .header()
            .sections
            .iter()
            .filter(|s| s.name == WORKINGSET_SECTION)
            .count(),
        1
    );
}

#[test]
fn faults_after_the_window_are_not_recorded() {
    if !util::uffd_usable("recording_window") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(CHUNK, 4, 0);
    util::image(&path, &mem, CHUNK, None);
    let options = LazyOptions {
        record_for: Some(Duration::from_millis(50)),
        ..LazyOptions::default()
    };
    let lazy = util::start(&path, options);
    assert_eq!(lazy[0], mem[0]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(lazy[2 * CHUNK], mem[2 * CHUNK]);
    assert_eq!(lazy.recorded(), vec![0]);

    let lazy = util::start(&path, LazyOptions::default());
    assert_eq!(lazy[0], mem[0]);
    assert!(lazy.recorded().is_empty(), "nothing recorded unless asked");
}

#[test]
fn prefetched_chunks_are_loaded_before_they_are_touched() {
    if !util::uffd_usable("prefetch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(CHUNK, 10, 0);
    util::image(&path, &mem, CHUNK, Some(3));
    let eager = util::eager(&path);
    // Chunks 6, 2, 3 (zero... every third from 1: 1, 4, 7 are zero), 6
    // again, 4.
    let prefetch = vec![
        6 * PER_CHUNK + 1,
        2 * PER_CHUNK,
        3 * PER_CHUNK + 15,
        6 * PER_CHUNK,
        4 * PER_CHUNK,
    ];
    let options = LazyOptions {
        prefetch: Some(prefetch.clone()),
        ..LazyOptions::default()
    };
    let lazy = util::start(&path, options);
    let start = Instant::now();
    while !lazy.stats().prefetch_done {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the prefetch never ends"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = lazy.stats();
    assert_eq!(stats.chunks_prefetched, 4, "{stats:?}");
    assert_eq!(stats.pages_loaded, 4 * PER_CHUNK, "{stats:?}");
    for chunk in [6, 2, 3, 4] {
        let at = chunk * CHUNK;
        assert!(
            lazy[at..at + CHUNK] == eager[at..at + CHUNK],
            "chunk {chunk}"
        );
    }
    assert_eq!(
        lazy.stats().faults_served,
        0,
        "prefetched pages do not fault"
    );
    assert!(lazy[..] == eager[..]);
    let stats = lazy.stats();
    assert_eq!(stats.chunks_faulted, 6, "{stats:?}");
    assert_eq!(stats.pages_loaded, stats.pages_total);
}

#[test]
fn prefetch_and_faults_race_safely() {
    if !util::uffd_usable("prefetch_race") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vm.snap");
    let mem = util::guest(CHUNK, 64, 0);
    util::image(&path, &mem, CHUNK, Some(3));
    let eager = util::eager(&path);
    let mut pages: Vec<u64> = (0..(mem.len() / PAGE) as u64).collect();
    util::Rng::new(3).shuffle(&mut pages);
    let options = LazyOptions {
        prefetch: Some(pages.clone()),
        ..LazyOptions::default()
    };
    for _ in 0..3 {
        let lazy = util::start(&path, options.clone());
        // Touched backwards while the prefetch goes through its order.
        for p in pages.iter().rev() {
            let at = *p as usize * PAGE;
            assert!(lazy[at..at + PAGE] == eager[at..at + PAGE], "page {p}");
        }
        let stats = lazy.stats();
        assert_eq!(
            stats.chunks_faulted + stats.chunks_prefetched,
            64,
            "{stats:?}"
        );
        assert_eq!(stats.pages_loaded, stats.pages_total, "{stats:?}");
    }
}
