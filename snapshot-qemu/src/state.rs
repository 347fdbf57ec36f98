//! A device's VMState read from the stream by its description, and its
//! form as an nvlist record.

use snapshot_core::nvlist::{NvList, Value};

use crate::error::{Error, Result};
use crate::input::Input;
use crate::vmdesc::{FieldDesc, VmsdDesc};

use crate::stream::SUBSECTION;

/// A field's value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// An integer of 1, 2, 4 or 8 bytes (`uint32`, `int64`, a timer), as
    /// stored (big-endian), and whether it is signed.
    Int {
        size: u8,
        signed: bool,
        value: u64,
    },
    Bool(bool),
    /// Bytes the description does not type (`buffer`, `pci config`,
    /// `unused_buffer`, ...).
    Bytes(Vec<u8>),
    /// A nested VMState.
    Struct(Fields),
    /// The elements of an array field.
    Array(Vec<FieldValue>),
}

/// A VMState's fields in stream order, and the subsections sent after
/// them (each with its name and version).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    pub fields: Vec<(String, FieldValue)>,
    pub subsections: Vec<(String, u32, Fields)>,
}

/// Reads the VMState `desc` from `input`.
pub(crate) fn read(input: &mut Input, desc: &VmsdDesc, depth: u32) -> Result<Fields> {
    if depth > 64 {
        return Err(Error::at(input.pos(), "VMState nested more than 64 deep"));
    }
    let mut out = Fields::default();
    for field in &desc.fields {
        let value = read_field(input, field, depth).map_err(|e| e.context(&field.name))?;
        match (field.index, out.fields.last_mut()) {
            // An array whose elements QEMU described one by one.
            (Some(i), Some((name, FieldValue::Array(items))))
                if i > 0 && *name == field.name && items.len() as u64 == i =>
            {
                items.push(value)
            }
            (Some(_), _) => out
                .fields
                .push((field.name.clone(), FieldValue::Array(vec![value]))),
            (None, _) => out.fields.push((field.name.clone(), value)),
        }
    }
    for sub in &desc.subsections {
        let name = sub.vmsd_name.clone().unwrap_or_default();
        let at = input.pos();
        if input.u8("a subsection")? != SUBSECTION {
            return Err(Error::at(at, format!("expected subsection `{name}`")));
        }
        let stored = input.name("a subsection name")?;
        if stored != name.as_bytes() {
            return Err(Error::at(
                at,
                format!(
                    "expected subsection `{name}`, found `{}`",
                    String::from_utf8_lossy(stored)
                ),
            ));
        }
        let version = input.be32("a subsection version")?;
        let fields = read(input, sub, depth + 1).map_err(|e| e.context(&name))?;
        out.subsections.push((name, version, fields));
    }
    Ok(out)
}

fn read_field(input: &mut Input, field: &FieldDesc, depth: u32) -> Result<FieldValue> {
    let count = field.array_len.unwrap_or(1);
    // Every element takes at least a byte but for empty structs, which
    // no device has: bound the count by what is left.
    if count > input.remaining() as u64 + 1 {
        return Err(Error::at(
            input.pos(),
            format!("array of {count} elements, more than the stream holds"),
        ));
    }
    let one = |input: &mut Input| -> Result<FieldValue> {
        match field.nested() {
            Some(nested) => read(input, &nested, depth + 1).map(FieldValue::Struct),
            None => scalar(input, field),
        }
    };
    if field.array_len.is_none() {
        return one(input);
    }
    (0..count)
        .map(|_| one(input))
        .collect::<Result<_>>()
        .map(FieldValue::Array)
}

fn scalar(input: &mut Input, field: &FieldDesc) -> Result<FieldValue> {
    let size = usize::try_from(field.size)
        .ok()
        .filter(|&s| s <= input.remaining())
        .ok_or_else(|| {
            Error::at(
                input.pos(),
                format!(
                    "a field of {} bytes, more than the stream holds",
                    field.size
                ),
            )
        })?;
    let bytes = input.take(size, &field.name)?;
    let ty = field.ty.split(' ').next().unwrap_or("");
    let signed = ty.starts_with("int") || ty == "timer";
    let integer = signed || ty.starts_with("uint");
    Ok(match (ty, size) {
        ("bool", 1) => FieldValue::Bool(bytes[0] != 0),
        (_, 1 | 2 | 4 | 8) if integer => {
            let mut value = 0u64;
            for &b in bytes {
                value = value << 8 | u64::from(b);
            }
            FieldValue::Int {
                size: size as u8,
                signed,
                value,
            }
        }
        _ => FieldValue::Bytes(bytes.to_vec()),
    })
}

impl FieldValue {
    /// The stored value: integers as numbers (signed ones sign-extended to
    /// 64-bit two's complement, as the data model stores them), buffers as
    /// binary, structs as lists, arrays of numbers as number arrays.
    pub fn to_value(&self) -> Value {
        match self {
            FieldValue::Int {
                size,
                signed: true,
                value,
            } => {
                let shift = 64 - 8 * u32::from(*size);
                Value::Number((((*value << shift) as i64) >> shift) as u64)
            }
            FieldValue::Int { value, .. } => Value::Number(*value),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Bytes(b) if b.is_empty() => Value::Null,
            FieldValue::Bytes(b) => Value::Binary(b.clone()),
            FieldValue::Struct(fields) => Value::NvList(fields.to_nvlist(None)),
            FieldValue::Array(items) => array_value(items),
        }
    }
}

fn array_value(items: &[FieldValue]) -> Value {
    if items.is_empty() {
        return Value::Null;
    }
    let values: Vec<Value> = items.iter().map(FieldValue::to_value).collect();
    if values.iter().all(|v| matches!(v, Value::Number(_))) {
        return Value::NumberArray(
            values
                .iter()
                .map(|v| match v {
                    Value::Number(n) => *n,
                    _ => unreachable!("checked"),
                })
                .collect(),
        );
    }
    if values.iter().all(|v| matches!(v, Value::NvList(_))) {
        return Value::NvListArray(
            values
                .into_iter()
                .map(|v| match v {
                    Value::NvList(l) => l,
                    _ => unreachable!("checked"),
                })
                .collect(),
        );
    }
    Value::NvList(snapshot_core::model::positional(values.into_iter()))
}

impl Fields {
    /// The fields as an nvlist, in stream order, each subsection a list
    /// under its name; a record (`.schema`, `.version`) when `meta` is
    /// given. A name QEMU repeats (legacy `unused` fields) is kept once per
    /// occurrence, in a list that allows repeated names.
    pub fn to_nvlist(&self, meta: Option<(&str, u32)>) -> NvList {
        let mut seen = std::collections::HashSet::new();
        let repeats = self
            .fields
            .iter()
            .map(|(n, _)| n)
            .chain(self.subsections.iter().map(|(n, _, _)| n))
            .any(|n| !seen.insert(n));
        let mut list = if repeats {
            NvList::with_flags(snapshot_core::Flags::NO_UNIQUE)
        } else {
            NvList::new()
        };
        if let Some((schema, version)) = meta {
            list.push_unchecked(".schema".into(), Value::String(schema.into()));
            list.push_unchecked(".version".into(), Value::Number(version.into()));
        }
        for (name, value) in &self.fields {
            list.push_unchecked(name.as_str().into(), value.to_value());
        }
        for (name, version, fields) in &self.subsections {
            let value = Value::NvList(fields.to_nvlist(Some((name, *version))));
            list.push_unchecked(name.as_str().into(), value);
        }
        list
    }
}
