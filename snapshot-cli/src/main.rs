//! The `snapshot` command. Libraries do the work; this binary parses the
//! command line, runs one command, and is the only place that prints an
//! error and picks the exit code.

mod cli;
mod commands;
mod exit;
mod io;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}
