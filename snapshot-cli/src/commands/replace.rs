//! `snapshot replace`: one section replaced in place.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{Codec, MemoryOptions, SectionKind};

use crate::commands::build::Compress;
use crate::commands::common::{open_rw, IdentArgs};
use crate::io::{display, read_input};
use crate::progress;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image, edited in place (crash-safe).
    image: PathBuf,
    /// The section to replace.
    section: String,
    /// The new content: a packed nvlist for an nvlist section, raw bytes
    /// for a raw or memory section; `-` reads standard input.
    file: PathBuf,
    /// Memory only: compress the new chunks, or not (default: as the
    /// section is now). The chunk size stays.
    #[arg(long, value_enum)]
    compress: Option<Compress>,
    /// zstd level with --compress zstd.
    #[arg(long, default_value_t = 3)]
    level: i32,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut image = open_rw(&args.image, &args.ident)?;
    let context = || format!("{} from {}", args.image.display(), display(&args.file));
    let entry = image
        .section(&args.section)
        .with_context(|| args.image.display().to_string())?
        .clone();
    if entry.kind != SectionKind::Memory {
        let bytes = read_input(&args.file)?;
        image
            .replace_section(&args.section, &bytes)
            .with_context(context)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut source, total): (Box<dyn Read>, u64) = if args.file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), 0)
    } else {
        let f = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(f), len)
    };
    let current = if entry.codec == Codec::Zstd {
        Compress::Zstd
    } else {
        Compress::None
    };
    let options = MemoryOptions {
        chunk_size: entry.memory.map_or(0, |m| m.chunk_size),
        zstd_level: args.compress.unwrap_or(current).level(args.level),
    };
    let bar = progress::bytes(total, "memory");
    image
        .replace_memory(&args.section, &mut source, options, &mut |done| {
            progress::set(&bar, done)
        })
        .with_context(context)?;
    progress::finish(bar);
    Ok(ExitCode::SUCCESS)
}
