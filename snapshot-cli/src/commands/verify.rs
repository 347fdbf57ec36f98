//! `snapshot verify`: checks every checksum of an image on every core.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;

use snapshot_core::image::{Chain, LISTED_CHUNKS};

use crate::commands::common::{open, threads, IdentArgs};
use crate::exit::FAILED;
use crate::progress;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// Threads to check memory with (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    ident: IdentArgs,
}

/// Reports every damaged part on stderr, each naming the section, chunk
/// and byte offset, and exits 1 if there is any.
pub fn run(args: Args) -> Result<ExitCode> {
    let image = open(&args.image, &args.ident)?;
    let name = args.image.display().to_string();
    let total = image.header().sections.iter().map(|s| s.size).sum();
    let bar = progress::bytes(total, "verify");
    let threads = args.threads.unwrap_or_else(threads);
    if image.header().parent.is_some() {
        progress::finish(bar);
        return verify_chain(&args, threads);
    }
    let report = image.verify(threads, &|done| progress::set(&bar, done));
    progress::finish(bar);
    for problem in &report.problems {
        eprintln!("snapshot: {name}: {problem}");
    }
    if report.unlisted > 0 {
        eprintln!(
            "snapshot: {name}: {} more damaged chunk(s), past the first {LISTED_CHUNKS} of a \
             section, not listed",
            report.unlisted
        );
    }
    if !report.is_sound() {
        eprintln!(
            "snapshot: {name}: {} damaged part(s) found",
            report.problems.len() as u64 + report.unlisted
        );
        if report.only_other_slot_damaged() {
            eprintln!(
                "snapshot: {name}: the image reads whole from header slot {} (every other \
                 checksum is right); an edit interrupted by a crash leaves the other slot \
                 like this, and the next edit rewrites it",
                image.slot()
            );
        }
        return Ok(ExitCode::from(FAILED));
    }
    println!(
        "{name}: sound (generation {}, {} sections, {} bytes checked)",
        image.header().generation,
        image.header().sections.len(),
        report.checked_bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// Verifies a child image and every parent, and the links between them.
fn verify_chain(args: &Args, threads: usize) -> Result<ExitCode> {
    let name = args.image.display().to_string();
    let chain = Chain::open(&args.image, &args.ident.options()).with_context(|| name.clone())?;
    let mut damaged = 0;
    let reports = chain.verify(threads, &|_| {});
    for (path, report) in &reports {
        let path = path.display();
        for problem in &report.problems {
            eprintln!("snapshot: {path}: {problem}");
        }
        damaged += report.problems.len() as u64 + report.unlisted;
    }
    let paths: Vec<String> = reports
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    if damaged > 0 {
        eprintln!(
            "snapshot: {name}: {damaged} damaged part(s) found in the chain {}",
            paths.join(" <- ")
        );
        return Ok(ExitCode::from(FAILED));
    }
    let bytes: u64 = reports.iter().map(|(_, r)| r.checked_bytes).sum();
    println!(
        "{name}: sound (generation {}, chain of {}: {}; {bytes} bytes checked)",
        chain.top().header().generation,
        reports.len(),
        paths.join(" <- ")
    );
    Ok(ExitCode::SUCCESS)
}
