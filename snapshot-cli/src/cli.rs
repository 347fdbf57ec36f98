//! The command line, as clap derive types. Doc comments are the help text.

use clap::{ArgMatches, FromArgMatches, Subcommand};

use crate::commands::{
    build, chain, check, diff, dump, extract, get, info, migrate, nv, qemu, replace, schema, set,
    verify,
};

/// The tool's command line: the VMM's own subcommands `E` (none for the
/// generic tool) beside the generic ones.
pub fn command<E: Subcommand>(name: &str) -> clap::Command {
    let command =
        Command::augment_subcommands(E::augment_subcommands(clap::Command::new(name.to_owned())));
    // Set after the subcommands, whose enums' doc comments would set it.
    command
        .version(env!("CARGO_PKG_VERSION"))
        .about("Save, inspect, verify, edit and migrate versioned VM snapshots.")
        .long_about(
            "Save, inspect, verify, edit and migrate versioned VM snapshots.\n\n\
             Exit status: 0 on success, 1 when a check fails or the input is \
             invalid, 2 on a usage error (bad arguments, unreadable files).",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .propagate_version(true)
}

/// A parsed command: one of the VMM's own, or a generic one.
pub enum Top<E> {
    /// A subcommand of the VMM's tool.
    Own(E),
    /// A generic subcommand.
    Generic(Command),
}

impl<E: Subcommand> Top<E> {
    pub fn from_arg_matches(matches: &ArgMatches) -> Result<Top<E>, clap::Error> {
        match matches.subcommand_name() {
            Some(name) if E::has_subcommand(name) => E::from_arg_matches(matches).map(Top::Own),
            _ => Command::from_arg_matches(matches).map(Top::Generic),
        }
    }
}

/// The generic tool's own subcommands: none.
#[derive(Debug, Subcommand)]
pub enum NoCommands {}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work on bare packed nvlists: dump to text or JSON, pack from text.
    #[command(subcommand)]
    Nv(nv::Command),
    /// Write an image from packed nvlist sections and a raw memory file.
    Build(Box<build::Args>),
    /// Write a child image and its parents as one whole image.
    Flatten(chain::FlattenArgs),
    /// Make a child image stand on another parent (or on its parent
    /// moved elsewhere).
    Rebase(chain::RebaseArgs),
    /// Show an image's header, sections and memory statistics.
    Info(info::Args),
    /// Check every checksum; exit 1 naming each damaged section or chunk.
    Verify(verify::Args),
    /// Say whether this host can resume the image's KVM guest (CPUID,
    /// KVM capabilities, MSRs, TSC); exit 1 with every reason it cannot.
    Check(check::Args),
    /// Make an image from another VMM's saved state (QEMU's migration
    /// streams), every device typed.
    #[command(subcommand)]
    Import(qemu::Import),
    /// Write an image back as another VMM's saved state.
    #[command(subcommand)]
    Export(qemu::Export),
    /// Print the nvlist sections in the text form (memory summarised).
    Dump(dump::Args),
    /// Write one section out: nvlists packed, memory raw, as built.
    Extract(extract::Args),
    /// Print one value, by path (devices.vhpet.timers[3].compval).
    Get(get::Args),
    /// Change one value in place, crash-safe.
    Set(set::Args),
    /// Replace one section in place, crash-safe.
    Replace(replace::Args),
    /// Compare two images section by section and value by value; exit 1
    /// when they differ.
    Diff(diff::Args),
    /// Rewrite every record of an image for another release (through the
    /// VMM's types in its own tool, from the schema history in `snapshot`).
    Migrate(migrate::Args),
    /// Compare schema versions; check and bless a VMM's history.
    #[command(subcommand)]
    Schema(schema::Command),
}
