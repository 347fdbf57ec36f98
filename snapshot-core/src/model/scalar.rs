//! Scalars: integers, floats, `bool`, `char`, `String`.
//!
//! One `NUMBER` holds every integer up to 64 bits: unsigned ones as they
//! are, signed ones as 64-bit two's complement. So widening (`u16` to
//! `u32`, `i32` to `i64`) needs nothing, and a value that does not fit a
//! narrower type is refused, never truncated. Floats are stored as the bits
//! of their `f64` value (an `f32` is converted exactly, NaN payloads
//! included), so `f32` to `f64` is a widening too.

use super::{wrong_type, Field};
use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{NvString, Pair, Reader, Value, Writer};

fn out_of_range(ty: &'static str, value: impl ToString) -> Error {
    Error::value(ValueFault::OutOfRange {
        ty,
        value: value.to_string(),
    })
}

fn number(value: &Value) -> Result<u64> {
    match value {
        Value::Number(n) => Ok(*n),
        other => Err(wrong_type("number", other)),
    }
}

fn numbers(value: &Value) -> Result<&[u64]> {
    match value {
        Value::Null => Ok(&[]),
        Value::NumberArray(a) => Ok(a),
        other => Err(wrong_type("number[] or null", other)),
    }
}

/// Decodes each number of an array with `read`, naming the failing index.
fn read_numbers<T>(value: &Value, read: impl Fn(u64) -> Result<T>) -> Result<Vec<T>> {
    numbers(value)?
        .iter()
        .enumerate()
        .map(|(i, &n)| read(n).map_err(|e| e.in_index(i)))
        .collect()
}

fn number_array(items: impl ExactSizeIterator<Item = u64>) -> Value {
    if items.len() == 0 {
        Value::Null
    } else {
        Value::NumberArray(items.collect())
    }
}

/// Writes numbers as a `NUMBER_ARRAY`, or `NULL` when there are none.
#[inline]
fn write_numbers(name: &str, w: &mut Writer, items: impl ExactSizeIterator<Item = u64>) {
    if items.len() == 0 {
        w.null(name);
    } else {
        w.number_array(name, items);
    }
}

/// Writes bytes as a `BINARY`, or `NULL` when there are none.
#[inline]
fn write_bytes(name: &str, w: &mut Writer, bytes: &[u8]) {
    if bytes.is_empty() {
        w.null(name);
    } else {
        w.binary(name, bytes);
    }
}

/// Reads a number array (or `NULL` for none) with `read` per number.
#[inline]
fn read_numbers_fast<T>(
    r: &mut Reader<'_>,
    p: &Pair<'_>,
    read: impl Fn(u64) -> Option<T>,
) -> Option<Vec<T>> {
    if Reader::is_null(p) {
        return r.null(p).map(|_| Vec::new());
    }
    // Not `collect::<Option<_>>()`: it cannot size the vector up front.
    let numbers = r.numbers(p)?;
    let mut out = Vec::with_capacity(numbers.len());
    for n in numbers {
        out.push(read(n)?);
    }
    Some(out)
}

/// [`read_numbers_fast`] into an array of exactly `N`, without a `Vec`:
/// `None` for another count (the checked path names it).
fn read_numbers_array<T: Copy + Default, const N: usize>(
    r: &mut Reader<'_>,
    p: &Pair<'_>,
    read: impl Fn(u64) -> Option<T>,
) -> Option<[T; N]> {
    if N == 0 {
        return r.null(p).map(|_| [T::default(); N]);
    }
    let numbers = r.numbers(p)?;
    if numbers.len() != N {
        return None;
    }
    let mut out = [T::default(); N];
    for (slot, n) in out.iter_mut().zip(numbers) {
        *slot = read(n)?;
    }
    Some(out)
}

/// A `BINARY` pair of exactly `N` bytes (`NULL` for none), mapped.
fn read_bytes_array<T: Copy + Default, const N: usize>(
    r: &mut Reader<'_>,
    p: &Pair<'_>,
    map: impl Fn(u8) -> T,
) -> Option<[T; N]> {
    if N == 0 {
        return r.null(p).map(|_| [T::default(); N]);
    }
    let bytes = r.binary(p)?;
    if bytes.len() != N {
        return None;
    }
    let mut out = [T::default(); N];
    for (slot, &b) in out.iter_mut().zip(bytes) {
        *slot = map(b);
    }
    Some(out)
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn to_value(&self) -> Value {
                Value::Number(*self as u64)
            }
            #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
                w.number(name, *self as u64);
            }
            fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
                write_numbers(name, w, items.iter().map(|&x| x as u64));
            }
            #[inline]
            fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
                <$t>::try_from(r.number(p)?).ok()
            }
            #[inline]
            fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
                read_numbers_fast(r, p, |n| <$t>::try_from(n).ok())
            }
            #[inline]
            fn read_array<const N: usize>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<[Self; N]> {
                read_numbers_array(r, p, |n| <$t>::try_from(n).ok())
            }
            fn from_value(value: &Value) -> Result<Self> {
                let n = number(value)?;
                <$t>::try_from(n).map_err(|_| out_of_range(stringify!($t), n))
            }
            fn seq_to_value(items: &[Self]) -> Value {
                number_array(items.iter().map(|&x| x as u64))
            }
            fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
                read_numbers(value, |n| {
                    <$t>::try_from(n).map_err(|_| out_of_range(stringify!($t), n))
                })
            }
        }
    )*};
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn to_value(&self) -> Value {
                Value::Number(*self as i64 as u64)
            }
            #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
                w.number(name, *self as i64 as u64);
            }
            fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
                write_numbers(name, w, items.iter().map(|&x| x as i64 as u64));
            }
            #[inline]
            fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
                <$t>::try_from(r.number(p)? as i64).ok()
            }
            #[inline]
            fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
                read_numbers_fast(r, p, |n| <$t>::try_from(n as i64).ok())
            }
            #[inline]
            fn read_array<const N: usize>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<[Self; N]> {
                read_numbers_array(r, p, |n| <$t>::try_from(n as i64).ok())
            }
            fn from_value(value: &Value) -> Result<Self> {
                let n = number(value)? as i64;
                <$t>::try_from(n).map_err(|_| out_of_range(stringify!($t), n))
            }
            fn seq_to_value(items: &[Self]) -> Value {
                number_array(items.iter().map(|&x| x as i64 as u64))
            }
            fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
                read_numbers(value, |n| {
                    <$t>::try_from(n as i64).map_err(|_| out_of_range(stringify!($t), n as i64))
                })
            }
        }
    )*};
}

unsigned!(u16, u32, u64, usize);
signed!(i16, i32, i64, isize);

/// Bytes are numbers alone and `BINARY` in a sequence.
impl Field for u8 {
    fn to_value(&self) -> Value {
        Value::Number((*self).into())
    }
    #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
        w.number(name, (*self).into());
    }
    fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
        write_bytes(name, w, items);
    }
    #[inline]
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        u8::try_from(r.number(p)?).ok()
    }
    #[inline]
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        if Reader::is_null(p) {
            return r.null(p).map(|_| Vec::new());
        }
        r.binary(p).map(crate::nvlist::copy_bytes)
    }
    #[inline]
    fn read_array<const N: usize>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<[Self; N]> {
        read_bytes_array(r, p, |b| b)
    }
    fn from_value(value: &Value) -> Result<Self> {
        let n = number(value)?;
        u8::try_from(n).map_err(|_| out_of_range("u8", n))
    }
    fn seq_to_value(items: &[Self]) -> Value {
        if items.is_empty() {
            Value::Null
        } else {
            Value::Binary(items.to_vec())
        }
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::Binary(b) => Ok(b.clone()),
            other => Err(wrong_type("binary or null", other)),
        }
    }
}

/// Signed bytes are stored as `u8` is, a sequence as its two's complement
/// bytes.
impl Field for i8 {
    fn to_value(&self) -> Value {
        Value::Number(*self as i64 as u64)
    }
    fn from_value(value: &Value) -> Result<Self> {
        let n = number(value)? as i64;
        i8::try_from(n).map_err(|_| out_of_range("i8", n))
    }
    fn seq_to_value(items: &[Self]) -> Value {
        if items.is_empty() {
            Value::Null
        } else {
            Value::Binary(items.iter().map(|&x| x as u8).collect())
        }
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        i8::try_from(r.number(p)? as i64).ok()
    }
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        if Reader::is_null(p) {
            return r.null(p).map(|_| Vec::new());
        }
        r.binary(p).map(|b| b.iter().map(|&x| x as i8).collect())
    }
    fn read_array<const N: usize>(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<[Self; N]> {
        read_bytes_array(r, p, |b| b as i8)
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::Binary(b) => Ok(b.iter().map(|&x| x as i8).collect()),
            other => Err(wrong_type("binary or null", other)),
        }
    }
}

/// 128-bit integers take two numbers, low half first. A single `NUMBER` is
/// read too, so widening from 64 bits needs nothing (`i128` reads it as
/// signed).
impl Field for u128 {
    fn to_value(&self) -> Value {
        Value::NumberArray(vec![*self as u64, (*self >> 64) as u64])
    }
    fn write(&self, name: &str, w: &mut Writer) {
        w.number_array(name, [*self as u64, (*self >> 64) as u64].into_iter());
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        let mut halves = r.numbers(p)?;
        match (halves.next(), halves.next(), halves.next()) {
            (Some(low), Some(high), None) => Some(u128::from(low) | u128::from(high) << 64),
            _ => None,
        }
    }
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Number(n) => Ok((*n).into()),
            Value::NumberArray(a) if a.len() == 2 => Ok(u128::from(a[0]) | u128::from(a[1]) << 64),
            Value::NumberArray(a) => Err(Error::value(ValueFault::BadLength {
                expected: 2,
                found: a.len(),
            })),
            other => Err(wrong_type("number[2]", other)),
        }
    }
}

impl Field for i128 {
    fn to_value(&self) -> Value {
        (*self as u128).to_value()
    }
    fn write(&self, name: &str, w: &mut Writer) {
        (*self as u128).write(name, w);
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        u128::read(r, p).map(|x| x as i128)
    }
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Number(n) => Ok((*n as i64).into()),
            other => Ok(u128::from_value(other)? as i128),
        }
    }
}

/// The `f64` bits of an `f32`, exact for every value: `as` would quiet a
/// signalling NaN, so NaNs move their payload by hand.
pub(crate) fn f32_to_bits64(x: f32) -> u64 {
    if x.is_nan() {
        let b = x.to_bits();
        (u64::from(b >> 31) << 63) | (0x7ff << 52) | (u64::from(b & 0x7f_ffff) << 29)
    } else {
        f64::from(x).to_bits()
    }
}

/// The `f32` whose [`f32_to_bits64`] is `bits`, if there is one.
pub(crate) fn bits64_to_f32(bits: u64) -> Option<f32> {
    let x = f64::from_bits(bits);
    if x.is_nan() {
        let mantissa = bits & ((1 << 52) - 1);
        if mantissa & ((1 << 29) - 1) != 0 {
            return None;
        }
        let sign = ((bits >> 63) as u32) << 31;
        return Some(f32::from_bits(sign | 0xff << 23 | (mantissa >> 29) as u32));
    }
    let y = x as f32;
    (f64::from(y).to_bits() == bits).then_some(y)
}

fn f32_from_bits64(bits: u64) -> Result<f32> {
    bits64_to_f32(bits).ok_or_else(|| out_of_range("f32", f64::from_bits(bits)))
}

impl Field for f32 {
    fn to_value(&self) -> Value {
        Value::Number(f32_to_bits64(*self))
    }
    #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
        w.number(name, f32_to_bits64(*self));
    }
    fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
        write_numbers(name, w, items.iter().map(|&x| f32_to_bits64(x)));
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        bits64_to_f32(r.number(p)?)
    }
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        read_numbers_fast(r, p, bits64_to_f32)
    }
    fn from_value(value: &Value) -> Result<Self> {
        f32_from_bits64(number(value)?)
    }
    fn seq_to_value(items: &[Self]) -> Value {
        number_array(items.iter().map(|&x| f32_to_bits64(x)))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        read_numbers(value, f32_from_bits64)
    }
}

impl Field for f64 {
    fn to_value(&self) -> Value {
        Value::Number(self.to_bits())
    }
    #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
        w.number(name, self.to_bits());
    }
    fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
        write_numbers(name, w, items.iter().map(|x| x.to_bits()));
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        r.number(p).map(f64::from_bits)
    }
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        read_numbers_fast(r, p, |n| Some(f64::from_bits(n)))
    }
    fn from_value(value: &Value) -> Result<Self> {
        Ok(f64::from_bits(number(value)?))
    }
    fn seq_to_value(items: &[Self]) -> Value {
        number_array(items.iter().map(|x| x.to_bits()))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        read_numbers(value, |n| Ok(f64::from_bits(n)))
    }
}

impl Field for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
        w.bool(name, *self);
    }
    fn write_seq(items: &[Self], name: &str, w: &mut Writer) {
        if items.is_empty() {
            w.null(name);
        } else {
            w.bool_array(name, items);
        }
    }
    #[inline]
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        r.bool(p)
    }
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        if Reader::is_null(p) {
            return r.null(p).map(|_| Vec::new());
        }
        r.bools(p)
    }
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(wrong_type("bool", other)),
        }
    }
    fn seq_to_value(items: &[Self]) -> Value {
        if items.is_empty() {
            Value::Null
        } else {
            Value::BoolArray(items.to_vec())
        }
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::BoolArray(a) => Ok(a.clone()),
            other => Err(wrong_type("bool[] or null", other)),
        }
    }
}

fn char_from(n: u64) -> Result<char> {
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| Error::value(ValueFault::InvalidChar(n)))
}

/// A `char` is its scalar value.
impl Field for char {
    fn to_value(&self) -> Value {
        Value::Number(u64::from(*self))
    }
    #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
        w.number(name, u64::from(*self));
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        char_from(r.number(p)?).ok()
    }
    fn read_seq(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Vec<Self>> {
        read_numbers_fast(r, p, |n| char_from(n).ok())
    }
    fn from_value(value: &Value) -> Result<Self> {
        char_from(number(value)?)
    }
    fn seq_to_value(items: &[Self]) -> Value {
        number_array(items.iter().map(|&c| u64::from(c)))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        read_numbers(value, char_from)
    }
}

pub(super) fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::value(ValueFault::NotUtf8))
}

/// Text as stored: a `STRING`, or a `BINARY` when it holds a NUL (which a
/// libnv string cannot). The rule of `String`, and of the types stored as
/// text bytes (`Cow<str>`, `OsString`, `PathBuf`).
pub(super) fn text_value(bytes: &[u8]) -> Value {
    if bytes.contains(&0) {
        Value::Binary(bytes.to_vec())
    } else {
        Value::String(bytes.into())
    }
}

/// [`text_value`] written straight into a packed list.
#[inline]
pub(super) fn write_text(name: &str, w: &mut Writer, bytes: &[u8]) {
    if bytes.contains(&0) {
        w.binary(name, bytes);
    } else {
        w.string(name, bytes);
    }
}

/// The bytes of a value stored by [`text_value`].
pub(super) fn text_bytes(value: &Value) -> Result<&[u8]> {
    match value {
        Value::String(s) => Ok(s.as_bytes()),
        Value::Binary(b) => Ok(b),
        other => Err(wrong_type("string or binary", other)),
    }
}

/// A sequence of text as stored: a `STRING_ARRAY`, or a positional list
/// of [`text_value`]s when one holds a NUL; `NULL` when empty. The rule
/// of sequences of every text type, so that they store alike.
pub(super) fn text_seq_value<'a>(items: impl Iterator<Item = &'a [u8]> + Clone) -> Value {
    if items.clone().next().is_none() {
        Value::Null
    } else if items.clone().any(|s| s.contains(&0)) {
        Value::NvList(super::positional(items.map(text_value)))
    } else {
        Value::StringArray(items.map(NvString::from).collect())
    }
}

/// The items of a sequence stored by [`text_seq_value`], each read from
/// its bytes by `item`.
pub(super) fn text_seq_from_value<T: Field>(
    value: &Value,
    item: impl Fn(&[u8]) -> Result<T>,
) -> Result<Vec<T>> {
    match value {
        Value::StringArray(a) => a
            .iter()
            .enumerate()
            .map(|(i, s)| item(s.as_bytes()).map_err(|e| e.in_index(i)))
            .collect(),
        Value::Null | Value::NvList(_) => super::from_positional_or_null(value),
        other => Err(wrong_type("string[], nvlist or null", other)),
    }
}

/// A `String` is stored by [`text_value`].
impl Field for String {
    fn to_value(&self) -> Value {
        text_value(self.as_bytes())
    }
    #[inline]
    fn write(&self, name: &str, w: &mut Writer) {
        write_text(name, w, self.as_bytes());
    }
    fn read(r: &mut Reader<'_>, p: &Pair<'_>) -> Option<Self> {
        let bytes = match r.string(p) {
            Some(s) => s,
            None => r.binary(p)?,
        };
        String::from_utf8(bytes.to_vec()).ok()
    }
    fn from_value(value: &Value) -> Result<Self> {
        utf8(text_bytes(value)?)
    }
    fn seq_to_value(items: &[Self]) -> Value {
        text_seq_value(items.iter().map(|s| s.as_bytes()))
    }
    fn seq_from_value(value: &Value) -> Result<Vec<Self>> {
        text_seq_from_value(value, utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_nan_payloads_survive() {
        for bits in [
            0x7fc0_0000u32,
            0x7f80_0001,
            0xff80_0001,
            0x7fbf_ffff,
            0xffff_ffff,
        ] {
            let x = f32::from_bits(bits);
            assert_eq!(bits64_to_f32(f32_to_bits64(x)).unwrap().to_bits(), bits);
        }
    }

    #[test]
    fn f64_that_is_not_an_f32_is_refused() {
        assert!(f32::from_value(&0.1f64.to_value()).is_err());
        assert_eq!(f32::from_value(&0.5f64.to_value()).unwrap(), 0.5);
        assert!(f32::from_value(&f64::from_bits(0x7ff0_0000_0000_0001).to_value()).is_err());
    }

    #[test]
    fn widening_and_narrowing() {
        assert_eq!(i64::from_value(&(-5i32).to_value()).unwrap(), -5);
        assert_eq!(u32::from_value(&7u16.to_value()).unwrap(), 7);
        assert!(u16::from_value(&70_000u32.to_value()).is_err());
        assert!(i8::from_value(&128i16.to_value()).is_err());
        assert!(u32::from_value(&(-1i32).to_value()).is_err());
        assert_eq!(i128::from_value(&(-3i64).to_value()).unwrap(), -3);
    }
}
