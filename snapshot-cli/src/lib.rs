//! The `snapshot` tool as a library: every command that works on any
//! VMM's images, and a way for a VMM to make its own tool that adds the
//! commands needing its Rust types (migrations written in code, `schema
//! check` against its types, `schema bless`) and any of its own.
//!
//! The generic binary is one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     snapshot_cli::main()
//! }
//! ```
//!
//! A VMM's tool is one line more (`my_vmm::registry()` lists its record
//! types and releases, see `snapshot_core::compat::Registry`):
//!
//! ```no_run
//! # mod my_vmm { pub fn registry() -> snapshot_core::compat::Registry { Default::default() } }
//! fn main() -> std::process::ExitCode {
//!     snapshot_cli::main_with(my_vmm::registry())
//! }
//! ```
//!
//! [`Tool::run_with`] adds the VMM's own subcommands (a clap
//! `Subcommand` enum) beside the generic ones; the example VMM's tool adds
//! `demo` so.
//!
//! Only [`Tool::run_with`] prints errors and picks the exit code: 0 on
//! success, 1 when a check fails or the input is invalid, 2 on a usage
//! error or when a file cannot be read or written.

mod cli;
mod commands;
mod exit;
mod io;
mod progress;

use std::process::ExitCode;

use clap::Subcommand;
use snapshot_core::compat::Registry;

pub use exit::UsageError;

/// What a command runs with: the VMM's record types, when the tool is a
/// VMM's own.
#[derive(Debug)]
pub struct Vmm {
    registry: Option<Registry>,
    program: String,
}

impl Vmm {
    /// The VMM's registry, or a usage error naming `command` for the
    /// generic tool, which has no Rust types to work from.
    pub fn registry(&self, command: &str) -> Result<&Registry, UsageError> {
        self.registry.as_ref().ok_or_else(|| {
            UsageError(format!(
                "`{command}` needs a VMM's record types: run it from the VMM's own tool \
                 (snapshot_cli::main_with, see docs/guide.md)"
            ))
        })
    }

    /// The VMM's registry, if the tool has one.
    pub fn registry_if_any(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    /// The tool's name, as in its help and messages.
    pub fn program(&self) -> &str {
        &self.program
    }
}

/// A `snapshot` tool: the generic one, or a VMM's own with its registry.
#[derive(Debug)]
pub struct Tool {
    name: String,
    vmm: Vmm,
}

impl Tool {
    /// The generic tool: every command that needs no VMM's Rust types.
    pub fn generic() -> Tool {
        Tool {
            name: "snapshot".into(),
            vmm: Vmm {
                registry: None,
                program: "snapshot".into(),
            },
        }
    }

    /// A VMM's own tool, named `name` in help and messages.
    pub fn for_vmm(name: impl Into<String>, registry: Registry) -> Tool {
        let name = name.into();
        Tool {
            vmm: Vmm {
                registry: Some(registry),
                program: name.clone(),
            },
            name,
        }
    }

    /// Parses the command line, runs one generic command, reports.
    pub fn run(self) -> ExitCode {
        self.run_with(|never: cli::NoCommands, _| match never {})
    }

    /// As [`Tool::run`], with the VMM's own subcommands `E` beside the
    /// generic ones; `own` runs one of them.
    pub fn run_with<E: Subcommand>(
        self,
        own: impl FnOnce(E, &Vmm) -> anyhow::Result<ExitCode>,
    ) -> ExitCode {
        let command = cli::command::<E>(&self.name);
        let matches = command.get_matches();
        let result = match cli::Top::<E>::from_arg_matches(&matches) {
            Ok(cli::Top::Own(e)) => own(e, &self.vmm),
            Ok(cli::Top::Generic(c)) => commands::run(c, &self.vmm),
            Err(e) => e.exit(),
        };
        match result {
            Ok(code) => code,
            Err(err) => exit::report(&self.name, &err),
        }
    }
}

/// Runs the generic tool.
pub fn main() -> ExitCode {
    Tool::generic().run()
}

/// Runs a VMM's own tool: the generic commands, plus those that need the
/// VMM's types, from `registry`. Named after the running executable.
pub fn main_with(registry: Registry) -> ExitCode {
    let name = std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "snapshot".into());
    Tool::for_vmm(name, registry).run()
}
