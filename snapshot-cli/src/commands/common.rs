//! What the image commands share: opening an image with the IDENT check
//! the user asked for, and rendering one value in the text syntax.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use snapshot_core::image::{lock_for_edit, IdentCheck, Image, OpenOptions, DEFAULT_IDENT};
use snapshot_core::{text, Value};

/// The IDENT check, shared by every command that opens an image.
#[derive(Debug, Args)]
pub struct IdentArgs {
    /// The producer IDENT the image must carry.
    #[arg(long, value_name = "STR", default_value = DEFAULT_IDENT)]
    pub ident: String,
    /// Open an image whatever its IDENT (another producer's).
    #[arg(long, conflicts_with = "ident")]
    pub force_ident: bool,
}

impl IdentArgs {
    /// The open options these arguments ask for.
    pub fn options(&self) -> OpenOptions {
        OpenOptions {
            ident: if self.force_ident {
                IdentCheck::Any
            } else {
                IdentCheck::Expect(self.ident.clone())
            },
        }
    }
}

/// Opens `path` read-only.
pub fn open(path: &Path, ident: &IdentArgs) -> Result<Image> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Image::from_storage(file, &ident.options()).with_context(|| path.display().to_string())
}

/// Opens `path` for in-place edits.
pub fn open_rw(path: &Path, ident: &IdentArgs) -> Result<Image> {
    let file = File::options()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {} for writing", path.display()))?;
    lock_for_edit(&file).with_context(|| {
        format!(
            "cannot lock {} for editing (is another edit running?)",
            path.display()
        )
    })?;
    Image::from_storage(file, &ident.options()).with_context(|| path.display().to_string())
}

/// A value as the right-hand side of the text form (`0x10`, `"vm0"`,
/// `{ ... }`; `null` for a `null`), so that `get` output can be given back
/// to `set`; written to `out` as it renders.
pub fn write_value(value: &Value, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    match value {
        Value::Null => out.write_str("null"),
        v => text::write_value(v, out),
    }
}

/// A value's text form on one line, written through to `out`: each line
/// break and the indentation after it become one space (strings hold no
/// raw line breaks: the text form escapes them). With a limit, writing
/// fails once that many characters are out, so a caller that shows a
/// glimpse of a huge value renders no more of it.
pub struct OneLine<W> {
    out: W,
    /// Inside the spaces after a line break.
    space: bool,
    left: Option<usize>,
}

impl<W: std::fmt::Write> OneLine<W> {
    pub fn new(out: W, limit: Option<usize>) -> OneLine<W> {
        OneLine {
            out,
            space: false,
            left: limit,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn put(&mut self, c: char) -> std::fmt::Result {
        if let Some(left) = &mut self.left {
            *left = left.checked_sub(1).ok_or(std::fmt::Error)?;
        }
        self.out.write_char(c)
    }
}

impl<W: std::fmt::Write> std::fmt::Write for OneLine<W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            match c {
                '\n' => self.space = true,
                ' ' if self.space => {}
                c => {
                    if std::mem::take(&mut self.space) {
                        self.put(' ')?;
                    }
                    self.put(c)?;
                }
            }
        }
        Ok(())
    }
}

/// The number of threads to verify with: every core.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
