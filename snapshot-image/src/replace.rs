//! Writing a whole new file in place of another, crash-safely: the one
//! place for the write-beside-then-rename rule that every command writing
//! an output file (build, extract, migrate, `nv pack`) follows.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// `.NAME.SUFFIX` beside `path`: where the new file is written before it
/// is renamed over `path`. `None` when `path` has no file name.
pub fn temp_beside(path: &Path, suffix: &str) -> Option<PathBuf> {
    let name = path.file_name()?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(".");
    tmp.push(suffix);
    Some(path.with_file_name(tmp))
}

/// Writes the file `path` anew: `write` fills the temporary file beside it
/// ([`temp_beside`]), which is then synced and renamed over `path`, and the
/// directory synced, so a crash or a failure leaves the old file or the
/// new one, never part of one. A failed `write` removes the temporary
/// file. `io_error` turns this function's own I/O failures (no file name,
/// sync, rename) into the caller's error, naming the path.
///
/// A `path` that is not a regular file nor missing (`/dev/null`, a
/// FIFO, a terminal) is written directly: renaming over it would replace
/// the device with a file.
pub fn replace_file<E>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path) -> Result<(), E>,
    io_error: impl Fn(&Path, io::Error) -> E,
) -> Result<(), E> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return write(path);
    }
    let tmp = temp_beside(path, suffix).ok_or_else(|| {
        io_error(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let synced = File::open(&tmp).and_then(|f| f.sync_all());
    if let Err(e) = synced.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the directory is synced; a directory
        // that cannot be opened for it (some filesystems) still holds the
        // new file.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"old").unwrap();
        let err = replace_file(
            &path,
            "tmp",
            |tmp| {
                std::fs::write(tmp, b"half").unwrap();
                Err("refused")
            },
            |_, _| "io",
        );
        assert_eq!(err, Err("refused"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert!(!dir.path().join(".out.tmp").exists());

        replace_file(&path, "tmp", |tmp| std::fs::write(tmp, b"new"), |_, e| e).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!dir.path().join(".out.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        replace_file(null, "tmp", |p| std::fs::write(p, b"gone"), |_, e| e).unwrap();
        assert!(std::fs::metadata(null)
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn a_path_without_a_file_name_is_an_io_error() {
        let err = replace_file(Path::new("/"), "tmp", |_| Ok(()), |_, e| e).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
