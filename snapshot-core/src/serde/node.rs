//! The tree the serializer builds: serde's data model, typed, before it is
//! stored. Lowering it to a [`Value`] is where the bridge's rules live:
//! each shape is stored as the derive stores the Rust type serde saw
//! (docs/data-model.md, "The serde bridge"), through the data model's own
//! `Field` impls wherever one applies, so the two cannot drift apart.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::error::{Error, Result, ValueFault};
use crate::model::{positional, Field, MapKey};
use crate::nvlist::{NvList, Value};
use crate::record::meta::{SCHEMA, VARIANT, VERSION};

/// The name of the one pair wrapping `Some(x)` when `x` may be `NULL`,
/// as `Option`'s `Field` impl writes it.
pub(super) const SOME: &str = "some";

/// One value in serde's data model.
pub(super) enum Node {
    Unit,
    None,
    Some(Box<Node>),
    Bool(bool),
    U8(u8),
    I8(i8),
    /// `u16`, `u32`, `u64`.
    Unsigned(u64),
    /// `i16`, `i32`, `i64`.
    Signed(i64),
    U128(u128),
    I128(i128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    /// A sequence of any length (`Vec`, sets).
    Seq(Vec<Node>),
    /// A sequence of a fixed length: an array, or a tuple.
    Tuple(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// A struct the data model stores without record metadata: std's
    /// `Duration` and `Range`.
    Plain(Vec<(Cow<'static, str>, Node)>),
    /// A struct, or a variant of an enum: a record.
    Record {
        name: &'static str,
        /// The variant's index (for ordering) and name.
        variant: Option<(u32, &'static str)>,
        fields: Vec<(Cow<'static, str>, Node)>,
    },
}

/// What decides how a sequence is stored: one libnv array type for
/// elements that all have the same kind, a positional list otherwise.
#[derive(PartialEq, Eq)]
enum Kind {
    U8,
    I8,
    Unsigned,
    Signed,
    F32,
    F64,
    Char,
    Bool,
    Str,
    Record(&'static str),
}

impl Node {
    /// Whether the Rust type serde saw may be stored as `NULL`
    /// (`Field::NULLABLE`), so that an `Option` around it wraps `Some`.
    fn nullable(&self) -> bool {
        match self {
            Node::Unit | Node::None | Node::Some(_) | Node::Seq(_) | Node::Map(_) => true,
            Node::Bytes(_) => true,
            Node::Tuple(items) => items.is_empty(),
            _ => false,
        }
    }

    fn kind(&self) -> Option<Kind> {
        Some(match self {
            Node::U8(_) => Kind::U8,
            Node::I8(_) => Kind::I8,
            Node::Unsigned(_) => Kind::Unsigned,
            Node::Signed(_) => Kind::Signed,
            Node::F32(_) => Kind::F32,
            Node::F64(_) => Kind::F64,
            Node::Char(_) => Kind::Char,
            Node::Bool(_) => Kind::Bool,
            Node::Str(_) => Kind::Str,
            Node::Record { name, .. } => Kind::Record(name),
            _ => return None,
        })
    }

    /// The stored value.
    pub(super) fn lower(self) -> Result<Value> {
        Ok(match self {
            Node::Unit | Node::None => Value::Null,
            Node::Some(inner) if inner.nullable() => {
                let value = inner.lower().map_err(|e| e.in_field(SOME))?;
                let mut list = NvList::new();
                list.push_unchecked(SOME.into(), value);
                Value::NvList(list)
            }
            Node::Some(inner) => inner.lower()?,
            Node::Bool(b) => b.to_value(),
            Node::U8(n) => n.to_value(),
            Node::I8(n) => n.to_value(),
            Node::Unsigned(n) => n.to_value(),
            Node::Signed(n) => n.to_value(),
            Node::U128(n) => n.to_value(),
            Node::I128(n) => n.to_value(),
            Node::F32(x) => x.to_value(),
            Node::F64(x) => x.to_value(),
            Node::Char(c) => c.to_value(),
            Node::Str(s) => s.to_value(),
            Node::Bytes(b) => b.to_value(),
            Node::Seq(items) | Node::Tuple(items) => lower_seq(items)?,
            Node::Map(entries) => lower_map(entries)?,
            Node::Plain(fields) => {
                let mut list = NvList::new();
                for (name, node) in fields {
                    let value = node.lower().map_err(|e| e.in_field(&name))?;
                    list.push_unchecked(name.as_ref().into(), value);
                }
                Value::NvList(list)
            }
            Node::Record {
                name,
                variant,
                fields,
            } => {
                let mut list = NvList::new();
                list.push_unchecked(SCHEMA.into(), Value::String(name.into()));
                list.push_unchecked(VERSION.into(), Value::Number(1));
                if let Some((_, variant)) = variant {
                    list.push_unchecked(VARIANT.into(), Value::String(variant.into()));
                }
                for (name, node) in fields {
                    let value = node.lower().map_err(|e| e.in_field(&name))?;
                    list.push_unchecked(name.as_ref().into(), value);
                }
                Value::NvList(list)
            }
        })
    }
}

/// A sequence as `Vec<T>` stores it for the `T` its elements show: the
/// element type's array form when they all have one kind, a positional
/// list otherwise; `NULL` when empty.
fn lower_seq(items: Vec<Node>) -> Result<Value> {
    let Some(first) = items.first() else {
        return Ok(Value::Null);
    };
    let kind = first.kind();
    let same = kind.is_some() && items.iter().all(|n| n.kind() == kind);
    if !same {
        let values: Vec<Value> = items
            .into_iter()
            .enumerate()
            .map(|(i, n)| n.lower().map_err(|e| e.in_field(&i.to_string())))
            .collect::<Result<_>>()?;
        return Ok(Value::NvList(positional(values.into_iter())));
    }
    macro_rules! each {
        ($variant:ident) => {
            items
                .into_iter()
                .map(|n| match n {
                    Node::$variant(x) => x,
                    _ => unreachable!("every element has the first one's kind"),
                })
                .collect::<Vec<_>>()
        };
    }
    Ok(match kind.expect("checked above") {
        Kind::U8 => each!(U8).to_value(),
        Kind::I8 => each!(I8).to_value(),
        Kind::Unsigned => each!(Unsigned).to_value(),
        Kind::Signed => each!(Signed).to_value(),
        Kind::F32 => each!(F32).to_value(),
        Kind::F64 => each!(F64).to_value(),
        Kind::Char => each!(Char).to_value(),
        Kind::Bool => each!(Bool).to_value(),
        Kind::Str => each!(Str).to_value(),
        Kind::Record(_) => {
            let lists = items
                .into_iter()
                .enumerate()
                .map(|(i, n)| match n.lower() {
                    Ok(Value::NvList(list)) => Ok(list),
                    Ok(_) => unreachable!("a record lowers to a list"),
                    Err(e) => Err(e.in_index(i)),
                })
                .collect::<Result<_>>()?;
            Value::NvListArray(lists)
        }
    })
}

/// The pair name a map key is stored under, as the key type's
/// [`MapKey::to_name`] gives it: strings and integers.
fn key_name(key: &Node) -> Option<String> {
    match key {
        Node::Str(s) => s.to_name(),
        Node::U8(n) => n.to_name(),
        Node::I8(n) => n.to_name(),
        Node::Unsigned(n) => n.to_name(),
        Node::Signed(n) => n.to_name(),
        Node::U128(n) => n.to_name(),
        Node::I128(n) => n.to_name(),
        _ => None,
    }
}

/// A map as the derive's maps store it: in key order, as pairs named by
/// the keys when every key can be a name, else as `{ key, value }`
/// entries; `NULL` when empty.
fn lower_map(mut entries: Vec<(Node, Node)>) -> Result<Value> {
    if entries.is_empty() {
        return Ok(Value::Null);
    }
    entries.sort_by(|a, b| order(&a.0, &b.0));
    if let Some(i) = (1..entries.len()).find(|&i| order(&entries[i - 1].0, &entries[i].0).is_eq()) {
        return Err(Error::value(ValueFault::Duplicate).in_index(i));
    }
    let names: Option<Vec<String>> = entries.iter().map(|(k, _)| key_name(k)).collect();
    Ok(match names {
        Some(names) => {
            let mut list = NvList::new();
            for (name, (_, v)) in names.into_iter().zip(entries) {
                let value = v.lower().map_err(|e| e.in_field(&name))?;
                list.push_unchecked(name.into(), value);
            }
            Value::NvList(list)
        }
        None => Value::NvListArray(
            entries
                .into_iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let key = k.lower().map_err(|e| e.in_field("key").in_index(i))?;
                    let value = v.lower().map_err(|e| e.in_field("value").in_index(i))?;
                    Ok(NvList::new().with("key", key).with("value", value))
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// The order of map keys: what a derived `Ord` of the type serde saw
/// gives (numbers by value, strings by bytes, structs and sequences
/// element by element, variants by their index first), so that a map
/// through the bridge is in the order the derive sorts it in.
fn order(a: &Node, b: &Node) -> Ordering {
    use Node::*;
    match (a, b) {
        (Some(x), Some(y)) => order(x, y),
        (Bool(x), Bool(y)) => x.cmp(y),
        (U8(x), U8(y)) => x.cmp(y),
        (I8(x), I8(y)) => x.cmp(y),
        (Unsigned(x), Unsigned(y)) => x.cmp(y),
        (Signed(x), Signed(y)) => x.cmp(y),
        (U128(x), U128(y)) => x.cmp(y),
        (I128(x), I128(y)) => x.cmp(y),
        (F32(x), F32(y)) => x.total_cmp(y),
        (F64(x), F64(y)) => x.total_cmp(y),
        (Char(x), Char(y)) => x.cmp(y),
        (Str(x), Str(y)) => x.cmp(y),
        (Bytes(x), Bytes(y)) => x.cmp(y),
        (Seq(x), Seq(y)) | (Tuple(x), Tuple(y)) => in_order(x.iter(), y.iter()),
        (Map(x), Map(y)) => in_order(
            x.iter().flat_map(|(k, v)| [k, v]),
            y.iter().flat_map(|(k, v)| [k, v]),
        ),
        (Plain(x), Plain(y)) => in_order(x.iter().map(|f| &f.1), y.iter().map(|f| &f.1)),
        (
            Record {
                variant: vx,
                fields: x,
                ..
            },
            Record {
                variant: vy,
                fields: y,
                ..
            },
        ) => vx
            .map(|v| v.0)
            .cmp(&vy.map(|v| v.0))
            .then_with(|| in_order(x.iter().map(|f| &f.1), y.iter().map(|f| &f.1))),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn in_order<'a>(
    mut x: impl Iterator<Item = &'a Node>,
    mut y: impl Iterator<Item = &'a Node>,
) -> Ordering {
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(a), Some(b)) => match order(a, b) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// Keys of one Rust type have one shape, except `None` and `Some`:
/// `None` sorts first, as `Option`'s `Ord` has it.
fn rank(node: &Node) -> u8 {
    match node {
        Node::Unit => 0,
        Node::None => 1,
        Node::Some(_) => 2,
        Node::Bool(_) => 3,
        Node::U8(_) => 4,
        Node::I8(_) => 5,
        Node::Unsigned(_) => 6,
        Node::Signed(_) => 7,
        Node::U128(_) => 8,
        Node::I128(_) => 9,
        Node::F32(_) => 10,
        Node::F64(_) => 11,
        Node::Char(_) => 12,
        Node::Str(_) => 13,
        Node::Bytes(_) => 14,
        Node::Seq(_) => 15,
        Node::Tuple(_) => 16,
        Node::Map(_) => 17,
        Node::Plain(_) => 18,
        Node::Record { .. } => 19,
    }
}
