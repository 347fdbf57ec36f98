//! Containers: `Vec`, `VecDeque`, sets, arrays, `Option`, `Box`, tuples,
//! `()`, and a raw `NvList` or `Value`.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};

use super::{positional, positional_values, wrong_type, Field};
use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{NvList, Pair, Reader, Value, Writer};
use crate::record::RecordSchemas;

/// A sequence is stored as its element type says ([`Field::seq_to_value`]).
impl<T: Field> Field for Vec<T> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        T::seq_to_value(self)
    }
    fn write(&self, name: &str, w: &mut Writer) {
        T::write_seq(self, name, w);
    }
    #[inline]
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        T::read_seq(r, p)
    }
    fn from_value(value: &Value) -> Result<Self> {
        T::seq_from_value(value)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// A deque is stored as the sequence of its items, front first: as a
/// `Vec` of them.
impl<T: Field + Clone> Field for VecDeque<T> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        T::seq_to_value(&self.iter().cloned().collect::<Vec<T>>())
    }
    fn from_value(value: &Value) -> Result<Self> {
        T::seq_from_value(value).map(VecDeque::from)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// A set is stored as the sequence of its items in their order (`Ord`),
/// whatever its hasher or the order they were inserted in: equal sets are
/// equal bytes. An item stored twice is refused.
fn set_to_value<'a, T: Field + Ord + Clone + 'a>(items: impl Iterator<Item = &'a T>) -> Value {
    let mut items: Vec<T> = items.cloned().collect();
    items.sort();
    T::seq_to_value(&items)
}

/// The items of a stored set, each once.
fn set_items<T: Field>(value: &Value, mut insert: impl FnMut(T) -> bool) -> Result<()> {
    for (i, item) in T::seq_from_value(value)?.into_iter().enumerate() {
        if !insert(item) {
            return Err(Error::value(ValueFault::Duplicate).in_index(i));
        }
    }
    Ok(())
}

impl<T: Field + Ord + Clone> Field for BTreeSet<T> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        set_to_value(self.iter())
    }
    fn from_value(value: &Value) -> Result<Self> {
        let mut set = BTreeSet::new();
        set_items(value, |item| set.insert(item))?;
        Ok(set)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

impl<T: Field + Ord + Clone + Hash, S: BuildHasher + Default> Field for HashSet<T, S> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        set_to_value(self.iter())
    }
    fn from_value(value: &Value) -> Result<Self> {
        let mut set = HashSet::default();
        set_items(value, |item| set.insert(item))?;
        Ok(set)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// An array is stored as a sequence and must be read back with its length.
impl<T: Field, const N: usize> Field for [T; N] {
    const NULLABLE: bool = N == 0;

    fn to_value(&self) -> Value {
        T::seq_to_value(self)
    }
    fn write(&self, name: &str, w: &mut Writer) {
        T::write_seq(self, name, w);
    }
    #[inline]
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        T::read_array(r, p)
    }
    fn from_value(value: &Value) -> Result<Self> {
        let items = T::seq_from_value(value)?;
        let found = items.len();
        items
            .try_into()
            .map_err(|_| Error::value(ValueFault::BadLength { expected: N, found }))
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// The name of the one pair of the list that wraps `Some(x)` when `x`
/// itself may be stored as `NULL`.
const SOME: &str = "some";

/// `None` is `NULL`; `Some(x)` is `x`, wrapped in a one-pair list
/// `{some: x}` when `x` may itself be `NULL` (an empty `Vec`, a `None`).
impl<T: Field> Field for Option<T> {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        match self {
            None => Value::Null,
            Some(x) if T::NULLABLE => {
                let mut list = NvList::new();
                list.push_unchecked(SOME.into(), x.to_value());
                Value::NvList(list)
            }
            Some(x) => x.to_value(),
        }
    }
    fn write(&self, name: &str, w: &mut Writer) {
        match self {
            None => w.null(name),
            Some(x) if !T::NULLABLE => x.write(name, w),
            Some(_) => w.value(name, &self.to_value()),
        }
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        if Reader::is_null(p) {
            r.null(p).map(|_| None)
        } else if T::NULLABLE {
            None
        } else {
            T::read(r, p).map(Some)
        }
    }
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            Value::NvList(list) if T::NULLABLE => match list.iter().next() {
                Some((name, inner)) if list.len() == 1 && name == SOME => {
                    T::from_value(inner).map(Some).map_err(|e| e.in_field(SOME))
                }
                _ => Err(wrong_type("nvlist {some} or null", value)),
            },
            other if T::NULLABLE => Err(wrong_type("nvlist {some} or null", other)),
            other => T::from_value(other).map(Some),
        }
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// A box is stored as its content.
impl<T: Field> Field for Box<T> {
    const NULLABLE: bool = T::NULLABLE;

    fn to_value(&self) -> Value {
        (**self).to_value()
    }
    fn write(&self, name: &str, w: &mut Writer) {
        (**self).write(name, w);
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        T::read(r, p).map(Box::new)
    }
    fn from_value(value: &Value) -> Result<Self> {
        T::from_value(value).map(Box::new)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// The unit value is `NULL`.
impl Field for () {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        Value::Null
    }
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Null => Ok(()),
            other => Err(wrong_type("null", other)),
        }
    }
}

/// A raw nvlist is stored as it is: an escape hatch for state whose shape
/// the Rust type does not fix.
impl Field for NvList {
    fn to_value(&self) -> Value {
        Value::NvList(self.clone())
    }
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::NvList(list) => Ok(list.clone()),
            other => Err(wrong_type("nvlist", other)),
        }
    }
}

/// A raw value is stored as it is: what a `#[snapshot(serde)]` field
/// holds, and an escape hatch for a field whose type the Rust code does
/// not fix. It must be one libnv can pack (no empty array or binary).
impl Field for Value {
    const NULLABLE: bool = true;

    fn to_value(&self) -> Value {
        self.clone()
    }
    fn from_value(value: &Value) -> Result<Self> {
        Ok(value.clone())
    }
}

macro_rules! tuple {
    ($len:literal: $($t:ident $i:tt),+) => {
        /// A tuple is a positional list: pairs `0`, `1`, ... in order.
        impl<$($t: Field),+> Field for ($($t,)+) {
            fn to_value(&self) -> Value {
                Value::NvList(positional([$(self.$i.to_value()),+].into_iter()))
            }
            fn from_value(value: &Value) -> Result<Self> {
                let Value::NvList(list) = value else {
                    return Err(wrong_type("nvlist", value));
                };
                if list.len() != $len {
                    return Err(Error::value(ValueFault::BadLength {
                        expected: $len,
                        found: list.len(),
                    }));
                }
                let values = positional_values(list)?;
                Ok(($($t::from_value(values[$i]).map_err(|e| e.in_field(stringify!($i)))?,)+))
            }
            fn record_schemas(out: &mut RecordSchemas) {
                $($t::record_schemas(out);)+
            }
        }
    };
}

tuple!(1: A 0);
tuple!(2: A 0, B 1);
tuple!(3: A 0, B 1, C 2);
tuple!(4: A 0, B 1, C 2, D 3);
tuple!(5: A 0, B 1, C 2, D 3, E 4);
tuple!(6: A 0, B 1, C 2, D 3, E 4, F 5);
