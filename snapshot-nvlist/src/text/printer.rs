//! Renders an nvlist in the text form.

use std::fmt::Write;

use super::hex;
use super::lexer::is_word_char;
use crate::{Flags, NvList, NvString, Value};

/// Binaries up to this many bytes stay on the pair's line.
const INLINE_BINARY: usize = 32;
/// Bytes per line of a long binary, in groups of four.
const BINARY_LINE: usize = 32;
/// Numbers per line of a long number array.
const NUMBERS_LINE: usize = 8;

pub fn print(list: &NvList) -> String {
    let mut out = String::new();
    body(&mut out, list, 0);
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("    ");
    }
}

fn body(out: &mut String, list: &NvList, level: usize) {
    let flags = list.flags();
    if flags != Flags::NONE {
        indent(out, level);
        let mut names = Vec::new();
        if flags.contains(Flags::IGNORE_CASE) {
            names.push("ignore-case");
        }
        if flags.contains(Flags::NO_UNIQUE) {
            names.push("no-unique");
        }
        let _ = writeln!(out, "!flags({})", names.join(", "));
    }
    for (name, value) in list {
        indent(out, level);
        out.push_str(&escape_name(name));
        out.push_str(": ");
        out.push_str(value.ty().keyword());
        if !matches!(value, Value::Null) {
            out.push_str(" = ");
            self::value(out, value, level);
        }
        out.push('\n');
    }
}

fn nested(out: &mut String, list: &NvList, level: usize) {
    if list.is_empty() && list.flags() == Flags::NONE {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    body(out, list, level + 1);
    indent(out, level);
    out.push('}');
}

/// Items on one line when short, else one per line (or `per_line`).
fn items<T>(
    out: &mut String,
    items: &[T],
    level: usize,
    per_line: usize,
    mut item: impl FnMut(&mut String, &T),
) {
    if items.len() <= per_line {
        out.push('[');
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            item(out, x);
        }
        out.push(']');
        return;
    }
    out.push_str("[\n");
    for chunk in items.chunks(per_line) {
        indent(out, level + 1);
        for (i, x) in chunk.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            item(out, x);
            out.push(',');
        }
        out.push('\n');
    }
    indent(out, level);
    out.push(']');
}

fn value(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => out.push_str(&escape_string(s.as_bytes())),
        Value::Binary(b) => binary(out, b, level),
        Value::NvList(l) => nested(out, l, level),
        Value::BoolArray(a) => items(out, a, level, 16, |o, b| {
            o.push_str(if *b { "true" } else { "false" })
        }),
        Value::NumberArray(a) => items(out, a, level, NUMBERS_LINE, |o, n| {
            let _ = write!(o, "{n}");
        }),
        Value::StringArray(a) => {
            let short = a.iter().map(|s| s.as_bytes().len() + 4).sum::<usize>() < 64;
            let per_line = if short { a.len() } else { 1 };
            items(out, a, level, per_line, |o, s| {
                o.push_str(&escape_string(s.as_bytes()))
            })
        }
        Value::NvListArray(a) => {
            out.push_str("[\n");
            for l in a {
                indent(out, level + 1);
                nested(out, l, level + 1);
                out.push_str(",\n");
            }
            indent(out, level);
            out.push(']');
        }
    }
}

fn binary(out: &mut String, bytes: &[u8], level: usize) {
    if bytes.len() <= INLINE_BINARY {
        let _ = write!(out, "<{}>", hex::encode(bytes));
        return;
    }
    out.push_str("<\n");
    for line in bytes.chunks(BINARY_LINE) {
        indent(out, level + 1);
        for (i, group) in line.chunks(4).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&hex::encode(group));
        }
        out.push('\n');
    }
    indent(out, level);
    out.push('>');
}

/// A name as the text form writes it: bare when it is a non-empty word of
/// `[A-Za-z0-9_.-]`, quoted otherwise.
pub fn escape_name(name: &NvString) -> String {
    match name.to_str() {
        Some(s) if !s.is_empty() && s.chars().all(is_word_char) => s.to_owned(),
        _ => escape_string(name.as_bytes()),
    }
}

/// A string quoted, with `\\ \" \n \t \r` escapes, other control
/// characters and bytes that are not UTF-8 as `\xHH`.
pub fn escape_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}
