//! The data model: how Rust values are stored in nvlists.
//!
//! Use this module when a field's type is not covered yet: implement
//! [`Field`] for it (a newtype usually delegates to its inner type). Records
//! (structs and enums with `#[derive(Snapshot)]`) implement it through the
//! derive. The mapping is specified, with examples, in `docs/data-model.md`;
//! in short, every integer is a `NUMBER` (signed ones as 64-bit two's
//! complement), floats are the bits of their `f64` value, byte sequences are
//! `BINARY`, other sequences are arrays, empty sequences and `None` are
//! `NULL` pairs, and records are nested nvlists that carry their schema name
//! and version.

pub mod by_name;
pub use map::MapKey;
mod map;
mod scalar;
mod seq;
mod std_types;

use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{NvList, Pair, Reader, Value, Writer};
use crate::record::RecordSchemas;

/// A Rust type that can be stored as the value of one nvlist pair, losslessly.
///
/// `from_value(&x.to_value())` gives back `x` for every `x`, and the value
/// is always one libnv can pack (no empty array, no empty binary).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a type the snapshot data model stores",
    note = "fields are integers, floats, bool, char, String, the standard types of \
            docs/data-model.md (Vec, maps, sets, Option, Duration, PathBuf, ...), records \
            (`#[derive(Snapshot)]`), or types with their own `impl Field`; a type of another \
            crate is stored through `#[snapshot(with = module, stored = Type)]` or, with serde \
            impls, `#[snapshot(serde)]`"
)]
pub trait Field: Sized {
    /// Whether [`Field::to_value`] can return [`Value::Null`]: `Option<Self>`
    /// then wraps `Some` so that it stays distinct from `None`.
    const NULLABLE: bool = false;

    /// The value stored for `self`.
    fn to_value(&self) -> Value;

    /// The Rust value of a stored value. Errors carry the fault; the caller
    /// prepends the path.
    fn from_value(value: &Value) -> Result<Self>;

    /// Writes `self` as the pair `name` straight into a packed list: the
    /// same bytes as packing [`Field::to_value`], which is the default.
    /// Types override it to skip building the value.
    fn write(&self, name: &str, w: &mut Writer) {
        w.value(name, &self.to_value());
    }

    /// Writes a sequence as the pair `name`: the same bytes as packing
    /// [`Field::seq_to_value`], which is the default.
    fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
        w.value(name, &Self::seq_to_value(items));
    }

    /// Reads the value of the pair `p` straight from packed bytes: the fast
    /// path of [`Snapshot::from_bytes`](crate::Snapshot::from_bytes). It
    /// must give what [`Field::from_value`] gives, or `None`, which sends
    /// the whole input to the checked path (that one also names faults).
    /// The default always does.
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        let _ = (r, p);
        None
    }

    /// [`Field::read`] for a sequence.
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        let _ = (r, p);
        None
    }

    /// [`Field::read`] for an array of exactly `N` items. Numbers and
    /// bytes read straight into the array; the default goes through
    /// [`Field::read_seq`] and a `Vec`.
    fn read_array<const N: usize>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<[Self; N]>
    where
        Self: Sized,
    {
        Self::read_seq(r, p)?.try_into().ok()
    }

    /// The value stored for a sequence of `Self` (`Vec<Self>`, `[Self; N]`).
    /// Types with a libnv array type override it; the default is a
    /// positional list (see [`positional`]), and an empty sequence is `NULL`.
    fn seq_to_value(items: &[Self]) -> Value {
        if items.is_empty() {
            return Value::Null;
        }
        Value::NvList(positional(items.iter().map(Field::to_value)))
    }

    /// The sequence stored by [`Field::seq_to_value`].
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        from_positional_or_null(value)
    }

    /// Adds the schema of every record type a `Self` holds (itself, when
    /// it is a record) to `out`, so that nested records can be written for
    /// an older reader
    /// ([`Snapshot::to_nvlist_for_versions`](crate::Snapshot::to_nvlist_for_versions)).
    /// The default adds none; containers add their elements'. A type of
    /// your own that holds records (a newtype around one) must forward
    /// it, or the records inside keep their current version.
    fn record_schemas(out: &mut RecordSchemas) {
        let _ = out;
    }
}

/// The default [`Field::seq_from_value`]: a positional list, or `NULL` for
/// an empty sequence.
fn from_positional_or_null<T: Field>(value: &Value) -> Result<Vec<T>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::NvList(list) => positional_values(list)?
            .into_iter()
            .enumerate()
            // Pair `i` of the list: a value path names it `.i`, not `[i]`.
            .map(|(i, v)| T::from_value(v).map_err(|e| e.in_field(&i.to_string())))
            .collect(),
        other => Err(wrong_type("nvlist or null", other)),
    }
}

/// A positional list: an nvlist whose pairs are named `0`, `1`, ... in
/// order. Tuples and sequences of types without a libnv array type are
/// stored this way.
pub fn positional(values: impl Iterator<Item = Value>) -> NvList {
    let mut list = NvList::new();
    for (i, value) in values.enumerate() {
        list.push_unchecked(i.to_string().into(), value);
    }
    list
}

/// The values of a positional list, checking that pair `i` is named `i`.
pub fn positional_values(list: &NvList) -> Result<Vec<&Value>> {
    list.iter()
        .enumerate()
        .map(|(i, (name, value))| {
            if name.as_bytes() == i.to_string().as_bytes() {
                Ok(value)
            } else {
                Err(Error::value(ValueFault::BadPosition { index: i }))
            }
        })
        .collect()
}

/// The error for a value of the wrong libnv type.
pub fn wrong_type(expected: &'static str, found: &Value) -> Error {
    Error::value(ValueFault::WrongType {
        expected,
        found: found.ty(),
    })
}
