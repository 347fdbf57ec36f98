//! What the image benches share: deterministic memory, timing, disk use.

// Each bench uses a part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// xorshift64: fast, deterministic, incompressible enough.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for word in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            word.copy_from_slice(&v[..word.len()]);
        }
    }
}

/// Writes `size` bytes of guest memory in which every other 4 KiB page is
/// zero and the rest random: zero pages scattered as in a guest that has
/// run, not in runs of whole chunks.
pub fn write_scattered(path: &Path, size: u64) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut file = File::create(path).unwrap();
    let mut data = vec![0u8; MIB as usize];
    for _ in 0..size / MIB {
        for (i, page) in data.chunks_mut(4096).enumerate() {
            if i % 2 == 0 {
                rng.fill(page);
            } else {
                page.fill(0);
            }
        }
        file.write_all(&data).unwrap();
    }
    file.sync_all().unwrap();
}

pub fn disk_usage(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

pub fn sync_all() {
    assert!(Command::new("sync").status().unwrap().success());
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

pub fn rate(bytes: u64, d: Duration) -> String {
    format!("{:.0} MB/s", bytes as f64 / d.as_secs_f64() / 1e6)
}

pub fn cp(src: &Path, dst: &Path) -> (Duration, Duration) {
    let _ = std::fs::remove_file(dst);
    let (status, copy) = time(|| Command::new("cp").arg(src).arg(dst).status().unwrap());
    assert!(status.success());
    let ((), sync) = time(|| File::open(dst).unwrap().sync_all().unwrap());
    (copy, copy + sync)
}
