//! Renders an nvlist in the text form.

use std::fmt::{self, Write};

use super::hex;
use super::lexer::is_word_char;
use super::shown::{needs_escape, write_escape};
use crate::{Flags, NvList, NvString, Value};

/// Binaries up to this many bytes stay on the pair's line.
const INLINE_BINARY: usize = 32;
/// Bytes per line of a long binary, in groups of four.
const BINARY_LINE: usize = 32;
/// Numbers per line of a long number array.
const NUMBERS_LINE: usize = 8;

pub fn print(list: &NvList) -> String {
    let mut out = String::new();
    let _ = body(&mut out, list, 0);
    out
}

/// Writes `list` to `out` as it goes: a caller streaming a large list
/// holds a line, not the whole text.
pub fn write(list: &NvList, out: &mut impl Write) -> fmt::Result {
    body(out, list, 0)
}

/// Writes the right-hand side of a pair holding `value` (nothing for a
/// `null`), as the pair's line at the top level shows it.
pub fn write_value(value: &Value, out: &mut impl Write) -> fmt::Result {
    self::value(out, value, 0)
}

fn indent(out: &mut impl Write, level: usize) -> fmt::Result {
    for _ in 0..level {
        out.write_str("    ")?;
    }
    Ok(())
}

fn body(out: &mut impl Write, list: &NvList, level: usize) -> fmt::Result {
    let flags = list.flags();
    if flags != Flags::NONE {
        indent(out, level)?;
        let mut names = Vec::new();
        if flags.contains(Flags::IGNORE_CASE) {
            names.push("ignore-case");
        }
        if flags.contains(Flags::NO_UNIQUE) {
            names.push("no-unique");
        }
        writeln!(out, "!flags({})", names.join(", "))?;
    }
    for (name, value) in list {
        indent(out, level)?;
        out.write_str(&escape_name(name))?;
        out.write_str(": ")?;
        out.write_str(value.ty().keyword())?;
        if !matches!(value, Value::Null) {
            out.write_str(" = ")?;
            self::value(out, value, level)?;
        }
        out.write_char('\n')?;
    }
    Ok(())
}

fn nested(out: &mut impl Write, list: &NvList, level: usize) -> fmt::Result {
    if list.is_empty() && list.flags() == Flags::NONE {
        return out.write_str("{}");
    }
    out.write_str("{\n")?;
    body(out, list, level + 1)?;
    indent(out, level)?;
    out.write_char('}')
}

/// Items on one line when short, else one per line (or `per_line`).
fn items<W: Write, T>(
    out: &mut W,
    items: &[T],
    level: usize,
    per_line: usize,
    mut item: impl FnMut(&mut W, &T) -> fmt::Result,
) -> fmt::Result {
    if items.len() <= per_line {
        out.write_char('[')?;
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.write_str(", ")?;
            }
            item(out, x)?;
        }
        return out.write_char(']');
    }
    out.write_str("[\n")?;
    for chunk in items.chunks(per_line) {
        indent(out, level + 1)?;
        for (i, x) in chunk.iter().enumerate() {
            if i > 0 {
                out.write_char(' ')?;
            }
            item(out, x)?;
            out.write_char(',')?;
        }
        out.write_char('\n')?;
    }
    indent(out, level)?;
    out.write_char(']')
}

fn value(out: &mut impl Write, value: &Value, level: usize) -> fmt::Result {
    match value {
        Value::Null => Ok(()),
        Value::Bool(b) => out.write_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write!(out, "{n}"),
        Value::String(s) => write_string(out, s.as_bytes()),
        Value::Binary(b) => binary(out, b, level),
        Value::NvList(l) => nested(out, l, level),
        Value::BoolArray(a) => items(out, a, level, 16, |o, b| {
            o.write_str(if *b { "true" } else { "false" })
        }),
        Value::NumberArray(a) => items(out, a, level, NUMBERS_LINE, |o, n| write!(o, "{n}")),
        Value::StringArray(a) => {
            let short = a.iter().map(|s| s.as_bytes().len() + 4).sum::<usize>() < 64;
            let per_line = if short { a.len() } else { 1 };
            items(out, a, level, per_line, |o, s| {
                write_string(o, s.as_bytes())
            })
        }
        Value::NvListArray(a) => {
            out.write_str("[\n")?;
            for l in a {
                indent(out, level + 1)?;
                nested(out, l, level + 1)?;
                out.write_str(",\n")?;
            }
            indent(out, level)?;
            out.write_char(']')
        }
    }
}

fn binary(out: &mut impl Write, bytes: &[u8], level: usize) -> fmt::Result {
    if bytes.len() <= INLINE_BINARY {
        return write!(out, "<{}>", hex::encode(bytes));
    }
    out.write_str("<\n")?;
    for line in bytes.chunks(BINARY_LINE) {
        indent(out, level + 1)?;
        for (i, group) in line.chunks(4).enumerate() {
            if i > 0 {
                out.write_char(' ')?;
            }
            out.write_str(&hex::encode(group))?;
        }
        out.write_char('\n')?;
    }
    indent(out, level)?;
    out.write_char('>')
}

/// A name as the text form writes it: bare when it is a non-empty word of
/// `[A-Za-z0-9_.-]`, quoted otherwise.
pub fn escape_name(name: &NvString) -> String {
    match name.to_str() {
        Some(s) if !s.is_empty() && s.chars().all(is_word_char) => s.to_owned(),
        _ => escape_string(name.as_bytes()),
    }
}

/// A string quoted, with `\\ \" \n \t \r` escapes, the other characters
/// that [`needs_escape`] and bytes that are not UTF-8 as `\xHH`.
pub fn escape_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    let _ = write_string(&mut out, bytes);
    out
}

/// [`escape_string`] written to `out` as it goes, so that printing a
/// long string holds no escaped copy of it.
fn write_string(out: &mut impl Write, bytes: &[u8]) -> fmt::Result {
    out.write_char('"')?;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            let escape = match c {
                '\\' => Some("\\\\"),
                '"' => Some("\\\""),
                c if needs_escape(c) => None,
                _ => continue,
            };
            out.write_str(&valid[start..i])?;
            match escape {
                Some(e) => out.write_str(e)?,
                None => write_escape(out, c)?,
            }
            start = i + c.len_utf8();
        }
        out.write_str(&valid[start..])?;
        for b in chunk.invalid() {
            write!(out, "\\x{b:02x}")?;
        }
    }
    out.write_char('"')
}
