//! Strings from a file as messages and listings show them.
//!
//! A name in an image (a section, a pair, the producer) is chosen by
//! whoever wrote the file. Printed raw, a line break in it forges a line
//! of output (`snapshot: all good`), an escape sequence clears the
//! terminal or sets its title, and a bidirectional override makes text
//! read in another order than it is stored. One rule, here, says which
//! characters are written as escapes, for the text form and for every
//! message alike.

use std::fmt::{self, Write};

/// Whether `c` is written as an escape rather than as itself: control
/// characters (line breaks, tabs, ESC, DEL, the C1 set), the Unicode line
/// and paragraph separators, and the characters that reorder or hide text
/// (bidirectional marks, overrides and isolates; zero-width spaces and
/// joiners, the byte-order mark).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Writes `c`, which [`needs_escape`], as `\n`, `\t`, `\r`, or its UTF-8
/// bytes as `\xHH`: the escapes the text form reads back.
pub(crate) fn write_escape(out: &mut impl Write, c: char) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\t' => out.write_str("\\t"),
        '\r' => out.write_str("\\r"),
        c => {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                write!(out, "\\x{b:02x}")?;
            }
            Ok(())
        }
    }
}

/// A string from a file, displayed with every character that
/// [`needs_escape`] written as an escape, and bytes that are not UTF-8 as
/// `\xHH`. Backslashes stay as they are, so showing a shown string again
/// changes nothing: a message may be shown whole, as a last guard,
/// without garbling the names already shown in it.
#[derive(Clone, Copy)]
pub struct Shown<'a>(&'a [u8]);

impl<'a> Shown<'a> {
    /// `text` (a `str`, bytes, an `NvString`) to show.
    pub fn new(text: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        Shown(text.as_ref())
    }
}

/// `text` as [`Shown`] displays it.
pub fn shown(text: &(impl AsRef<[u8]> + ?Sized)) -> Shown<'_> {
    Shown::new(text)
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            let valid = chunk.valid();
            let mut start = 0;
            for (i, c) in valid.char_indices() {
                if needs_escape(c) {
                    f.write_str(&valid[start..i])?;
                    write_escape(f, c)?;
                    start = i + c.len_utf8();
                }
            }
            f.write_str(&valid[start..])?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_escapes_and_overrides_are_escaped() {
        let forged = "mem\nsnapshot: all good\x1b]0;title\x07\u{202e}txt.exe\u{9b}";
        assert_eq!(
            shown(forged).to_string(),
            "mem\\nsnapshot: all good\\x1b]0;title\\x07\\xe2\\x80\\xaetxt.exe\\xc2\\x9b"
        );
    }

    #[test]
    fn printable_text_and_backslashes_are_kept_and_showing_twice_changes_nothing() {
        let name = "0000:00:01.0/virtio-net \\ é 名";
        assert_eq!(shown(name).to_string(), name);
        let once = shown("a\tb\x1bc\\d").to_string();
        assert_eq!(shown(&once).to_string(), once);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_hex() {
        assert_eq!(shown(b"a\xffb\xc3").to_string(), "a\\xffb\\xc3");
    }
}
