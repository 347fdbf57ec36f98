//! The byte store an image lives in: a file, or memory in tests.
//!
//! Reads and writes are positional so that verification threads can share
//! one store, and so that a test store can fail after any write to show a
//! crash at that instant leaves a valid image.

use std::io;

/// Positional access to the bytes of an image.
pub trait Storage {
    /// Fills `buf` from `offset`; a short read is an `UnexpectedEof` error.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, extending the store if needed.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> io::Result<()>;
    /// The store's length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Whether the store is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Truncates or extends (with zeros, as a hole where possible).
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Whether `len` bytes at `offset` are known to be a hole (so they
    /// read as zero without being read). `false` when unknown.
    fn is_hole(&self, _offset: u64, _len: u64) -> bool {
        false
    }
    /// Makes `len` bytes at `offset` (inside the store) read as zero,
    /// releasing their space where the store can: a file punches a hole.
    /// By default, writes zeros.
    fn punch_hole(&mut self, offset: u64, len: u64) -> io::Result<()> {
        write_zeros(self, offset, len)
    }
    /// A hint that the `len` bytes written at `offset` will be synced:
    /// a file starts writing them out now, so that the sync at the end
    /// waits for less. Durability still comes only from [`Storage::sync`].
    fn start_writeback(&mut self, _offset: u64, _len: u64) {}
}

/// Writes `len` zero bytes at `offset`, a MiB at a time: a hole where
/// the store cannot punch one.
fn write_zeros<S: Storage + ?Sized>(store: &mut S, offset: u64, len: u64) -> io::Result<()> {
    let zeros = vec![0u8; len.min(1 << 20) as usize];
    let mut at = offset;
    while at < offset + len {
        let n = (offset + len - at).min(zeros.len() as u64);
        store.write_at(&zeros[..n as usize], at)?;
        at += n;
    }
    Ok(())
}

/// Takes an exclusive advisory lock (`flock`) on `file`, failing at once
/// with `WouldBlock` if another process holds one. Two edits at once would
/// both write the same free header slot; the lock is released when the
/// file is closed.
#[cfg(unix)]
pub fn lock_for_edit(file: &std::fs::File) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock only takes the descriptor number, which `file` keeps
    // open for the whole call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(unix)]
impl Storage for std::fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self, buf, offset)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    /// The end found by `lseek`, not `fstat`: a kernel with
    /// fine-grained timestamps gives the next write after a `stat` a new
    /// modification time, and a file system without a journal then
    /// writes the inode on every `fdatasync` (40 us of an edit's 150).
    /// Every access goes through `pread` and `pwrite`, so the file
    /// position moved here is never used.
    fn len(&self) -> io::Result<u64> {
        use std::io::{Seek, SeekFrom};
        let mut file = self;
        file.seek(SeekFrom::End(0))
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        std::fs::File::set_len(self, len)
    }

    /// `fallocate(PUNCH_HOLE | KEEP_SIZE)` on Linux; where the file
    /// system cannot punch, zeros are written.
    fn punch_hole(&mut self, offset: u64, len: u64) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            if let (Ok(o), Ok(l)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) {
                let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
                // SAFETY: the call takes the descriptor number, which
                // `self` keeps open, and plain integers.
                if unsafe { libc::fallocate(self.as_raw_fd(), mode, o, l) } == 0 {
                    return Ok(());
                }
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                    return Err(e);
                }
            }
        }
        write_zeros(self, offset, len)
    }

    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`: starts writeback of the
    /// range without waiting for it. Linux only; elsewhere, and on any
    /// error, nothing (it is a hint).
    fn start_writeback(&mut self, offset: u64, len: u64) {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            if let (Ok(offset), Ok(len)) = (
                libc::off64_t::try_from(offset),
                libc::off64_t::try_from(len),
            ) {
                // SAFETY: the call takes the descriptor number, which
                // `self` keeps open, and plain integers.
                unsafe {
                    libc::sync_file_range(
                        self.as_raw_fd(),
                        offset,
                        len,
                        libc::SYNC_FILE_RANGE_WRITE,
                    )
                };
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (offset, len);
    }

    /// Asks the file system for the next data at or after `offset`
    /// (`SEEK_DATA`); reading a hole would make the kernel zero-fill page
    /// cache for it. All I/O here is positional, so moving the file
    /// position is harmless.
    fn is_hole(&self, offset: u64, len: u64) -> bool {
        use std::os::unix::io::AsRawFd;
        let (Ok(start), Some(end)) = (libc::off_t::try_from(offset), offset.checked_add(len))
        else {
            return false;
        };
        // SAFETY: lseek only takes the descriptor number, which `self`
        // keeps open for the whole call.
        let next = unsafe { libc::lseek(self.as_raw_fd(), start, libc::SEEK_DATA) };
        if next < 0 {
            // ENXIO: no data at or after `offset`. Anything else (no
            // SEEK_DATA support): unknown.
            return io::Error::last_os_error().raw_os_error() == Some(libc::ENXIO);
        }
        next as u64 >= end
    }
}

/// An image held in memory, for tests and for building into a buffer.
impl Storage for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::OutOfMemory)?;
        let end = start + buf.len();
        if self.len() < end {
            self.resize(end, 0);
        }
        self[start..end].copy_from_slice(buf);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(Vec::len(self) as u64)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::OutOfMemory)?;
        self.resize(len, 0);
        Ok(())
    }
}
