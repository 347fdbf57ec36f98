//! The cost of a fault against the size of the fill: 256 MiB of guest
//! memory (raw, and zstd level 3), in images of 4 KiB, 64 KiB and 1 MiB
//! chunks, every page touched once in order. Run with
//! `cargo run --release -p snapshot-lazy --example granularity` (about
//! 1 GiB of files in a temporary directory).

use std::time::Instant;

use snapshot_image::{Builder, Chain, MemoryOptions, OpenOptions};
use snapshot_lazy::{LazyMemory, LazyOptions};

const SIZE: usize = 256 << 20;
const PAGE: usize = 4096;

fn main() {
    if let Err(why) = snapshot_lazy::check_available() {
        println!("granularity: not run: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Text-like bytes with a varying word per page: compressible, never zero.
    let mut mem = vec![0u8; SIZE];
    for (i, p) in mem.chunks_mut(PAGE).enumerate() {
        for (k, b) in p.iter_mut().enumerate() {
            *b = b"guest memory page "[k % 18];
        }
        p[..8].copy_from_slice(&(i as u64).to_le_bytes());
    }
    println!("| chunk | codec | faults | time to touch 256 MiB | per fault |");
    println!("| ---: | :--- | ---: | ---: | ---: |");
    for zstd in [None, Some(3)] {
        for chunk in [4096u64, 64 << 10, 1 << 20] {
            let path = dir.path().join(format!("{chunk}-{zstd:?}.snap"));
            let file = std::fs::File::create(&path).expect("create");
            let mut b = Builder::new(file, "snapshot", None).expect("builder");
            let options = MemoryOptions {
                chunk_size: chunk,
                zstd_level: zstd,
            };
            b.add_memory_slice("memory", &mem, options).expect("memory");
            b.finish().expect("finish");
            let chain = Chain::open(&path, &OpenOptions::default()).expect("open");
            let lazy = LazyMemory::start(chain, "memory", LazyOptions::default()).expect("start");
            let start = Instant::now();
            let mut sum = 0u64;
            for at in (0..SIZE).step_by(PAGE) {
                sum = sum.wrapping_add(u64::from(lazy[at]));
            }
            let took = start.elapsed();
            std::hint::black_box(sum);
            let faults = lazy.stats().faults_served;
            println!(
                "| {} KiB | {} | {faults} | {:.1} ms | {:.1} µs |",
                chunk >> 10,
                if zstd.is_some() { "zstd 3" } else { "raw" },
                took.as_secs_f64() * 1e3,
                took.as_secs_f64() * 1e6 / faults as f64
            );
        }
    }
}
