//! The recorded form of a schema: one diff-friendly text file per type per
//! version, written by the bless step (`compat::bless`, `snapshot schema
//! record`) and compared by the checker.
//!
//! A [`Schema`] holds function pointers (defaults, migrations) and only
//! exists for the current version of a type; a [`Recorded`] schema is
//! plain data, so it can be written, read back and compared for every
//! version ever released. One line per fact keeps `git diff` readable:
//!
//! ```text
//! schema vrtc 3
//! kind struct
//! field nvram: Vec<u8>
//!   since 2
//!   default Default::default()
//! field base_time: i64
//!   doc Guest wall-clock time, in nanoseconds.
//!   renamed_from base_rtctime 3
//! field status: u32
//!   widened_from u16 2
//! removed century 3
//! migration 2 up down
//! ```
//!
//! Enums list their variants instead of fields:
//! `variant Periodic(period: u64)`.

use std::fmt::Write as _;

use snapshot_nvlist::text::{from_text, needs_escape, to_text};
use snapshot_nvlist::{NvList, Value};

use crate::error::{Result, SchemaError};
use crate::schema::{Body, FieldSchema, Schema};

/// A schema as recorded in the history: plain data, for any version.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The stored schema name.
    pub name: String,
    /// The version this file records.
    pub version: u32,
    /// Fields of a struct, in declaration order.
    pub fields: Vec<RecordedField>,
    /// Variants of an enum, with `(name, type)` of their fields; `None`
    /// for a struct.
    pub variants: Option<Vec<RecordedVariant>>,
    /// Fields removed in the history: `(name, version removed)`.
    pub removed: Vec<(String, u32)>,
    /// Declared migrations, by ascending `from`.
    pub migrations: Vec<RecordedMigration>,
}

/// A declared migration, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedMigration {
    /// The older version of the step `from -> from + 1`.
    pub from: u32,
    /// Whether it has a `down` step.
    pub down: bool,
    /// What it converts: a field's name before the step with its type
    /// then, or a variant's name alone.
    pub converts: Vec<(String, Option<String>)>,
}

impl RecordedMigration {
    /// Whether the migration converts the field `name` from `ty`, or the
    /// variant `name` (`ty` is `None`).
    pub fn converts(&self, name: &str, ty: Option<&str>) -> bool {
        self.converts
            .iter()
            .any(|(n, t)| n == name && t.as_deref() == ty)
    }
}

/// One field of a recorded struct schema.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedField {
    /// The stored name at this version.
    pub name: String,
    /// The Rust type, as written in the source.
    pub ty: String,
    /// The field's doc comment; empty without one. Not part of the
    /// stored shape: the checker ignores it.
    pub doc: String,
    /// The version that added the field.
    pub since: u32,
    /// Where the default of an added field comes from, if it has one.
    pub default: Option<String>,
    /// The default as stored, so that tools without the program's code
    /// (the generic `snapshot migrate`) can tell a field holding it.
    /// `None` in files recorded before values were kept.
    pub default_value: Option<Value>,
    /// Former names: `(name, version that uses the next name)`.
    pub renamed_from: Vec<(String, u32)>,
    /// The narrower type before a declared widening: `(type, version)`.
    pub widened_from: Option<(String, u32)>,
}

impl RecordedField {
    /// The name the field is stored under in records of `version`, as
    /// [`FieldSchema::name_at`] says for a current type.
    pub fn name_at(&self, version: u32) -> &str {
        self.renamed_from
            .iter()
            .find(|(_, renamed_in)| *renamed_in > version)
            .map_or(self.name.as_str(), |(name, _)| name.as_str())
    }
}

/// One variant of a recorded enum schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedVariant {
    /// The variant's name.
    pub name: String,
    /// The version that added it.
    pub since: u32,
    /// Its fields, `(name, type)`.
    pub fields: Vec<(String, String)>,
}

impl Recorded {
    /// The recorded form of a type's current schema.
    pub fn of(schema: &Schema) -> Recorded {
        let field = |f: &FieldSchema| RecordedField {
            name: f.name.to_owned(),
            ty: f.ty.to_owned(),
            doc: f.doc.to_owned(),
            since: f.since,
            default: f.default.as_ref().map(|d| d.source.to_owned()),
            default_value: f.default.as_ref().map(|d| (d.value)()),
            renamed_from: f
                .former_names
                .iter()
                .map(|n| (n.name.to_owned(), n.renamed_in))
                .collect(),
            widened_from: f
                .widened
                .as_ref()
                .map(|w| (w.from.to_owned(), w.widened_in)),
        };
        let (fields, variants) = match &schema.body {
            Body::Struct(fields) => (fields.iter().map(field).collect(), None),
            Body::Enum(variants) => (
                Vec::new(),
                Some(
                    variants
                        .iter()
                        .map(|v| RecordedVariant {
                            name: v.name.to_owned(),
                            since: v.since,
                            fields: v
                                .fields
                                .iter()
                                .map(|f| (f.name.to_owned(), f.ty.to_owned()))
                                .collect(),
                        })
                        .collect(),
                ),
            ),
        };
        Recorded {
            name: schema.name.to_owned(),
            version: schema.version,
            fields,
            variants,
            removed: schema
                .removed
                .iter()
                .map(|r| (r.name.to_owned(), r.since))
                .collect(),
            migrations: schema
                .migrations
                .iter()
                .map(|m| RecordedMigration {
                    from: m.from,
                    down: m.down.is_some(),
                    converts: m
                        .converts
                        .iter()
                        .map(|c| (c.name.to_owned(), c.from.as_ref().map(|t| t.ty.to_owned())))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The same schema without field docs: what the checker compares, as
    /// rewording a comment changes nothing stored.
    pub fn without_docs(&self) -> Recorded {
        let mut out = self.clone();
        out.fields.iter_mut().for_each(|f| f.doc.clear());
        out
    }

    /// Whether `self`, as recorded, and `other` store the same: equal but
    /// for docs, and for default values `self` does not record (files
    /// written before values were kept compare by the default's source).
    pub fn same_shape(&self, other: &Recorded) -> bool {
        let mut other = other.without_docs();
        for (mine, theirs) in self.fields.iter().zip(&mut other.fields) {
            if mine.default_value.is_none() {
                theirs.default_value = None;
            }
        }
        self.without_docs() == other
    }

    /// The field stored under `name` at this version.
    pub fn field(&self, name: &str) -> Option<&RecordedField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The text form, as committed under `schemas/`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "schema {} {}", self.name, self.version);
        match &self.variants {
            None => out.push_str("kind struct\n"),
            Some(variants) => {
                out.push_str("kind enum\n");
                for v in variants {
                    let fields: Vec<_> =
                        v.fields.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                    if fields.is_empty() {
                        let _ = writeln!(out, "variant {}", v.name);
                    } else {
                        let _ = writeln!(out, "variant {}({})", v.name, fields.join(", "));
                    }
                    if v.since != 1 {
                        let _ = writeln!(out, "  since {}", v.since);
                    }
                }
            }
        }
        for f in &self.fields {
            let _ = writeln!(out, "field {}: {}", f.name, f.ty);
            if !f.doc.is_empty() {
                let _ = writeln!(out, "  doc {}", f.doc);
            }
            if f.since != 1 {
                let _ = writeln!(out, "  since {}", f.since);
            }
            if let Some(d) = &f.default {
                let _ = writeln!(out, "  default {d}");
            }
            if let Some(v) = &f.default_value {
                let _ = writeln!(out, "  default_value {}", value_text(v));
            }
            for (name, v) in &f.renamed_from {
                let _ = writeln!(out, "  renamed_from {name} {v}");
            }
            if let Some((ty, v)) = &f.widened_from {
                let _ = writeln!(out, "  widened_from {ty} {v}");
            }
        }
        for (name, since) in &self.removed {
            let _ = writeln!(out, "removed {name} {since}");
        }
        for m in &self.migrations {
            let down = if m.down { " down" } else { "" };
            let _ = writeln!(out, "migration {} up{down}", m.from);
            for (name, ty) in &m.converts {
                let _ = match ty {
                    Some(ty) => writeln!(out, "  converts {name}: {ty}"),
                    None => writeln!(out, "  converts {name}"),
                };
            }
        }
        out
    }

    /// Parses the text form; errors name the line.
    pub fn parse(text: &str) -> Result<Recorded, SchemaError> {
        Parser::default().run(text)
    }
}

/// A stored value on one line: the nvlist text form of the pair, after
/// `NAME: `, its lines joined (the text form allows any whitespace between
/// tokens, and a string never holds a raw newline).
fn value_text(value: &Value) -> String {
    let text = to_text(&NvList::new().with("v", value.clone()));
    let joined: Vec<&str> = text.lines().map(str::trim_start).collect();
    let joined = joined.join(" ");
    joined.strip_prefix("v: ").unwrap_or(&joined).to_owned()
}

/// The value [`value_text`] wrote.
fn parse_value_text(text: &str) -> Result<Value, snapshot_nvlist::Error> {
    let nv = from_text(&format!("v: {text}"))?;
    match (nv.len(), nv.get("v")) {
        (1, Some(v)) => Ok(v.clone()),
        _ => Err(snapshot_nvlist::Error::from(
            snapshot_nvlist::ErrorKind::Parse {
                line: 1,
                column: 1,
                message: "expected one value".into(),
            },
        )),
    }
}

/// The kind of the last unindented line, which indented lines extend.
enum Item {
    None,
    Field,
    Variant,
    Migration,
}

#[derive(Default)]
struct Parser {
    line: usize,
}

impl Parser {
    fn err(&self, message: impl Into<String>) -> SchemaError {
        SchemaError::Parse {
            line: self.line,
            message: message.into(),
        }
    }

    fn version(&self, word: Option<&str>, what: &str) -> Result<u32, SchemaError> {
        let word = word.ok_or_else(|| self.err(format!("missing {what}")))?;
        match word.parse::<u32>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(self.err(format!("{what} `{word}` is not a version (1 or more)"))),
        }
    }

    fn run(&mut self, text: &str) -> Result<Recorded, SchemaError> {
        let mut rec: Option<Recorded> = None;
        // What the indented lines that follow belong to.
        let mut last = Item::None;
        for (i, raw) in text.lines().enumerate() {
            self.line = i + 1;
            // Names and types from a file reach messages and listings:
            // none may move the cursor, break a line or reorder text.
            if let Some(c) = raw.chars().find(|&c| needs_escape(c) && c != '\t') {
                return Err(self.err(format!(
                    "{c:?} in a schema: names, types and docs hold no control characters"
                )));
            }
            if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            let indented = raw.starts_with(' ');
            let line = raw.trim();
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let mut words = rest.split_whitespace();
            let Some(r) = rec.as_mut() else {
                if key != "schema" {
                    return Err(self.err("a schema file starts with `schema NAME VERSION`"));
                }
                let name = words.next().ok_or_else(|| self.err("missing name"))?;
                let version = self.version(words.next(), "version")?;
                rec = Some(Recorded {
                    name: name.to_owned(),
                    version,
                    fields: Vec::new(),
                    variants: None,
                    removed: Vec::new(),
                    migrations: Vec::new(),
                });
                continue;
            };
            if indented {
                match (&last, key) {
                    (Item::Variant, "since") => {
                        if let Some(v) = r.variants.as_mut().and_then(|v| v.last_mut()) {
                            v.since = self.version(words.next(), "since")?;
                        }
                        continue;
                    }
                    (Item::Migration, "converts") => {
                        let (name, ty) = match rest.split_once(':') {
                            Some((n, t)) => (n.trim(), Some(t.trim().to_owned())),
                            None => (rest.trim(), None),
                        };
                        if name.is_empty() || ty.as_deref() == Some("") {
                            return Err(
                                self.err("expected `converts NAME: TYPE` or `converts VARIANT`")
                            );
                        }
                        if let Some(m) = r.migrations.last_mut() {
                            m.converts.push((name.to_owned(), ty));
                        }
                        continue;
                    }
                    (Item::Field, _) => {}
                    _ => {
                        return Err(self.err(format!(
                            "`{key}` does not belong here: indented lines follow a field, \
                             a variant (`since`) or a migration (`converts`)"
                        )))
                    }
                }
                let field = r
                    .fields
                    .last_mut()
                    .ok_or_else(|| self.err("an indented line belongs to a field"))?;
                match key {
                    "since" => field.since = self.version(words.next(), "since")?,
                    "doc" => field.doc = rest.trim().to_owned(),
                    "default" => field.default = Some(rest.trim().to_owned()),
                    "default_value" => {
                        let value = parse_value_text(rest.trim())
                            .map_err(|e| self.err(format!("default_value: {e}")))?;
                        field.default_value = Some(value);
                    }
                    "renamed_from" => {
                        let name = words.next().ok_or_else(|| self.err("missing name"))?;
                        let v = self.version(words.next(), "version")?;
                        field.renamed_from.push((name.to_owned(), v));
                    }
                    "widened_from" => {
                        let ty = words.next().ok_or_else(|| self.err("missing type"))?;
                        let v = self.version(words.next(), "version")?;
                        field.widened_from = Some((ty.to_owned(), v));
                    }
                    other => return Err(self.err(format!("unknown field attribute `{other}`"))),
                }
                continue;
            }
            last = match key {
                "field" => Item::Field,
                "variant" => Item::Variant,
                "migration" => Item::Migration,
                _ => Item::None,
            };
            match key {
                "kind" => match rest.trim() {
                    "struct" => r.variants = None,
                    "enum" => r.variants = Some(Vec::new()),
                    other => return Err(self.err(format!("unknown kind `{other}`"))),
                },
                "field" => {
                    let (name, ty) = rest
                        .split_once(':')
                        .ok_or_else(|| self.err("expected `field NAME: TYPE`"))?;
                    r.fields.push(RecordedField {
                        name: name.trim().to_owned(),
                        ty: ty.trim().to_owned(),
                        doc: String::new(),
                        since: 1,
                        default: None,
                        default_value: None,
                        renamed_from: Vec::new(),
                        widened_from: None,
                    });
                }
                "variant" => {
                    let variant = self.variant(rest.trim())?;
                    r.variants
                        .as_mut()
                        .ok_or_else(|| self.err("`variant` needs `kind enum`"))?
                        .push(variant);
                }
                "removed" => {
                    let name = words.next().ok_or_else(|| self.err("missing name"))?;
                    let v = self.version(words.next(), "version")?;
                    r.removed.push((name.to_owned(), v));
                }
                "migration" => {
                    let from = self.version(words.next(), "from")?;
                    if words.next() != Some("up") {
                        return Err(self.err("expected `migration FROM up [down]`"));
                    }
                    let down = match words.next() {
                        None => false,
                        Some("down") => true,
                        Some(other) => return Err(self.err(format!("unexpected `{other}`"))),
                    };
                    if r.migrations.last().is_some_and(|m| m.from >= from) {
                        return Err(self.err("migrations are listed once each, by ascending FROM"));
                    }
                    r.migrations.push(RecordedMigration {
                        from,
                        down,
                        converts: Vec::new(),
                    });
                }
                other => return Err(self.err(format!("unknown line `{other}`"))),
            }
        }
        rec.ok_or_else(|| self.err("empty schema file"))
    }

    fn variant(&self, text: &str) -> Result<RecordedVariant, SchemaError> {
        let Some((name, rest)) = text.split_once('(') else {
            return Ok(RecordedVariant {
                name: text.to_owned(),
                since: 1,
                fields: Vec::new(),
            });
        };
        let inner = rest
            .strip_suffix(')')
            .ok_or_else(|| self.err("expected `)` at the end of the variant"))?;
        let fields = split_top_level(inner)
            .into_iter()
            .map(|f| {
                let (n, t) = f
                    .split_once(':')
                    .ok_or_else(|| self.err("expected `NAME: TYPE` in the variant"))?;
                Ok((n.trim().to_owned(), t.trim().to_owned()))
            })
            .collect::<Result<_, SchemaError>>()?;
        Ok(RecordedVariant {
            name: name.to_owned(),
            since: 1,
            fields,
        })
    }
}

/// Splits on the commas that are not inside `<>`, `[]` or `()`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTC: &str = "schema vrtc 3
kind struct
field nvram: Vec<u8>
  since 2
  default Default::default()
field base_time: i64
  doc Nanoseconds since the epoch.
  renamed_from base_rtctime 3
field status: u32
  widened_from u16 2
field pairs: Vec<(u8, [u16; 4])>
removed century 3
migration 1 up down
  converts timeout: u16
migration 2 up
";

    #[test]
    fn text_round_trips() {
        let rec = Recorded::parse(RTC).unwrap();
        assert_eq!(rec.version, 3);
        assert_eq!(rec.fields[0].since, 2);
        assert_eq!(rec.fields[3].ty, "Vec<(u8, [u16; 4])>");
        let steps: Vec<_> = rec.migrations.iter().map(|m| (m.from, m.down)).collect();
        assert_eq!(steps, [(1, true), (2, false)]);
        assert!(rec.migrations[0].converts("timeout", Some("u16")));
        assert!(!rec.migrations[0].converts("timeout", Some("u32")));
        assert_eq!(rec.fields[1].doc, "Nanoseconds since the epoch.");
        assert!(rec.without_docs().fields[1].doc.is_empty());
        assert_eq!(rec.to_text(), RTC);
    }

    #[test]
    fn enum_round_trips() {
        let text = "schema mode 2\nkind enum\nvariant Off\nvariant Periodic(period: u64, map: Vec<(u8, u8)>)\nvariant Burst\n  since 2\nmigration 1 up down\n  converts Periodic\n";
        let rec = Recorded::parse(text).unwrap();
        let v = &rec.variants.as_ref().unwrap()[1];
        assert_eq!(v.fields[1], ("map".into(), "Vec<(u8, u8)>".into()));
        assert_eq!(rec.variants.as_ref().unwrap()[2].since, 2);
        assert!(rec.migrations[0].converts("Periodic", None));
        assert_eq!(rec.to_text(), text);
    }

    #[test]
    fn control_characters_are_refused_where_they_stand() {
        let text = "schema vuart 1\nkind struct\nfield lsr\x1b[2J: u8\n";
        let err = Recorded::parse(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 3: '\\u{1b}' in a schema: names, types and docs hold no control characters"
        );
        assert!(
            Recorded::parse("schema vuart 1\nkind struct\nfield lsr: u8\n  doc a\ttabbed\n")
                .is_ok()
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = Recorded::parse("schema a 1\nkind struct\nfield x u32\n").unwrap_err();
        assert_eq!(err.to_string(), "line 3: expected `field NAME: TYPE`");
        let err = Recorded::parse("schema a 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1: version `0` is not a version (1 or more)"
        );
        let err = Recorded::parse("schema a 2\nkind struct\nremoved b 2\n  since 2\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 4: `since` does not belong here"),
            "{err}"
        );
        let err = Recorded::parse("schema a 3\nkind struct\nmigration 2 up\nmigration 1 up\n")
            .unwrap_err();
        assert!(err.to_string().contains("by ascending FROM"), "{err}");
        let err = Recorded::parse("  since 2\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1: a schema file starts"));
    }
}
