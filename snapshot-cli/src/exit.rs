//! Exit codes, and the one place that reports an error.

use std::process::ExitCode;

use snapshot_core::text::shown;

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

/// The exit code an error deserves, from the kinds of the errors in its
/// chain: the libraries keep the operating system's `io::Error` as the
/// source of their own, so one failing read is told from bad input here,
/// whichever layer met it.
pub fn code_for(err: &anyhow::Error) -> u8 {
    let io = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>());
    match io {
        // Output cut short by a closed pipe (`snapshot nv dump | head`) is
        // not a failure.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        // A file that cannot be opened, read or written.
        Some(_) => USAGE,
        None if err.chain().any(|c| c.is::<UsageError>()) => USAGE,
        // Invalid input, a failed check: every library error without an
        // I/O source.
        None => FAILED,
    }
}

/// Prints `err` with its causes on stderr, after the tool's name, and
/// returns its exit code.
pub fn report(tool: &str, err: &anyhow::Error) -> ExitCode {
    let code = code_for(err);
    if code != OK {
        eprintln!("{tool}: error: {}", guarded(&message(err)));
    }
    ExitCode::from(code)
}

/// The error and its causes, joined by `: `, each cause left out when the
/// message so far already ends with it (an I/O error is both the source of
/// a library error and the end of its message).
pub fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// `message` with each of its lines shown escaped: the libraries escape
/// the names from files they put in messages, and this last guard keeps
/// any they missed from reaching the terminal raw. Showing is idempotent,
/// so names escaped already are not garbled; the line breaks a message
/// is written with stay.
fn guarded(message: &str) -> String {
    let lines: Vec<String> = message.split('\n').map(|l| shown(l).to_string()).collect();
    lines.join("\n")
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
    fn io_failure_inside_the_library_is_2() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.img");
        let e = snapshot_core::image::Image::open(&missing, &Default::default()).unwrap_err();
        let io = e.io_error().expect("an I/O error, kept as the source");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        let err = anyhow::Error::new(e).context("info");
        let found = err.chain().find_map(|c| c.downcast_ref::<std::io::Error>());
        assert_eq!(found.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
        assert_eq!(code_for(&err), USAGE);
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let e = snapshot_core::image::Image::open(dir.path().join("x"), &Default::default())
            .unwrap_err();
        let err = anyhow::Error::new(e).context("x.img");
        let text = message(&err);
        assert!(text.starts_with("x.img: opening "), "{text}");
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
    }

    #[test]
    fn damaged_image_is_1() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.img");
        std::fs::write(&path, b"not an image").unwrap();
        let e = snapshot_core::image::Image::open(&path, &Default::default()).unwrap_err();
        assert!(e.io_error().is_none());
        assert_eq!(code_for(&anyhow::Error::new(e)), FAILED);
    }

    #[test]
    fn messages_reach_the_terminal_escaped_with_their_own_line_breaks() {
        assert_eq!(
            guarded("schema check failed:\n  `a\x1b[2J` v1\tdropped"),
            "schema check failed:\n  `a\\x1b[2J` v1\\tdropped"
        );
    }

    #[test]
    fn usage_error_is_2() {
        let err = anyhow::Error::new(UsageError("bad".into()));
        assert_eq!(code_for(&err), USAGE);
    }
}
