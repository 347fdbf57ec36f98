//! Support for the code `#[derive(Snapshot)]` generates. Not a public API:
//! it changes whenever the derive does.

pub use crate::compat::Suite;
pub use crate::error::{Error, Result};
pub use crate::model::Field;
pub use crate::nvlist::{Item, NvList, Pair, Reader, Value, Writer};
pub use crate::record::{RecordSchemas, Snapshot, MIN_READER, SCHEMA, VARIANT, VERSION};
pub use crate::schema::{
    Body, DefaultValue, FieldSchema, FormerName, Migration, Removed, Schema, Variant, Widened,
};
pub use std::option::Option::{self, None, Some};
pub use std::result::Result::{Err, Ok};
pub use std::sync::atomic::AtomicUsize;
pub use std::vec;

use crate::error::ValueFault;
use crate::model::wrong_type;

/// Writes a record's metadata: its schema name and version. Always
/// inlined, so the name is copied as the constant it is.
#[inline(always)]
pub fn start(w: &mut Writer, name: &'static str, version: u32) {
    w.string(SCHEMA, name.as_bytes());
    w.number(VERSION, version.into());
}

/// Writes the minimum reader version computed while writing the fields,
/// when it is below the record's version (an absent one means equal).
#[inline]
pub fn finish(w: &mut Writer, min_reader: u32, version: u32) {
    if min_reader < version {
        w.number(MIN_READER, min_reader.into());
    }
}

/// Writes an enum's variant name.
#[inline]
pub fn variant_name(w: &mut Writer, name: &'static str) {
    w.string(VARIANT, name.as_bytes());
}

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

/// The value of a field that must be stored.
#[inline]
pub fn required<T>(slot: Option<T>, name: &str) -> Result<T> {
    slot.ok_or_else(|| Error::value(ValueFault::Missing).in_field(name))
}

/// Whether a stored name is a metadata pair.
#[inline]
pub fn is_meta(name: &[u8]) -> bool {
    crate::record::is_meta(name)
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

/// The stored variant name of an enum record.
pub fn variant(nv: &NvList) -> Result<&str> {
    match nv.get(VARIANT) {
        Some(Value::String(s)) => s
            .to_str()
            .ok_or_else(|| Error::value(ValueFault::NotUtf8).in_field(VARIANT)),
        Some(other) => Err(wrong_type("string", other).in_field(VARIANT)),
        None => Err(Error::value(ValueFault::NotARecord { missing: VARIANT })),
    }
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

/// The next pair of the open list, which must be called `name`.
#[inline(always)]
fn named<'a>(r: &mut Reader<'a>, name: &str) -> Option<Pair<'a>> {
    match r.item()? {
        Item::Pair(p) if p.name == name.as_bytes() => Some(p),
        _ => None,
    }
}

/// Reads a record's metadata on the fast path: its schema name and
/// version first, in the order the writer puts them, for the current
/// version. Always inlined, so the name is compared as the constant it is.
#[inline(always)]
pub fn read_meta(r: &mut Reader<'_>, name: &str, version: u32) -> Option<()> {
    let p = named(r, SCHEMA)?;
    r.string_is(&p, name.as_bytes())?;
    let p = named(r, VERSION)?;
    (r.number(&p)? == u64::from(version)).then_some(())
}

/// Reads a `.min_reader` pair on the fast path, which the writer puts
/// after the fields. A record in the current version does not need it,
/// but it must be valid, once: `1..=version`.
#[inline]
pub fn read_min_reader(
    r: &mut Reader<'_>,
    p: &Pair<'_>,
    seen: &mut bool,
    version: u32,
) -> Option<()> {
    let min_reader = r.number(p)?;
    let valid = !*seen && (1..=u64::from(version)).contains(&min_reader);
    *seen = true;
    valid.then_some(())
}

/// Reads an enum's variant name on the fast path: the pair right after
/// the metadata.
#[inline]
pub fn read_variant<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    let p = named(r, VARIANT)?;
    r.string(&p)
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
