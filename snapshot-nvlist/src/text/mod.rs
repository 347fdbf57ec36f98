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

use crate::error::Result;
use crate::NvList;

pub use printer::{escape_name, escape_string};

/// Renders `list` in the text form.
pub fn to_text(list: &NvList) -> String {
    printer::print(list)
}

/// Parses the text form. Errors name the line and column.
pub fn from_text(text: &str) -> Result<NvList> {
    parser::parse(text)
}
