//! A serde serializer building the [`Node`] tree.

use std::borrow::Cow;

use ::serde::ser::{self, Serialize};

use super::node::Node;
use crate::error::{Error, Result, ValueFault};

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Error {
        Error::value(ValueFault::Serde(msg.to_string()))
    }
}

/// The tree of `value`.
pub(super) fn to_node<T: Serialize + ?Sized>(value: &T) -> Result<Node> {
    value.serialize(NodeSerializer)
}

struct NodeSerializer;

/// Structs that the data model stores as plain lists, without record
/// metadata: std's types, by the name and fields serde gives them.
fn is_plain(name: &str, fields: &[(Cow<'static, str>, Node)]) -> bool {
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_ref()).collect();
    matches!(
        (name, names.as_slice()),
        ("Duration", ["secs", "nanos"]) | ("Range", ["start", "end"])
    )
}

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = Error;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Fields;
    type SerializeTupleVariant = Fields;
    type SerializeMap = Entries;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Fields;

    /// Addresses as text (`10.0.0.2`), as the data model stores them.
    fn is_human_readable(&self) -> bool {
        true
    }

    fn serialize_bool(self, v: bool) -> Result<Node> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node> {
        Ok(Node::I8(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Node> {
        Ok(Node::Signed(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Node> {
        Ok(Node::Signed(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Node> {
        Ok(Node::Signed(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Node> {
        Ok(Node::I128(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Node> {
        Ok(Node::U8(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Node> {
        Ok(Node::Unsigned(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Node> {
        Ok(Node::Unsigned(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Node> {
        Ok(Node::Unsigned(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Node> {
        Ok(Node::U128(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Node> {
        Ok(Node::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Node> {
        Ok(Node::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Node> {
        Ok(Node::Char(v))
    }
    fn serialize_str(self, v: &str) -> Result<Node> {
        Ok(Node::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Node> {
        Ok(Node::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Node> {
        Ok(Node::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node> {
        Ok(Node::Some(Box::new(to_node(value)?)))
    }
    fn serialize_unit(self) -> Result<Node> {
        Ok(Node::Unit)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Node> {
        Ok(Node::Record {
            name,
            variant: None,
            fields: Vec::new(),
        })
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<Node> {
        Ok(Node::Record {
            name,
            variant: Some((index, variant)),
            fields: Vec::new(),
        })
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Node> {
        let inner = to_node(value).map_err(|e| e.in_field("0"))?;
        Ok(Node::Record {
            name,
            variant: None,
            fields: vec![("0".into(), inner)],
        })
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node> {
        let inner = to_node(value).map_err(|e| e.in_field("0"))?;
        Ok(Node::Record {
            name,
            variant: Some((index, variant)),
            fields: vec![("0".into(), inner)],
        })
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items> {
        Ok(Items::new(false, len.unwrap_or(0)))
    }
    fn serialize_tuple(self, len: usize) -> Result<Items> {
        Ok(Items::new(true, len))
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Fields> {
        Ok(Fields::new(name, None, len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Fields> {
        Ok(Fields::new(name, Some((index, variant)), len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Entries> {
        Ok(Entries {
            entries: Vec::with_capacity(len.unwrap_or(0).min(PREALLOCATED)),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Fields> {
        Ok(Fields::new(name, None, len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Fields> {
        Ok(Fields::new(name, Some((index, variant)), len))
    }
}

/// The most items reserved from a length a `Serialize` impl announces,
/// which it may get wrong.
const PREALLOCATED: usize = 4096;

/// The elements of a sequence or tuple.
pub(super) struct Items {
    tuple: bool,
    items: Vec<Node>,
}

impl Items {
    fn new(tuple: bool, len: usize) -> Items {
        Items {
            tuple,
            items: Vec::with_capacity(len.min(PREALLOCATED)),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let i = self.items.len();
        let node = to_node(value).map_err(|e| e.in_index(i))?;
        self.items.push(node);
        Ok(())
    }

    fn done(self) -> Node {
        if self.tuple {
            Node::Tuple(self.items)
        } else {
            Node::Seq(self.items)
        }
    }
}

impl ser::SerializeSeq for Items {
    type Ok = Node;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.done())
    }
}

impl ser::SerializeTuple for Items {
    type Ok = Node;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.done())
    }
}

/// The fields of a struct or variant, named or by position.
pub(super) struct Fields {
    name: &'static str,
    variant: Option<(u32, &'static str)>,
    fields: Vec<(Cow<'static, str>, Node)>,
}

impl Fields {
    fn new(name: &'static str, variant: Option<(u32, &'static str)>, len: usize) -> Fields {
        Fields {
            name,
            variant,
            fields: Vec::with_capacity(len.min(PREALLOCATED)),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, name: Cow<'static, str>, value: &T) -> Result<()> {
        let node = to_node(value).map_err(|e| e.in_field(&name))?;
        self.fields.push((name, node));
        Ok(())
    }

    fn push_next<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(self.fields.len().to_string().into(), value)
    }

    fn done(self) -> Node {
        if self.variant.is_none() && is_plain(self.name, &self.fields) {
            return Node::Plain(self.fields);
        }
        Node::Record {
            name: self.name,
            variant: self.variant,
            fields: self.fields,
        }
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.push(key.into(), value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.done())
    }
}

impl ser::SerializeStructVariant for Fields {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.push(key.into(), value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.done())
    }
}

impl ser::SerializeTupleStruct for Fields {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push_next(value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.done())
    }
}

impl ser::SerializeTupleVariant for Fields {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push_next(value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.done())
    }
}

/// The entries of a map, keys as serialized.
pub(super) struct Entries {
    entries: Vec<(Node, Node)>,
    key: Option<Node>,
}

impl ser::SerializeMap for Entries {
    type Ok = Node;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        let i = self.entries.len();
        self.key = Some(to_node(key).map_err(|e| e.in_field("key").in_index(i))?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let i = self.entries.len();
        let Some(key) = self.key.take() else {
            return Err(ser::Error::custom("a map value without its key"));
        };
        let value = to_node(value).map_err(|e| e.in_field("value").in_index(i))?;
        self.entries.push((key, value));
        Ok(())
    }
    fn end(self) -> Result<Node> {
        if self.key.is_some() {
            return Err(ser::Error::custom("a map key without its value"));
        }
        Ok(Node::Map(self.entries))
    }
}
