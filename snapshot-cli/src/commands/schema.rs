//! `snapshot schema`: compare recorded schema versions, check a VMM's
//! types against their recorded history, record new versions.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use snapshot_core::compat;
use snapshot_core::schema::{diff, Recorded};
use snapshot_qemu::vmstate;

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
    /// Turn another program's state descriptions into schema files.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The VMState descriptions of a QEMU build, as
    /// `qemu-system-x86_64 -M MACHINE -dump-vmstate FILE` writes them:
    /// one `.vmstate` file per device type in DIR (new or empty), for
    /// `snapshot schema diff OLD_DIR NEW_DIR` to compare two builds.
    Qemu(QemuImportArgs),
}

#[derive(Debug, Args)]
pub struct QemuImportArgs {
    /// The `-dump-vmstate` JSON file (`-` for standard input).
    dump: PathBuf,
    /// The directory to write, one per build.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older schema file (`schemas/vrtc/v1.schema`); or an image, to
    /// compare the schemas two images carry; or the older QEMU build's
    /// descriptions: a directory `schema import qemu` wrote, a
    /// `-dump-vmstate` JSON file, or one `.vmstate` file.
    old: PathBuf,
    /// The newer schema file, image, or QEMU build's descriptions.
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
        Command::Diff(args) => match (input_kind(&args.old)?, input_kind(&args.new)?) {
            (Input::Schema, Input::Schema) => run_diff(&args),
            (Input::Qemu, Input::Qemu) => run_qemu_diff(&args),
            (Input::Image, Input::Image) => run_image_diff(&args),
            _ => Err(UsageError(format!(
                "{} and {} are not both schema files, both images or both QEMU descriptions",
                args.old.display(),
                args.new.display()
            ))
            .into()),
        },
        Command::Import(ImportCommand::Qemu(args)) => run_qemu_import(&args),
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

/// What `schema diff` was given.
enum Input {
    /// A schema file (`schema NAME VERSION` first).
    Schema,
    /// An image: its `schemas` section.
    Image,
    /// A QEMU build's descriptions: a directory, a `.json` or a
    /// `.vmstate` file.
    Qemu,
}

fn input_kind(path: &Path) -> Result<Input> {
    if path.is_dir()
        || path
            .extension()
            .is_some_and(|e| e == "json" || e == vmstate::text::EXTENSION)
    {
        return Ok(Input::Qemu);
    }
    if path == Path::new("-") {
        return Ok(Input::Schema);
    }
    let mut start = [0u8; 7];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut start))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(if &start[..read] == b"schema " {
        Input::Schema
    } else {
        Input::Image
    })
}

/// The schemas of an image's `schemas` section, newest version of each
/// type.
fn image_schemas(path: &Path) -> Result<std::collections::BTreeMap<String, Recorded>> {
    use snapshot_core::image::{IdentCheck, Image, OpenOptions};
    let options = OpenOptions {
        ident: IdentCheck::Any,
    };
    let image = Image::open(path, &options).with_context(|| path.display().to_string())?;
    let section = image
        .read_nvlist(compat::SCHEMAS_SECTION)
        .with_context(|| path.display().to_string())?;
    let mut newest = std::collections::BTreeMap::new();
    // Ordered by name, then version: the last of each name is the newest.
    for ((name, _), recorded) in compat::read_schemas(&section) {
        newest.insert(name, recorded);
    }
    Ok(newest)
}

/// The schemas two images carry, compared type by type (the newest
/// version of each in each image).
fn run_image_diff(args: &DiffArgs) -> Result<ExitCode> {
    let (old, new) = (image_schemas(&args.old)?, image_schemas(&args.new)?);
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut breaking = false;
    let mut changed = 0;
    let mut lines = Vec::new();
    for name in names {
        match (old.get(name), new.get(name)) {
            (Some(o), Some(n)) if o == n => {}
            (Some(o), Some(n)) => {
                changed += 1;
                // Classified from the older version to the newer.
                let (from, to, flipped) = if o.version <= n.version {
                    (o, n, "")
                } else {
                    (n, o, " (the first image holds the newer version)")
                };
                let changes = diff(from, to);
                lines.push(format!(
                    "  {name} v{} -> v{}{flipped}: {} change{}",
                    from.version,
                    to.version,
                    changes.len(),
                    if changes.len() == 1 { "" } else { "s" }
                ));
                for c in &changes {
                    breaking |= c.is_breaking();
                    lines.push(format!("    {c}"));
                }
            }
            (Some(o), None) => {
                lines.push(format!("  {name} v{}: only in the first image", o.version))
            }
            (None, Some(n)) => {
                lines.push(format!("  {name} v{}: only in the second image", n.version))
            }
            (None, None) => unreachable!("the name came from one of them"),
        }
    }
    println!(
        "schemas of {} -> {}: {} and {} types, {changed} changed",
        args.old.display(),
        args.new.display(),
        old.len(),
        new.len()
    );
    for line in lines {
        println!("{line}");
    }
    Ok(ExitCode::from(if breaking {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    }))
}

fn read_qemu(path: &Path) -> Result<vmstate::Dump> {
    let shown = || path.display().to_string();
    if path.is_dir() {
        return Ok(vmstate::text::read_dir(path)?);
    }
    let bytes = crate::io::read_input(path)?;
    if path.extension().is_some_and(|e| e == "json") {
        return vmstate::Dump::from_json(&bytes).with_context(shown);
    }
    let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", shown()))?;
    let (name, vmsd) = vmstate::text::parse_device(&text).with_context(shown)?;
    let mut dump = vmstate::Dump::default();
    dump.devices.insert(name, vmsd);
    Ok(dump)
}

fn run_qemu_import(args: &QemuImportArgs) -> Result<ExitCode> {
    let bytes = crate::io::read_input(&args.dump)?;
    let dump = vmstate::Dump::from_json(&bytes).with_context(|| args.dump.display().to_string())?;
    let written = vmstate::text::write_dir(&dump, &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "{}: {} device types{} -> {} ({written} files)",
        args.dump.display(),
        dump.devices.len(),
        dump.machine
            .as_ref()
            .map(|m| format!(" of machine {m}"))
            .unwrap_or_default(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_qemu_diff(args: &DiffArgs) -> Result<ExitCode> {
    let (old, new) = (read_qemu(&args.old)?, read_qemu(&args.new)?);
    let changes = vmstate::diff(&old, &new);
    let machine = |d: &vmstate::Dump| d.machine.clone().unwrap_or_else(|| "?".into());
    println!(
        "QEMU {} -> {}: {} -> {} device types, {} change{}",
        machine(&old),
        machine(&new),
        old.devices.len(),
        new.devices.len(),
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    for change in &changes {
        println!("  {change}");
    }
    let breaking = changes.iter().filter(|c| c.is_breaking()).count();
    if breaking > 0 {
        println!(
            "{breaking} of them can break an upgrade (the old build's stream loaded by the new) \
             or always break a downgrade"
        );
    }
    Ok(ExitCode::from(if breaking > 0 {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    }))
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
