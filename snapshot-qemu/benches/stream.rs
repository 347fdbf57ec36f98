//! Import and export of a large QEMU stream against `cat` of it, in one
//! run.
//!
//! Not a criterion bench: each measurement moves a gigabyte. It makes a
//! real stream with QEMU (guest RAM backed by a file of random bytes, so
//! every page is sent and none compresses), warms it into the page cache,
//! then runs each case `--rounds` times, interleaved, and prints the
//! medians (with the fastest and slowest run) as a Markdown table (the numbers in `docs/qemu.md`). Every
//! case ends durable: `cat` is followed by an fsync of its output, as the
//! import and the export sync theirs; `sync` runs before each case so no
//! case pays for another's writeback.
//!
//! ```text
//! cargo bench -p snapshot-qemu --bench stream -- [--mib 1024] [--rounds 5] [--dir DIR] [--stream FILE]
//! ```
//!
//! DIR (default: the system temp directory) needs about four times the
//! guest's size free; the files are removed at the end. `--stream` uses a
//! stream already made instead of running QEMU.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapshot_core::image::{Image, OpenOptions};

struct Args {
    mib: u64,
    rounds: usize,
    dir: PathBuf,
    stream: Option<PathBuf>,
}

fn args() -> Args {
    let mut args = Args {
        mib: 1024,
        rounds: 5,
        dir: std::env::temp_dir(),
        stream: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--mib" => args.mib = value().parse().expect("--mib N"),
            "--rounds" => args.rounds = value().parse().expect("--rounds N"),
            "--dir" => args.dir = value().into(),
            "--stream" => args.stream = Some(value().into()),
            // cargo bench passes this to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// A stream of a guest of `mib` MiB whose RAM is random bytes: QEMU (TCG)
/// runs its firmware for a moment, stops, and migrates to `path`.
fn make_stream(dir: &Path, mib: u64, path: &Path) {
    let ram = dir.join("bench-guest.ram");
    {
        let mut f = BufWriter::new(File::create(&ram).unwrap());
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for word in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                word.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
    }
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-machine", "pc,accel=tcg,memory-backend=m"])
        .arg("-object")
        .arg(format!(
            "memory-backend-file,id=m,size={mib}M,mem-path={},share=off",
            ram.display()
        ))
        .args([
            "-m",
            &format!("{mib}M"),
            "-display",
            "none",
            "-monitor",
            "stdio",
        ])
        .args(["-serial", "none", "-parallel", "none"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 runs (or give --stream FILE)");
    let mut monitor = qemu.stdin.take().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    writeln!(monitor, "stop").unwrap();
    writeln!(monitor, "migrate \"exec:cat > {}\"", path.display()).unwrap();
    writeln!(monitor, "quit").unwrap();
    drop(monitor);
    assert!(qemu.wait().unwrap().success());
    std::fs::remove_file(&ram).unwrap();
}

fn sync() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

fn timed(f: impl FnOnce()) -> Duration {
    sync();
    let start = Instant::now();
    f();
    start.elapsed()
}

/// The median, fastest and slowest of `v`.
fn spread(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let args = args();
    let stream = args.stream.clone().unwrap_or_else(|| {
        let path = args.dir.join("bench-guest.mig");
        make_stream(&args.dir, args.mib, &path);
        path
    });
    let len = std::fs::metadata(&stream).unwrap().len();
    // Warm the page cache: the cases read the stream from it.
    std::io::copy(&mut File::open(&stream).unwrap(), &mut std::io::sink()).unwrap();
    let (out, image, back) = (
        args.dir.join("bench-cat.out"),
        args.dir.join("bench.snap"),
        args.dir.join("bench-back.mig"),
    );
    let mut cases: [(&str, Vec<Duration>); 5] = [
        ("`cat STREAM > /dev/null` (read only)", Vec::new()),
        ("`cat STREAM > FILE` + fsync", Vec::new()),
        ("map + parse (no output)", Vec::new()),
        ("`snapshot import qemu` (library, synced)", Vec::new()),
        ("`snapshot export qemu` (library, synced)", Vec::new()),
    ];
    for _ in 0..args.rounds {
        cases[0].1.push(timed(|| {
            let status = Command::new("cat")
                .arg(&stream)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }));
        cases[1].1.push(timed(|| {
            let file = File::create(&out).unwrap();
            let status = Command::new("cat")
                .arg(&stream)
                .stdout(file.try_clone().unwrap())
                .status()
                .unwrap();
            assert!(status.success());
            file.sync_all().unwrap();
        }));
        cases[2].1.push(timed(|| {
            let bytes = snapshot_qemu::StreamBytes::open(&stream).unwrap();
            let parsed = snapshot_qemu::parse(&bytes).unwrap();
            assert!(!parsed.sections.is_empty());
        }));
        cases[3].1.push(timed(|| {
            let bytes = snapshot_qemu::StreamBytes::open(&stream).unwrap();
            snapshot_qemu::import(&bytes, File::create(&image).unwrap(), None).unwrap();
        }));
        cases[4].1.push(timed(|| {
            let img = Image::open(&image, &OpenOptions::default()).unwrap();
            let mut w = snapshot_qemu::StreamFile::new(File::create(&back).unwrap());
            snapshot_qemu::export(&img, &mut w).unwrap();
            w.finish().unwrap();
        }));
    }
    let same = std::fs::read(&back).unwrap() == std::fs::read(&stream).unwrap();
    println!(
        "stream of {} MiB ({len} bytes), {} rounds, medians; export identical to the stream: {same}\n",
        len >> 20,
        args.rounds
    );
    println!(
        "| case | median | throughput | fastest | slowest |\n| --- | ---: | ---: | ---: | ---: |"
    );
    for (name, times) in cases {
        let (t, lo, hi) = spread(times);
        println!(
            "| {name} | {:.3} s | {:.2} GB/s | {:.3} s | {:.3} s |",
            t.as_secs_f64(),
            len as f64 / t.as_secs_f64() / 1e9,
            lo.as_secs_f64(),
            hi.as_secs_f64()
        );
    }
    for f in [&out, &image, &back] {
        let _ = std::fs::remove_file(f);
    }
    if args.stream.is_none() {
        let _ = std::fs::remove_file(&stream);
    }
}
