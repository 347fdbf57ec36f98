//! Child images against full ones: build time, disk, and the extraction
//! of a chain of ten against a flat image of the same memory.
//!
//! Not a criterion bench (each step moves a gigabyte): it prints a
//! Markdown table, the numbers in `docs/image-performance.md`. Run:
//!
//! ```text
//! cargo bench -p snapshot-image --bench chain -- [DIR]
//! ```
//!
//! DIR (default: the system temp directory) needs about 12 GiB free; the
//! files are removed at the end. The memory: 1 GiB, every other 4 KiB
//! page data, then ten rounds each rewriting a random 5% of the pages, of
//! which each round's KVM-style dirty bitmap is kept. Inputs are read
//! again before each timed step, so that every step finds them cached;
//! every output is a new file.

mod common;

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use common::{cp, disk_usage, median, sync_all, time, write_scattered, Rng, GIB};
use snapshot_image::{parent_reference, Builder, Chain, MemoryOptions, OpenOptions};

const PAGE: u64 = 4096;
const ROUNDS: usize = 10;
/// Rounds whose full build and `cp` are timed too, for the ratios.
const TIMED_FULL: usize = 3;

/// Rewrites a random 5% of the pages of `raw`; returns their bitmap.
fn change(raw: &Path, rng: &mut Rng) -> Vec<u8> {
    let pages = GIB / PAGE;
    let file = File::options().write(true).open(raw).unwrap();
    let mut map = vec![0u8; (pages / 8) as usize];
    let mut page = vec![0u8; PAGE as usize];
    let mut changed = 0;
    while changed < pages / 20 {
        let p = rng.next() % pages;
        if map[(p / 8) as usize] & (1 << (p % 8)) != 0 {
            continue;
        }
        map[(p / 8) as usize] |= 1 << (p % 8);
        rng.fill(&mut page);
        file.write_all_at(&page, p * PAGE).unwrap();
        changed += 1;
    }
    file.sync_all().unwrap();
    map
}

/// Reads `paths` through the page cache, so that a timed step finds
/// them there, and lets earlier writeback finish first.
fn warm(paths: &[&Path]) {
    sync_all();
    for path in paths {
        std::io::copy(&mut File::open(path).unwrap(), &mut std::io::sink()).unwrap();
    }
}

fn build_full(raw: &Path, out: &Path) -> Duration {
    time(|| {
        let mut b = Builder::new(File::create(out).unwrap(), "snapshot", None).unwrap();
        let source = File::open(raw).unwrap();
        b.add_memory_from("memory", &source, MemoryOptions::default(), &mut |_| {})
            .unwrap();
        b.finish().unwrap();
    })
    .1
}

fn build_child(raw: &Path, parent: &Path, dirty: Option<&[u8]>, out: &Path) -> Duration {
    time(|| {
        let chain = Chain::open(parent, &OpenOptions::default()).unwrap();
        let memory = chain.memory("memory").unwrap();
        let mut b = Builder::new(File::create(out).unwrap(), "snapshot", None).unwrap();
        b.set_parent(parent_reference(out, parent).unwrap());
        let source = File::open(raw).unwrap();
        let options = MemoryOptions::default();
        b.add_memory_child("memory", &source, &memory, dirty, options, &mut |_| {})
            .unwrap();
        b.finish().unwrap();
    })
    .1
}

/// Extracts the memory of the chain ending at `image` into `out`
/// (synced when a file).
fn extract(image: &Path, out: Option<&Path>) -> Duration {
    time(|| {
        let chain = Chain::open(image, &OpenOptions::default()).unwrap();
        let memory = chain.memory("memory").unwrap();
        match out {
            Some(path) => {
                let mut file = File::create(path).unwrap();
                memory.copy_to(&mut file, &mut |_| {}).unwrap();
                file.flush().unwrap();
                file.sync_all().unwrap();
            }
            None => memory.copy_to(&mut std::io::sink(), &mut |_| {}).unwrap(),
        }
    })
    .1
}

/// `median (fastest-slowest)` of `samples`, in seconds.
fn spread(samples: &[Duration]) -> String {
    let s = |d: Duration| d.as_secs_f64();
    let (lo, hi) = (samples.iter().min().unwrap(), samples.iter().max().unwrap());
    format!(
        "{:.2} s ({:.2}-{:.2})",
        s(median(samples.to_vec())),
        s(*lo),
        s(*hi)
    )
}

fn ratio(a: &[Duration], b: &[Duration]) -> f64 {
    median(a.to_vec()).as_secs_f64() / median(b.to_vec()).as_secs_f64()
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from)
        .join("snapshot-chain-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n);
    let raw = p("memory.raw");
    write_scattered(&raw, GIB);
    build_full(&raw, &p("base.img"));
    let raw_disk = GIB as f64;

    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    let (mut full, mut copy, mut child, mut dirty) = (vec![], vec![], vec![], vec![]);
    let (mut child_disk, mut dirty_disk) = (0, 0);
    let mut parent = p("base.img");
    for round in 1..=ROUNDS {
        let map = change(&raw, &mut rng);
        if round <= TIMED_FULL {
            warm(&[&raw]);
            copy.push(cp(&raw, &p(&format!("copy{round}.raw"))).1);
            warm(&[&raw]);
            full.push(build_full(&raw, &p(&format!("full{round}.img"))));
        }
        let next = p(&format!("child{round}.img"));
        warm(&[&raw, &parent]);
        child.push(build_child(&raw, &parent, None, &next));
        child_disk = disk_usage(&next);
        let bitmapped = p(&format!("dirty{round}.img"));
        warm(&[&raw, &parent]);
        dirty.push(build_child(&raw, &parent, Some(&map), &bitmapped));
        dirty_disk = disk_usage(&bitmapped);
        std::fs::remove_file(&bitmapped).unwrap();
        parent = next;
    }
    let flat = p("flat.img");
    build_full(&raw, &flat);

    let mut all: Vec<std::path::PathBuf> =
        (1..=ROUNDS).map(|r| p(&format!("child{r}.img"))).collect();
    all.extend([p("base.img"), flat.clone()]);
    let all: Vec<&Path> = all.iter().map(|p| p.as_path()).collect();
    let (mut flat_read, mut chain_read, mut flat_file, mut chain_file) =
        (vec![], vec![], vec![], vec![]);
    for i in 0..3 {
        warm(&all);
        flat_read.push(extract(&flat, None));
        chain_read.push(extract(&parent, None));
        warm(&all);
        flat_file.push(extract(&flat, Some(&p(&format!("flat{i}.raw")))));
        warm(&all);
        chain_file.push(extract(&parent, Some(&p(&format!("chain{i}.raw")))));
    }

    println!("| what | time, median (range) | against | disk of raw |");
    println!("| --- | ---: | ---: | ---: |");
    println!("| `cp` + fsync of the raw memory | {} | | |", spread(&copy));
    println!(
        "| full build | {} | {:.2}x `cp` + fsync | |",
        spread(&full),
        ratio(&full, &copy)
    );
    println!(
        "| child build, no bitmap | {} | {:.2} of full | {:.3} |",
        spread(&child),
        ratio(&child, &full),
        child_disk as f64 / raw_disk
    );
    println!(
        "| child build, dirty bitmap | {} | {:.2} of full | {:.3} |",
        spread(&dirty),
        ratio(&dirty, &full),
        dirty_disk as f64 / raw_disk
    );
    println!(
        "| read the memory of a flat image | {} | | |",
        spread(&flat_read)
    );
    println!(
        "| read the memory of {} children on the base | {} | {:.2}x flat | |",
        ROUNDS,
        spread(&chain_read),
        ratio(&chain_read, &flat_read)
    );
    println!(
        "| extract a flat image to a file (synced) | {} | | |",
        spread(&flat_file)
    );
    println!(
        "| extract the chain to a file (synced) | {} | {:.2}x flat | |",
        spread(&chain_file),
        ratio(&chain_file, &flat_file)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
