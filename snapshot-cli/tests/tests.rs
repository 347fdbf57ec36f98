//! Integration tests of the `snapshot` binary, as one test binary.

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_snapshot");

mod util;

/// `--help` and usage errors.
mod general;
/// Images with valid checksums and hostile contents: every command on
/// each, its memory and time measured.
mod hostile;
/// `snapshot migrate` from the schema history alone.
mod migrate;
/// `snapshot nv dump` and `snapshot nv pack`.
mod nv;
/// QEMU's migration streams: import, export, and back into QEMU.
mod qemu;
/// The image commands: build, info, verify, dump, extract, get, set,
/// replace, diff.
mod image {
    /// Image samples and exit-code assertions on top of `util::Env`.
    mod util;

    /// build, info, verify, dump, extract on sound images.
    mod basics;
    /// Child images: build --parent, flatten, rebase, missing parents.
    mod chain;
    /// Edits killed or failing from outside, by strace fault injection.
    mod crash;
    /// get, set, replace, diff.
    mod edit;
    /// Damaged, foreign and malformed input: exit codes and messages.
    mod errors;
}
