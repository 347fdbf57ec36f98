//! `snapshot migrate`: rewrite every record of an example-VMM image for
//! another release, crash-safely.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::compat::{self, Target};

use crate::commands::common::IdentArgs;
use crate::Vmm;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// The release to write for (`1`, `1.0`, `2.0.0`: the newest match);
    /// the newest versions by default.
    #[arg(long, value_name = "RELEASE")]
    to_release: Option<String>,
    /// Where to write the result; the image is rewritten in place (by a
    /// rename, so a crash leaves the old or the new file) without it.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn run(args: Args, vmm: &Vmm) -> Result<ExitCode> {
    let registry = vmm.registry("migrate")?;
    let target = args
        .to_release
        .clone()
        .map_or(Target::Latest, Target::Release);
    let out = args.output.as_ref().unwrap_or(&args.image);
    let done = compat::migrate_image(registry, &args.image, out, &target, &args.ident.options())
        .with_context(|| args.image.display().to_string())?;
    let versions = compat::target_versions(registry, &target)?;
    let label = match &target {
        Target::Latest => "the newest versions".to_owned(),
        Target::Release(r) => {
            let (name, _) = registry.find_release(r).expect("target_versions found it");
            format!("release {name}")
        }
    };
    println!(
        "{}: {} record{} rewritten for {label} ({} types)",
        out.display(),
        done.len(),
        if done.len() == 1 { "" } else { "s" },
        versions.len()
    );
    for c in &done {
        let nested = match (c.nested, c.from == c.to) {
            (false, _) => "",
            (true, false) => " (and nested records)",
            (true, true) => " (nested records only)",
        };
        println!("  {}: {} v{} -> v{}{nested}", c.path, c.name, c.from, c.to);
    }
    Ok(ExitCode::SUCCESS)
}
