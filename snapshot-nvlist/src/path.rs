//! Value paths: `devices.vhpet.timers[3].compval` names one value inside
//! an nvlist section.
//!
//! A path is segments joined by `.`; the first names the section. A
//! segment is a pair name, optionally followed by `[N]` to pick element N
//! of an array pair. A name made only of characters other than `.`, `[`,
//! `]`, `"`, `\` and whitespace is written as is; any other name is
//! written in double quotes, inside which `\"` stands for `"` and `\\`
//! for `\`: `devices."basic metadata".x`, `kernel."freq_bt.sec"`.

use std::borrow::Cow;
use std::fmt;

use crate::error::{Error, ErrorKind, Result};
use crate::text::{from_text, shown};
use crate::view::{ListView, ValueView, View};
use crate::{NvList, NvString, Type, Value};

/// One segment of a path: a pair name and an optional array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The pair's name.
    pub name: NvString,
    /// `[N]`: element N of the array pair.
    pub index: Option<usize>,
}

/// A parsed path: the section and the segments inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuePath {
    /// The section's name.
    pub section: String,
    /// The segments from the section's top-level list; empty for the whole
    /// section.
    pub segments: Vec<Segment>,
    text: String,
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn bare_char(c: char) -> bool {
    !matches!(c, '.' | '[' | ']' | '"' | '\\') && !c.is_whitespace()
}

/// A name as a path segment: bare when it can be, else quoted with `\"`
/// and `\\` escapes (bytes that are not UTF-8 are replaced, as a path
/// cannot hold them).
pub fn quote_name(name: &NvString) -> String {
    quote_str(&name.to_string_lossy()).into_owned()
}

/// The path of the `nth` pair (from 1) called `name` in the list at
/// `parent`: `parent.name`, and for a second pair of one name (a
/// `NO_UNIQUE` list), which one it is, since a path alone names the first.
pub fn pair_path(parent: &str, name: &NvString, nth: usize) -> String {
    match nth {
        1 => format!("{parent}.{}", quote_name(name)),
        n => format!("{parent}.{} (pair {n} of this name)", quote_name(name)),
    }
}

/// [`quote_name`] for a UTF-8 name.
pub fn quote_str(name: &str) -> Cow<'_, str> {
    if !name.is_empty() && name.chars().all(bare_char) {
        return Cow::Borrowed(name);
    }
    let mut out = String::from('"');
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Cow::Owned(out)
}

impl ValuePath {
    /// Parses a path; errors say what is wrong at which character.
    pub fn parse(text: &str) -> Result<ValuePath> {
        let fail =
            |at: usize, what: &str| Error::bad_path(text, format!("at character {at}: {what}"));
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut segments: Vec<Segment> = Vec::new();
        loop {
            let mut name = String::new();
            let quoted = chars.get(i) == Some(&'"');
            if quoted {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(fail(i, "unterminated quoted name")),
                        Some('"') => break,
                        Some('\\') => match chars.get(i + 1) {
                            Some(&c @ ('"' | '\\')) => {
                                name.push(c);
                                i += 1;
                            }
                            _ => return Err(fail(i, "only \\\" and \\\\ may follow \\")),
                        },
                        Some(&c) => name.push(c),
                    }
                    i += 1;
                }
                i += 1;
            } else {
                while let Some(&c) = chars.get(i).filter(|c| bare_char(**c)) {
                    name.push(c);
                    i += 1;
                }
            }
            // An empty name (libnv allows one) is written `""`.
            if name.is_empty() && !quoted {
                return Err(fail(i, "expected a name"));
            }
            let mut index = None;
            if chars.get(i) == Some(&'[') {
                let start = i + 1;
                let mut end = start;
                while chars.get(end).is_some_and(char::is_ascii_digit) {
                    end += 1;
                }
                if end == start || chars.get(end) != Some(&']') {
                    return Err(fail(start, "expected a decimal index and `]`"));
                }
                let digits: String = chars[start..end].iter().collect();
                index = Some(
                    digits
                        .parse()
                        .map_err(|_| fail(start, "index out of range"))?,
                );
                i = end + 1;
            }
            segments.push(Segment {
                name: name.into(),
                index,
            });
            match chars.get(i) {
                None => break,
                Some('.') => i += 1,
                Some(_) => return Err(fail(i, "expected `.`, `[` or the end")),
            }
        }
        let first = segments.remove(0);
        if first.index.is_some() {
            return Err(fail(0, "a section is not an array"));
        }
        Ok(ValuePath {
            section: first.name.to_string_lossy().into_owned(),
            segments,
            text: text.to_owned(),
        })
    }

    fn error(&self, at: usize, what: impl fmt::Display) -> Error {
        let name = self.segments[at].name.to_string_lossy();
        Error::bad_path(
            &self.text,
            format!("at `{}`: {what}", shown(name.as_bytes())),
        )
    }

    /// The value the path names in the section's list `root` (the whole
    /// list when the path has no segments).
    pub fn get(&self, root: &NvList) -> Result<Value> {
        let mut list = root;
        for (k, step) in self.segments.iter().enumerate() {
            let last = k + 1 == self.segments.len();
            let value = list
                .get(step.name.as_bytes())
                .ok_or_else(|| self.error(k, "no such pair"))?;
            let next = match (value, step.index) {
                (v, None) if last => return Ok(v.clone()),
                (Value::NvList(l), None) => l,
                (_, None) => return Err(self.error(k, "is not an nvlist, but the path goes on")),
                (Value::NvListArray(a), Some(i)) => {
                    a.get(i).ok_or_else(|| self.out_of_range(k, a.len()))?
                }
                (v, Some(i)) if last => return self.element(k, v, i),
                (_, Some(_)) => {
                    return Err(self.error(k, "is not an nvlist array, but the path goes on"))
                }
            };
            if last {
                return Ok(Value::NvList(next.clone()));
            }
            list = next;
        }
        Ok(Value::NvList(root.clone()))
    }

    /// [`ValuePath::get`] on a [`ListView`] of the section's packed
    /// bytes: the value read in place, nothing else of the list built
    /// (how one value is read from a closed image), with the same errors.
    pub fn get_view<'v>(&self, root: ListView<'v>) -> Result<ValueView<'v>> {
        let mut list = root;
        for (k, step) in self.segments.iter().enumerate() {
            let last = k + 1 == self.segments.len();
            let value = list
                .get(step.name.as_bytes())
                .ok_or_else(|| self.error(k, "no such pair"))?;
            let next = match (value, step.index) {
                (v, None) if last => return Ok(v),
                (ValueView::NvList(l), None) => l,
                (_, None) => return Err(self.error(k, "is not an nvlist, but the path goes on")),
                (ValueView::NvListArray(a), Some(i)) => {
                    a.get(i).ok_or_else(|| self.out_of_range(k, a.len()))?
                }
                (v, Some(i)) if last => return self.element_view(k, v, i),
                (_, Some(_)) => {
                    return Err(self.error(k, "is not an nvlist array, but the path goes on"))
                }
            };
            if last {
                return Ok(ValueView::NvList(next));
            }
            list = next;
        }
        Ok(ValueView::NvList(root))
    }

    /// Element `i` of a scalar array of a view, as [`ValuePath::element`].
    fn element_view<'v>(&self, k: usize, array: ValueView<'v>, i: usize) -> Result<ValueView<'v>> {
        let len = match array {
            ValueView::BoolArray(a) => a.len(),
            ValueView::NumberArray(a) => a.len(),
            ValueView::StringArray(a) => a.len(),
            ValueView::Binary(a) => a.len(),
            _ => return Err(self.error(k, "is not an array")),
        };
        let element = match array {
            ValueView::BoolArray(a) => a.get(i).map(ValueView::Bool),
            ValueView::NumberArray(a) => a.get(i).map(ValueView::Number),
            ValueView::StringArray(a) => a.iter().nth(i).map(ValueView::String),
            ValueView::Binary(a) => a.get(i).map(|&b| ValueView::Number(u64::from(b))),
            _ => None,
        };
        element.ok_or_else(|| self.out_of_range(k, len))
    }

    fn out_of_range(&self, k: usize, len: usize) -> Error {
        self.error(
            k,
            format!("index out of range (the array has {len} elements)"),
        )
    }

    /// Element `i` of a scalar array.
    fn element(&self, k: usize, array: &Value, i: usize) -> Result<Value> {
        let len = array_len(array).ok_or_else(|| self.error(k, "is not an array"))?;
        if i >= len {
            return Err(self.out_of_range(k, len));
        }
        Ok(match array {
            Value::BoolArray(a) => Value::Bool(a[i]),
            Value::NumberArray(a) => Value::Number(a[i]),
            Value::StringArray(a) => Value::String(a[i].clone()),
            Value::NvListArray(a) => Value::NvList(a[i].clone()),
            Value::Binary(a) => Value::Number(u64::from(a[i])),
            _ => unreachable!("array_len knows only arrays"),
        })
    }

    /// The type of the value the path names.
    pub fn target_type(&self, root: &NvList) -> Result<Type> {
        Ok(self.get(root)?.ty())
    }

    /// Sets the value the path names to `value`, in place (a pair keeps
    /// its position). The new value must have the old one's type unless
    /// `retype` is set; an array element always keeps its type. Returns
    /// the old value.
    pub fn set(&self, root: &mut NvList, value: Value, retype: bool) -> Result<Value> {
        let Some(last) = self.segments.len().checked_sub(1) else {
            return Err(Error::bad_path(
                &self.text,
                "names a whole section; use replace",
            ));
        };
        let mut list = root;
        for (k, step) in self.segments[..last].iter().enumerate() {
            list = match step.index {
                None => list
                    .get_nvlist_mut(step.name.as_bytes())
                    .map_err(|e| self.error(k, e))?,
                Some(i) => {
                    let array = list
                        .get_nvlist_array_mut(step.name.as_bytes())
                        .map_err(|e| self.error(k, e))?;
                    let len = array.len();
                    array.get_mut(i).ok_or_else(|| self.out_of_range(k, len))?
                }
            };
        }
        let step = &self.segments[last];
        let old = list
            .get(step.name.as_bytes())
            .ok_or_else(|| self.error(last, "no such pair"))?
            .clone();
        let new = match step.index {
            None => {
                if old.ty() != value.ty() && !retype {
                    return Err(self.error(
                        last,
                        format!(
                            "is {}, not {} (give the type explicitly to change it)",
                            old.ty(),
                            value.ty()
                        ),
                    ));
                }
                value
            }
            Some(i) => {
                let element = self.element(last, &old, i)?;
                if element.ty() != value.ty() {
                    return Err(self.error(
                        last,
                        format!("elements are {}, not {}", element.ty(), value.ty()),
                    ));
                }
                if let (Value::Binary(_), Value::Number(n @ 256..)) = (&old, &value) {
                    return Err(
                        self.error(last, format!("is binary: its bytes hold 0 to 255, not {n}"))
                    );
                }
                with_element(old.clone(), i, value)
            }
        };
        list.try_insert(step.name.clone(), new)
            .map_err(|e| self.error(last, e))?;
        Ok(old)
    }
}

impl ValuePath {
    /// [`ValuePath::set`] done in `packed`, the section's packed bytes,
    /// when the new value takes exactly the old one's bytes: a number or a
    /// bool given one of its type, or an element of a number, bool or
    /// binary array. Only those bytes change, so nothing is unpacked or
    /// packed again: how `snapshot set` changes one register of a large
    /// section. The bytes are as `set` then `pack` would give them for a
    /// list this crate packed.
    ///
    /// Returns the old value as `set` does, or `None`, with `packed`
    /// untouched, when the change needs the list rebuilt (another type or
    /// size, a list, a pair whose name a case-insensitive list would
    /// respell) or would be refused: `set` then does it or says why.
    pub fn set_in_place(&self, packed: &mut [u8], value: &Value) -> Option<Value> {
        let (step, parents) = self.segments.split_last()?;
        let view = View::parse(packed).ok()?;
        let mut list = view.root();
        for parent in parents {
            list = match (list.get(parent.name.as_bytes())?, parent.index) {
                (ValueView::NvList(l), None) => l,
                (ValueView::NvListArray(a), Some(i)) => a.get(i)?,
                _ => return None,
            };
        }
        if list.flags().contains(crate::Flags::IGNORE_CASE) {
            return None;
        }
        let name = step.name.as_bytes();
        let range = list.value_range(name, packed)?;
        let word = |n: u64| {
            let bytes = if list.big_endian() {
                n.to_be_bytes()
            } else {
                n.to_le_bytes()
            };
            (bytes, 8)
        };
        let byte = |b: u8| ([b, 0, 0, 0, 0, 0, 0, 0], 1);
        // The old value, where the new bytes go, and the bytes.
        let (old, at, (bytes, len)) = match (list.get(name)?, step.index, value) {
            (ValueView::Number(old), None, &Value::Number(n)) => {
                (Value::Number(old), range.start, word(n))
            }
            (ValueView::Bool(old), None, &Value::Bool(b)) => {
                (Value::Bool(old), range.start, byte(u8::from(b)))
            }
            (ValueView::NumberArray(a), Some(i), &Value::Number(n)) if i < a.len() => (
                Value::NumberArray(a.iter().collect()),
                range.start + 8 * i,
                word(n),
            ),
            (ValueView::BoolArray(a), Some(i), &Value::Bool(b)) if i < a.len() => (
                Value::BoolArray(a.iter().collect()),
                range.start + i,
                byte(u8::from(b)),
            ),
            (ValueView::Binary(a), Some(i), &Value::Number(n @ 0..=255)) if i < a.len() => {
                (Value::Binary(a.to_vec()), range.start + i, byte(n as u8))
            }
            _ => return None,
        };
        drop(view);
        packed[at..at + len].copy_from_slice(&bytes[..len]);
        Some(old)
    }
}

fn array_len(v: &Value) -> Option<usize> {
    Some(match v {
        Value::BoolArray(a) => a.len(),
        Value::NumberArray(a) => a.len(),
        Value::StringArray(a) => a.len(),
        Value::NvListArray(a) => a.len(),
        // A binary's bytes are numbers 0..=255 to a path.
        Value::Binary(a) => a.len(),
        _ => return None,
    })
}

/// `array` with element `i` (in range, of the right type) replaced.
fn with_element(array: Value, i: usize, element: Value) -> Value {
    match (array, element) {
        (Value::BoolArray(mut a), Value::Bool(v)) => {
            a[i] = v;
            Value::BoolArray(a)
        }
        (Value::NumberArray(mut a), Value::Number(v)) => {
            a[i] = v;
            Value::NumberArray(a)
        }
        (Value::StringArray(mut a), Value::String(v)) => {
            a[i] = v;
            Value::StringArray(a)
        }
        (Value::NvListArray(mut a), Value::NvList(v)) => {
            a[i] = v;
            Value::NvListArray(a)
        }
        (Value::Binary(mut a), Value::Number(v)) => {
            a[i] = u8::try_from(v).expect("checked to fit a byte");
            Value::Binary(a)
        }
        _ => unreachable!("types were checked"),
    }
}

/// Parses `text` as a value of type `ty`, in the text form's syntax
/// (numbers as `42`, `0x2a`, `-1`; `true`; `<0a0b>`; `[1, 2]`; `{ a:
/// number = 1 }`). A string may be given bare (taken as is) or quoted
/// with escapes; a binary may omit its `<>`.
pub fn parse_value(text: &str, ty: Type) -> Result<Value> {
    match ty {
        Type::String if !text.starts_with('"') => return Ok(Value::String(text.into())),
        Type::Null | Type::Descriptor | Type::DescriptorArray => {
            return Err(Error::bad_path(
                text,
                format!("a {ty} holds no value to set"),
            ));
        }
        _ => {}
    }
    let body = match ty {
        Type::Binary if !text.starts_with('<') => format!("<{text}>"),
        _ => text.to_owned(),
    };
    let list = from_text(&format!("v: {} = {body}\n", ty.keyword())).map_err(|e| {
        // The parse error's line and column are those of the wrapper
        // above, meaningless to the user: keep its message only.
        let why = match e.kind() {
            ErrorKind::Parse { message, .. } => message.clone(),
            _ => e.to_string(),
        };
        Error::bad_path(text, format!("not a valid {ty}: {why}"))
    })?;
    match (list.len(), list.get("v")) {
        (1, Some(v)) => Ok(v.clone()),
        _ => Err(Error::bad_path(text, format!("not a single {ty} value"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(p: &ValuePath) -> Vec<(String, Option<usize>)> {
        p.segments
            .iter()
            .map(|s| (s.name.to_string_lossy().into_owned(), s.index))
            .collect()
    }

    /// A path read on a view finds what it finds on the tree, and fails
    /// where it fails, with the same message.
    #[test]
    fn get_view_agrees_with_get() {
        let timer = |v: u64| NvList::new().with("compval", v).with("on", v % 2 == 0);
        let list = NvList::new().with(
            "vhpet",
            NvList::new()
                .with("timers", (0..4).map(timer).collect::<Vec<_>>())
                .with("regs", vec![7u64, 8, 9])
                .with("names", vec!["a", "b"])
                .with("flags", vec![true, false])
                .with("page", Value::Binary(vec![1, 2, 3]))
                .with("id", "hpet0"),
        );
        let packed = list.pack();
        let view = crate::View::parse(&packed).unwrap();
        let paths = [
            "d.vhpet.timers[3].compval",
            "d.vhpet.timers[1].on",
            "d.vhpet.timers[4].compval",
            "d.vhpet.timers[0]",
            "d.vhpet.regs[2]",
            "d.vhpet.regs[3]",
            "d.vhpet.names[1]",
            "d.vhpet.flags[0]",
            "d.vhpet.page[2]",
            "d.vhpet.id",
            "d.vhpet.id[0]",
            "d.vhpet.id.more",
            "d.vhpet.missing",
            "d.vhpet",
            "d",
        ];
        for text in paths {
            let path = ValuePath::parse(text).unwrap();
            match (path.get(&list), path.get_view(view.root())) {
                (Ok(v), Ok(w)) => {
                    assert_eq!(v.ty(), w.ty(), "{text}");
                    let same = match (&v, w) {
                        (Value::Number(a), ValueView::Number(b)) => *a == b,
                        (Value::Bool(a), ValueView::Bool(b)) => *a == b,
                        (Value::String(a), ValueView::String(b)) => a.as_bytes() == b,
                        (Value::NvList(a), ValueView::NvList(b)) => a.len() == b.len(),
                        _ => false,
                    };
                    assert!(same, "{text}: {v:?} against {w:?}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
                (a, b) => panic!("{text}: {a:?} against {b:?}"),
            }
        }
    }

    #[test]
    fn parses_bare_indexed_and_quoted() {
        let p = ValuePath::parse("devices.vhpet.timers[3].compval").unwrap();
        assert_eq!(p.section, "devices");
        assert_eq!(
            segments(&p),
            [
                ("vhpet".into(), None),
                ("timers".into(), Some(3)),
                ("compval".into(), None)
            ]
        );
        let p = ValuePath::parse(r#"kernel."freq_bt.sec"."basic metadata"."a\"b\\c[1]""#).unwrap();
        assert_eq!(
            segments(&p),
            [
                ("freq_bt.sec".into(), None),
                ("basic metadata".into(), None),
                (r#"a"b\c[1]"#.into(), None)
            ]
        );
        assert!(ValuePath::parse("devices").unwrap().segments.is_empty());
    }

    #[test]
    fn quoting_round_trips() {
        for name in [
            "plain",
            "freq_bt.sec",
            "basic metadata",
            r#"a"b\c"#,
            "x[1]",
            "",
            ".min_reader",
            "0",
        ] {
            let text = format!("s.{}", quote_name(&name.into()));
            let p = ValuePath::parse(&text).unwrap();
            assert_eq!(p.segments[0].name, name, "{text}");
        }
        assert_eq!(quote_name(&"freq_bt.sec".into()), r#""freq_bt.sec""#);
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "a[1]",
            "a.b[",
            "a.b[x]",
            "a.b[1",
            "a.\"b",
            "a.\"\\n\"",
            "a b",
            "a.b]",
            "a.b[1]c",
            "a.b[99999999999999999999999]",
        ] {
            assert!(ValuePath::parse(bad).is_err(), "{bad:?}");
        }
    }

    fn sample() -> NvList {
        let timer = |v: u64| NvList::new().with("compval", v);
        NvList::new().with(
            "vhpet",
            NvList::new()
                .with("timers", vec![timer(1), timer(2)])
                .with("regs", vec![5u64, 6, 7])
                .with("freq_bt.sec", 9u64),
        )
    }

    #[test]
    fn gets_and_sets() {
        let mut nv = sample();
        let p = |s: &str| ValuePath::parse(s).unwrap();
        assert_eq!(
            p("devices.vhpet.timers[1].compval").get(&nv).unwrap(),
            Value::Number(2)
        );
        assert_eq!(
            p("devices.vhpet.regs[2]").get(&nv).unwrap(),
            Value::Number(7)
        );
        assert_eq!(
            p(r#"devices.vhpet."freq_bt.sec""#).get(&nv).unwrap(),
            Value::Number(9)
        );
        let old = p("devices.vhpet.timers[1].compval")
            .set(&mut nv, Value::Number(42), false)
            .unwrap();
        assert_eq!(old, Value::Number(2));
        p("devices.vhpet.regs[0]")
            .set(&mut nv, Value::Number(1), false)
            .unwrap();
        let vhpet = nv.get_nvlist("vhpet").unwrap();
        assert_eq!(vhpet.get_number_array("regs").unwrap(), &[1, 6, 7]);
        assert_eq!(
            vhpet.get_nvlist_array("timers").unwrap()[1]
                .get_number("compval")
                .unwrap(),
            42
        );
        // Position kept.
        let names: Vec<_> = vhpet.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, ["timers", "regs", "freq_bt.sec"]);
    }

    #[test]
    fn a_binary_is_indexed_by_byte() {
        let mut nv = NvList::new().with("cmos", Value::Binary(vec![1, 2, 3]));
        let p = |s: &str| ValuePath::parse(s).unwrap();
        assert_eq!(p("rtc.cmos[1]").get(&nv).unwrap(), Value::Number(2));
        let old = p("rtc.cmos[2]").set(&mut nv, Value::Number(0xff), false);
        assert_eq!(old.unwrap(), Value::Binary(vec![1, 2, 3]));
        assert_eq!(nv.get("cmos"), Some(&Value::Binary(vec![1, 2, 0xff])));
        let e = p("rtc.cmos[0]").set(&mut nv, Value::Number(256), false);
        assert!(e.unwrap_err().to_string().contains("0 to 255, not 256"));
        assert!(p("rtc.cmos[3]").get(&nv).is_err());
        assert_eq!(nv.get("cmos"), Some(&Value::Binary(vec![1, 2, 0xff])));
    }

    #[test]
    fn set_refuses_type_change_unless_asked() {
        let mut nv = sample();
        let p = ValuePath::parse("devices.vhpet.regs").unwrap();
        assert!(p.set(&mut nv, Value::Bool(true), false).is_err());
        p.set(&mut nv, Value::Bool(true), true).unwrap();
        let q = ValuePath::parse("devices.vhpet.timers[0].compval").unwrap();
        assert!(q.set(&mut nv, Value::String("x".into()), false).is_err());
        for bad in [
            "devices.vhpet.timers[2].compval",
            "devices.vhpet.nope",
            "devices.vhpet.regs.x",
        ] {
            let p = ValuePath::parse(bad).unwrap();
            assert!(p.get(&nv).is_err(), "{bad}");
            assert!(p.set(&mut nv, Value::Number(1), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_in_text_syntax() {
        assert_eq!(
            parse_value("0x10", Type::Number).unwrap(),
            Value::Number(16)
        );
        assert_eq!(
            parse_value("-1", Type::Number).unwrap(),
            Value::Number(u64::MAX)
        );
        assert_eq!(parse_value("true", Type::Bool).unwrap(), Value::Bool(true));
        assert_eq!(
            parse_value("a b", Type::String).unwrap(),
            Value::String("a b".into())
        );
        assert_eq!(
            parse_value(r#""a\n""#, Type::String).unwrap(),
            Value::String("a\n".into())
        );
        assert_eq!(
            parse_value("0a0b", Type::Binary).unwrap(),
            Value::Binary(vec![10, 11])
        );
        assert!(parse_value("12x", Type::Number).is_err());
        assert!(parse_value("1\nw: number = 2", Type::Number).is_err());
    }
}
