//! Stored values checked against a type known only by its name, as a
//! recorded schema writes it (`u32`, `Option<i16>`, `[u8; 128]`,
//! `Vec<u64>`): what tools without the program's code (the generic
//! `snapshot migrate`, `snapshot set`) need to refuse a value the
//! program's own reader would refuse. The check is the data model's own
//! reading of that type, so the two cannot disagree.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::{
    NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI8, NonZeroIsize, NonZeroU16, NonZeroU32,
    NonZeroU64, NonZeroU8, NonZeroUsize,
};
use std::path::PathBuf;
use std::time::Duration;

use super::Field;
use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{Type, Value};

/// Whether `value` reads as the type named `ty`: `None` for a name the
/// data model cannot check without the program's code (a record, a type
/// of the program's own).
pub fn reads_as(ty: &str, value: &Value) -> Option<Result<()>> {
    let ty = unwrapped(ty);
    if let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        return Some((scalar(unwrapped(inner))?.option)(value));
    }
    if let Some(inner) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        return Some((scalar(unwrapped(inner))?.seq)(value).map(drop));
    }
    if let Some((elem, n)) = array(ty) {
        let checks = scalar(elem)?;
        return Some((checks.seq)(value).and_then(|found| {
            if found == n {
                Ok(())
            } else {
                Err(Error::value(ValueFault::BadLength { expected: n, found }))
            }
        }));
    }
    Some((scalar(ty)?.one)(value))
}

/// The nvlist type a value of the type named `ty` is stored as (an array
/// of bytes as `binary`), for a field that is not stored yet; `None`
/// when the name does not say.
pub fn stored_type(ty: &str) -> Option<Type> {
    let ty = unwrapped(ty);
    let seq = ty
        .strip_prefix("Vec<")
        .and_then(|t| t.strip_suffix('>'))
        .map(unwrapped)
        .or_else(|| array(ty).map(|(elem, _)| unwrapped(elem)));
    if let Some(elem) = seq {
        scalar(elem)?;
        return Some(match elem {
            "u8" => Type::Binary,
            "bool" => Type::BoolArray,
            e if stored_alone(e) == Some(Type::String) => Type::StringArray,
            e if stored_alone(e) == Some(Type::Number) => Type::NumberArray,
            // A positional list of the elements.
            _ => Type::NvList,
        });
    }
    scalar(ty)?;
    stored_alone(ty)
}

/// The nvlist type one value of the scalar `ty` is stored as.
fn stored_alone(ty: &str) -> Option<Type> {
    Some(match ty {
        "bool" => Type::Bool,
        "String" | "PathBuf" | "OsString" | "Ipv4Addr" | "Ipv6Addr" | "IpAddr" | "SocketAddr" => {
            Type::String
        }
        "u128" | "i128" => Type::NumberArray,
        "Duration" => Type::NvList,
        _ => Type::Number,
    })
}

/// `ty` without the `Wrapping<...>` around it, which is stored as what it
/// wraps; peeled in a loop, as a type from a file may nest deep.
pub(crate) fn unwrapped(ty: &str) -> &str {
    let mut ty = ty.trim();
    while let Some(inner) = ty
        .strip_prefix("Wrapping<")
        .and_then(|t| t.strip_suffix('>'))
    {
        ty = inner.trim();
    }
    ty
}

/// `[T; N]` as `(T, N)`.
fn array(ty: &str) -> Option<(&str, usize)> {
    let inner = ty.strip_prefix('[')?.strip_suffix(']')?;
    let (elem, n) = inner.rsplit_once(';')?;
    Some((elem.trim(), n.trim().parse().ok()?))
}

/// The checks of one scalar type: as itself, in an `Option`, and as the
/// elements of a sequence (which gives their number).
struct Checks {
    one: fn(&Value) -> Result<()>,
    option: fn(&Value) -> Result<()>,
    seq: fn(&Value) -> Result<usize>,
}

fn reads<T: Field>(value: &Value) -> Result<()> {
    T::from_value(value).map(drop)
}

fn seq_len<T: Field>(value: &Value) -> Result<usize> {
    Vec::<T>::from_value(value).map(|items| items.len())
}

macro_rules! scalars {
    ($($t:ident),*) => {
        fn scalar(name: &str) -> Option<Checks> {
            Some(match name {
                $(stringify!($t) => Checks {
                    one: reads::<$t>,
                    option: reads::<Option<$t>>,
                    seq: seq_len::<$t>,
                },)*
                _ => return None,
            })
        }
    };
}

scalars!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    bool,
    char,
    String,
    NonZeroU8,
    NonZeroU16,
    NonZeroU32,
    NonZeroU64,
    NonZeroUsize,
    NonZeroI8,
    NonZeroI16,
    NonZeroI32,
    NonZeroI64,
    NonZeroIsize,
    Duration,
    PathBuf,
    OsString,
    Ipv4Addr,
    Ipv6Addr,
    IpAddr,
    SocketAddr
);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ty: &str, value: Value) -> Option<String> {
        reads_as(ty, &value)
            .map(|r| r.map_or_else(|e| e.in_field("f").to_string(), |()| "ok".into()))
    }

    #[test]
    fn numbers_by_width_and_sign() {
        assert_eq!(check("u32", Value::Number(7)).as_deref(), Some("ok"));
        assert_eq!(
            check("u32", Value::Number(u64::MAX)).as_deref(),
            Some("f: 18446744073709551615 does not fit u32")
        );
        assert_eq!(check("i32", Value::Number(u64::MAX)).as_deref(), Some("ok"));
        assert_eq!(
            check("u8", Value::Number(256)).as_deref(),
            Some("f: 256 does not fit u8")
        );
        assert_eq!(
            check("Option<u16>", Value::Number(70_000)).as_deref(),
            Some("f: 70000 does not fit u16")
        );
        assert_eq!(check("Option<u16>", Value::Null).as_deref(), Some("ok"));
    }

    #[test]
    fn arrays_by_length_and_element() {
        assert_eq!(
            check("[u8; 4]", Value::Binary(vec![1, 2, 3])).as_deref(),
            Some("f: expected 4 items, found 3")
        );
        assert_eq!(
            check("[u8; 3]", Value::Binary(vec![1, 2, 3])).as_deref(),
            Some("ok")
        );
        assert_eq!(
            check("Vec<u16>", Value::NumberArray(vec![1, 1 << 20])).as_deref(),
            Some("f[1]: 1048576 does not fit u16")
        );
        assert_eq!(check("Vec<u8>", Value::Null).as_deref(), Some("ok"));
    }

    #[test]
    fn names_it_cannot_check() {
        assert_eq!(check("Timer", Value::Number(1)), None);
        assert_eq!(check("Vec<Timer>", Value::Number(1)), None);
        assert_eq!(stored_type("Timer"), None);
    }

    #[test]
    fn standard_types_by_the_types_they_stand_on() {
        assert_eq!(
            check("Wrapping<u16>", Value::Number(7)).as_deref(),
            Some("ok")
        );
        let e = check("Wrapping<u16>", Value::Number(1 << 16)).unwrap();
        assert!(e.contains("does not fit u16"), "{e}");
        let e = check("NonZeroU16", Value::Number(0)).unwrap();
        assert!(e.contains("0 does not fit NonZeroU16"), "{e}");
        assert_eq!(
            check("Vec<Wrapping<u8>>", Value::Binary(vec![1])).as_deref(),
            Some("ok")
        );
        let e = check("Ipv4Addr", Value::String("10.0.0.300".into())).unwrap();
        assert!(e.contains("10.0.0.300"), "{e}");
        assert_eq!(stored_type("Wrapping<u32>"), Some(Type::Number));
        assert_eq!(stored_type("Vec<Wrapping<u32>>"), Some(Type::NumberArray));
        assert_eq!(stored_type("Vec<NonZeroU64>"), Some(Type::NumberArray));
        assert_eq!(stored_type("Vec<PathBuf>"), Some(Type::StringArray));
        assert_eq!(stored_type("Duration"), Some(Type::NvList));
        assert_eq!(stored_type("SocketAddr"), Some(Type::String));
        let deep = format!("{}u8{}", "Wrapping<".repeat(100_000), ">".repeat(100_000));
        assert_eq!(stored_type(&deep), Some(Type::Number));
    }

    #[test]
    fn stored_types() {
        assert_eq!(stored_type("u32"), Some(Type::Number));
        assert_eq!(stored_type("[u8; 128]"), Some(Type::Binary));
        assert_eq!(stored_type("Vec<u64>"), Some(Type::NumberArray));
        assert_eq!(stored_type("bool"), Some(Type::Bool));
    }
}
