//! File helpers shared by the formats: durable writes, sizes on disk, and
//! finding bytes in a file for the bit-flip check.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to a new file at `path` and syncs it: every format's
/// save time includes making its data durable.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("syncing {}", path.display()))
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Bytes and disk use (allocated blocks) of the files in `dir`.
pub fn usage(dir: &Path) -> Result<(u64, u64)> {
    let mut len = 0;
    let mut disk = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let meta = entry?.metadata()?;
        len += meta.len();
        // st_blocks counts 512-byte units whatever the filesystem's block.
        disk += meta.blocks() * 512;
    }
    Ok((len, disk))
}

/// The number of files in `dir`.
pub fn count(dir: &Path) -> Result<usize> {
    Ok(std::fs::read_dir(dir)?.count())
}

/// The offset of the first occurrence of `needle` in the file.
pub fn find(path: &Path, needle: &[u8]) -> Result<Option<u64>> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hay = Vec::new();
    f.read_to_end(&mut hay)?;
    Ok(hay
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p as u64))
}

/// Flips bit 0 of the byte at `offset`.
pub fn flip_bit(path: &Path, offset: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let f = File::options()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut b = [0u8];
    f.read_exact_at(&mut b, offset)?;
    b[0] ^= 1;
    f.write_all_at(&b, offset)?;
    Ok(())
}

/// Bytes free for an unprivileged user on the filesystem of `dir`.
pub fn free_space(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` is writable memory of
    // the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("statvfs {}", dir.display()));
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    // The field types are narrower on some platforms.
    #[allow(clippy::unnecessary_cast)]
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}
