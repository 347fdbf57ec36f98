//! serde for the value tree: the JSON rendering of `snapshot nv dump --json`.
//!
//! A list is `{"flags": [..], "pairs": [{"name", "type", "value"}, ..]}`:
//! pairs stay an array because order matters and names may repeat. Types
//! are the libnv names in snake case. In human-readable formats a binary is
//! a hex string; elsewhere it is bytes. A name or string that is not UTF-8
//! becomes an array of byte values, so the rendering stays lossless.
//! Deserializing checks every pair as [`NvList::try_push`] does.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::value::{Flags, NvList, NvString, Value};

/// The shape of [`Value`] in serde: adjacently tagged by libnv type.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
enum ValueRepr<'a> {
    Null,
    Bool(bool),
    Number(u64),
    String(NvString),
    Nvlist(ListRef<'a>),
    Binary(#[serde(with = "hex_or_bytes")] Vec<u8>),
    BoolArray(Vec<bool>),
    NumberArray(Vec<u64>),
    StringArray(Vec<NvString>),
    NvlistArray(Vec<ListRef<'a>>),
}

/// A list borrowed for serializing, owned after deserializing.
enum ListRef<'a> {
    Borrowed(&'a NvList),
    Owned(NvList),
}

impl Serialize for ListRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ListRef::Borrowed(l) => l.serialize(s),
            ListRef::Owned(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ListRef<'_> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        NvList::deserialize(d).map(ListRef::Owned)
    }
}

impl ListRef<'_> {
    fn into_owned(self) -> NvList {
        match self {
            ListRef::Borrowed(l) => l.clone(),
            ListRef::Owned(l) => l,
        }
    }
}

/// Values are cloned into the repr only for the small scalar variants;
/// lists and byte buffers are written straight from the tree.
fn repr(value: &Value) -> ValueRepr<'_> {
    match value {
        Value::Null => ValueRepr::Null,
        Value::Bool(b) => ValueRepr::Bool(*b),
        Value::Number(n) => ValueRepr::Number(*n),
        Value::String(s) => ValueRepr::String(s.clone()),
        Value::NvList(l) => ValueRepr::Nvlist(ListRef::Borrowed(l)),
        Value::Binary(b) => ValueRepr::Binary(b.clone()),
        Value::BoolArray(a) => ValueRepr::BoolArray(a.clone()),
        Value::NumberArray(a) => ValueRepr::NumberArray(a.clone()),
        Value::StringArray(a) => ValueRepr::StringArray(a.clone()),
        Value::NvListArray(a) => ValueRepr::NvlistArray(a.iter().map(ListRef::Borrowed).collect()),
    }
}

impl From<ValueRepr<'_>> for Value {
    fn from(r: ValueRepr<'_>) -> Value {
        match r {
            ValueRepr::Null => Value::Null,
            ValueRepr::Bool(b) => Value::Bool(b),
            ValueRepr::Number(n) => Value::Number(n),
            ValueRepr::String(s) => Value::String(s),
            ValueRepr::Nvlist(l) => Value::NvList(l.into_owned()),
            ValueRepr::Binary(b) => Value::Binary(b),
            ValueRepr::BoolArray(a) => Value::BoolArray(a),
            ValueRepr::NumberArray(a) => Value::NumberArray(a),
            ValueRepr::StringArray(a) => Value::StringArray(a),
            ValueRepr::NvlistArray(a) => {
                Value::NvListArray(a.into_iter().map(ListRef::into_owned).collect())
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        repr(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValueRepr::deserialize(d).map(Value::from)
    }
}

#[derive(Serialize)]
struct PairOut<'a> {
    name: &'a NvString,
    #[serde(flatten)]
    value: ValueRepr<'a>,
}

#[derive(Deserialize)]
struct PairIn<'a> {
    name: NvString,
    #[serde(flatten, borrow)]
    value: ValueRepr<'a>,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum FlagName {
    IgnoreCase,
    NoUnique,
}

struct PairsOut<'a>(&'a NvList);

impl Serialize for PairsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (name, value) in self.0 {
            seq.serialize_element(&PairOut {
                name,
                value: repr(value),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct ListOut<'a> {
    flags: Vec<FlagName>,
    pairs: PairsOut<'a>,
}

#[derive(Deserialize)]
struct ListIn<'a> {
    #[serde(default)]
    flags: Vec<FlagName>,
    #[serde(borrow)]
    pairs: Vec<PairIn<'a>>,
}

impl Serialize for NvList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.flags();
        let mut flags = Vec::new();
        if f.contains(Flags::IGNORE_CASE) {
            flags.push(FlagName::IgnoreCase);
        }
        if f.contains(Flags::NO_UNIQUE) {
            flags.push(FlagName::NoUnique);
        }
        ListOut {
            flags,
            pairs: PairsOut(self),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for NvList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = ListIn::deserialize(d)?;
        let mut flags = Flags::NONE;
        for f in raw.flags {
            flags = flags
                | match f {
                    FlagName::IgnoreCase => Flags::IGNORE_CASE,
                    FlagName::NoUnique => Flags::NO_UNIQUE,
                };
        }
        let mut list = NvList::with_flags(flags);
        for pair in raw.pairs {
            list.try_push(pair.name, Value::from(pair.value))
                .map_err(de::Error::custom)?;
        }
        Ok(list)
    }
}

impl Serialize for NvString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.to_str() {
            Some(text) => s.serialize_str(text),
            None => {
                let mut seq = s.serialize_seq(Some(self.as_bytes().len()))?;
                for b in self.as_bytes() {
                    seq.serialize_element(b)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for NvString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NvString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NvString, E> {
                Ok(v.into())
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NvString, E> {
                Ok(v.into())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NvString, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                Ok(bytes.into())
            }
        }
        d.deserialize_any(V)
    }
}

/// Binary payloads: hex in human-readable formats, bytes elsewhere.
mod hex_or_bytes {
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&crate::text::hex::encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a hex string or bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
                crate::text::hex::decode(v).ok_or_else(|| E::custom("invalid hex string"))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(V)
        } else {
            d.deserialize_bytes(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_round_trip() {
        let mut inner = NvList::with_flags(Flags::NO_UNIQUE);
        inner.push("d", 1u64);
        inner.push("d", 2u64);
        let nv = NvList::new()
            .with("n", 7u64)
            .with("bin", vec![0xdeu8, 0xad])
            .with("odd", Value::String(NvString::from(&b"\xff"[..])))
            .with("nil", ())
            .with("inner", inner.clone())
            .with("arr", vec![inner.clone(), NvList::new()]);
        let json = serde_json::to_value(&nv).unwrap();
        assert_eq!(
            json["pairs"][0],
            serde_json::json!({"name": "n", "type": "number", "value": 7})
        );
        assert_eq!(json["pairs"][1]["value"], "dead");
        assert_eq!(json["pairs"][2]["value"], serde_json::json!([255]));
        assert_eq!(
            json["pairs"][3],
            serde_json::json!({"name": "nil", "type": "null"})
        );
        assert_eq!(
            json["pairs"][4]["value"]["flags"],
            serde_json::json!(["no_unique"])
        );
        let back: NvList = serde_json::from_value(json).unwrap();
        assert_eq!(back, nv);
    }

    #[test]
    fn deserialize_checks_pairs() {
        let dup = r#"{"pairs":[{"name":"a","type":"null"},{"name":"a","type":"null"}]}"#;
        assert!(serde_json::from_str::<NvList>(dup).is_err());
        let empty = r#"{"pairs":[{"name":"a","type":"number_array","value":[]}]}"#;
        assert!(serde_json::from_str::<NvList>(empty).is_err());
    }
}
