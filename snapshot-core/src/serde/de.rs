//! A serde deserializer over stored values. Each `deserialize_*` reads
//! the value as the data model reads the Rust type it stands for
//! (through that type's `Field` impl for scalars), so a value the derive
//! would refuse (300 for a `u8`, a `NUMBER` for a string) is refused here
//! too, with the path of the value.

use std::borrow::Cow;

use ::serde::de::{self, DeserializeSeed, Visitor};
use ::serde::forward_to_deserialize_any;

use super::node::SOME;
use crate::error::{Error, Result, ValueFault};
use crate::model::{positional_values, Field, MapKey};
use crate::nvlist::{NvList, NvString, Type, Value};
use crate::record::meta::{self, is_meta, SCHEMA, VARIANT};

impl de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Error {
        Error::value(ValueFault::Serde(msg.to_string()))
    }
}

/// What is being read: a stored value, or one element of an array (which
/// has no `Value` of its own).
#[derive(Clone, Copy)]
enum Input<'de> {
    Value(&'de Value),
    List(&'de NvList),
    /// An element of a `BINARY` (a `u8` or, two's complement, an `i8`).
    Byte(u8),
    Number(u64),
    Bool(bool),
    Str(&'de NvString),
}

/// The deserializer of one stored value.
pub(super) struct Deserializer<'de> {
    input: Input<'de>,
}

impl<'de> Deserializer<'de> {
    pub(super) fn value(value: &'de Value) -> Deserializer<'de> {
        Deserializer {
            input: Input::Value(value),
        }
    }

    pub(super) fn list(list: &'de NvList) -> Deserializer<'de> {
        Deserializer {
            input: Input::List(list),
        }
    }

    /// The libnv type of the input, for errors.
    fn found(&self) -> Type {
        match self.input {
            Input::Value(v) => v.ty(),
            Input::List(_) => Type::NvList,
            Input::Byte(_) | Input::Number(_) => Type::Number,
            Input::Bool(_) => Type::Bool,
            Input::Str(_) => Type::String,
        }
    }

    fn wrong(&self, expected: &'static str) -> Error {
        Error::value(ValueFault::WrongType {
            expected,
            found: self.found(),
        })
    }

    /// The error for an array element of the wrong array type: the array
    /// should have been `expected`.
    fn in_array(&self, expected: &'static str) -> Error {
        Error::value(ValueFault::WrongType {
            expected,
            found: match self.input {
                Input::Number(_) => Type::NumberArray,
                Input::Byte(_) => Type::Binary,
                Input::Bool(_) => Type::BoolArray,
                Input::Str(_) => Type::StringArray,
                Input::List(_) => Type::NvListArray,
                Input::Value(v) => v.ty(),
            },
        })
    }

    /// The input as a list, if it is one.
    fn as_list(&self) -> Option<&'de NvList> {
        match self.input {
            Input::List(l) | Input::Value(Value::NvList(l)) => Some(l),
            _ => None,
        }
    }

    /// The input read as the scalar `T`, by `T`'s own `Field` impl. An
    /// element of a `BINARY` is a byte, read by `deserialize_u8` and
    /// `deserialize_i8` only, as `Vec<u8>` and `Vec<i8>` store them.
    fn read<T: Field>(&self, expected: &'static str) -> Result<T> {
        let value = match self.input {
            Input::Value(v) => Cow::Borrowed(v),
            Input::List(_) => return Err(self.wrong(expected)),
            Input::Byte(_) => return Err(self.in_array(expected)),
            Input::Number(n) => Cow::Owned(Value::Number(n)),
            Input::Bool(b) => Cow::Owned(Value::Bool(b)),
            Input::Str(s) => Cow::Owned(Value::String(s.clone())),
        };
        T::from_value(&value)
    }

    /// The input as a record of schema `name` stored for the bridge: its
    /// list, checked as a reader of version 1 checks it. std's `Duration`
    /// and `Range` are lists without metadata (as the derive stores them).
    fn record(&self, name: &'static str) -> Result<&'de NvList> {
        let list = self.as_list().ok_or_else(|| self.wrong("nvlist"))?;
        let plain = matches!(name, "Duration" | "Range");
        if !plain || list.get(SCHEMA).is_some() {
            let (stored, _) = meta::checked(list, name)?;
            if stored != 1 {
                return Err(Error::value(ValueFault::Serde(format!(
                    "stored in version {stored}: the serde bridge reads records of version 1; \
                     read it with the type's derive, which knows its history"
                ))));
            }
        }
        Ok(list)
    }

    /// The elements of a stored sequence.
    fn items(&self) -> Result<Items<'de>> {
        Ok(match self.input {
            Input::Value(Value::Null) => Items::Positional(Vec::new().into_iter(), 0),
            Input::Value(Value::Binary(b)) => Items::Bytes(b.iter(), 0),
            Input::Value(Value::NumberArray(a)) => Items::Numbers(a.iter(), 0),
            Input::Value(Value::BoolArray(a)) => Items::Bools(a.iter(), 0),
            Input::Value(Value::StringArray(a)) => Items::Strs(a.iter(), 0),
            Input::Value(Value::NvListArray(a)) => Items::Lists(a.iter(), 0),
            Input::Value(Value::NvList(l)) | Input::List(l) => {
                Items::Positional(positional_values(l)?.into_iter(), 0)
            }
            _ => return Err(self.wrong("a sequence: an array, a positional nvlist or null")),
        })
    }

    /// The values of a record's fields `0`, `1`, ..., `len - 1`.
    fn tuple_fields(list: &'de NvList, len: usize) -> Result<Items<'de>> {
        let values = fields(list)
            .enumerate()
            .map(|(i, (name, value))| {
                if name.as_bytes() == i.to_string().as_bytes() {
                    Ok(value)
                } else {
                    Err(Error::value(ValueFault::BadPosition { index: i }))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if values.len() != len {
            return Err(Error::value(ValueFault::BadLength {
                expected: len,
                found: values.len(),
            }));
        }
        Ok(Items::Positional(values.into_iter(), 0))
    }
}

/// The pairs of a record that are fields: all but its metadata.
fn fields(list: &NvList) -> impl Iterator<Item = (&NvString, &Value)> {
    list.iter().filter(|(name, _)| !is_meta(name.as_bytes()))
}

/// The elements of a stored sequence, each with its position for paths.
enum Items<'de> {
    Bytes(std::slice::Iter<'de, u8>, usize),
    Numbers(std::slice::Iter<'de, u64>, usize),
    Bools(std::slice::Iter<'de, bool>, usize),
    Strs(std::slice::Iter<'de, NvString>, usize),
    Lists(std::slice::Iter<'de, NvList>, usize),
    /// A positional list's values (named `.i` in paths).
    Positional(std::vec::IntoIter<&'de Value>, usize),
}

impl<'de> Items<'de> {
    fn len(&self) -> usize {
        match self {
            Items::Bytes(i, _) => i.len(),
            Items::Numbers(i, _) => i.len(),
            Items::Bools(i, _) => i.len(),
            Items::Strs(i, _) => i.len(),
            Items::Lists(i, _) => i.len(),
            Items::Positional(i, _) => i.len(),
        }
    }
}

impl<'de> de::SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let (input, index, positional) = match self {
            Items::Bytes(i, n) => (i.next().map(|b| Input::Byte(*b)), n, false),
            Items::Numbers(i, n) => (i.next().map(|x| Input::Number(*x)), n, false),
            Items::Bools(i, n) => (i.next().map(|b| Input::Bool(*b)), n, false),
            Items::Strs(i, n) => (i.next().map(Input::Str), n, false),
            Items::Lists(i, n) => (i.next().map(Input::List), n, false),
            Items::Positional(i, n) => (i.next().map(Input::Value), n, true),
        };
        let Some(input) = input else {
            return Ok(None);
        };
        let i = *index;
        *index += 1;
        seed.deserialize(Deserializer { input })
            .map(Some)
            .map_err(|e| {
                if positional {
                    e.in_field(&i.to_string())
                } else {
                    e.in_index(i)
                }
            })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// The fields of a record (or the pairs of a plain list), keys by name.
struct Pairs<'de, I> {
    pairs: I,
    value: Option<(&'de NvString, &'de Value)>,
}

impl<'de, I: Iterator<Item = (&'de NvString, &'de Value)>> de::MapAccess<'de> for Pairs<'de, I> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((name, value)) = self.pairs.next() else {
            return Ok(None);
        };
        self.value = Some((name, value));
        seed.deserialize(Name(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let (name, value) = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a map value asked for before its key"))?;
        seed.deserialize(Deserializer::value(value))
            .map_err(|e| e.in_field(&name.to_string_lossy()))
    }
}

/// The `{ key, value }` entries of a map whose keys are not names.
struct Entries<'de> {
    entries: std::iter::Enumerate<std::slice::Iter<'de, NvList>>,
    value: Option<(usize, &'de NvList)>,
}

/// Part `name` of map entry `i`.
fn entry_part<'de>(entry: &'de NvList, i: usize, name: &str) -> Result<&'de Value> {
    entry
        .get(name)
        .ok_or_else(|| Error::value(ValueFault::Missing).in_field(name).in_index(i))
}

impl<'de> de::MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((i, entry)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((i, entry));
        let key = entry_part(entry, i, "key")?;
        seed.deserialize(Deserializer::value(key))
            .map(Some)
            .map_err(|e| e.in_field("key").in_index(i))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let (i, entry) = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a map value asked for before its key"))?;
        let value = entry_part(entry, i, "value")?;
        seed.deserialize(Deserializer::value(value))
            .map_err(|e| e.in_field("value").in_index(i))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A pair name read as a map key or a field name: integers by the key
/// type's [`MapKey::from_name`] (decimal, as written), anything else as
/// the string.
struct Name<'de>(&'de NvString);

impl<'de> Name<'de> {
    fn key<T: MapKey>(&self, ty: &'static str) -> Result<T> {
        self.0.to_str().and_then(T::from_name).ok_or_else(|| {
            Error::value(ValueFault::OutOfRange {
                ty,
                value: self.0.to_string_lossy().into_owned(),
            })
        })
    }
}

macro_rules! integer_name {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.$visit(self.key::<$t>(concat!("a key of type ", stringify!($t)))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Name<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.to_str() {
            Some(s) => visitor.visit_borrowed_str(s),
            None => visitor.visit_borrowed_bytes(self.0.as_bytes()),
        }
    }

    integer_name!(
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64,
        deserialize_u128 visit_u128 u128, deserialize_i8 visit_i8 i8,
        deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_i128 visit_i128 i128
    );

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool f32 f64 char str string bytes byte_buf option unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

macro_rules! scalar {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.$visit(self.read::<$t>("number")?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Deserializer<'de> {
    type Error = Error;

    /// Without a type to say what to read (untagged enums, flattening,
    /// self-describing targets): the value as libnv types it. A list
    /// whose pairs are named by position is a sequence; any other a map
    /// of its fields.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Value(Value::Null) => visitor.visit_unit(),
            Input::Value(Value::Bool(b)) => visitor.visit_bool(*b),
            Input::Bool(b) => visitor.visit_bool(b),
            Input::Value(Value::Number(n)) => visitor.visit_u64(*n),
            Input::Number(n) => visitor.visit_u64(n),
            Input::Byte(b) => visitor.visit_u8(b),
            Input::Value(Value::String(s)) | Input::Str(s) => Name(s).deserialize_any(visitor),
            Input::Value(Value::Binary(b)) => visitor.visit_borrowed_bytes(b),
            Input::Value(Value::NvList(l)) | Input::List(l) => {
                let positional = !l.is_empty() && positional_values(l).is_ok();
                if positional {
                    visitor.visit_seq(self.items()?)
                } else {
                    visitor.visit_map(Pairs {
                        pairs: fields(l),
                        value: None,
                    })
                }
            }
            Input::Value(_) => visitor.visit_seq(self.items()?),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bool(self.read::<bool>("bool")?)
    }

    /// Bytes in a sequence are a `BINARY`, never a number array.
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Byte(b) => visitor.visit_u8(b),
            Input::Number(_) => Err(self.in_array("binary")),
            _ => visitor.visit_u8(self.read::<u8>("number")?),
        }
    }

    /// An element of a `BINARY` is the byte's two's complement, as
    /// `Vec<i8>` stores it.
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Byte(b) => visitor.visit_i8(b as i8),
            Input::Number(_) => Err(self.in_array("binary")),
            _ => visitor.visit_i8(self.read::<i8>("number")?),
        }
    }

    scalar!(
        deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32,
        deserialize_u64 visit_u64 u64, deserialize_u128 visit_u128 u128,
        deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_i128 visit_i128 i128,
        deserialize_f32 visit_f32 f32, deserialize_f64 visit_f64 f64,
        deserialize_char visit_char char
    );

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Value(Value::String(s)) | Input::Str(s) if s.to_str().is_some() => {
                visitor.visit_borrowed_str(s.to_str().expect("checked"))
            }
            _ => visitor.visit_string(self.read::<String>("string")?),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Value(Value::Binary(b)) => visitor.visit_borrowed_bytes(b),
            Input::Value(Value::Null) => visitor.visit_borrowed_bytes(&[]),
            _ => Err(self.wrong("binary or null")),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    /// `None` is `NULL`; `Some(x)` is `x`, or `{ some = x }` when `x` may
    /// itself be `NULL`, as `Option` stores it.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if let Input::Value(Value::Null) = self.input {
            return visitor.visit_none();
        }
        if let Some(list) = self.as_list() {
            let mut pairs = list.iter();
            if let (Some((name, inner)), None) = (pairs.next(), pairs.next()) {
                if name == SOME {
                    return visitor
                        .visit_some(Deserializer::value(inner))
                        .map_err(|e| e.in_field(SOME));
                }
            }
        }
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Value(Value::Null) => visitor.visit_unit(),
            _ => Err(self.wrong("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        let list = self.record(name)?;
        if let Some((field, _)) = fields(list).next() {
            return Err(Error::value(ValueFault::Unknown).in_field(&field.to_string_lossy()));
        }
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        let list = self.record(name)?;
        let mut items = Deserializer::tuple_fields(list, 1)?;
        let Items::Positional(values, _) = &mut items else {
            unreachable!("tuple fields are positional")
        };
        let inner = values.next().expect("one field, checked");
        visitor
            .visit_newtype_struct(Deserializer::value(inner))
            .map_err(|e| e.in_field("0"))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(self.items()?)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        let items = self.items()?;
        if items.len() != len {
            return Err(Error::value(ValueFault::BadLength {
                expected: len,
                found: items.len(),
            }));
        }
        visitor.visit_seq(items)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        let list = self.record(name)?;
        visitor.visit_seq(Deserializer::tuple_fields(list, len)?)
    }

    /// A list of pairs named by the keys, `{ key, value }` entries, or
    /// `NULL` for an empty map.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.input {
            Input::Value(Value::Null) => visitor.visit_map(Pairs {
                pairs: std::iter::empty(),
                value: None,
            }),
            Input::Value(Value::NvListArray(entries)) => visitor.visit_map(Entries {
                entries: entries.iter().enumerate(),
                value: None,
            }),
            _ => match self.as_list() {
                Some(list) => visitor.visit_map(Pairs {
                    pairs: list.iter(),
                    value: None,
                }),
                None => Err(self.wrong("nvlist, nvlist[] or null")),
            },
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let list = self.record(name)?;
        visitor.visit_map(Pairs {
            pairs: fields(list),
            value: None,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let list = self.record(name)?;
        let variant = match list.get(VARIANT) {
            Some(Value::String(s)) => s,
            Some(other) => return Err(crate::model::wrong_type("string", other).in_field(VARIANT)),
            None => return Err(Error::value(ValueFault::NotARecord { missing: VARIANT })),
        };
        visitor.visit_enum(Enum { list, variant })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    /// Addresses as text, as the serializer writes them.
    fn is_human_readable(&self) -> bool {
        true
    }
}

/// An enum's record: the variant by its `.variant`, the fields after.
struct Enum<'de> {
    list: &'de NvList,
    variant: &'de NvString,
}

impl<'de> de::EnumAccess<'de> for Enum<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let value = seed
            .deserialize(Name(self.variant))
            .map_err(|e| e.in_field(VARIANT))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        match fields(self.list).next() {
            Some((field, _)) => {
                Err(Error::value(ValueFault::Unknown).in_field(&field.to_string_lossy()))
            }
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value> {
        let mut items = Deserializer::tuple_fields(self.list, 1)?;
        let Items::Positional(values, _) = &mut items else {
            unreachable!("tuple fields are positional")
        };
        let inner = values.next().expect("one field, checked");
        seed.deserialize(Deserializer::value(inner))
            .map_err(|e| e.in_field("0"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Deserializer::tuple_fields(self.list, len)?)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_map(Pairs {
            pairs: fields(self.list),
            value: None,
        })
    }
}
