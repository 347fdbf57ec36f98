//! The command line, as clap derive types. Doc comments are the help text.

use clap::{Parser, Subcommand};

use crate::commands::{
    build, demo, diff, dump, extract, get, info, migrate, nv, replace, schema, set, verify,
};

/// Save, inspect, verify, edit and migrate versioned VM snapshots.
///
/// Exit status: 0 on success, 1 when a check fails or the input is
/// invalid, 2 on a usage error (bad arguments, unreadable files).
#[derive(Debug, Parser)]
#[command(name = "snapshot", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Save a simulated VM on release 1, resume it on release 2 and back;
    /// leaves the images behind to try the other commands on.
    Demo(demo::Args),
    /// Work on bare packed nvlists: dump to text or JSON, pack from text.
    #[command(subcommand)]
    Nv(nv::Command),
    /// Write an image from packed nvlist sections and a raw memory file.
    Build(build::Args),
    /// Show an image's header, sections and memory statistics.
    Info(info::Args),
    /// Check every checksum; exit 1 naming each damaged section or chunk.
    Verify(verify::Args),
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
    /// Rewrite every record of an example-VMM image for another release.
    Migrate(migrate::Args),
    /// Compare, check and record schema history.
    #[command(subcommand)]
    Schema(schema::Command),
}
