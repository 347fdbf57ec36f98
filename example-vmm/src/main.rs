//! `example-vmm`: the example VMM's own snapshot tool. Every generic
//! command of `snapshot`, plus those that need the VMM's Rust types
//! (`migrate` through its migration functions, `schema check`, `schema
//! bless`), plus `demo`. A VMM makes its tool the same way.

mod demo;
mod demo_kvm;
mod vm;

use std::process::ExitCode;

use clap::Subcommand;

/// The example VMM's own subcommands.
#[derive(Debug, Subcommand)]
enum Own {
    /// Run a guest on KVM (or, where KVM is not usable, simulated
    /// devices), save it on one release, resume it on the next and back;
    /// leaves the images behind to try the other commands on.
    Demo(demo::Args),
    /// Run the guest program on KVM: its serial output on stdout; with a
    /// save option, pause there, save to an image and exit.
    Run(vm::RunArgs),
    /// Resume a guest saved by `run` (or by `resume`) and print the rest
    /// of its output.
    Resume(vm::ResumeArgs),
}

fn main() -> ExitCode {
    snapshot_cli::Tool::for_vmm("example-vmm", example_vmm::registry()).run_with(
        |command: Own, _| match command {
            Own::Demo(args) => demo::run(args),
            Own::Run(args) => vm::run(args),
            Own::Resume(args) => vm::resume(args),
        },
    )
}
