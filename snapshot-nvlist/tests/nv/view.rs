//! The checked view against `unpack`: it accepts exactly what `unpack`
//! accepts, refuses the rest with the same error, and reads the same
//! values, on random lists, their big-endian form, corrupted and
//! truncated bytes, arbitrary bytes and libnv's vectors.

use std::fs;
use std::path::PathBuf;

use proptest::collection::vec;
use proptest::prelude::*;
use snapshot_nvlist::error::{DecodeRule, ErrorKind};
use snapshot_nvlist::view::Lists;
use snapshot_nvlist::{
    DecodeOptions, Flags, ListView, NvList, NvString, Result, Type, Value, ValueView, View,
};

use super::big_endian::to_big_endian;
use super::properties::arb_list;

/// The tree a view reads as, built through its public lookups only.
fn owned(list: ListView<'_>) -> NvList {
    let mut nv = NvList::with_flags(list.flags());
    for (name, value) in list {
        nv.push_unchecked(NvString::from(name), owned_value(value));
    }
    nv
}

fn owned_lists(lists: Lists<'_>) -> Vec<NvList> {
    lists.map(owned).collect()
}

fn owned_value(value: ValueView<'_>) -> Value {
    match value {
        ValueView::Null => Value::Null,
        ValueView::Bool(b) => Value::Bool(b),
        ValueView::Number(n) => Value::Number(n),
        ValueView::String(s) => Value::String(s.into()),
        ValueView::NvList(l) => Value::NvList(owned(l)),
        ValueView::Binary(b) => Value::Binary(b.to_vec()),
        ValueView::BoolArray(a) => Value::BoolArray(a.iter().collect()),
        ValueView::NumberArray(a) => Value::NumberArray(a.iter().collect()),
        ValueView::StringArray(a) => Value::StringArray(a.iter().map(NvString::from).collect()),
        ValueView::NvListArray(a) => Value::NvListArray(owned_lists(a)),
    }
}

/// Every lookup of the view gives what the same lookup of the tree gives:
/// by each name (first pair, all pairs, presence), through each typed
/// getter (values and errors alike), and the items of each array one by
/// one; nested lists are compared the same way.
fn same_lookups(view: ListView<'_>, tree: &NvList) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(view.len(), tree.len());
    prop_assert_eq!(view.is_empty(), tree.is_empty());
    prop_assert_eq!(view.iter().len(), tree.len());
    for (name, _) in tree {
        let name = name.as_bytes();
        let found = view.get(name).map(owned_value);
        prop_assert_eq!(found.as_ref(), tree.get(name));
        prop_assert!(view.contains(name));
        let all: Vec<Value> = view.get_all(name).map(owned_value).collect();
        let expected: Vec<Value> = tree.get_all(name).cloned().collect();
        prop_assert_eq!(all, expected);
        same_getters(view, tree, name)?;
        match (view.get(name), tree.get(name)) {
            (Some(ValueView::NvList(v)), Some(Value::NvList(t))) => same_lookups(v, t)?,
            (Some(ValueView::NvListArray(v)), Some(Value::NvListArray(t))) => {
                prop_assert_eq!(v.len(), t.len());
                for (i, t) in t.iter().enumerate() {
                    let element = v.get(i).ok_or_else(|| TestCaseError::fail("element"))?;
                    same_lookups(element, t)?;
                }
                prop_assert!(v.get(t.len()).is_none());
            }
            (Some(ValueView::NumberArray(v)), Some(Value::NumberArray(t))) => {
                prop_assert_eq!(v.len(), t.len());
                for (i, n) in t.iter().enumerate() {
                    prop_assert_eq!(v.get(i), Some(*n));
                }
                prop_assert_eq!(v.get(t.len()), None);
            }
            (Some(ValueView::BoolArray(v)), Some(Value::BoolArray(t))) => {
                prop_assert_eq!(v.len(), t.len());
                for (i, b) in t.iter().enumerate() {
                    prop_assert_eq!(v.get(i), Some(*b));
                }
            }
            (Some(ValueView::StringArray(v)), Some(Value::StringArray(t))) => {
                prop_assert_eq!(v.len(), t.len());
            }
            _ => {}
        }
    }
    same_getters(view, tree, b"\xffno such name\xfe")?;
    Ok(())
}

/// The typed getters of both, on `name`: the same value or the same error.
fn same_getters(
    view: ListView<'_>,
    tree: &NvList,
    name: &[u8],
) -> std::result::Result<(), TestCaseError> {
    fn same<A, B: PartialEq<A> + std::fmt::Debug, C: std::fmt::Debug>(
        view: Result<B>,
        tree: Result<A>,
        show: impl Fn(&A) -> C,
    ) -> std::result::Result<(), TestCaseError> {
        match (view, tree) {
            (Ok(v), Ok(t)) => prop_assert!(v == t, "{:?} != {:?}", v, show(&t)),
            (Err(v), Err(t)) => prop_assert_eq!(v, t),
            (v, t) => prop_assert!(false, "{:?} / {:?}", v.is_ok(), t.is_ok()),
        }
        Ok(())
    }
    same(view.get_null(name), tree.get_null(name), |v| *v)?;
    same(view.get_bool(name), tree.get_bool(name), |v| *v)?;
    same(view.get_number(name), tree.get_number(name), |v| *v)?;
    same(view.get_string(name), tree.get_string(name), |v| {
        v.to_string()
    })?;
    same(
        view.get_string_bytes(name),
        tree.get_string_bytes(name),
        |v| v.to_vec(),
    )?;
    same(view.get_binary(name), tree.get_binary(name), |v| v.to_vec())?;
    let bools = view
        .get_bool_array(name)
        .map(|a| a.iter().collect::<Vec<_>>());
    same(
        bools,
        tree.get_bool_array(name).map(<[bool]>::to_vec),
        Clone::clone,
    )?;
    let numbers = view
        .get_number_array(name)
        .map(|a| a.iter().collect::<Vec<_>>());
    same(
        numbers,
        tree.get_number_array(name).map(<[u64]>::to_vec),
        Clone::clone,
    )?;
    let strings = view
        .get_string_array(name)
        .map(|a| a.iter().map(NvString::from).collect::<Vec<_>>());
    let expected = tree.get_string_array(name).map(<[NvString]>::to_vec);
    same(strings, expected, Clone::clone)?;
    let list = view.get_nvlist(name).map(owned);
    same(list, tree.get_nvlist(name).cloned(), Clone::clone)?;
    let lists = view.get_nvlist_array(name).map(owned_lists);
    same(
        lists,
        tree.get_nvlist_array(name).map(<[NvList]>::to_vec),
        Clone::clone,
    )?;
    Ok(())
}

/// The view of `bytes` agrees with `unpack`: both accept with the same
/// lookups, or both refuse with the same error.
fn agrees(bytes: &[u8], options: &DecodeOptions) -> std::result::Result<(), TestCaseError> {
    match (
        View::parse_with(bytes, options),
        NvList::unpack_with(bytes, options),
    ) {
        (Ok(view), Ok(tree)) => {
            prop_assert_eq!(owned(view.root()), tree.clone());
            prop_assert_eq!(view.root().flags(), tree.flags());
            same_lookups(view.root(), &tree)
        }
        (Err(v), Err(t)) => {
            prop_assert_eq!(v, t);
            Ok(())
        }
        (v, t) => {
            prop_assert!(
                false,
                "view {:?}, unpack {:?}",
                v.map(|_| ()),
                t.map(|_| ())
            );
            Ok(())
        }
    }
}

fn default_agrees(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    agrees(bytes, &DecodeOptions::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_view_of_a_packed_list_reads_the_list(nv in arb_list()) {
        let bytes = nv.pack();
        let view = View::parse(&bytes).unwrap();
        prop_assert_eq!(owned(view.root()), nv.clone());
        same_lookups(view.root(), &nv)?;
        default_agrees(&bytes)?;
    }

    #[test]
    fn big_endian_lists_read_the_same(nv in arb_list()) {
        let bytes = to_big_endian(&nv.pack());
        let view = View::parse(&bytes).unwrap();
        prop_assert_eq!(owned(view.root()), nv);
        default_agrees(&bytes)?;
    }

    #[test]
    fn corrupted_bytes_are_refused_alike(
        nv in arb_list(),
        big in any::<bool>(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = nv.pack();
        if big {
            bytes = to_big_endian(&bytes);
        }
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        default_agrees(&bytes)?;
    }

    #[test]
    fn truncated_bytes_are_refused_alike(nv in arb_list(), cut in any::<prop::sample::Index>()) {
        let bytes = nv.pack();
        default_agrees(&bytes[..cut.index(bytes.len() + 1)])?;
    }

    #[test]
    fn arbitrary_bytes_are_judged_alike(bytes in vec(any::<u8>(), 0..256)) {
        default_agrees(&bytes)?;
    }

    #[test]
    fn limits_refuse_alike(
        nv in arb_list(),
        max_depth in 0u32..4,
        max_size in 0u64..2048,
        max_expansion in 0u64..4,
    ) {
        let options = DecodeOptions { max_depth, max_size, max_expansion };
        agrees(&nv.pack(), &options)?;
    }
}

fn vectors(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/libnv")
        .join(kind);
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nv"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn every_libnv_vector_is_judged_as_unpack_judges_it() {
    let valid = vectors("valid");
    let invalid = vectors("invalid");
    assert!(valid.len() >= 6 && invalid.len() >= 6);
    for (path, bytes) in &valid {
        assert!(View::parse(bytes).is_ok(), "{}", path.display());
        default_agrees(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for (path, bytes) in &invalid {
        assert!(View::parse(bytes).is_err(), "{}", path.display());
        default_agrees(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

fn vector(kind: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/libnv")
        .join(kind)
        .join(name);
    fs::read(path).unwrap()
}

/// The values libnv's own dump shows, read through the view.
#[test]
fn the_view_reads_libnv_values() -> Result<()> {
    let bytes = vector("valid", "scalars.nv");
    let root = View::parse(&bytes)?;
    let root = root.root();
    root.get_null("nothing")?;
    assert!(root.get_bool("yes")?);
    assert_eq!(root.get_number("max")?, u64::MAX);
    assert_eq!(root.get_string("empty_string")?, "");
    assert_eq!(root.get_string("greeting")?, "hello, world");

    let bytes = vector("valid", "arrays.nv");
    let view = View::parse(&bytes)?;
    let root = view.root();
    let bools: Vec<bool> = root.get_bool_array("bools")?.iter().collect();
    assert_eq!(bools, [true, false, false, true, true]);
    let numbers: Vec<u64> = root.get_number_array("numbers")?.iter().collect();
    assert_eq!(numbers, [0, 1, 2, 0xdeadbeef, u64::MAX, 42]);
    let strings: Vec<&[u8]> = root.get_string_array("strings")?.iter().collect();
    assert_eq!(
        strings,
        [&b"alpha"[..], b"", b"gamma delta", "ε".as_bytes()]
    );
    assert_eq!(root.get_nvlist_array("lists")?.len(), 3);

    let bytes = vector("valid", "nested.nv");
    let view = View::parse(&bytes)?;
    let l3 = view
        .root()
        .get_nvlist("l1")?
        .get_nvlist("l2")?
        .get_nvlist("l3")?;
    assert_eq!(l3.get_string("leaf")?, "deep");
    assert!(l3.get_nvlist("empty_child")?.is_empty());

    let bytes = vector("valid", "no_unique.nv");
    let view = View::parse(&bytes)?;
    assert_eq!(view.root().flags(), Flags::NO_UNIQUE);
    let dups: Vec<Type> = view.root().get_all(b"dup").map(|v| v.ty()).collect();
    assert_eq!(dups, [Type::Number, Type::String, Type::Number]);
    Ok(())
}

#[test]
fn the_view_names_the_rule_the_byte_and_the_path() {
    let inner = NvList::new().with("x", 1u64).with("flag", true);
    let nv = NvList::new().with("arr", vec![NvList::new(), NvList::new().with("l", inner)]);
    let mut b = nv.pack();
    let at = b.windows(5).position(|w| w == b"flag\0").unwrap() + 5;
    b[at] = 9;
    let err = View::parse(&b).unwrap_err();
    assert_eq!(err, NvList::unpack(&b).unwrap_err());
    assert!(matches!(
        err.kind(),
        ErrorKind::Decode { rule: DecodeRule::BadBool(9), path, .. } if path == "arr[1].l.flag"
    ));
}

#[test]
fn lookups_in_ignore_case_lists_fold_ascii() -> Result<()> {
    let mut nv = NvList::with_flags(Flags::IGNORE_CASE);
    nv.insert("Name", 1u64);
    let bytes = nv.pack();
    let view = View::parse(&bytes)?;
    assert_eq!(view.root().get_number("NAME")?, 1);
    assert!(view.root().get("other").is_none());
    Ok(())
}

#[test]
fn a_long_list_is_read_in_place() -> Result<()> {
    // Past the duplicate check's linear scan, into its hash set.
    let mut nv = NvList::new();
    for i in 0..1000u64 {
        nv.insert(format!("n{i}"), i);
    }
    let mut bytes = nv.pack();
    let view = View::parse(&bytes)?;
    assert_eq!(view.root().len(), 1000);
    assert_eq!(view.root().get_number("n999")?, 999);
    drop(view);
    // A duplicate at the end of it.
    let at = bytes.windows(5).rposition(|w| w == b"n999\0").unwrap();
    bytes[at + 3] = b'8';
    let err = View::parse(&bytes).unwrap_err();
    assert_eq!(err, NvList::unpack(&bytes).unwrap_err());
    Ok(())
}
