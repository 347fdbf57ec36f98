//! Integration tests of the `snapshot` binary, as one test binary.

mod util;

/// `--help`, usage errors and `snapshot demo`.
mod general;
/// `snapshot nv dump` and `snapshot nv pack`.
mod nv;
