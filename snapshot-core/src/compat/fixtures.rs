//! Golden fixtures: the packed record each version wrote, and the value
//! the current code reads from it. They catch what the schema checker
//! cannot see: a migration that computes the wrong value, a default that
//! changed, a decoder that no longer accepts old bytes.

use std::path::Path;

use super::check::BLESS_HINT;
use super::history;
use super::registry::{Entry, Registry};
use crate::error::SchemaError;
use crate::nvlist::{NvList, Value};
use crate::record::{is_meta, VERSION};
use crate::schema::text::{Recorded, RecordedField};
use snapshot_nvlist::text::to_text;

/// Writes the fixture of every entry with a sample whose version has none
/// yet (a written fixture is never rewritten), then the expected value of
/// every fixture as the current code reads it. Returns the files written
/// or changed.
pub fn bless(registry: &Registry, dir: &Path) -> Result<Vec<String>, SchemaError> {
    let mut written = Vec::new();
    for entry in registry.entries() {
        let Some(sample) = entry.sample else { continue };
        let path = history::file(dir, entry.name, entry.version, "nv");
        if history::read(&path)?.is_none() {
            history::write(&path, &sample().pack())?;
            written.push(path.display().to_string());
        }
    }
    for name in registry.names() {
        let current = registry.current(name).expect("names come from entries");
        for v in history::versions(dir, name, "nv")? {
            let fixture = load(dir, name, v)?;
            let value = (current.upgrade)(&fixture).map_err(|e| SchemaError::File {
                path: history::file(dir, name, v, "nv").display().to_string(),
                message: format!("does not decode with the current code: {e}"),
            })?;
            let path = history::file(dir, name, v, "expected");
            let text = to_text(&value);
            if history::read(&path)?.as_deref() != Some(text.as_bytes()) {
                history::write(&path, text.as_bytes())?;
                written.push(path.display().to_string());
            }
        }
    }
    Ok(written)
}

fn load(dir: &Path, name: &str, version: u32) -> Result<NvList, SchemaError> {
    let path = history::file(dir, name, version, "nv");
    let bytes = history::read(&path)?.unwrap_or_default();
    NvList::unpack(&bytes).map_err(|e| SchemaError::File {
        path: path.display().to_string(),
        message: format!("is not a packed nvlist ({e}); restore it from version control"),
    })
}

/// Every fixture of `name` decodes with the current code, to the value in
/// its `.expected` file. Returns the problems.
pub fn check_decode(
    registry: &Registry,
    dir: &Path,
    name: &str,
) -> Result<Vec<String>, SchemaError> {
    let versions = history::versions(dir, name, "nv")?;
    if versions.is_empty() {
        return Ok(vec![format!("{name}: no golden fixture; {BLESS_HINT}")]);
    }
    let mut problems = Vec::new();
    for v in versions {
        problems.extend(check_decode_version(registry, dir, name, v)?);
    }
    Ok(problems)
}

/// The golden fixture of version `v` of `name` decodes with the current
/// code to the value in its `.expected` file. Returns the problems.
pub fn check_decode_version(
    registry: &Registry,
    dir: &Path,
    name: &str,
    v: u32,
) -> Result<Vec<String>, SchemaError> {
    let current = current(registry, name)?;
    let fixture = match load(dir, name, v) {
        Ok(nv) => nv,
        Err(e) => return Ok(vec![e.to_string()]),
    };
    if fixture.get(VERSION) != Some(&Value::Number(v.into())) {
        return Ok(vec![format!(
            "{name} fixture v{v}: does not say `.version = {v}`; restore it from version control"
        )]);
    }
    let value = match (current.upgrade)(&fixture) {
        Ok(value) => to_text(&value),
        Err(e) => {
            return Ok(vec![format!(
                "{name} fixture v{v}: no longer decodes with v{}: {e}",
                current.version
            )])
        }
    };
    let path = history::file(dir, name, v, "expected");
    let expected = history::read(&path)?.map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(match expected {
        None => vec![format!("{name} fixture v{v}: no expected value; {BLESS_HINT}")],
        Some(expected) if expected != value => vec![format!(
            "{name} fixture v{v}: decodes to another value than {}:\n{}\n  if the new value is right (a migration was fixed on purpose), {BLESS_HINT} and commit the .expected change",
            path.display(),
            first_difference(&expected, &value)
        )],
        Some(_) => Vec::new(),
    })
}

/// The value of every fixture of `name`, and the sample, written for each
/// recorded older version, has that version's recorded shape, and reads
/// back to the same value. Returns the problems.
pub fn check_downgrade(
    registry: &Registry,
    schemas: &Path,
    dir: &Path,
    name: &str,
) -> Result<Vec<String>, SchemaError> {
    let current = current(registry, name)?;
    let mut problems = Vec::new();
    for v in history::versions(schemas, name, "schema")? {
        if v < current.version {
            problems.extend(check_downgrade_version(registry, schemas, dir, name, v)?);
        }
    }
    Ok(problems)
}

/// [`check_downgrade`] for the reader of recorded version `v` alone.
pub fn check_downgrade_version(
    registry: &Registry,
    schemas: &Path,
    dir: &Path,
    name: &str,
    v: u32,
) -> Result<Vec<String>, SchemaError> {
    let current = current(registry, name)?;
    let Some(old) = history::schemas(schemas, name)?
        .into_iter()
        .find(|r| r.version == v)
    else {
        return Ok(vec![format!(
            "{name} v{v}: no recorded schema; {BLESS_HINT}"
        )]);
    };
    let mut values = Vec::new();
    for from in history::versions(dir, name, "nv")? {
        if let Ok(nv) = load(dir, name, from) {
            values.push((format!("fixture v{from}"), nv, from));
        }
    }
    if let Some(sample) = current.sample {
        values.push(("sample".into(), sample(), current.version));
    }
    let mut problems = Vec::new();
    for (what, nv, from) in &values {
        match downgrade(current, nv, &old) {
            Ok(()) => {}
            // A value written by a newer version may use what the
            // older one lacks: the engine refusing it is its job.
            Err(_) if v < *from && (current.write_for)(nv, v).is_err() => {}
            Err(e) => problems.push(format!("{name} {what} written for v{v}: {e}")),
        }
    }
    Ok(problems)
}

fn current<'r>(registry: &'r Registry, name: &str) -> Result<&'r Entry, SchemaError> {
    registry.current(name).ok_or_else(|| SchemaError::Check {
        problems: vec![format!("{name}: not a type of this program")],
    })
}

/// Writes `nv` for the reader of `old`, checks the shape against `old`,
/// and checks that it reads back to what `nv` reads to.
fn downgrade(current: &Entry, nv: &NvList, old: &Recorded) -> Result<(), String> {
    let written = (current.write_for)(nv, old.version).map_err(|e| e.to_string())?;
    conforms(&written, old)?;
    let back = (current.upgrade)(&written).map_err(|e| format!("does not read back: {e}"))?;
    let direct = (current.upgrade)(nv).map_err(|e| e.to_string())?;
    if back != direct {
        return Err(format!(
            "reads back to another value:\n{}",
            first_difference(&to_text(&direct), &to_text(&back))
        ));
    }
    Ok(())
}

/// Whether `nv` has the shape `schema` records: its version, only known
/// fields, every field without a default, and scalar fields of the
/// stored type their Rust type maps to.
pub fn conforms(nv: &NvList, schema: &Recorded) -> Result<(), String> {
    if nv.get(VERSION) != Some(&Value::Number(schema.version.into())) {
        return Err(format!("does not say `.version = {}`", schema.version));
    }
    if schema.variants.is_some() {
        return Ok(());
    }
    for (name, value) in nv.iter() {
        if is_meta(name.as_bytes()) {
            continue;
        }
        let name = name.to_string();
        let field = schema
            .field(&name)
            .ok_or_else(|| format!("`{name}` is not a field of v{}", schema.version))?;
        if !stored_as(field, value) {
            return Err(format!(
                "`{name}`: a {} is not stored as {}",
                field.ty,
                value.ty()
            ));
        }
    }
    for field in schema.fields.iter().filter(|f| f.default.is_none()) {
        if nv.get(&field.name).is_none() {
            return Err(format!(
                "`{}` is missing, and v{} has no default for it",
                field.name, schema.version
            ));
        }
    }
    Ok(())
}

/// Whether a value has the libnv type the data model gives the field's
/// Rust type; types it cannot tell from the name pass.
fn stored_as(field: &RecordedField, value: &Value) -> bool {
    const NUMBERS: [&str; 14] = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "f32", "f64",
        "char", "u128",
    ];
    let ty = field.ty.as_str();
    if ty == "u128" || ty == "i128" {
        matches!(value, Value::NumberArray(_))
    } else if NUMBERS.contains(&ty) {
        matches!(value, Value::Number(_))
    } else if ty == "bool" {
        matches!(value, Value::Bool(_))
    } else if ty == "String" {
        matches!(value, Value::String(_) | Value::Binary(_))
    } else if ty == "Vec<u8>" || (ty.starts_with("[u8;") && ty.ends_with(']')) {
        matches!(value, Value::Binary(_) | Value::Null)
    } else {
        true
    }
}

/// The first line where two texts differ, both versions, for messages.
fn first_difference(expected: &str, found: &str) -> String {
    let mut e = expected.lines();
    let mut f = found.lines();
    for line in 1.. {
        match (e.next(), f.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "  line {line}: expected `{}`\n  line {line}: found    `{}`",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                )
            }
        }
    }
    "  (same text)".into()
}
