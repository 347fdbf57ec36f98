//! `ValuePath::set_in_place` against `set` then `pack`: the same old
//! value and the same bytes whenever it edits in place, the bytes
//! untouched when it declines, in both byte orders.

use proptest::prelude::*;
use snapshot_nvlist::{quote_name, Flags, NvList, Value, ValuePath};

use super::big_endian::to_big_endian;
use super::properties::arb_list;

/// Every path to a pair or array element of `list` under `parent`, with
/// whether the edit can be done in place for a value of the same type.
fn paths(list: &NvList, parent: &str, out: &mut Vec<(String, Value)>) {
    for (name, value) in list.iter() {
        let path = format!("{parent}.{}", quote_name(name));
        match value {
            Value::NvList(inner) => paths(inner, &path, out),
            Value::NvListArray(a) => {
                for (i, inner) in a.iter().enumerate() {
                    paths(inner, &format!("{path}[{i}]"), out);
                }
            }
            Value::NumberArray(a) => {
                out.push((format!("{path}[{}]", a.len() - 1), Value::Number(7)));
                out.push((format!("{path}[{}]", a.len()), Value::Number(7)));
            }
            Value::BoolArray(a) => out.push((format!("{path}[0]"), Value::Bool(!a[0]))),
            Value::Binary(a) => {
                out.push((format!("{path}[0]"), Value::Number(u64::from(!a[0]))));
                out.push((format!("{path}[0]"), Value::Number(256)));
            }
            Value::Number(n) => {
                out.push((path.clone(), Value::Number(!n)));
                out.push((path, Value::Bool(true)));
            }
            Value::Bool(b) => out.push((path, Value::Bool(!b))),
            _ => out.push((path, Value::Number(1))),
        }
    }
}

/// Checks one edit both ways; returns whether it was done in place.
fn agrees(list: &NvList, text: &str, value: &Value) -> bool {
    let Ok(path) = ValuePath::parse(text) else {
        return false;
    };
    let mut rebuilt = list.clone();
    let set = path.set(&mut rebuilt, value.clone(), false);
    let packed = list.pack();
    let mut le = packed.clone();
    let mut be = to_big_endian(&packed);
    let in_place = path.set_in_place(&mut le, value);
    assert_eq!(in_place, path.set_in_place(&mut be, value), "{text}");
    match in_place {
        Some(old) => {
            assert_eq!(set.as_ref().ok(), Some(&old), "{text}");
            assert_eq!(le, rebuilt.pack(), "{text}");
            assert_eq!(be, to_big_endian(&rebuilt.pack()), "{text}");
            true
        }
        None => {
            assert_eq!(le, packed, "{text}: declined but changed the bytes");
            assert_eq!(be, to_big_endian(&packed), "{text}");
            false
        }
    }
}

#[test]
fn scalars_and_elements_are_edited_in_place() {
    let timer = |v: u64| NvList::new().with("compval", v).with("on", v % 2 == 0);
    let list = NvList::new().with(
        "vhpet",
        NvList::new()
            .with("timers", (0..4).map(timer).collect::<Vec<_>>())
            .with("regs", vec![7u64, 8, 9])
            .with("flags", vec![true, false])
            .with("page", Value::Binary(vec![1, 2, 3]))
            .with("id", "hpet0"),
    );
    let done = |text: &str, value: Value| agrees(&list, text, &value);
    assert!(done("d.vhpet.timers[3].compval", Value::Number(1 << 40)));
    assert!(done("d.vhpet.timers[1].on", Value::Bool(true)));
    assert!(done("d.vhpet.regs[2]", Value::Number(u64::MAX)));
    assert!(done("d.vhpet.flags[1]", Value::Bool(true)));
    assert!(done("d.vhpet.page[0]", Value::Number(255)));
    // What needs the list rebuilt, or is refused, is left to `set`.
    assert!(!done("d.vhpet.page[0]", Value::Number(256)));
    assert!(!done("d.vhpet.regs[3]", Value::Number(1)));
    assert!(!done("d.vhpet.timers[0].compval", Value::Bool(true)));
    assert!(!done("d.vhpet.id", Value::String("hpet1".into())));
    assert!(!done("d.vhpet.timers[4].compval", Value::Number(1)));
    assert!(!done("d.vhpet.missing", Value::Number(1)));
    assert!(!done("d.vhpet", Value::Number(1)));
    assert!(!done("d", Value::Number(1)));
}

#[test]
fn a_case_insensitive_list_is_rebuilt() {
    let list = NvList::with_flags(Flags::IGNORE_CASE).with("Count", 3u64);
    assert!(!agrees(&list, "d.count", &Value::Number(4)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn set_in_place_agrees_with_set(list in arb_list()) {
        let mut edits = Vec::new();
        paths(&list, "d", &mut edits);
        for (text, value) in &edits {
            agrees(&list, text, value);
        }
    }
}
