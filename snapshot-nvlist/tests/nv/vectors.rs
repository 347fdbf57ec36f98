//! The vectors made by FreeBSD's libnv (`tests/data/libnv`, see its README):
//! every valid one decodes and re-encodes to the identical bytes, every
//! invalid one is refused with the rule and the byte offset.

use std::fs;
use std::path::PathBuf;

use snapshot_nvlist::error::{DecodeRule, ErrorKind};
use snapshot_nvlist::{Flags, NvList, Value};

fn dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/libnv")
        .join(kind)
}

fn vector(kind: &str, name: &str) -> Vec<u8> {
    fs::read(dir(kind).join(name)).unwrap()
}

fn nv_files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nv"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_valid_vector_round_trips_byte_for_byte() {
    let files = nv_files("valid");
    assert!(files.len() >= 6, "vectors missing: {files:?}");
    for path in files {
        let bytes = fs::read(&path).unwrap();
        let nv = NvList::unpack(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(nv.packed_size(), bytes.len(), "{}", path.display());
        assert_eq!(nv.pack(), bytes, "{}", path.display());
    }
}

#[test]
fn every_valid_vector_survives_the_text_form() {
    for path in nv_files("valid") {
        let bytes = fs::read(&path).unwrap();
        let nv = NvList::unpack(&bytes).unwrap();
        let text = snapshot_nvlist::text::to_text(&nv);
        let back = snapshot_nvlist::text::from_text(&text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(back.pack(), bytes, "{}:\n{text}", path.display());
    }
}

#[test]
fn decoded_values_match_libnv_dump() {
    let nv = NvList::unpack(&vector("valid", "scalars.nv")).unwrap();
    nv.get_null("nothing").unwrap();
    assert!(nv.get_bool("yes").unwrap());
    assert!(!nv.get_bool("no").unwrap());
    assert_eq!(nv.get_number("max").unwrap(), u64::MAX);
    assert_eq!(nv.get_number("minus_one_as_i64").unwrap() as i64, -1);
    assert_eq!(nv.get_string("empty_string").unwrap(), "");
    assert_eq!(nv.get_string("greeting").unwrap(), "hello, world");

    let nv = NvList::unpack(&vector("valid", "arrays.nv")).unwrap();
    assert_eq!(
        nv.get_bool_array("bools").unwrap(),
        [true, false, false, true, true]
    );
    assert_eq!(
        nv.get_number_array("numbers").unwrap(),
        [0, 1, 2, 0xdeadbeef, u64::MAX, 42]
    );
    let strings: Vec<_> = nv
        .get_string_array("strings")
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(strings, ["alpha", "", "gamma delta", "ε"]);
    assert_eq!(nv.get_nvlist_array("lists").unwrap().len(), 3);

    let nv = NvList::unpack(&vector("valid", "nested.nv")).unwrap();
    let l3 = nv
        .get_nvlist("l1")
        .unwrap()
        .get_nvlist("l2")
        .unwrap()
        .get_nvlist("l3")
        .unwrap();
    assert_eq!(l3.get_string("leaf").unwrap(), "deep");
    assert!(l3.get_nvlist("empty_child").unwrap().is_empty());

    let nv = NvList::unpack(&vector("valid", "no_unique.nv")).unwrap();
    assert_eq!(nv.flags(), Flags::NO_UNIQUE);
    let dups: Vec<_> = nv.get_all(b"dup").collect();
    assert_eq!(
        dups,
        [
            &Value::Number(1),
            &Value::String("two".into()),
            &Value::Number(3)
        ]
    );
}

fn rule_and_offset(kind: &str, name: &str) -> (DecodeRule, u64) {
    let err = NvList::unpack(&vector(kind, name)).unwrap_err();
    match err.kind() {
        ErrorKind::Decode { rule, offset, .. } => (rule.clone(), *offset),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn every_invalid_vector_is_refused() {
    let files = nv_files("invalid");
    assert!(files.len() >= 6);
    for path in files {
        let bytes = fs::read(&path).unwrap();
        let err = NvList::unpack(&bytes).expect_err(&path.display().to_string());
        assert!(
            err.to_string().starts_with("byte "),
            "{}: {err}",
            path.display()
        );
    }
}

#[test]
fn invalid_vectors_name_the_rule_and_offset() {
    assert_eq!(
        rule_and_offset("invalid", "bad_magic.nv"),
        (DecodeRule::BadMagic(0x6d), 0)
    );
    assert!(matches!(
        rule_and_offset("invalid", "datasize_huge.nv"),
        (DecodeRule::DataSizeTooLarge { .. }, 22)
    ));
    assert_eq!(
        rule_and_offset("invalid", "duplicate_name.nv").0,
        DecodeRule::DuplicateName
    );
    assert_eq!(
        rule_and_offset("invalid", "string_no_nul.nv").0,
        DecodeRule::StringNotTerminated
    );
    assert!(matches!(
        rule_and_offset("invalid", "trailing_byte.nv"),
        (DecodeRule::SizeMismatch { .. }, 11)
    ));
    assert!(matches!(
        rule_and_offset("invalid", "truncated_mid_pair.nv"),
        (
            DecodeRule::SizeMismatch { .. } | DecodeRule::Truncated { .. },
            _
        )
    ));
}
