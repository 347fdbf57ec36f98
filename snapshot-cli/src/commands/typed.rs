//! The typed view of `snapshot dump --typed`: records shown with their
//! schema and each field as its Rust type reads it (signed numbers,
//! floats, characters, options) and its doc comment, from the image's `schemas` section, so
//! no copy of the program that wrote the image is needed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write};

use snapshot_core::nvlist::DecodeOptions;
use snapshot_core::record::{Meta, VARIANT};
use snapshot_core::schema::text::RecordedField;
use snapshot_core::schema::Recorded;
use snapshot_core::text::{escape_name, shown};
use snapshot_core::{NvList, Value};

use crate::commands::common::{write_value, OneLine};

/// The schemas a dump is typed by, each with its fields indexed by name:
/// a record of many fields is typed in time linear in its pairs.
#[derive(Default)]
pub struct Schemas(BTreeMap<(String, u32), Indexed>);

struct Indexed {
    recorded: Recorded,
    fields: HashMap<String, usize>,
}

impl Schemas {
    /// Adds `recorded` unless a schema of its name and version is known.
    pub fn add(&mut self, recorded: Recorded) {
        let key = (recorded.name.clone(), recorded.version);
        self.0.entry(key).or_insert_with(|| {
            let mut fields = HashMap::with_capacity(recorded.fields.len());
            for (i, f) in recorded.fields.iter().enumerate() {
                fields.entry(f.name.clone()).or_insert(i);
            }
            Indexed { recorded, fields }
        });
    }

    fn get(&self, name: &str, version: u32) -> Option<&Indexed> {
        self.0.get(&(name.to_owned(), version))
    }
}

impl Indexed {
    fn field(&self, name: &str) -> Option<&RecordedField> {
        self.fields.get(name).map(|&i| &self.recorded.fields[i])
    }
}

/// Renders `nv` into `out`, records typed where a schema is known. Names
/// and strings from the file are escaped as the text form escapes them;
/// nesting is as deep as the decoder allows, no deeper.
pub fn render(nv: &NvList, schemas: &Schemas, indent: usize, out: &mut impl Write) -> fmt::Result {
    let pad = "  ".repeat(indent);
    let meta = Meta::read(nv);
    let schema = meta.and_then(|m| schemas.get(m.name, m.version));
    if let (Some(s), Some(meta)) = (schema, meta) {
        let s = &s.recorded;
        let shape = match &s.variants {
            Some(_) => "enum".to_owned(),
            None => format!("{} fields", s.fields.len()),
        };
        // A record an older build can read says so (docs/data-model.md).
        let readable = match meta.min_reader {
            n if n < meta.version => format!(", readable from v{n}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "{pad}# {} v{} ({shape}{readable})",
            shown(&s.name),
            s.version
        )?;
    } else if let Some(meta) = meta {
        writeln!(
            out,
            "{pad}# {} v{}: no recorded schema (neither in the image nor in the schema \
             directory): untyped",
            shown(meta.name),
            meta.version
        )?;
    }
    for (name, value) in nv.iter() {
        let key = escape_name(name);
        if name.as_bytes().starts_with(b".") {
            if let (Some(VARIANT), Value::String(v)) = (name.to_str(), value) {
                writeln!(out, "{pad}variant = {}", escape_name(v))?;
            }
            if schema.is_some() {
                continue;
            }
        }
        let field = schema.zip(name.to_str()).and_then(|(s, n)| s.field(n));
        let ty = field.map(|f| f.ty.as_str());
        let of_type = ty.map(|t| format!(": {}", shown(t))).unwrap_or_default();
        match value {
            Value::NvList(inner) => {
                writeln!(out, "{pad}{key}{of_type}:")?;
                render(inner, schemas, indent + 1, out)?;
            }
            Value::NvListArray(items) => {
                writeln!(out, "{pad}{key}{of_type}:")?;
                for (i, item) in items.iter().enumerate() {
                    writeln!(out, "{pad}  [{i}]:")?;
                    render(item, schemas, indent + 2, out)?;
                }
            }
            _ => match (field, ty) {
                (Some(field), Some(ty)) => {
                    let doc = match field.doc.as_str() {
                        "" => String::new(),
                        doc => format!("  # {}", shown(doc)),
                    };
                    let value = typed(ty, value);
                    writeln!(out, "{pad}{key}: {} = {value}{doc}", shown(ty))?;
                }
                _ => {
                    write!(out, "{pad}{key} = ")?;
                    write_value(value, &mut OneLine::new(&mut *out, None))?;
                    out.write_char('\n')?;
                }
            },
        }
    }
    Ok(())
}

/// A value as its Rust type reads it. Options are peeled in a loop, at
/// most as deep as a decoded value can nest: a type name from a file
/// may nest a million levels.
fn typed(ty: &str, value: &Value) -> String {
    let (mut ty, mut value) = (ty.trim(), value);
    let mut somes = 0;
    while let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        if somes == DecodeOptions::default().max_depth as usize {
            return untyped(value);
        }
        match value {
            Value::Null => return wrap(somes, "None"),
            // `Some(x)` of a type that may itself be NULL is `{some: x}`.
            Value::NvList(nv) if nv.len() == 1 => match nv.get("some") {
                Some(inner_value) if inner.trim().starts_with("Option<") => value = inner_value,
                _ => {}
            },
            _ => {}
        }
        somes += 1;
        ty = inner.trim();
    }
    wrap(somes, &scalar_or_array(ty, value))
}

/// `text` inside `n` `Some(...)`.
fn wrap(n: usize, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 6 * n);
    out.push_str(&"Some(".repeat(n));
    out.push_str(text);
    out.push_str(&")".repeat(n));
    out
}

/// A value of a type that is not an `Option`.
fn scalar_or_array(ty: &str, value: &Value) -> String {
    match (value, element(ty)) {
        (Value::Number(n), _) => scalar(ty, *n).unwrap_or_else(|| untyped(value)),
        (Value::NumberArray(items), Some(elem)) => {
            let mut text = String::from("[");
            for (i, &n) in items.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                match scalar(elem, n) {
                    Some(s) => text.push_str(&s),
                    None => {
                        let _ = write!(text, "{n:#x}");
                    }
                }
            }
            text.push(']');
            text
        }
        (Value::Binary(bytes), _) => binary(bytes),
        _ => untyped(value),
    }
}

/// The element type of `Vec<T>` or `[T; N]`.
fn element(ty: &str) -> Option<&str> {
    if let Some(inner) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        return Some(inner);
    }
    let inner = ty.strip_prefix('[')?.strip_suffix(']')?;
    inner.rsplit_once(';').map(|(t, _)| t.trim())
}

/// A number as the scalar type `ty` stores it (docs/data-model.md, 3).
fn scalar(ty: &str, n: u64) -> Option<String> {
    Some(match ty {
        "i8" | "i16" | "i32" | "i64" | "isize" => (n as i64).to_string(),
        "u8" | "u16" | "u32" | "u64" | "usize" if n > 0xffff => format!("{n:#x}"),
        "u8" | "u16" | "u32" | "u64" | "usize" => n.to_string(),
        "f64" | "f32" => format!("{:?}", f64::from_bits(n)),
        "char" => format!("{:?}", char::from_u32(u32::try_from(n).ok()?)?),
        _ => return None,
    })
}

fn binary(bytes: &[u8]) -> String {
    let shown: Vec<_> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 16 { " ..." } else { "" };
    let zero = if bytes.iter().all(|b| *b == 0) {
        ", all zero"
    } else {
        ""
    };
    format!("<{} bytes{zero}: {}{more}>", bytes.len(), shown.join(" "))
}

/// A value in the text syntax, on one line.
fn untyped(value: &Value) -> String {
    let mut line = OneLine::new(String::new(), None);
    let _ = write_value(value, &mut line);
    line.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_show_their_variant() {
        let text = "schema blk_cache 1\nkind enum\nvariant Writethrough\nvariant Writeback\n";
        let rec = Recorded::parse(text).unwrap();
        let mut schemas = Schemas::default();
        schemas.add(rec);
        let nv = NvList::new()
            .with(".schema", "blk_cache")
            .with(".version", 1u64)
            .with(".variant", "Writeback");
        let mut out = String::new();
        render(&nv, &schemas, 1, &mut out).unwrap();
        assert_eq!(out, "  # blk_cache v1 (enum)\n  variant = Writeback\n");
    }

    #[test]
    fn a_record_an_older_build_reads_says_from_which_version() {
        let text = "schema pit 2\nkind struct\nfield count: u16\n";
        let rec = Recorded::parse(text).unwrap();
        let mut schemas = Schemas::default();
        schemas.add(rec);
        let nv = NvList::new()
            .with(".schema", "pit")
            .with(".version", 2u64)
            .with("count", 3u64);
        let mut out = String::new();
        render(&nv.clone().with(".min_reader", 1u64), &schemas, 0, &mut out).unwrap();
        assert_eq!(
            out,
            "# pit v2 (1 fields, readable from v1)\ncount: u16 = 3\n"
        );
        out.clear();
        render(&nv, &schemas, 0, &mut out).unwrap();
        assert_eq!(out, "# pit v2 (1 fields)\ncount: u16 = 3\n");
    }

    #[test]
    fn scalars_read_as_their_type() {
        assert_eq!(typed("i64", &Value::Number(-5i64 as u64)), "-5");
        assert_eq!(typed("f64", &Value::Number(1.5f64.to_bits())), "1.5");
        assert_eq!(typed("Option<u8>", &Value::Null), "None");
        assert_eq!(typed("Option<u8>", &Value::Number(14)), "Some(14)");
        let some_none = Value::NvList(NvList::new().with("some", Value::Null));
        assert_eq!(typed("Option<Option<u8>>", &some_none), "Some(None)");
        // A type nested far deeper than any value: no recursion, no
        // quadratic text; past the nesting limit, shown untyped.
        let deep = format!("{}u8{}", "Option<".repeat(1_000_000), ">".repeat(1_000_000));
        assert_eq!(typed(&deep, &Value::Number(3)), "3");
        let shallow = format!("{}u8{}", "Option<".repeat(3), ">".repeat(3));
        assert_eq!(typed(&shallow, &Value::Number(3)), "Some(Some(Some(3)))");
        assert_eq!(typed("u64", &Value::Number(0x10000)), "0x10000");
        assert_eq!(typed("u16", &Value::Number(1500)), "1500");
        assert_eq!(
            typed("[bool; 2]", &Value::BoolArray(vec![true, false])),
            "[true, false]"
        );
        assert_eq!(
            typed("[i32; 2]", &Value::NumberArray(vec![1, -2i64 as u64])),
            "[1, -2]"
        );
        assert_eq!(
            typed("[u8; 4096]", &Value::Binary(vec![0; 4096])),
            "<4096 bytes, all zero: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ...>"
        );
    }
}
