//! `snapshot extract`: one section's bytes, exactly as they were built.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{Chain, SectionKind};

use crate::commands::common::{open, IdentArgs};
use crate::io::write_output;
use crate::io::TEMP;
use crate::progress;
use snapshot_core::image::replace_file;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// The section: an nvlist comes out packed, memory as raw bytes.
    section: String,
    /// Where to write it; `-` writes standard output.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let image = open(&args.image, &args.ident)?;
    let name = args.image.display().to_string();
    let entry = image.section(&args.section).with_context(|| name.clone())?;
    if entry.kind != SectionKind::Memory {
        let bytes = image.read_section(&args.section).with_context(|| name)?;
        write_output(&args.output, &bytes)?;
        return Ok(ExitCode::SUCCESS);
    }
    // A child's memory is read through its parents.
    let chain = Chain::open(&args.image, &args.ident.options()).with_context(|| name.clone())?;
    if args.output.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        let memory = chain.memory(&args.section).with_context(|| name.clone())?;
        memory
            .copy_to(&mut out, &mut |_| {})
            .with_context(|| name)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    replace_file(
        &args.output,
        TEMP,
        |tmp| write_memory(&chain, &args.section, tmp).with_context(|| name),
        |path, e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Bytes of memory a hole in the output stands for at the least.
const PAGE: usize = 4096;

/// Writes `bytes` at the file's position, its zero pages as holes: a
/// chunk stored whole whose pages are zero (or a hole in the image) takes
/// no disk in the output either.
fn write_sparse(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    let zero = |at: usize| {
        bytes[at..(at + PAGE).min(bytes.len())]
            .iter()
            .all(|&b| b == 0)
    };
    let mut at = 0;
    while at < bytes.len() {
        let hole = zero(at);
        let mut end = (at + PAGE).min(bytes.len());
        while end < bytes.len() && zero(end) == hole {
            end = (end + PAGE).min(bytes.len());
        }
        match hole {
            true => file.seek(SeekFrom::Current((end - at) as i64)).map(drop)?,
            false => file.write_all(&bytes[at..end])?,
        }
        at = end;
    }
    Ok(())
}

/// Writes the memory to a new file, zero chunks and zero pages as holes
/// (the file reads the same, and takes no disk for them); to a device or
/// a pipe, every byte in order.
fn write_memory(chain: &Chain, section: &str, path: &Path) -> Result<()> {
    let memory = chain.memory(section)?;
    let mut file =
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let regular = file.metadata()?.is_file();
    let bar = progress::bytes(memory.entry().size, "extract");
    let (mut buf, mut scratch) = (Vec::new(), Vec::new());
    let mut done = 0;
    for i in 0..memory.chunk_count() {
        let len = memory.chunk_len(i);
        let written = if memory.is_zero(i) {
            // Zero by the table; its file bytes must be too, or a mapping
            // of the image would read other memory than this file holds.
            memory.check_zero_chunk(i)?;
            match regular {
                true => file.seek(SeekFrom::Current(len as i64)).map(drop),
                false => {
                    buf.clear();
                    buf.resize(len as usize, 0);
                    file.write_all(&buf)
                }
            }
        } else {
            memory.read_chunk(i, &mut buf, &mut scratch)?;
            match regular {
                true => write_sparse(&mut file, &buf),
                false => file.write_all(&buf),
            }
        };
        written.with_context(|| format!("cannot write {}", path.display()))?;
        done += len;
        progress::set(&bar, done);
    }
    if regular {
        file.set_len(memory.size())?;
        file.sync_all()?;
    }
    progress::finish(bar);
    Ok(())
}
