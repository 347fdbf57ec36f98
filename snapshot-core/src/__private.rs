//! Support for the code `#[derive(Snapshot)]` generates. Not a public API:
//! it changes whenever the derive does.

pub use crate::compat::Suite;
pub use crate::error::{Error, Result};
pub use crate::model::Field;
pub use crate::nvlist::{Item, NvList, Pair, Reader, Value, Writer};
pub use crate::record::meta::{
    finish, is_meta, read_meta, read_min_reader, read_variant, start, variant, variant_name,
    MIN_READER, SCHEMA, VARIANT, VERSION,
};
pub use crate::record::{RecordSchemas, Snapshot};
pub use crate::schema::{
    Body, Converts, DefaultValue, FieldSchema, FormerName, Migration, OlderType, Removed, Schema,
    Variant, Widened,
};
pub use std::option::Option::{self, None, Some};
pub use std::result::Result::{Err, Ok};
pub use std::sync::atomic::AtomicUsize;
pub use std::vec;

use crate::error::ValueFault;
use crate::model::wrong_type;

/// `Field::write` of a record: a nested list.
#[inline]
pub fn write_record<T: Snapshot>(item: &T, name: &str, w: &mut Writer) {
    w.begin_list(name);
    item.write_record(w, true);
    w.end_list();
}

/// `Field::write_seq` of a record: an nvlist array, `NULL` when empty.
pub fn write_records<T: Snapshot>(items: &[T], name: &str, w: &mut Writer) {
    if items.is_empty() {
        return w.null(name);
    }
    w.begin_array(name, items.len());
    for item in items {
        w.begin_element();
        item.write_record(w, true);
        w.end_element();
    }
    w.end_array();
}

/// Decodes one stored field into its slot.
#[inline]
pub fn set<T: Field>(slot: &mut Option<T>, value: &Value, name: &str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::value(ValueFault::Duplicate).in_field(name));
    }
    *slot = Some(T::from_value(value).map_err(|e| e.in_field(name))?);
    Ok(())
}

/// The result of a field's `from_stored`, its error naming the field.
#[cold]
pub fn converted<T, E: std::fmt::Display>(result: Result<T, E>, name: &str) -> Result<T> {
    result.map_err(|e| Error::value(ValueFault::Conversion(e.to_string())).in_field(name))
}

/// The conversion of `#[snapshot(serde)]` fields: through the serde
/// bridge, stored as a [`Value`].
pub mod serde_field {
    use crate::error::Result;
    use crate::nvlist::Value;

    /// The stored value of a field.
    ///
    /// # Panics
    ///
    /// When the field's `Serialize` impl fails (or gives a map a key
    /// twice): writing a record cannot fail, and storing anything else
    /// would lose the state without a word.
    pub fn to_stored<T: ::serde::Serialize>(value: &T) -> Value {
        crate::serde::to_value(value)
            .unwrap_or_else(|e| panic!("a `#[snapshot(serde)]` field did not serialize: {e}"))
    }

    /// The field read back from its stored value, the error naming the
    /// field.
    pub fn from_stored<T: ::serde::de::DeserializeOwned>(value: Value, name: &str) -> Result<T> {
        crate::serde::from_value(&value).map_err(|e| e.in_field(name))
    }
}

/// The value of a field that must be stored.
#[inline]
pub fn required<T>(slot: Option<T>, name: &str) -> Result<T> {
    slot.ok_or_else(|| Error::value(ValueFault::Missing).in_field(name))
}

/// The error for a stored pair that is not a field.
#[cold]
pub fn unknown(name: &[u8]) -> Error {
    Error::value(ValueFault::Unknown).in_field(&String::from_utf8_lossy(name))
}

/// The error for an unknown variant name.
#[cold]
pub fn unknown_variant(name: &str) -> Error {
    Error::value(ValueFault::UnknownVariant(name.to_owned())).in_field(VARIANT)
}

/// `Field::from_value` of a record.
pub fn record_from_value<T: Snapshot>(value: &Value) -> Result<T> {
    match value {
        Value::NvList(nv) => crate::record::read(nv),
        other => Err(wrong_type("nvlist", other)),
    }
}

/// `Field::seq_to_value` of a record: an nvlist array, `NULL` when empty.
pub fn records_to_value<T: Snapshot>(items: &[T]) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::NvListArray(items.iter().map(Snapshot::to_nvlist).collect())
    }
}

/// `Field::seq_from_value` of a record.
pub fn records_from_value<T: Snapshot>(value: &Value) -> Result<Vec<T>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::NvListArray(lists) => lists
            .iter()
            .enumerate()
            .map(|(i, nv)| crate::record::read(nv).map_err(|e| e.in_index(i)))
            .collect(),
        other => Err(wrong_type("nvlist[] or null", other)),
    }
}

/// The fast path of `Snapshot::from_bytes` alone, for tests comparing it
/// with the checked path.
pub fn read_fast<T: Snapshot>(bytes: &[u8]) -> Option<T> {
    crate::record::read_fast(bytes)
}

/// `Field::read` of a record: a nested list.
#[inline]
pub fn read_nested<T: Snapshot>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<T> {
    r.begin_list(p)?;
    T::read_record(r)
}

/// `Field::read_seq` of a record: an nvlist array, or `NULL`.
pub fn read_nested_seq<T: Snapshot>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<T>> {
    if Reader::is_null(p) {
        return r.null(p).map(|_| Vec::new());
    }
    let n = r.begin_array(p)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        r.begin_element()?;
        out.push(T::read_record(r)?);
    }
    Some(out)
}
