//! Progress bars for long work on memory, shown only when stderr is a
//! terminal so that scripts and logs get no control characters.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-counting bar over `total` bytes, or `None` when stderr is not a
/// terminal.
pub fn bytes(total: u64, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() || total == 0 {
        return None;
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    Some(bar)
}

/// Moves `bar` (if any) to `done` bytes.
pub fn set(bar: &Option<ProgressBar>, done: u64) {
    if let Some(bar) = bar {
        bar.set_position(done);
    }
}

/// Removes `bar` (if any) from the terminal.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
