//! `snapshot migrate`: rewrite every record of an image for another
//! release, crash-safely: through the VMM's own types in its tool, or
//! from the schema history alone in the generic tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::compat::{self, Converted, Converter, History, Target, SCHEMAS_SECTION};
use snapshot_core::image::Image;
use snapshot_core::text::shown;

use crate::commands::common::IdentArgs;
use crate::exit::UsageError;
use crate::Vmm;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// The release to write for (`1`, `1.0`, `2.0.0`: the newest match);
    /// the newest versions by default.
    #[arg(long, value_name = "RELEASE")]
    to_release: Option<String>,
    /// Migrate from the schema history alone: the image's `schemas`
    /// section and this directory in the `schemas/` layout (with its
    /// `releases` file). The generic tool always does, from `schemas` when
    /// that directory exists; a VMM's own tool uses its types unless this
    /// is given. A step that needs a migration function is refused before
    /// anything is written.
    #[arg(long, value_name = "DIR")]
    schemas: Option<PathBuf>,
    /// Where to write the result; the image is rewritten in place (by a
    /// rename, so a crash leaves the old or the new file) without it.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn run(args: Args, vmm: &Vmm) -> Result<ExitCode> {
    let target = args
        .to_release
        .clone()
        .map_or(Target::Latest, Target::Release);
    let out = args.output.as_ref().unwrap_or(&args.image);
    match (vmm.registry_if_any(), &args.schemas) {
        (Some(registry), None) => migrate(registry, &args, out, &target),
        (_, dir) => {
            let history = history(&args, dir.as_deref())?;
            migrate(&history, &args, out, &target)
        }
    }
}

/// The history of the image's own `schemas` section and of `dir` (or of
/// `schemas/` when it exists).
fn history(args: &Args, dir: Option<&Path>) -> Result<History> {
    let mut history = History::new();
    let default = Path::new("schemas");
    let dir = dir.or_else(|| default.is_dir().then_some(default));
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(UsageError(format!("no schema history at {}", dir.display())).into());
        }
        history
            .add_dir(dir)
            .with_context(|| format!("schema history {}", dir.display()))?;
    }
    let image = Image::open(&args.image, &args.ident.options())
        .with_context(|| args.image.display().to_string())?;
    if image
        .header()
        .sections
        .iter()
        .any(|s| s.name == SCHEMAS_SECTION)
    {
        let section = image
            .read_nvlist(SCHEMAS_SECTION)
            .with_context(|| args.image.display().to_string())?;
        history.add_image_section(&section);
    }
    if args.to_release.is_some() && history.releases().is_empty() {
        return Err(UsageError(format!(
            "release names are recorded in the schema history's `releases` file: give --schemas DIR{}",
            dir.map_or(String::new(), |d| format!(" ({} has none)", d.display()))
        ))
        .into());
    }
    Ok(history)
}

fn migrate(
    converter: &impl Converter,
    args: &Args,
    out: &Path,
    target: &Target,
) -> Result<ExitCode> {
    let versions = converter.target_versions(target)?;
    let done = compat::migrate_image(converter, &args.image, out, target, &args.ident.options())
        .with_context(|| args.image.display().to_string())?;
    let label = match &args.to_release {
        None => "the newest versions".to_owned(),
        Some(r) => format!("release {r}"),
    };
    report(out, &done, &label, versions.len());
    Ok(ExitCode::SUCCESS)
}

fn report(out: &Path, done: &[Converted], label: &str, types: usize) {
    println!(
        "{}: {} record{} rewritten for {label} ({types} types)",
        out.display(),
        done.len(),
        if done.len() == 1 { "" } else { "s" },
    );
    for c in done {
        let nested = match (c.nested, c.from == c.to) {
            (false, _) => "",
            (true, false) => " (and nested records)",
            (true, true) => " (nested records only)",
        };
        println!(
            "  {}: {} v{} -> v{}{nested}",
            shown(&c.path),
            shown(&c.name),
            c.from,
            c.to
        );
    }
}
