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
        ("bool", 1) => match bytes[0] {
            0 | 1 => FieldValue::Bool(bytes[0] == 1),
            other => {
                return Err(Error::at(
                    input.pos() - 1,
                    format!(
                        "bool `{}` holds {other:#04x}; QEMU writes 0 or 1",
                        field.name
                    ),
                ))
            }
        },
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
    // Bytes are a binary, as the data model stores `[u8; N]` and `[i8; N]`.
    let bytes: Option<Vec<u8>> = items
        .iter()
        .map(|i| match i {
            FieldValue::Int { size: 1, value, .. } => Some(*value as u8),
            _ => None,
        })
        .collect();
    if let Some(bytes) = bytes {
        return Value::Binary(bytes);
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

/// What is wrong with a record that does not fit its description: the
/// path of the value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    pub path: String,
    pub message: String,
}

fn bad(path: &str, message: impl Into<String>) -> RecordError {
    RecordError {
        path: path.to_owned(),
        message: message.into(),
    }
}

impl Fields {
    /// The fields of `list` (a record as [`Fields::to_nvlist`] writes it,
    /// perhaps edited) in the layout `desc` gives: the inverse of
    /// `to_nvlist`. A value that does not fit its field (a number too
    /// large for its size, a buffer of another length, a missing field or
    /// subsection) is an error naming its path.
    pub fn from_nvlist(desc: &VmsdDesc, list: &NvList, path: &str) -> Result<Fields, RecordError> {
        let mut out = Fields::default();
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for field in &desc.fields {
            let at = format!("{path}.{}", field.name);
            let value = match field.index {
                Some(i) => {
                    let array = list.get(&field.name).ok_or_else(|| bad(&at, "missing"))?;
                    element(array, i, &at)?
                }
                None => {
                    let n = seen.entry(field.name.as_str()).or_insert(0);
                    let value = list
                        .get_all(&field.name)
                        .nth(*n)
                        .ok_or_else(|| bad(&at, "missing"))?
                        .clone();
                    *n += 1;
                    value
                }
            };
            let value = field_from(field, &value, &at)?;
            match (field.index, out.fields.last_mut()) {
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
            let at = format!("{path}.{name}");
            let Some(Value::NvList(sub_list)) = list.get(&name) else {
                return Err(bad(&at, "missing subsection"));
            };
            let version = sub_list
                .get_number(".version")
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| bad(&at, "subsection without a `.version`"))?;
            out.subsections
                .push((name, version, Fields::from_nvlist(sub, sub_list, &at)?));
        }
        Ok(out)
    }
}

/// Element `i` of a stored array, as a value.
fn element(array: &Value, i: u64, path: &str) -> Result<Value, RecordError> {
    let i = usize::try_from(i).map_err(|_| bad(path, "index out of range"))?;
    let missing = || bad(path, format!("has no element {i}"));
    Ok(match array {
        Value::NumberArray(a) => Value::Number(*a.get(i).ok_or_else(missing)?),
        Value::Binary(a) => Value::Number((*a.get(i).ok_or_else(missing)?).into()),
        Value::NvListArray(a) => Value::NvList(a.get(i).ok_or_else(missing)?.clone()),
        Value::NvList(l) => l.iter().nth(i).ok_or_else(missing)?.1.clone(),
        other => {
            return Err(bad(
                path,
                format!("expected an array, found {}", other.ty()),
            ))
        }
    })
}

/// The elements of a stored array of `n` (bytes of a binary as numbers,
/// sign-extended when `signed`).
fn elements(value: &Value, n: u64, signed: bool, path: &str) -> Result<Vec<Value>, RecordError> {
    let items: Vec<Value> = match value {
        Value::Null => Vec::new(),
        Value::Binary(b) if signed => b
            .iter()
            .map(|&x| Value::Number(x as i8 as i64 as u64))
            .collect(),
        Value::Binary(b) => b.iter().map(|&x| Value::Number(x.into())).collect(),
        Value::NumberArray(a) => a.iter().map(|&x| Value::Number(x)).collect(),
        Value::NvListArray(a) => a.iter().cloned().map(Value::NvList).collect(),
        Value::NvList(l) => l.iter().map(|(_, v)| v.clone()).collect(),
        other => {
            return Err(bad(
                path,
                format!("expected an array, found {}", other.ty()),
            ))
        }
    };
    if items.len() as u64 != n {
        return Err(bad(
            path,
            format!("{} elements, the field has {n}", items.len()),
        ));
    }
    Ok(items)
}

fn field_from(field: &FieldDesc, value: &Value, path: &str) -> Result<FieldValue, RecordError> {
    let one = |v: &Value, at: &str| -> Result<FieldValue, RecordError> {
        match field.nested() {
            Some(nested) => match v {
                Value::NvList(l) => Fields::from_nvlist(&nested, l, at).map(FieldValue::Struct),
                other => Err(bad(at, format!("expected nvlist, found {}", other.ty()))),
            },
            None => scalar_from(field, v, at),
        }
    };
    let signed = field.ty.starts_with("int");
    match field.array_len {
        None => one(value, path),
        Some(n) => elements(value, n, signed, path)?
            .iter()
            .enumerate()
            .map(|(i, v)| one(v, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(FieldValue::Array),
    }
}

fn scalar_from(field: &FieldDesc, value: &Value, path: &str) -> Result<FieldValue, RecordError> {
    let ty = field.ty.split(' ').next().unwrap_or("");
    let signed = ty.starts_with("int") || ty == "timer";
    let integer = signed || ty.starts_with("uint");
    let size = field.size;
    match (ty, size, value) {
        ("bool", 1, Value::Bool(b)) => Ok(FieldValue::Bool(*b)),
        (_, 1 | 2 | 4 | 8, Value::Number(n)) if integer => {
            let bits = 8 * size as u32;
            let fits = if signed {
                let v = *n as i64;
                bits == 64 || (v >= -(1i64 << (bits - 1)) && v < 1i64 << (bits - 1))
            } else {
                bits == 64 || *n < 1u64 << bits
            };
            if !fits {
                return Err(bad(
                    path,
                    format!("{} does not fit {}", *n as i64, field.ty),
                ));
            }
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            Ok(FieldValue::Int {
                size: size as u8,
                signed,
                value: n & mask,
            })
        }
        (_, _, Value::Binary(b)) if b.len() as u64 == size => Ok(FieldValue::Bytes(b.clone())),
        (_, 0, Value::Null) => Ok(FieldValue::Bytes(Vec::new())),
        (_, _, Value::Binary(b)) => Err(bad(
            path,
            format!("{} bytes, the field holds {size}", b.len()),
        )),
        (_, _, other) => Err(bad(
            path,
            format!(
                "expected the {} of {size} bytes, found {}",
                field.ty,
                other.ty()
            ),
        )),
    }
}

/// The type of a field as the schema text of the image's `schemas`
/// section writes it: the data model's name for what is stored, so that
/// `dump --typed` and `set` check values as QEMU's sizes allow.
pub(crate) fn type_name(field: &FieldDesc) -> String {
    let one = match field.nested() {
        Some(nested) => nested.vmsd_name.unwrap_or_else(|| "struct".into()),
        None => {
            let ty = field.ty.split(' ').next().unwrap_or("");
            let signed = ty.starts_with("int") || ty == "timer";
            let integer = signed || ty.starts_with("uint");
            match (ty, field.size) {
                ("bool", 1) => "bool".into(),
                (_, 1 | 2 | 4 | 8) if integer => {
                    format!("{}{}", if signed { "i" } else { "u" }, 8 * field.size)
                }
                (_, n) => format!("[u8; {n}]"),
            }
        }
    };
    match field.array_len {
        Some(n) => format!("[{one}; {n}]"),
        None => one,
    }
}
