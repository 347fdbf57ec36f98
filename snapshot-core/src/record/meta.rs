//! Record metadata: the pairs whose names start with a dot, which say what
//! a record is (`.schema`, `.version`, `.min_reader`, an enum's
//! `.variant`). This module is their one owner: the writer the derive
//! calls, the checked read of the decoder, the fast read of the fast
//! path, and the lenient read of tools that look at records they may not
//! have types for (migrate, typed dumps).

use snapshot_nvlist::{Item, NvList, Pair, Reader, Value, Writer};

use crate::error::{Error, Result, ValueFault};
use crate::model::{wrong_type, Field};

/// Name of the pair holding the schema name.
pub const SCHEMA: &str = ".schema";
/// Name of the pair holding the version the record is stored in.
pub const VERSION: &str = ".version";
/// Name of the pair holding the oldest reader version that can decode the
/// record losslessly; absent when that is the record's own version.
pub const MIN_READER: &str = ".min_reader";
/// Name of the pair holding an enum's variant.
pub const VARIANT: &str = ".variant";

/// Whether a pair name is one of the record's metadata pairs: a field
/// name cannot start with a dot.
#[inline]
pub fn is_meta(name: &[u8]) -> bool {
    name.first() == Some(&b'.')
}

/// What a stored record says of itself, read leniently: `None` when `nv`
/// is not a record (no UTF-8 schema name, or no version in `1..=u32::MAX`).
/// An invalid `.min_reader` reads as the record's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta<'a> {
    /// The schema name.
    pub name: &'a str,
    /// The version the record is stored in.
    pub version: u32,
    /// The oldest reader version the record says decodes it.
    pub min_reader: u32,
}

impl<'a> Meta<'a> {
    /// The metadata of `nv`, if it is a record.
    pub fn read(nv: &'a NvList) -> Option<Meta<'a>> {
        let name = nv.get_string(SCHEMA).ok()?;
        let version = u32::try_from(nv.get_number(VERSION).ok()?)
            .ok()
            .filter(|v| *v > 0)?;
        let min_reader = nv
            .get_number(MIN_READER)
            .ok()
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| (1..=version).contains(m))
            .unwrap_or(version);
        Some(Meta {
            name,
            version,
            min_reader,
        })
    }
}

/// The stored version and minimum reader version of a record of schema
/// `expected`, checked: a missing or mistyped pair, another schema, a
/// version 0 or a minimum reader newer than the record are errors naming
/// the pair.
pub(crate) fn checked(nv: &NvList, expected: &str) -> Result<(u32, u32)> {
    let name = match nv.get(SCHEMA) {
        Some(Value::String(s)) => s,
        Some(other) => return Err(wrong_type("string", other).in_field(SCHEMA)),
        None => return Err(Error::value(ValueFault::NotARecord { missing: SCHEMA })),
    };
    if name.as_bytes() != expected.as_bytes() {
        return Err(Error::value(ValueFault::WrongSchema {
            expected: expected.to_owned(),
            found: name.to_string(),
        }));
    }
    let version = |key: &'static str, value: &Value, max: u32| -> Result<u32> {
        let value = u32::from_value(value).map_err(|e| e.in_field(key))?;
        if value == 0 || value > max {
            return Err(Error::value(ValueFault::BadVersion { value, max }).in_field(key));
        }
        Ok(value)
    };
    let stored = nv
        .get(VERSION)
        .ok_or_else(|| Error::value(ValueFault::NotARecord { missing: VERSION }))?;
    let stored = version(VERSION, stored, u32::MAX)?;
    let min_reader = match nv.get(MIN_READER) {
        Some(value) => version(MIN_READER, value, stored)?,
        None => stored,
    };
    Ok((stored, min_reader))
}

/// The stored variant name of an enum record, checked.
pub fn variant(nv: &NvList) -> Result<&str> {
    match nv.get(VARIANT) {
        Some(Value::String(s)) => s
            .to_str()
            .ok_or_else(|| Error::value(ValueFault::NotUtf8).in_field(VARIANT)),
        Some(other) => Err(wrong_type("string", other).in_field(VARIANT)),
        None => Err(Error::value(ValueFault::NotARecord { missing: VARIANT })),
    }
}

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
