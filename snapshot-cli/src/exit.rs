//! Exit codes, and the one place that reports an error.

use std::process::ExitCode;

/// Everything went well.
pub const OK: u8 = 0;
/// A check failed, or the input is invalid.
pub const FAILED: u8 = 1;
/// The command was used wrongly: bad arguments, a file that cannot be
/// opened or written. (clap exits with 2 itself for parse errors.)
pub const USAGE: u8 = 2;

/// A usage error found after parsing, such as a conflicting argument.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit code an error deserves.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            // Output cut short by a closed pipe (`snapshot nv dump | head`)
            // is not a failure.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return OK;
            }
        }
    }
    for cause in err.chain() {
        if cause.downcast_ref::<snapshot_core::Error>().is_some() {
            return FAILED;
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return USAGE;
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return USAGE;
        }
    }
    FAILED
}

/// Prints `err` with its causes on stderr and returns its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let code = code_for(err);
    if code != OK {
        eprintln!("snapshot: error: {err:#}");
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn invalid_input_is_1() {
        let e = snapshot_core::NvList::unpack(b"x").unwrap_err();
        let err = anyhow::Error::new(e).context("f.nv");
        assert_eq!(code_for(&err), FAILED);
    }

    #[test]
    fn unreadable_file_is_2() {
        let err = std::fs::read("/nonexistent/file")
            .context("reading")
            .unwrap_err();
        assert_eq!(code_for(&err), USAGE);
    }

    #[test]
    fn broken_pipe_is_0() {
        let e = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(code_for(&anyhow::Error::new(e)), OK);
    }

    #[test]
    fn usage_error_is_2() {
        let err = anyhow::Error::new(UsageError("bad".into()));
        assert_eq!(code_for(&err), USAGE);
    }
}
