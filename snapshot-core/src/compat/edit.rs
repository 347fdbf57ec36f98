//! One field of a stored record edited against the record's recorded
//! schema, as `snapshot set` does: the value must read as the field's
//! type (width, sign, length, variant), a field left out for holding its
//! default can be stored again, and the record's `.min_reader` follows
//! what it now holds, so that an older build never reads it and silently
//! loses the edit.

use crate::error::ErrorKind;
use crate::model::by_name::{reads_as, stored_type};
use crate::nvlist::{NvList, Type, Value};
use crate::record::{Meta, MIN_READER, VARIANT};
use crate::schema::Recorded;

use super::declared::oldest_reader;

/// What [`check_field`] could say of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// It reads as the field's type.
    Fits,
    /// The field's type is one only the program's code can check (a type
    /// of its own); the text says which.
    Unchecked(String),
}

/// The recorded field `name` of `record`, with its type: a struct's
/// field, or one of the stored variant's.
fn field_type<'s>(schema: &'s Recorded, record: &NvList, name: &str) -> Result<&'s str, String> {
    let found = match &schema.variants {
        None => schema.field(name).map(|f| f.ty.as_str()),
        Some(variants) => {
            let variant = record.get_string(VARIANT).unwrap_or_default();
            variants
                .iter()
                .find(|v| v.name == variant)
                .and_then(|v| v.fields.iter().find(|(n, _)| n == name))
                .map(|(_, ty)| ty.as_str())
        }
    };
    found.ok_or_else(|| {
        let names: Vec<&str> = match &schema.variants {
            None => schema.fields.iter().map(|f| f.name.as_str()).collect(),
            Some(variants) => variants
                .iter()
                .filter(|v| Some(v.name.as_str()) == record.get_string(VARIANT).ok())
                .flat_map(|v| v.fields.iter().map(|(n, _)| n.as_str()))
                .collect(),
        };
        format!(
            "`{name}` is not a field of `{}` v{} (its fields: {})",
            schema.name,
            schema.version,
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        )
    })
}

/// Whether `value` may be stored as the pair `name` of `record`, a record
/// of `schema`: a field's value must read as its recorded type, and a
/// `.variant` must name one of the enum's variants. Other metadata pairs
/// are not fields, and not checked.
pub fn check_field(
    schema: &Recorded,
    record: &NvList,
    name: &str,
    value: &Value,
) -> Result<Checked, String> {
    let what = format!("`{}` v{}", schema.name, schema.version);
    if name == VARIANT {
        let (Some(variants), Value::String(v)) = (&schema.variants, value) else {
            return Ok(Checked::Unchecked(format!("{what} is not an enum")));
        };
        let v = v.to_string();
        if variants.iter().any(|known| known.name == v) {
            return Ok(Checked::Fits);
        }
        let names: Vec<&str> = variants.iter().map(|k| k.name.as_str()).collect();
        return Err(format!(
            "`{v}` is not a variant of {what} (its variants: {})",
            names.join(", ")
        ));
    }
    if name.starts_with('.') {
        return Ok(Checked::Unchecked(format!(
            "`{name}` is record metadata, not a field"
        )));
    }
    let ty = field_type(schema, record, name)?;
    match reads_as(ty, value) {
        None => Ok(Checked::Unchecked(format!(
            "`{name}` is a {ty}, which only the program's own code can check"
        ))),
        Some(Ok(())) => Ok(Checked::Fits),
        Some(Err(e)) => {
            let fault = match e.kind() {
                ErrorKind::Value { path, fault, .. } if path.is_empty() => fault.to_string(),
                ErrorKind::Value { path, fault, .. } => format!("{path}: {fault}"),
                _ => e.to_string(),
            };
            Err(format!("`{name}` is a {ty} in {what}: {fault}"))
        }
    }
}

/// The nvlist type of the field `name` when it is not stored (left out
/// for holding its default): from its recorded default, or its type's
/// name. An error says why it cannot be stored.
pub fn absent_field_type(schema: &Recorded, record: &NvList, name: &str) -> Result<Type, String> {
    let ty = field_type(schema, record, name)?;
    let default = schema.field(name).and_then(|f| f.default_value.as_ref());
    match default.map(Value::ty).filter(|t| *t != Type::Null) {
        Some(t) => Ok(t),
        None => stored_type(ty).ok_or_else(|| {
            format!(
                "`{name}` is not stored, and its type {ty} does not say how to store it: give \
                 its type explicitly"
            )
        }),
    }
}

/// Stores `value` as the field `name` of `record`, which does not hold
/// it: before `.min_reader`, which stays last.
pub fn insert_field(record: &mut NvList, name: &str, value: Value) {
    let min_reader = record.remove(MIN_READER);
    record.insert(name, value);
    if let Some(m) = min_reader {
        record.insert(MIN_READER, m);
    }
}

/// Raises `record`'s `.min_reader` to what it now holds needs, as the
/// type's writer computes it (an added field not at its default, a value
/// too wide for a widened field's older type); never lowers it.
pub fn update_min_reader(record: &mut NvList, schema: &Recorded) {
    let Some(meta) = Meta::read(record) else {
        return;
    };
    let (version, stored) = (meta.version, meta.min_reader);
    let needed = oldest_reader(record, schema).max(stored).min(version);
    if needed == stored {
        return;
    }
    if needed == version {
        record.remove(MIN_READER);
    } else {
        record.insert(MIN_READER, u64::from(needed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Recorded {
        Recorded::parse(text).unwrap()
    }

    #[test]
    fn variants_are_checked_by_name() {
        let mode = schema("schema mode 2\nkind enum\nvariant Off\nvariant On(level: u8)\n");
        let record = NvList::new()
            .with(".schema", "mode")
            .with(".version", 2u64)
            .with(".variant", "On")
            .with("level", 3u64);
        let check = |name: &str, value: Value| check_field(&mode, &record, name, &value);
        assert_eq!(check(VARIANT, Value::from("Off")), Ok(Checked::Fits));
        assert_eq!(
            check(VARIANT, Value::from("Burst")),
            Err("`Burst` is not a variant of `mode` v2 (its variants: Off, On)".into())
        );
        // The stored variant's fields.
        assert_eq!(check("level", Value::Number(9)), Ok(Checked::Fits));
        assert_eq!(
            check("level", Value::Number(300)),
            Err("`level` is a u8 in `mode` v2: 300 does not fit u8".into())
        );
        assert!(check("rate", Value::Number(1))
            .unwrap_err()
            .contains("`rate` is not a field of `mode` v2 (its fields: level)"));
    }

    #[test]
    fn min_reader_follows_what_the_record_holds() {
        let dev = schema(
            "schema dev 3\nkind struct\nfield a: u32\n  widened_from u16 2\nfield b: u8\n  since 3\n  default Default::default()\n  default_value number = 0\n",
        );
        let mut record = NvList::new()
            .with(".schema", "dev")
            .with(".version", 3u64)
            .with("a", 1u64)
            .with(".min_reader", 1u64);
        update_min_reader(&mut record, &dev);
        assert_eq!(record.get_number(MIN_READER).unwrap(), 1);
        record.insert("a", 70_000u64);
        update_min_reader(&mut record, &dev);
        assert_eq!(record.get_number(MIN_READER).unwrap(), 2);
        assert_eq!(absent_field_type(&dev, &record, "b"), Ok(Type::Number));
        insert_field(&mut record, "b", Value::Number(1));
        update_min_reader(&mut record, &dev);
        assert!(!record.contains(MIN_READER), "needs v3 itself: {record:?}");
        // Never lowered by an edit back to the default.
        record.insert("b", 0u64);
        update_min_reader(&mut record, &dev);
        assert!(!record.contains(MIN_READER));
    }
}
