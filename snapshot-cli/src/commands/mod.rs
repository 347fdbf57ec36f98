//! One module per subcommand, each with its clap arguments and `run`.

use std::process::ExitCode;

use crate::cli::Command;

pub mod demo;
pub mod nv;

/// Runs one parsed command.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo(args) => demo::run(args),
        Command::Nv(cmd) => nv::run(cmd),
    }
}
