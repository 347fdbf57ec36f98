//! `snapshot schema`: compare recorded schema versions, check a VMM's
//! types against their recorded history, record new versions.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use snapshot_core::compat;
use snapshot_core::schema::{diff, Recorded};

use crate::exit::UsageError;
use crate::Vmm;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the changes from one recorded schema file to another, each
    /// classified for upgrade (old snapshot, new build) and downgrade (new
    /// build writing for the old one). Exit 1 when a change breaks either
    /// direction; exit 2 when OLD is the newer version.
    Diff(DiffArgs),
    /// Check the VMM's types against the recorded history and the golden
    /// fixtures (a VMM's own tool): exit 1 naming each type changed
    /// without a version bump, each change not declared, each recorded
    /// version or fixture no longer readable, and each folder of history
    /// for a type the tool does not have. Says which build's types it
    /// checked.
    Check(HistoryArgs),
    /// Bless: record the schemas and golden fixtures of new versions of the VMM's
    /// types (a VMM's own tool; recorded versions are never rewritten).
    Bless(HistoryArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older schema file (`schemas/vrtc/v1.schema`).
    old: PathBuf,
    /// The newer schema file.
    new: PathBuf,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The schema history directory.
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// The golden fixture directory.
    #[arg(long, default_value = "compat-tests/fixtures")]
    fixtures: PathBuf,
}

pub fn run(command: Command, vmm: &Vmm) -> Result<ExitCode> {
    match command {
        Command::Diff(args) => run_diff(&args),
        Command::Check(args) => {
            if !args.schemas.is_dir() {
                // Checking against no history would report every type as
                // unrecorded: far more likely the command ran elsewhere.
                return Err(UsageError(format!(
                    "no schema history at {}: run from the repository root or give --schemas DIR",
                    args.schemas.display()
                ))
                .into());
            }
            let registry = vmm.registry("schema check")?;
            println!(
                "checking the {} types of {} ({}) against {} and {}",
                registry.names().len(),
                vmm.program(),
                build(),
                args.schemas.display(),
                args.fixtures.display()
            );
            compat::check_all(registry, &args.schemas, &args.fixtures)
                .with_context(|| args.schemas.display().to_string())?;
            println!("every type matches its recorded history");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bless(args) => {
            let registry = vmm.registry("schema bless")?;
            let mut written = compat::bless_schemas(registry, &args.schemas)?;
            written.extend(compat::bless_fixtures(registry, &args.fixtures)?);
            for path in &written {
                println!("recorded {path}");
            }
            if written.is_empty() {
                println!("nothing new to record");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Which build is running, so that a stale one is seen: the executable
/// and how long ago it was built.
fn build() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "executable unknown".into();
    };
    let age = std::fs::metadata(&exe)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map(|d| d.as_secs());
    let age = match age {
        Some(s) if s < 120 => format!("built {s} s ago"),
        Some(s) if s < 7200 => format!("built {} min ago", s / 60),
        Some(s) if s < 2 * 86_400 => format!("built {} h ago", s / 3600),
        Some(s) => format!("built {} days ago", s / 86_400),
        None => "build time unknown".into(),
    };
    format!("{}, {age}", exe.display())
}

fn read(path: &Path) -> Result<Recorded> {
    let text = crate::io::read_input(path)?;
    let text =
        String::from_utf8(text).with_context(|| format!("{} is not UTF-8", path.display()))?;
    Recorded::parse(&text).with_context(|| path.display().to_string())
}

fn run_diff(args: &DiffArgs) -> Result<ExitCode> {
    let (old, new) = (read(&args.old)?, read(&args.new)?);
    if old.name != new.name {
        return Err(crate::exit::UsageError(format!(
            "{} records `{}` but {} records `{}`",
            args.old.display(),
            old.name,
            args.new.display(),
            new.name
        ))
        .into());
    }
    // The classification reads the first file as the older: reversed, it
    // would call every addition a removal, confidently.
    if old.version > new.version {
        return Err(crate::exit::UsageError(format!(
            "{} records v{} and {} records v{}: give the older version first",
            args.old.display(),
            old.version,
            args.new.display(),
            new.version
        ))
        .into());
    }
    let changes = diff(&old, &new);
    println!(
        "{} v{} -> v{}: {} change{}",
        new.name,
        old.version,
        new.version,
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    for change in &changes {
        println!("  {change}");
    }
    let breaking = changes.iter().any(|c| c.is_breaking());
    Ok(ExitCode::from(if breaking {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    }))
}
