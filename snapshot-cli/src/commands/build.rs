//! `snapshot build`: one image from packed nvlists and a raw memory file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, ValueEnum};
use snapshot_core::image::{
    parent_reference, Builder, Chain, MemoryOptions, OpenOptions, DEFAULT_CHUNK_SIZE, DEFAULT_IDENT,
};

use crate::exit::UsageError;
use crate::io::TEMP;
use crate::io::{display, read_input};
use crate::progress;
use snapshot_core::image::replace_file;

/// How memory chunks are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Compress {
    /// Stored as they are: the memory can be mapped.
    None,
    /// zstd per chunk; the memory can no longer be mapped.
    Zstd,
}

impl Compress {
    /// The zstd level to use, if any.
    pub fn level(self, level: i32) -> Option<i32> {
        (self == Compress::Zstd).then_some(level)
    }
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image to write (replaced whole once complete).
    #[arg(short, long, value_name = "IMAGE")]
    output: PathBuf,
    /// The producer IDENT written in the header (1 to 63 bytes).
    #[arg(long, value_name = "STR", default_value = DEFAULT_IDENT)]
    ident: String,
    /// The `config` section, as a packed nvlist (`snapshot nv pack`).
    #[arg(long, value_name = "F.nv")]
    config: Option<PathBuf>,
    /// The `devices` section, as a packed nvlist.
    #[arg(long, value_name = "F.nv")]
    devices: Option<PathBuf>,
    /// The `kernel` section, as a packed nvlist.
    #[arg(long, value_name = "F.nv")]
    kernel: Option<PathBuf>,
    /// Another nvlist section, as NAME=F.nv (repeatable).
    #[arg(long, value_name = "NAME=F.nv", value_parser = parse_named)]
    section: Vec<(String, PathBuf)>,
    /// Guest memory as a raw file; `-` reads standard input.
    #[arg(long, value_name = "RAW")]
    memory: Option<PathBuf>,
    /// Compress memory chunks (smaller file, no mapping).
    #[arg(long, value_enum)]
    compress: Option<Compress>,
    /// zstd level with --compress zstd.
    #[arg(long, default_value_t = 3, requires = "compress")]
    level: i32,
    /// Bytes per memory chunk: a power of two from 4096 to 1 GiB (a
    /// child takes its parent's).
    #[arg(long, default_value_t = DEFAULT_CHUNK_SIZE)]
    chunk_size: u64,
    /// Make a child image of this one: only the memory pages that differ
    /// from the parent's are stored, and the child names the parent by
    /// path (relative to the child) and memory digest.
    #[arg(long, value_name = "BASE.img", requires = "memory")]
    parent: Option<PathBuf>,
    /// With --parent: the pages that may have changed since the parent
    /// was taken, as KVM's dirty log gives them (bit i of 64-bit
    /// little-endian word i/64 for page i); only those are read.
    #[arg(long, value_name = "BITMAP", requires = "parent")]
    dirty: Option<PathBuf>,
}

fn parse_named(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(file)))
        }
        _ => Err("expected NAME=FILE".into()),
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.output.as_os_str() == "-" {
        return Err(UsageError("an image cannot be written to standard output".into()).into());
    }
    let mut nvlists: Vec<(String, PathBuf)> = [
        ("config", &args.config),
        ("devices", &args.devices),
        ("kernel", &args.kernel),
    ]
    .into_iter()
    .filter_map(|(name, f)| f.clone().map(|f| (name.to_owned(), f)))
    .collect();
    nvlists.extend(args.section.iter().cloned());
    replace_file(
        &args.output,
        TEMP,
        |tmp| {
            let file =
                File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
            write(&args, &nvlists, file)
        },
        |path, e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Adds the memory at `path` as a child of the image at `parent`.
fn add_child(
    builder: &mut Builder<File>,
    args: &Args,
    parent: &Path,
    path: &Path,
    options: MemoryOptions,
) -> Result<()> {
    if path.as_os_str() == "-" {
        return Err(
            UsageError("--parent needs the memory as a file, not standard input".into()).into(),
        );
    }
    let out = display(&args.output);
    let chain = Chain::open(parent, &OpenOptions::default())
        .with_context(|| format!("parent {}", parent.display()))?;
    let memory = chain
        .memory("memory")
        .with_context(|| format!("parent {}", parent.display()))?;
    let dirty = args.dirty.as_ref().map(|d| read_input(d)).transpose()?;
    builder.set_parent(parent_reference(&args.output, parent).with_context(|| out.clone())?);
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bar = progress::bytes(memory.size(), "memory");
    builder
        .add_memory_child(
            "memory",
            &f,
            &memory,
            dirty.as_deref(),
            options,
            &mut |done| progress::set(&bar, done),
        )
        .with_context(|| {
            format!(
                "{}: memory from {} on parent {}",
                out,
                display(path),
                parent.display()
            )
        })?;
    progress::finish(bar);
    Ok(())
}

fn write(args: &Args, nvlists: &[(String, PathBuf)], file: File) -> Result<()> {
    let out = display(&args.output);
    let producer = format!("snapshot {}", env!("CARGO_PKG_VERSION"));
    let mut builder =
        Builder::new(file, &args.ident, Some(producer)).with_context(|| out.clone())?;
    for (name, path) in nvlists {
        let bytes = read_input(path)?;
        builder
            .add_packed(name, &bytes)
            .with_context(|| format!("{}: reading {}", out, display(path)))?;
    }
    if let (Some(parent), Some(path)) = (&args.parent, &args.memory) {
        let options = MemoryOptions {
            chunk_size: args.chunk_size,
            zstd_level: args.compress.and_then(|c| c.level(args.level)),
        };
        add_child(&mut builder, args, parent, path, options)?;
    } else if let Some(path) = &args.memory {
        let options = MemoryOptions {
            chunk_size: args.chunk_size,
            zstd_level: args.compress.and_then(|c| c.level(args.level)),
        };
        let context = || format!("{}: memory from {}", out, display(path));
        if path.as_os_str() == "-" {
            builder
                .add_memory("memory", &mut std::io::stdin().lock(), options, &mut |_| {})
                .with_context(context)?;
        } else {
            // From the file itself, so that its holes are skipped unread.
            let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            let total = f.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = progress::bytes(total, "memory");
            builder
                .add_memory_from("memory", &f, options, &mut |done| progress::set(&bar, done))
                .with_context(context)?;
            progress::finish(bar);
        }
    }
    builder.finish().with_context(|| out)?;
    Ok(())
}
