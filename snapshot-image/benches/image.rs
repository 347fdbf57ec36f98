//! Image write, open and verify speed against `cp` of the raw memory.
//!
//! Not a criterion bench: each measurement moves gigabytes, so it runs
//! once per case and prints a Markdown table (the numbers in
//! `docs/image-performance.md`). Run:
//!
//! ```text
//! cargo bench -p snapshot-image --bench image -- [DIR]
//! ```
//!
//! DIR (default: the system temp directory) needs about 6 GiB free; the
//! files are removed at the end. Caches are warm: the source file was just
//! written, as it is when a VMM saves from its own memory.

mod common;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{cp, disk_usage, median, rate, sync_all, time, write_scattered, Rng, GIB, MIB};
use snapshot_image::{Builder, Image, MemoryOptions, OpenOptions};
use snapshot_nvlist::NvList;
use snapshot_nvlist::ValuePath;

/// How the benchmark's guest memory is laid out.
#[derive(Clone, Copy)]
enum Pattern {
    /// Runs of 1 to 16 MiB, this share of them zero.
    Runs(f64),
    /// Every other 4 KiB page zero.
    Scattered,
}

/// Writes `size` bytes of guest memory: runs of random data and runs of
/// zeros, each 1 to 16 MiB, zeros making up `zero_share` of the runs.
fn write_memory(path: &Path, size: u64, zero_share: f64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut file = File::create(path).unwrap();
    let mut data = vec![0u8; MIB as usize];
    let zero = vec![0u8; MIB as usize];
    let mut written = 0;
    while written < size {
        let run = 1 + rng.next() % 16;
        let is_zero = (rng.next() % 1000) as f64 / 1000.0 < zero_share;
        for _ in 0..run.min((size - written) / MIB) {
            if is_zero {
                file.write_all(&zero).unwrap();
            } else {
                rng.fill(&mut data);
                file.write_all(&data).unwrap();
            }
            written += MIB;
        }
    }
    file.sync_all().unwrap();
}

fn zero_fraction(path: &Path) -> f64 {
    let mut f = File::open(path).unwrap();
    let mut buf = vec![0u8; MIB as usize];
    let (mut zero, mut all) = (0u64, 0u64);
    use std::io::Read;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        all += 1;
        zero += u64::from(buf[..n].iter().all(|&b| b == 0));
    }
    zero as f64 / all as f64
}

fn devices() -> NvList {
    let timer = |v: u64| NvList::new().with("compval", v).with("config", v);
    NvList::new().with(
        "vhpet",
        NvList::new().with("timers", (0..8).map(timer).collect::<Vec<_>>()),
    )
}

fn build(src: &Path, dst: &Path, zstd_level: Option<i32>) -> Duration {
    let ((), d) = time(|| {
        let mut b = Builder::new(File::create(dst).unwrap(), "snapshot", None).unwrap();
        b.add_nvlist("devices", &devices()).unwrap();
        let options = MemoryOptions {
            zstd_level,
            ..MemoryOptions::default()
        };
        // As `snapshot build` does: from the file, skipping its holes.
        b.add_memory_from("memory", &File::open(src).unwrap(), options, &mut |_| {})
            .unwrap();
        b.finish().unwrap();
    });
    d
}

fn verify(path: &Path, threads: usize) -> Duration {
    let image = Image::open(path, &OpenOptions::default()).unwrap();
    let (report, d) = time(|| image.verify(threads, &|_| {}));
    assert!(report.is_sound());
    d
}

fn main() {
    let dir: PathBuf = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join("snapshot-image-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n);
    println!("| case | time | rate | disk used |");
    println!("| --- | ---: | ---: | ---: |");
    let cases = [
        ("half zero", Pattern::Runs(0.5)),
        ("half its pages zero, scattered", Pattern::Scattered),
        ("incompressible", Pattern::Runs(0.0)),
    ];
    for (label, pattern) in cases {
        match pattern {
            Pattern::Runs(zero_share) => write_memory(&p("mem.raw"), GIB, zero_share),
            Pattern::Scattered => write_scattered(&p("mem.raw"), GIB),
        }
        let zeros = zero_fraction(&p("mem.raw"));
        // Alternating runs, each after a `sync` so that no run pays for
        // the previous one's writeback; the median of five is shown, and
        // the fastest, as writeback on a shared disk makes single runs
        // noisy.
        let (mut copies, mut synced, mut builds) = (Vec::new(), Vec::new(), Vec::new());
        let mut cp_disk = 0;
        for _ in 0..5 {
            sync_all();
            let (copy, copy_sync) = cp(&p("mem.raw"), &p("copy.raw"));
            cp_disk = disk_usage(&p("copy.raw"));
            std::fs::remove_file(p("copy.raw")).unwrap();
            copies.push(copy);
            synced.push(copy_sync);
            sync_all();
            let _ = std::fs::remove_file(p("img"));
            builds.push(build(&p("mem.raw"), &p("img"), None));
        }
        let img_disk = disk_usage(&p("img"));
        let row = |case: &str, d: Duration, disk: u64| {
            println!(
                "| 1 GiB {label} ({:.0}% zero MiB): {case} | {:.2} s | {} | {} MiB |",
                zeros * 100.0,
                d.as_secs_f64(),
                rate(GIB, d),
                disk / MIB
            );
        };
        let runs = |case: &str, samples: Vec<Duration>, disk: u64| {
            let fastest = *samples.iter().min().unwrap();
            row(&format!("{case}, median of 5"), median(samples), disk);
            row(&format!("{case}, fastest of 5"), fastest, disk);
        };
        runs("`cp`", copies, cp_disk);
        runs("`cp` + fsync", synced, cp_disk);
        runs("image build (fsync included)", builds, img_disk);
        // Holes are skipped (SEEK_DATA); a first read of the data may
        // still differ from later ones.
        row(
            "verify, 2 threads, first read",
            verify(&p("img"), 2),
            img_disk,
        );
        row("verify, 1 thread", verify(&p("img"), 1), img_disk);
        row("verify, 2 threads", verify(&p("img"), 2), img_disk);
        if !matches!(pattern, Pattern::Runs(share) if share == 0.0) {
            let z = build(&p("mem.raw"), &p("img.zst"), Some(1));
            row("image build, zstd level 1", z, disk_usage(&p("img.zst")));
            let v = verify(&p("img.zst"), 2);
            row("verify zstd, 2 threads", v, disk_usage(&p("img.zst")));
            std::fs::remove_file(p("img.zst")).unwrap();
        }
        std::fs::remove_file(p("img")).unwrap();
    }
    std::fs::remove_file(p("mem.raw")).unwrap();

    // A 4 GiB guest: 256 MiB of data, the rest never touched (a hole).
    let raw = p("big.raw");
    {
        let f = File::create(&raw).unwrap();
        let mut data = vec![0u8; (256 * MIB) as usize];
        Rng(7).fill(&mut data);
        std::os::unix::fs::FileExt::write_all_at(&f, &data, GIB).unwrap();
        f.set_len(4 * GIB).unwrap();
    }
    sync_all();
    let built = build(&raw, &p("big.img"), None);
    println!(
        "| 4 GiB guest (256 MiB data): image build | {:.2} s | {} | {} MiB |",
        built.as_secs_f64(),
        rate(4 * GIB, built),
        disk_usage(&p("big.img")) / MIB
    );
    let path = ValuePath::parse("devices.vhpet.timers[3].compval").unwrap();
    let mut info = Vec::new();
    let mut get = Vec::new();
    for _ in 0..200 {
        let ((), d) = time(|| {
            let image = Image::open(p("big.img"), &OpenOptions::default()).unwrap();
            let stats = image.memory("memory").unwrap().stats();
            assert_eq!(stats.size, 4 * GIB);
        });
        info.push(d);
        let ((), d) = time(|| {
            let image = Image::open(p("big.img"), &OpenOptions::default()).unwrap();
            let list = image.read_nvlist("devices").unwrap();
            path.get(&list).unwrap();
        });
        get.push(d);
    }
    for (case, samples) in [
        ("open + memory stats (`info`)", info),
        ("open + read devices + path (`get`)", get),
    ] {
        println!(
            "| 4 GiB image: {case}, median of 200 | {:.3} ms | | |",
            median(samples).as_secs_f64() * 1e3
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
