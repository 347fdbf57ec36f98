//! Standard-library types that device state holds, each stored as a type
//! the model already has, so their bytes are as readable (and their
//! changes as checkable) as those of the types they stand on
//! (docs/data-model.md, section "Standard types"):
//!
//! | type | stored as |
//! | --- | --- |
//! | `Wrapping<T>` | `T` (a `Vec<Wrapping<u16>>` is a number array, as `Vec<u16>`) |
//! | `NonZeroU8` ... `NonZeroI64`, `NonZeroUsize`, `NonZeroIsize` | the integer; zero is refused |
//! | `Duration` | nvlist `{ secs: number, nanos: number }`, nanos below 10^9 |
//! | `PathBuf`, `OsString` | their bytes as they are (not lossy), stored as a `String`'s are: `STRING`, `BINARY` when they hold a NUL |
//! | `Ipv4Addr`, `Ipv6Addr`, `IpAddr`, `SocketAddr` | `STRING` in the standard text form (`10.0.0.2`, `[fe80::1]:22`) |
//! | `Range<T>` | nvlist `{ start, end }` |
//! | `Cow<'static, str>` | as `String` |
//!
//! A sequence of any of the text types is stored as `Vec<String>` is.
//!
//! `VecDeque` and the sets are containers, beside `Vec` in `seq.rs`.

use std::borrow::Cow;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::{
    NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI8, NonZeroIsize, NonZeroU16, NonZeroU32,
    NonZeroU64, NonZeroU8, NonZeroUsize, Wrapping,
};
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::time::Duration;

use super::scalar::{
    text_bytes, text_seq_from_value, text_seq_value, text_value, utf8, write_text,
};
use super::{wrong_type, Field, RecordSchemas};
use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{NvList, Pair, Reader, Value, Writer};

/// A wrapping integer is stored as the integer: wrapping is how it is
/// computed, not what it holds.
impl<T: Field + Copy> Field for Wrapping<T> {
    const NULLABLE: bool = T::NULLABLE;

    fn to_value(&self) -> Value {
        self.0.to_value()
    }
    fn from_value(value: &Value) -> Result<Self> {
        T::from_value(value).map(Wrapping)
    }
    fn write(&self, name: &str, w: &mut Writer) {
        self.0.write(name, w);
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        T::read(r, p).map(Wrapping)
    }
    fn seq_to_value(items: &[Self]) -> Value {
        T::seq_to_value(&items.iter().map(|w| w.0).collect::<Vec<T>>())
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        T::seq_from_value(value).map(|items| items.into_iter().map(Wrapping).collect())
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

macro_rules! non_zero {
    ($($nz:ident($t:ident)),*) => {$(
        /// Stored as the integer; a stored zero is refused.
        impl Field for $nz {
            fn to_value(&self) -> Value {
                self.get().to_value()
            }
            fn from_value(value: &Value) -> Result<Self> {
                $nz::new($t::from_value(value)?).ok_or_else(|| zero(stringify!($nz)))
            }
            fn write(&self, name: &str, w: &mut Writer) {
                self.get().write(name, w);
            }
            fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
                $nz::new($t::read(r, p)?)
            }
            fn seq_to_value(items: &[Self]) -> Value {
                $t::seq_to_value(&items.iter().map(|n| n.get()).collect::<Vec<$t>>())
            }
            fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
                $t::seq_from_value(value)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| $nz::new(n).ok_or_else(|| zero(stringify!($nz)).in_index(i)))
                    .collect()
            }
        }
    )*};
}

fn zero(ty: &'static str) -> Error {
    Error::value(ValueFault::OutOfRange {
        ty,
        value: "0".into(),
    })
}

non_zero!(
    NonZeroU8(u8),
    NonZeroU16(u16),
    NonZeroU32(u32),
    NonZeroU64(u64),
    NonZeroUsize(usize),
    NonZeroI8(i8),
    NonZeroI16(i16),
    NonZeroI32(i32),
    NonZeroI64(i64),
    NonZeroIsize(isize)
);

/// A list of named parts, each read by `read` with the error's path
/// naming the part.
fn part<T: Field>(list: &NvList, name: &str) -> Result<T> {
    match list.get(name) {
        Some(v) => T::from_value(v).map_err(|e| e.in_field(name)),
        None => Err(Error::value(ValueFault::Missing).in_field(name)),
    }
}

fn list(value: &Value) -> Result<&NvList> {
    match value {
        Value::NvList(l) => Ok(l),
        other => Err(wrong_type("nvlist", other)),
    }
}

/// Seconds and nanoseconds, as `Duration` itself holds them: every
/// duration, exactly.
impl Field for Duration {
    fn to_value(&self) -> Value {
        Value::NvList(
            NvList::new()
                .with("secs", self.as_secs())
                .with("nanos", u64::from(self.subsec_nanos())),
        )
    }
    fn from_value(value: &Value) -> Result<Self> {
        let list = list(value)?;
        let secs: u64 = part(list, "secs")?;
        let nanos: u32 = part(list, "nanos")?;
        if nanos >= 1_000_000_000 {
            return Err(Error::value(ValueFault::OutOfRange {
                ty: "nanoseconds below 1000000000",
                value: nanos.to_string(),
            })
            .in_field("nanos"));
        }
        Ok(Duration::new(secs, nanos))
    }
}

/// Start and end, as the range holds them.
impl<T: Field> Field for Range<T> {
    fn to_value(&self) -> Value {
        Value::NvList(
            NvList::new()
                .with("start", self.start.to_value())
                .with("end", self.end.to_value()),
        )
    }
    fn from_value(value: &Value) -> Result<Self> {
        let list = list(value)?;
        Ok(part(list, "start")?..part(list, "end")?)
    }
    fn record_schemas(out: &mut RecordSchemas) {
        T::record_schemas(out);
    }
}

/// The bytes, not a lossy UTF-8 rendering: a path that is not UTF-8
/// comes back the same.
impl Field for OsString {
    fn to_value(&self) -> Value {
        text_value(self.as_bytes())
    }
    fn write(&self, name: &str, w: &mut Writer) {
        write_text(name, w, self.as_bytes());
    }
    fn from_value(value: &Value) -> Result<Self> {
        text_bytes(value).map(|b| OsString::from_vec(b.to_vec()))
    }
    fn seq_to_value(items: &[Self]) -> Value {
        text_seq_value(items.iter().map(|s| s.as_bytes()))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        text_seq_from_value(value, |b| Ok(OsString::from_vec(b.to_vec())))
    }
}

/// As its `OsString`.
impl Field for PathBuf {
    fn to_value(&self) -> Value {
        text_value(self.as_os_str().as_bytes())
    }
    fn write(&self, name: &str, w: &mut Writer) {
        write_text(name, w, self.as_os_str().as_bytes());
    }
    fn from_value(value: &Value) -> Result<Self> {
        OsString::from_value(value).map(PathBuf::from)
    }
    fn seq_to_value(items: &[Self]) -> Value {
        text_seq_value(items.iter().map(|p| p.as_os_str().as_bytes()))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        text_seq_from_value(value, |b| Ok(PathBuf::from(OsString::from_vec(b.to_vec()))))
    }
}

macro_rules! text_form {
    ($($t:ident),*) => {$(
        /// The standard text form, which `FromStr` reads back; text that
        /// does not parse is refused.
        impl Field for $t {
            fn to_value(&self) -> Value {
                Value::String(self.to_string().as_str().into())
            }
            fn from_value(value: &Value) -> Result<Self> {
                parse(&String::from_value(value)?)
            }
            fn seq_to_value(items: &[Self]) -> Value {
                let texts: Vec<String> = items.iter().map(ToString::to_string).collect();
                text_seq_value(texts.iter().map(|t| t.as_bytes()))
            }
            fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
                text_seq_from_value(value, |b| parse(&utf8(b)?))
            }
        }
    )*};
}

text_form!(Ipv4Addr, Ipv6Addr, IpAddr, SocketAddr);

/// The address in `text`, or the error naming the type.
fn parse<T: std::str::FromStr>(text: &str) -> Result<T> {
    text.parse().map_err(|_| {
        Error::value(ValueFault::OutOfRange {
            ty: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("address"),
            value: text.to_owned(),
        })
    })
}

/// As a `String`; read back owned.
impl Field for Cow<'static, str> {
    fn to_value(&self) -> Value {
        text_value(self.as_bytes())
    }
    fn write(&self, name: &str, w: &mut Writer) {
        write_text(name, w, self.as_bytes());
    }
    fn from_value(value: &Value) -> Result<Self> {
        String::from_value(value).map(Cow::Owned)
    }
    fn seq_to_value(items: &[Self]) -> Value {
        text_seq_value(items.iter().map(|s| s.as_bytes()))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        text_seq_from_value(value, |b| utf8(b).map(Cow::Owned))
    }
}
