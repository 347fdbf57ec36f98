//! The generic `snapshot` command: every command that works on any VMM's
//! images. The work is in the library; a VMM makes its own tool with
//! `snapshot_cli::main_with`.

fn main() -> std::process::ExitCode {
    snapshot_cli::main()
}
