//! [`LazyMemory`]: anonymous memory registered with userfaultfd, and the
//! thread that fills it from the image as it is touched.
//!
//! One thread does every fill, faults first and prefetch in between, so
//! no two fills of a chunk race; the kernel's `EEXIST` for a page already
//! there is handled all the same (a page dropped with `MADV_DONTNEED`
//! faults again and reads as zero, as anonymous memory does).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use snapshot_image::{Chain, ChainMemory};

use crate::error::{Error, ErrorKind, Result};
use crate::options::{LazyOptions, LazyStats};
use crate::sys::{self, Filled, UffdMsg};
use crate::workingset::WorkingSet;
use crate::PAGE;

/// Guest memory backed by a memory section of an image through
/// userfaultfd: every page is missing until first touched, when the
/// handler thread fills the chunk it is in from the image (checksum
/// checked, zstd decompressed; a zero chunk is mapped to the zero page).
///
/// Fills are whole chunks, not pages: a chunk's checksum covers all of
/// it and a zstd frame decompresses whole, so the first fault on a chunk
/// reads and checks it all anyway; placing all of it then costs one more
/// copy and saves the later faults on its other pages (each a round trip
/// to the handler thread). docs/lazy-restore.md has the measurements.
///
/// The memory is private and anonymous, page-aligned, as long as the
/// section rounded up to whole pages, and valid as long as this value
/// lives; dropping it stops the thread and unmaps it. Faults taken by the
/// kernel on its behalf (a KVM vCPU's, a system call's) are served too.
///
/// A fill that fails (a chunk whose checksum does not match, that does
/// not decompress, a read error) is never served as zeros: the chunk is
/// made inaccessible and its waiting threads woken, so the access that
/// faulted and every later one in that chunk fails as an access to
/// unmapped memory does: `KVM_RUN` returns `EFAULT`, a system call
/// `EFAULT`, a user-space access takes `SIGSEGV`. The first such error
/// is kept, naming section and chunk: [`LazyMemory::error`].
pub struct LazyMemory {
    mapping: Mapping,
    section: String,
    shared: Arc<Shared>,
    /// An eventfd the thread polls, written to stop it.
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    record_for: Option<Duration>,
    /// Kept open until the thread has stopped and the memory is unmapped
    /// (dropped after `mapping`).
    _uffd: Arc<OwnedFd>,
}

/// An anonymous private mapping, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory that no thread owns; access to it
// goes through `&`/`&mut LazyMemory` (or through KVM, as with any guest
// memory).
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn anon(len: usize) -> Result<Mapping> {
        // SAFETY: a new anonymous mapping; no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::system(
                format!("mapping {len} bytes of guest memory"),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is this value's own, and nothing refers to
        // it once the `LazyMemory` holding it is gone.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// What the handler thread shares with the [`LazyMemory`].
#[derive(Default)]
struct Shared {
    faults: AtomicU64,
    chunks_faulted: AtomicU64,
    chunks_prefetched: AtomicU64,
    pages_loaded: AtomicU64,
    fault_fill_nanos: AtomicU64,
    prefetch_done: AtomicBool,
    error: Mutex<Option<Arc<Error>>>,
    recorded: Mutex<Vec<u64>>,
}

/// Locks `m`, also after a panic elsewhere (the data are counters and
/// lists, whole at every point).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn host_page() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        PAGE
    }
}

/// Whether a userfaultfd that serves the kernel's faults too can be had
/// here: the error [`LazyMemory::start`] would give, without an image.
pub fn check_available() -> Result<()> {
    let uffd = sys::open().map_err(|f| ErrorKind::Unavailable {
        syscall: f.syscall,
        device: f.device,
    })?;
    sys::api(&uffd).map_err(|e| Error::system("the userfaultfd handshake (UFFDIO_API)", e))
}

impl LazyMemory {
    /// Maps memory for the memory section `section` of `chain` (an
    /// image and its parents; a flat image is a chain of one), registers
    /// it with userfaultfd and starts the thread that fills it, following
    /// the parents for the pages a child does not hold. The thread owns
    /// the chain until this value is dropped.
    ///
    /// Fails with [`ErrorKind::Unavailable`] where userfaultfd cannot be
    /// had (see [`Error::is_unavailable`]: restore eagerly there), and
    /// with the image's error when the section is not a memory section
    /// or its chunk table does not check.
    pub fn start(chain: Chain, section: &str, options: LazyOptions) -> Result<LazyMemory> {
        let (size, chunk_size) = {
            let memory = chain.memory(section)?;
            (memory.size(), memory.chunk_size())
        };
        let page = host_page();
        if chunk_size % page != 0 {
            return Err(ErrorKind::Unsupported(format!(
                "chunks of {chunk_size} bytes are smaller than this host's pages of {page}"
            ))
            .into());
        }
        if size == 0 {
            return Err(ErrorKind::Unsupported(format!(
                "section `{section}` holds no memory to map"
            ))
            .into());
        }
        let len = size.div_ceil(page) * page;
        let len_usize = usize::try_from(len).map_err(|_| {
            ErrorKind::Unsupported(format!(
                "{len} bytes of memory do not fit this address space"
            ))
        })?;
        let pages_total = len / PAGE;
        let prefetch = match &options.prefetch {
            Some(pages) => prefetch_chunks(pages, pages_total, chunk_size)?,
            None => Vec::new(),
        };

        let uffd = sys::open().map_err(|f| ErrorKind::Unavailable {
            syscall: f.syscall,
            device: f.device,
        })?;
        sys::api(&uffd).map_err(|e| Error::system("the userfaultfd handshake (UFFDIO_API)", e))?;
        let mapping = Mapping::anon(len_usize)?;
        let base = mapping.ptr as u64;
        sys::register(&uffd, base, len)
            .map_err(|e| Error::system("registering guest memory with userfaultfd", e))?;
        // SAFETY: eventfd takes flags only and returns a new fd.
        let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if stop < 0 {
            return Err(Error::system(
                "creating the handler's eventfd",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: a new fd that nothing else owns.
        let stop = unsafe { OwnedFd::from_raw_fd(stop) };

        let uffd = Arc::new(uffd);
        let shared = Arc::new(Shared {
            prefetch_done: AtomicBool::new(prefetch.is_empty()),
            ..Shared::default()
        });
        let (ready, started) = mpsc::channel();
        let thread = {
            let (uffd, shared, section) = (uffd.clone(), shared.clone(), section.to_owned());
            let stop = stop.as_raw_fd();
            let record_for = options.record_for;
            std::thread::Builder::new()
                .name("lazy-memory".into())
                .spawn(move || {
                    // The chunk tables are read again here: the memory
                    // borrows the chain, which this thread owns.
                    let memory = match chain.memory(&section) {
                        Ok(m) => m,
                        Err(e) => {
                            let _ = ready.send(Err(Error::from(e)));
                            return;
                        }
                    };
                    let _ = ready.send(Ok(()));
                    let mut handler = Handler {
                        uffd: &uffd,
                        stop,
                        base,
                        len,
                        page,
                        chunk_size,
                        memory,
                        section,
                        state: vec![State::Absent; size.div_ceil(chunk_size) as usize],
                        buf: Vec::new(),
                        scratch: Vec::new(),
                        prefetch,
                        next_prefetch: 0,
                        record_for,
                        first_fault: None,
                        shared: &shared,
                    };
                    handler.run();
                })
                .map_err(|e| Error::system("starting the fault handler thread", e))?
        };
        let lazy = LazyMemory {
            mapping,
            section: section.to_owned(),
            shared,
            stop,
            thread: Some(thread),
            record_for: options.record_for,
            _uffd: uffd,
        };
        match started.recv() {
            Ok(Ok(())) => Ok(lazy),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ErrorKind::Unsupported("the fault handler thread ended".into()).into()),
        }
    }

    /// The start of guest memory (page-aligned).
    pub fn as_ptr(&self) -> *mut u8 {
        self.mapping.ptr
    }

    /// Bytes of guest memory: the section's, rounded up to whole pages.
    pub fn len(&self) -> usize {
        self.mapping.len
    }

    /// Never: an empty section is refused at start.
    pub fn is_empty(&self) -> bool {
        self.mapping.len == 0
    }

    /// The memory section restored.
    pub fn section(&self) -> &str {
        &self.section
    }

    /// What the restore has done so far.
    pub fn stats(&self) -> LazyStats {
        let s = &self.shared;
        LazyStats {
            faults_served: s.faults.load(Ordering::Relaxed),
            chunks_faulted: s.chunks_faulted.load(Ordering::Relaxed),
            chunks_prefetched: s.chunks_prefetched.load(Ordering::Relaxed),
            pages_loaded: s.pages_loaded.load(Ordering::Relaxed),
            pages_total: self.mapping.len as u64 / PAGE,
            fault_fill_time: Duration::from_nanos(s.fault_fill_nanos.load(Ordering::Relaxed)),
            prefetch_done: s.prefetch_done.load(Ordering::Acquire),
        }
    }

    /// The first fill that failed, naming its section and chunk: once
    /// set, the guest's memory is not whole (see the type's docs for
    /// what the faulting thread saw).
    pub fn error(&self) -> Option<Arc<Error>> {
        lock(&self.shared.error).clone()
    }

    /// The pages that faulted first in their chunk within the recording
    /// window, in order of first fault (empty without
    /// [`LazyOptions::record_for`]).
    pub fn recorded(&self) -> Vec<u64> {
        lock(&self.shared.recorded).clone()
    }

    /// The recording as a [`WorkingSet`] to write into the image.
    pub fn working_set(&self) -> WorkingSet {
        WorkingSet {
            section: self.section.clone(),
            window_ms: self
                .record_for
                .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX)),
            pages: self.recorded(),
        }
    }
}

impl std::fmt::Debug for LazyMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyMemory")
            .field("section", &self.section)
            .field("at", &self.mapping.ptr)
            .field("len", &self.mapping.len)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for LazyMemory {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the mapping is `len` bytes, readable, and lives as long
        // as `self`; reading a missing page blocks until the handler
        // fills it.
        unsafe { std::slice::from_raw_parts(self.mapping.ptr, self.mapping.len) }
    }
}

impl std::ops::DerefMut for LazyMemory {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, and `&mut self` makes it the only slice.
        unsafe { std::slice::from_raw_parts_mut(self.mapping.ptr, self.mapping.len) }
    }
}

impl Drop for LazyMemory {
    fn drop(&mut self) {
        let one = 1u64;
        // SAFETY: writes 8 bytes from `one` to the eventfd.
        unsafe { libc::write(self.stop.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The distinct chunks of `pages`, in the order first named.
fn prefetch_chunks(pages: &[u64], pages_total: u64, chunk_size: u64) -> Result<Vec<u64>> {
    let per_chunk = chunk_size / PAGE;
    let mut seen = vec![false; pages_total.div_ceil(per_chunk) as usize];
    let mut chunks = Vec::new();
    for &page in pages {
        if page >= pages_total {
            return Err(ErrorKind::PrefetchPage {
                page,
                pages: pages_total,
            }
            .into());
        }
        let chunk = page / per_chunk;
        if !std::mem::replace(&mut seen[chunk as usize], true) {
            chunks.push(chunk);
        }
    }
    Ok(chunks)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Filled,
    /// Its fill failed: made inaccessible.
    Failed,
}

/// Why a chunk is filled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    Fault,
    Prefetch,
}

/// The handler thread's state.
struct Handler<'a> {
    uffd: &'a OwnedFd,
    stop: libc::c_int,
    base: u64,
    len: u64,
    page: u64,
    chunk_size: u64,
    memory: ChainMemory<'a>,
    section: String,
    state: Vec<State>,
    /// One chunk's bytes, rounded up to whole pages.
    buf: Vec<u8>,
    scratch: Vec<u8>,
    prefetch: Vec<u64>,
    next_prefetch: usize,
    record_for: Option<Duration>,
    first_fault: Option<Instant>,
    shared: &'a Shared,
}

/// Fault messages read at a time.
const MSGS: usize = 64;

impl Handler<'_> {
    fn run(&mut self) {
        let mut msgs = [UffdMsg::ZERO; MSGS];
        loop {
            let prefetching = self.next_prefetch < self.prefetch.len();
            let mut fds = [
                libc::pollfd {
                    fd: self.uffd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.stop,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let timeout = if prefetching { 0 } else { -1 };
            // SAFETY: `fds` holds two valid pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                self.keep_error(Error::system("waiting for page faults", err));
                return;
            }
            if fds[1].revents != 0 {
                return;
            }
            if fds[0].revents & libc::POLLIN != 0 {
                match sys::read_msgs(self.uffd, &mut msgs) {
                    Ok(k) => {
                        for m in &msgs[..k] {
                            if m.event == sys::EVENT_PAGEFAULT {
                                self.serve(m.address);
                            }
                        }
                    }
                    Err(e) => {
                        self.keep_error(Error::system("reading page faults", e));
                        return;
                    }
                }
            } else if fds[0].revents != 0 {
                self.keep_error(Error::system(
                    "waiting for page faults",
                    std::io::Error::other("the userfaultfd reports an error"),
                ));
                return;
            } else if prefetching {
                self.prefetch_one();
            }
        }
    }

    fn serve(&mut self, address: u64) {
        self.shared.faults.fetch_add(1, Ordering::Relaxed);
        let Some(offset) = address.checked_sub(self.base).filter(|&o| o < self.len) else {
            return;
        };
        let now = Instant::now();
        let first = *self.first_fault.get_or_insert(now);
        let chunk = offset / self.chunk_size;
        let page_at = self.base + offset / self.page * self.page;
        match self.state[chunk as usize] {
            State::Absent => {
                let record = self.record_for.is_some_and(|w| now - first < w);
                self.fill(chunk, Cause::Fault, record.then_some(offset / PAGE), now);
            }
            // Filled before this fault was read (a second thread's fault
            // on the chunk), or dropped since: zero, as anonymous memory
            // reads after MADV_DONTNEED.
            State::Filled => {
                if let Ok(Filled::Bytes(n)) = sys::zeropage(self.uffd, page_at, self.page) {
                    self.shared
                        .pages_loaded
                        .fetch_add(n / PAGE, Ordering::Relaxed);
                }
                let _ = sys::wake(self.uffd, page_at, self.page);
            }
            // Inaccessible since: the retried access fails.
            State::Failed => {
                let _ = sys::wake(self.uffd, page_at, self.page);
            }
        }
    }

    fn prefetch_one(&mut self) {
        let chunk = self.prefetch[self.next_prefetch];
        self.next_prefetch += 1;
        if self.state[chunk as usize] == State::Absent {
            self.fill(chunk, Cause::Prefetch, None, Instant::now());
        }
        if self.next_prefetch == self.prefetch.len() {
            self.prefetch = Vec::new();
            self.next_prefetch = 0;
            self.shared.prefetch_done.store(true, Ordering::Release);
        }
    }

    /// Fills `chunk` (for a fault at `since`, recording `page`), then
    /// wakes the threads waiting on it: the statistics and the recording
    /// count the fill before a waiting thread can look at them.
    fn fill(&mut self, chunk: u64, cause: Cause, page: Option<u64>, since: Instant) {
        let len = self.memory.chunk_len(chunk);
        let placed_len = len.div_ceil(self.page) * self.page;
        let dst = self.base + chunk * self.chunk_size;
        let result = if self.memory.is_zero(chunk) {
            self.place(dst, placed_len, None)
        } else {
            self.buf.resize(placed_len as usize, 0);
            let (bytes, tail) = self.buf.split_at_mut(len as usize);
            tail.fill(0);
            match self.memory.read_chunk_into(chunk, bytes, &mut self.scratch) {
                Ok(()) => self.place(dst, placed_len, Some(self.buf.as_ptr())),
                Err(e) => Err(e.into()),
            }
        };
        match result {
            Ok(pages) => {
                self.state[chunk as usize] = State::Filled;
                let s = self.shared;
                s.pages_loaded.fetch_add(pages, Ordering::Relaxed);
                match cause {
                    Cause::Fault => {
                        s.chunks_faulted.fetch_add(1, Ordering::Relaxed);
                        let waited = since.elapsed().as_nanos() as u64;
                        s.fault_fill_nanos.fetch_add(waited, Ordering::Relaxed);
                    }
                    Cause::Prefetch => {
                        s.chunks_prefetched.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Some(page) = page {
                    lock(&s.recorded).push(page);
                }
                let _ = sys::wake(self.uffd, dst, placed_len);
            }
            Err(e) => self.fail(chunk, dst, placed_len, e),
        }
    }

    /// Places `len` bytes at `dst`: copied from `src`, or zero pages.
    /// Returns the pages placed (pages already there are left as they
    /// are).
    fn place(&self, dst: u64, len: u64, src: Option<*const u8>) -> Result<u64> {
        let (mut done, mut placed, mut stalls) = (0, 0, 0);
        while done < len {
            let result = match src {
                // SAFETY: `src` holds `len` bytes (the buffer of one
                // chunk rounded up to pages), and `dst` is in the range
                // registered on the userfaultfd.
                Some(src) => unsafe {
                    sys::copy(self.uffd, dst + done, src.add(done as usize), len - done)
                },
                None => sys::zeropage(self.uffd, dst + done, len - done),
            };
            let what = if src.is_some() {
                "UFFDIO_COPY"
            } else {
                "UFFDIO_ZEROPAGE"
            };
            match result.map_err(|e| Error::system(format!("placing the chunk ({what})"), e))? {
                Filled::Bytes(0) => {
                    // The address space is changing under the copy
                    // (EAGAIN): try again, a bounded number of times.
                    stalls += 1;
                    if stalls > 10_000 {
                        return Err(Error::system(
                            format!("placing the chunk ({what})"),
                            std::io::Error::from_raw_os_error(libc::EAGAIN),
                        ));
                    }
                    std::thread::yield_now();
                }
                Filled::Bytes(n) => {
                    done += n;
                    placed += n / PAGE;
                    stalls = 0;
                }
                Filled::Exists => done += self.page,
            }
        }
        Ok(placed)
    }

    /// Makes a chunk whose fill failed inaccessible, so that its waiting
    /// and later accesses fail instead of reading zeros, and keeps the
    /// error.
    fn fail(&mut self, chunk: u64, dst: u64, len: u64, cause: Error) {
        self.state[chunk as usize] = State::Failed;
        // Kept before the waiting threads wake, so they find it.
        self.keep_error(Error::fill(&self.section, chunk, cause));
        // SAFETY: the range is a part of the mapping this thread serves;
        // no Rust reference of this crate's points into a missing page.
        // Should it fail (the kernel out of memory for the split), the
        // waiting threads retry and fault again, and are answered the
        // same way: the error is kept all the same.
        unsafe { libc::mprotect(dst as *mut libc::c_void, len as usize, libc::PROT_NONE) };
        let _ = sys::wake(self.uffd, dst, len);
    }

    fn keep_error(&self, error: Error) {
        lock(&self.shared.error).get_or_insert(Arc::new(error));
    }
}
