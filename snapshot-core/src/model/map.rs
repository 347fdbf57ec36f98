//! Maps: `BTreeMap` and `HashMap`, stored in key order whatever the
//! insertion order or hasher, so equal maps are equal bytes.
//!
//! A map whose keys can all be pair names is a list of pairs, one per
//! entry, named by the key (`{ "0000:00:01.0" = ..., vda = ... }`; integer
//! keys in decimal): readable in a dump, reachable by a value path. Keys
//! that cannot be names (a key type of the program's own, a string with a
//! NUL) make it an nvlist array of `{ key = ..., value = ... }` entries,
//! told apart by its type. Values that are records keep their own
//! versions, like the elements of an array of records.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use super::{wrong_type, Field};
use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{NvList, Value, NAME_MAX};
use crate::record::RecordSchemas;

/// A type that keys a map field. Strings and integers are pair names; any
/// other `Field + Ord` type keys a map stored as entries with an empty
/// implementation: `impl MapKey for MyKey {}`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot key a map field",
    label = "not a map key",
    note = "strings and integers key maps as pair names; a key type of the program's own stores \
            the map as {{ key, value }} entries: add `impl snapshot_core::MapKey for {Self} {{}}`"
)]
pub trait MapKey: Field + Ord {
    /// The pair name the key is stored under, when it can be one.
    fn to_name(&self) -> Option<String> {
        None
    }

    /// The key a pair name stands for; `None` for a name this type never
    /// writes (so the stored form stays canonical).
    fn from_name(name: &str) -> Option<Self> {
        let _ = name;
        None
    }
}

impl MapKey for String {
    fn to_name(&self) -> Option<String> {
        let ok = !self.contains('\0') && self.len() <= NAME_MAX;
        ok.then(|| self.clone())
    }
    fn from_name(name: &str) -> Option<Self> {
        Some(name.to_owned())
    }
}

macro_rules! integer_keys {
    ($($t:ty),*) => {$(
        /// In decimal, as `to_string` writes it and nothing else.
        impl MapKey for $t {
            fn to_name(&self) -> Option<String> {
                Some(self.to_string())
            }
            fn from_name(name: &str) -> Option<Self> {
                name.parse::<$t>().ok().filter(|k| k.to_string() == name)
            }
        }
    )*};
}

integer_keys!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// The stored form of entries in key order.
fn map_to_value<'a, K: MapKey + 'a, V: Field + 'a>(mut entries: Vec<(&'a K, &'a V)>) -> Value {
    if entries.is_empty() {
        return Value::Null;
    }
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let names: Option<Vec<String>> = entries.iter().map(|(k, _)| k.to_name()).collect();
    match names {
        Some(names) => {
            let mut list = NvList::new();
            for (name, (_, v)) in names.into_iter().zip(&entries) {
                // Keys are distinct, so are their names.
                list.push_unchecked(name.into(), v.to_value());
            }
            Value::NvList(list)
        }
        None => Value::NvListArray(
            entries
                .iter()
                .map(|(k, v)| {
                    NvList::new()
                        .with("key", k.to_value())
                        .with("value", v.to_value())
                })
                .collect(),
        ),
    }
}

/// Reads the entries of a stored map into `insert`, which says whether
/// the key was new; a key stored twice is refused.
fn map_from_value<K: MapKey, V: Field>(
    value: &Value,
    mut insert: impl FnMut(K, V) -> bool,
) -> Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::NvList(list) => {
            for (name, v) in list.iter() {
                let field = name.to_string_lossy();
                let key = name.to_str().and_then(K::from_name).ok_or_else(|| {
                    Error::value(ValueFault::OutOfRange {
                        ty: "a key of this map",
                        value: field.clone().into_owned(),
                    })
                })?;
                let v = V::from_value(v).map_err(|e| e.in_field(&field))?;
                if !insert(key, v) {
                    return Err(Error::value(ValueFault::Duplicate).in_field(&field));
                }
            }
            Ok(())
        }
        Value::NvListArray(entries) => {
            for (i, entry) in entries.iter().enumerate() {
                let part = |name: &str| match entry.get(name) {
                    Some(v) => Ok(v),
                    None => Err(Error::value(ValueFault::Missing).in_field(name).in_index(i)),
                };
                let key = K::from_value(part("key")?).map_err(|e| e.in_field("key").in_index(i))?;
                let v =
                    V::from_value(part("value")?).map_err(|e| e.in_field("value").in_index(i))?;
                if !insert(key, v) {
                    return Err(Error::value(ValueFault::Duplicate).in_index(i));
                }
            }
            Ok(())
        }
        other => Err(wrong_type("nvlist, nvlist[] or null", other)),
    }
}

impl<K: MapKey, V: Field> Field for BTreeMap<K, V> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        map_to_value(self.iter().collect())
    }
    fn from_value(value: &Value) -> Result<Self> {
        let mut map = BTreeMap::new();
        map_from_value(value, |k, v| map.insert(k, v).is_none())?;
        Ok(map)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        K::record_schemas(out);
        V::record_schemas(out);
    }
}

impl<K: MapKey + Hash, V: Field, S: BuildHasher + Default> Field for HashMap<K, V, S> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        map_to_value(self.iter().collect())
    }
    fn from_value(value: &Value) -> Result<Self> {
        let mut map = HashMap::default();
        map_from_value(value, |k, v| map.insert(k, v).is_none())?;
        Ok(map)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        K::record_schemas(out);
        V::record_schemas(out);
    }
}
