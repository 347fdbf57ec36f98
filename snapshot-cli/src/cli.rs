//! The command line, as clap derive types. Doc comments are the help text.

use clap::{Parser, Subcommand};

use crate::commands::{demo, nv};

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
    /// A guided tour on bundled data; leaves its files behind to try.
    Demo(demo::Args),
    /// Work on bare packed nvlists: dump to text or JSON, pack from text.
    #[command(subcommand)]
    Nv(nv::Command),
}
