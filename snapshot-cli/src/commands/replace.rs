//! `snapshot replace`: one section's bytes replaced in place.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;

use crate::commands::common::{open_rw, IdentArgs};
use crate::io::{display, read_input};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image, edited in place (crash-safe).
    image: PathBuf,
    /// The nvlist or raw section to replace.
    section: String,
    /// The new content: a packed nvlist for an nvlist section; `-` reads
    /// standard input.
    file: PathBuf,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let bytes = read_input(&args.file)?;
    let mut image = open_rw(&args.image, &args.ident)?;
    image
        .replace_section(&args.section, &bytes)
        .with_context(|| format!("{} from {}", args.image.display(), display(&args.file)))?;
    Ok(ExitCode::SUCCESS)
}
