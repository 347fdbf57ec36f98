//! Drives the real `snapshot` binary in temporary directories.

/// The temp-dir harness.
mod util;

/// Edits killed or failing from outside, by strace fault injection.
mod crash;
/// get, set, replace, diff.
mod edit;
/// Damaged, foreign and malformed input: exit codes and messages.
mod errors;
/// build, info, verify, dump, extract on sound images.
mod image;
