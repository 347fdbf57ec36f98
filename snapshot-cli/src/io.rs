//! Reading inputs and writing outputs, `-` meaning stdin or stdout.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use snapshot_core::image::replace_file;

/// The suffix of the file an output is written to before it is renamed
/// into place (`.NAME.tmp`).
pub const TEMP: &str = "tmp";

/// The whole of `path`, or of stdin for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes `bytes` to `path` (stdout for `-`). A file is written beside its
/// final name and renamed into place, so a failure never leaves half of it.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        return Ok(out.flush()?);
    }
    replace_file(path, TEMP, |tmp| std::fs::write(tmp, bytes), |_, e| e)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// How a path is named in messages: `<stdin>` for `-`.
pub fn display(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}
