//! Reading inputs and writing outputs, `-` meaning stdin or stdout.

use std::fmt;
use std::io::{BufWriter, Read, StdoutLock, Write};
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

/// Text written to standard output as it is rendered, through a buffer:
/// printers render into it as a `fmt::Write`, so a command holds a buffer
/// of output, never the whole of it, however large a section's text is.
pub struct Stream {
    out: BufWriter<StdoutLock<'static>>,
    /// The I/O error that stopped the output, which `fmt::Error` cannot
    /// carry.
    error: Option<std::io::Error>,
}

impl Stream {
    /// Standard output.
    pub fn stdout() -> Stream {
        Stream {
            out: BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
            error: None,
        }
    }

    /// The I/O writer under the text, for output that is not text (JSON).
    pub fn bytes(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// `rendered` as a result that keeps the I/O error behind a failed
    /// render (a closed pipe is reported as such).
    pub fn check(&mut self, rendered: fmt::Result) -> Result<()> {
        match (rendered, self.error.take()) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => Err(e.into()),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Flushes what is buffered.
    pub fn finish(mut self) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e.into());
        }
        Ok(self.out.flush()?)
    }
}

impl fmt::Write for Stream {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}
