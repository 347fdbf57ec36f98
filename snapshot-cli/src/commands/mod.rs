//! One module per subcommand, each with its clap arguments and `run`.

use std::process::ExitCode;

use crate::cli::Command;
use crate::Vmm;

pub mod build;
pub mod chain;
pub mod check;
mod common;
pub mod diff;
pub mod dump;
pub mod extract;
pub mod get;
pub mod info;
pub mod migrate;
pub mod nv;
pub mod qemu;
pub mod replace;
pub mod schema;
pub mod set;
mod typed;
pub mod verify;

/// Runs one parsed command.
pub fn run(command: Command, vmm: &Vmm) -> anyhow::Result<ExitCode> {
    match command {
        Command::Nv(cmd) => nv::run(cmd),
        Command::Build(args) => build::run(*args),
        Command::Flatten(args) => chain::flatten(args),
        Command::Rebase(args) => chain::rebase(args),
        Command::Info(args) => info::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Check(args) => check::run(args),
        Command::Import(c) => qemu::import(c),
        Command::Export(c) => qemu::export(c),
        Command::Dump(args) => dump::run(args),
        Command::Extract(args) => extract::run(args),
        Command::Get(args) => get::run(args),
        Command::Set(args) => set::run(args),
        Command::Replace(args) => replace::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Migrate(args) => migrate::run(args, vmm),
        Command::Schema(cmd) => schema::run(cmd, vmm),
    }
}
