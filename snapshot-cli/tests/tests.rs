//! Integration tests of the `snapshot` binary, as one test binary.

mod util;

/// `snapshot nv dump` and `snapshot nv pack`.
mod nv;
/// `--help`, usage errors and `snapshot demo`.
mod general;
