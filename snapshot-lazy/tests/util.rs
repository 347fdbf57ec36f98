use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use snapshot_image::{Builder, Chain, Image, MemoryOptions, OpenOptions};
use snapshot_lazy::{LazyMemory, LazyOptions};

pub const PAGE: usize = 4096;
pub const SECTION: &str = "memory";

/// Whether userfaultfd can be had here; when not, says why on the
/// test's output.
pub fn uffd_usable(test: &str) -> bool {
    match snapshot_lazy::check_available() {
        Ok(()) => {
            println!("{test}: running with userfaultfd");
            true
        }
        Err(why) => {
            println!("{test}: not run: {why}");
            false
        }
    }
}

/// A small xorshift, for orders and contents that differ from chunk to
/// chunk yet repeat from run to run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Guest memory of `chunks` chunks and a short tail of `tail` bytes:
/// every third chunk zero, the others text-like (so zstd shrinks them)
/// with a page of noise (so some chunks of a zstd image stay raw: every
/// fifth is noise through).
pub fn guest(chunk: usize, chunks: usize, tail: usize) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let mut mem = vec![0u8; chunk * chunks + tail];
    for (i, c) in mem.chunks_mut(chunk).enumerate() {
        if i % 3 == 1 {
            continue;
        }
        if i % 5 == 4 {
            c.iter_mut().for_each(|b| *b = rng.next() as u8);
            continue;
        }
        for (k, b) in c.iter_mut().enumerate() {
            *b = b"guest memory, chunk by chunk "[(k + i) % 29];
        }
        let noise = PAGE.min(c.len());
        c[..noise].iter_mut().for_each(|b| *b = rng.next() as u8);
    }
    mem
}

/// Writes an image of `mem` at `path`.
pub fn image(path: &Path, mem: &[u8], chunk: usize, zstd: Option<i32>) {
    let file = std::fs::File::create(path).unwrap();
    let mut b = Builder::new(file, "snapshot", None).unwrap();
    let options = MemoryOptions {
        chunk_size: chunk as u64,
        zstd_level: zstd,
    };
    b.add_memory_slice(SECTION, mem, options).unwrap();
    b.finish().unwrap().sync_all().unwrap();
}

/// Writes at `child` an image of `mem` standing on the image at
/// `parent`: only the pages that differ are stored in it.
pub fn child_image(child: &Path, parent: &Path, mem: &[u8]) {
    let raw = child.with_extension("raw");
    std::fs::write(&raw, mem).unwrap();
    let chain = chain(parent);
    let memory = chain.memory(SECTION).unwrap();
    let mut b = Builder::new(std::fs::File::create(child).unwrap(), "snapshot", None).unwrap();
    b.set_parent(snapshot_image::parent_reference(child, parent).unwrap());
    let source = std::fs::File::open(&raw).unwrap();
    let options = MemoryOptions {
        chunk_size: memory.chunk_size(),
        zstd_level: Some(3),
    };
    b.add_memory_child(SECTION, &source, &memory, None, options, &mut |_| {})
        .unwrap();
    b.finish().unwrap().sync_all().unwrap();
}

pub fn open(path: &Path) -> Image {
    Image::open(path, &OpenOptions::default()).unwrap()
}

/// The memory as the eager restore reads it, chunk by chunk, through
/// the parents.
pub fn eager(path: &Path) -> Vec<u8> {
    let chain = chain(path);
    let memory = chain.memory(SECTION).unwrap();
    let (mut out, mut buf, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..memory.chunk_count() {
        memory.read_chunk(i, &mut buf, &mut scratch).unwrap();
        out.extend_from_slice(&buf);
    }
    out
}

pub fn chain(path: &Path) -> Chain {
    Chain::open(path, &OpenOptions::default()).unwrap()
}

pub fn start(path: &Path, options: LazyOptions) -> LazyMemory {
    LazyMemory::start(chain(path), SECTION, options).unwrap()
}

/// Runs `f` on another thread and waits at most `limit` for it: a test
/// that would hang fails instead.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the test's access did not end in time: a fault was left waiting")
}

/// Copies `len` bytes at `at` of `memory` out through a system call
/// (`write` to a file), so the kernel takes the fault: what a vCPU's
/// access is like, and an access that fails returns `EFAULT` instead of
/// killing the test with a signal.
pub fn read_by_kernel(memory: &LazyMemory, at: usize, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, Write};
    let mut file = tempfile::tempfile()?;
    file.write_all(&memory[at..at + len])?;
    file.rewind()?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)?;
    Ok(out)
}
