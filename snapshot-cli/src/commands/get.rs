//! `snapshot get`: one value of an nvlist section, by path.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::nvlist::ValuePath;
use snapshot_core::Value;

use crate::commands::common::{open, write_value, IdentArgs};
use crate::io::Stream;
use snapshot_core::text;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// SECTION.name.list[N].name ...; quote names holding `.`, `[`, `]`,
    /// spaces or quotes: devices."basic metadata".x (inside quotes, \"
    /// and \\ escape).
    path: String,
    #[command(flatten)]
    ident: IdentArgs,
}

/// Prints the value in the text form's syntax (what `set` accepts); a
/// list prints as the text form of its pairs.
pub fn run(args: Args) -> Result<ExitCode> {
    let name = args.image.display().to_string();
    let path = ValuePath::parse(&args.path)?;
    let image = open(&args.image, &args.ident)?;
    let list = image
        .read_nvlist(&path.section)
        .with_context(|| name.clone())?;
    let value = path.get(&list).with_context(|| name)?;
    let mut out = Stream::stdout();
    let rendered = match &value {
        Value::NvList(l) => text::write_text(l, &mut out),
        v => write_value(v, &mut out).and_then(|()| out.write_char('\n')),
    };
    out.check(rendered)?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}
