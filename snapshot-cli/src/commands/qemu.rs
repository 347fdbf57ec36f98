//! `snapshot import qemu` and `snapshot export qemu`: QEMU's migration
//! streams into an image, with every device typed, and back into a
//! stream QEMU loads.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use snapshot_core::image::replace_file;

use crate::commands::common::{open, IdentArgs};

/// The suffix of the temporary file an import or export writes first.
const TEMP: &str = "qemu-tmp";

#[derive(Debug, Subcommand)]
pub enum Import {
    /// A QEMU migration stream (format 3: `migrate "exec:cat > FILE"`).
    Qemu(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum Export {
    /// A QEMU migration stream that `-incoming "exec:cat FILE"` loads.
    Qemu(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The stream.
    stream: PathBuf,
    /// The image to write.
    #[arg(short, long, value_name = "IMAGE")]
    output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The image (imported from QEMU).
    image: PathBuf,
    /// The stream to write.
    #[arg(short, long, value_name = "STREAM")]
    output: PathBuf,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn import(command: Import) -> Result<ExitCode> {
    let Import::Qemu(args) = command;
    let bytes = snapshot_qemu::StreamBytes::open(&args.stream)
        .with_context(|| format!("cannot read {}", args.stream.display()))?;
    let mut stats = None;
    replace_file(
        &args.output,
        TEMP,
        |tmp| {
            let file =
                File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
            let producer = format!("snapshot {} (import qemu)", env!("CARGO_PKG_VERSION"));
            stats = Some(
                snapshot_qemu::import(&bytes, file, Some(producer))
                    .with_context(|| args.stream.display().to_string())?,
            );
            Ok(())
        },
        |path, e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    )?;
    let stats = stats.expect("the import ran");
    println!(
        "{}: {} devices, {} MiB of RAM in {} blocks ({} pages sent) -> {}",
        args.stream.display(),
        stats.devices,
        stats.ram_bytes >> 20,
        stats.ram_blocks,
        stats.pages,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn export(command: Export) -> Result<ExitCode> {
    let Export::Qemu(args) = command;
    let image = open(&args.image, &args.ident)?;
    replace_file(
        &args.output,
        TEMP,
        |tmp| {
            let file =
                File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
            let mut out = snapshot_qemu::StreamFile::new(file);
            snapshot_qemu::export(&image, &mut out)
                .with_context(|| args.image.display().to_string())?;
            out.finish()
                .map(drop)
                .with_context(|| format!("cannot write {}", tmp.display()))
        },
        |path, e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    )?;
    Ok(ExitCode::SUCCESS)
}
