//! The text form of an nvlist: lossless, human-editable, diff-friendly.
//!
//! Use it to look at or hand-edit a packed nvlist: [`to_text`] renders any
//! list, [`from_text`] parses one back, and an unedited rendering parses to
//! the identical list (so it packs to the identical bytes). For scripts,
//! the JSON rendering (serde on [`NvList`]) is easier to query; it is not
//! meant to be edited. The syntax is specified in `docs/nvlist.md`:
//!
//! ```text
//! # comments run to the end of the line
//! addr: number = 112
//! "basic metadata": string = "vm \"one\"\n"
//! regs: binary = <0a0b0c0d>
//! timers: nvlist[] = [
//!     {
//!         compval: number = 0x1000
//!     },
//! ]
//! ```

pub(crate) mod hex;
mod lexer;
mod parser;
mod printer;
mod shown;

use crate::error::Result;
use crate::NvList;

pub use printer::{escape_name, escape_string};
pub use shown::{needs_escape, shown, Shown};

/// Renders `list` in the text form.
pub fn to_text(list: &NvList) -> String {
    printer::print(list)
}

/// Writes `list` in the text form to `out` as it renders: what a caller
/// printing a large list to a file or a pipe uses, holding a line at a
/// time rather than the whole text.
pub fn write_text(list: &NvList, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    printer::write(list, out)
}

/// Writes the text form of one value, as the right-hand side of its pair
/// (`0x10`, `"vm0"`, `{ ... }`; nothing for a `null`).
pub fn write_value(value: &crate::Value, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    printer::write_value(value, out)
}

/// Parses the text form. Errors name the line and column.
pub fn from_text(text: &str) -> Result<NvList> {
    parser::parse(text)
}
