use snapshot_nvlist::error::{DecodeRule, ErrorKind};
use snapshot_nvlist::DecodeOptions;
use snapshot_nvlist::{Flags, NvList, NvString, Value};

// Offsets in a packed list whose first pair is called "p".
const TYPE: usize = 19;
const NAMESIZE: usize = 20;
const DATASIZE: usize = 22;
const NITEMS: usize = 30;
const NAME: usize = 38;
const DATA: usize = 40;

fn one(value: impl Into<Value>) -> Vec<u8> {
    NvList::new().with("p", value).pack()
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Fixes the top-level header's size after the buffer's length changed.
fn fix_size(buf: &mut [u8]) {
    let size = buf.len() as u64 - 19;
    put_u64(buf, 11, size);
}

fn rule(buf: &[u8]) -> (DecodeRule, u64) {
    let err = NvList::unpack(buf).expect_err("decoded a buffer that breaks a rule");
    assert!(err.to_string().starts_with("byte "), "{err}");
    match err.kind() {
        ErrorKind::Decode { rule, offset, .. } => (rule.clone(), *offset),
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_magic_version_flags() {
    let good = one(1u64);
    let mut b = good.clone();
    b[0] = 0x6d;
    assert_eq!(rule(&b), (DecodeRule::BadMagic(0x6d), 0));
    let mut b = good.clone();
    b[1] = 1;
    assert_eq!(rule(&b), (DecodeRule::BadVersion(1), 1));
    let mut b = good.clone();
    b[2] = 0x04;
    assert_eq!(rule(&b), (DecodeRule::UnknownFlags(0x04), 2));
    let mut b = good;
    b[2] = 0x03;
    assert_eq!(
        NvList::unpack(&b).unwrap().flags(),
        Flags::IGNORE_CASE | Flags::NO_UNIQUE
    );
}

#[test]
fn descriptors_are_refused() {
    let mut b = one(1u64);
    put_u64(&mut b, 3, 1);
    assert_eq!(rule(&b), (DecodeRule::Descriptors(1), 3));
    for code in [6u8, 12] {
        let mut b = one(1u64);
        b[TYPE] = code;
        assert_eq!(rule(&b), (DecodeRule::DescriptorType, 19));
    }
}

#[test]
fn header_size_must_be_exact() {
    let mut b = one(1u64);
    b.push(0);
    assert_eq!(
        rule(&b),
        (
            DecodeRule::SizeMismatch {
                declared: 29,
                actual: 30
            },
            11
        )
    );
    let b = one(1u64);
    assert!(matches!(
        rule(&b[..b.len() - 1]).0,
        DecodeRule::SizeMismatch { .. }
    ));
    assert!(matches!(
        rule(&b[..10]).0,
        DecodeRule::Truncated {
            needed: 19,
            left: 10
        }
    ));
    assert!(matches!(rule(&[]).0, DecodeRule::Truncated { .. }));
}

#[test]
fn truncation_anywhere_is_refused() {
    let mut nv = NvList::new().with("n", 1u64).with("s", "text");
    nv.insert("l", NvList::new().with("x", vec![1u64, 2]));
    nv.insert("a", vec![NvList::new().with("y", true), NvList::new()]);
    let full = nv.pack();
    // With its size fixed, a buffer that ends exactly after a top-level
    // pair may be a valid list: then it must be the first k pairs.
    let mut prefixes = std::collections::HashMap::new();
    let mut prefix = NvList::new();
    prefixes.insert(prefix.packed_size(), prefix.clone());
    for (name, value) in &nv {
        prefix.insert(name, value.clone());
        prefixes.insert(prefix.packed_size(), prefix.clone());
    }
    for cut in 0..full.len() {
        assert!(
            NvList::unpack(&full[..cut]).is_err(),
            "accepted a buffer cut at {cut}"
        );
        if cut < 19 {
            continue;
        }
        let mut b = full[..cut].to_vec();
        fix_size(&mut b);
        match (NvList::unpack(&b), prefixes.get(&cut)) {
            (Ok(decoded), Some(expected)) => assert_eq!(&decoded, expected),
            (Ok(decoded), None) => panic!("cut at {cut} decoded: {decoded:?}"),
            (Err(_), _) => {}
        }
    }
}

#[test]
fn unknown_types() {
    for code in [0u8, 13, 100, 253] {
        let mut b = one(1u64);
        b[TYPE] = code;
        assert_eq!(rule(&b), (DecodeRule::UnknownType(code), 19));
    }
}

#[test]
fn name_size_bounds() {
    let mut b = one(1u64);
    b[NAMESIZE..NAMESIZE + 2].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(rule(&b), (DecodeRule::NameSize(0), 20));
    let mut b = one(1u64);
    b[NAMESIZE..NAMESIZE + 2].copy_from_slice(&2049u16.to_le_bytes());
    assert_eq!(rule(&b), (DecodeRule::NameSize(2049), 20));
    // 2047 bytes and the NUL: the largest name libnv accepts.
    let long = NvList::new().with("n".repeat(2047), 1u64).pack();
    assert!(NvList::unpack(&long).is_ok());
    let empty = NvList::new().with("", 1u64).pack();
    assert!(NvList::unpack(&empty).is_ok());
}

#[test]
fn name_needs_exactly_one_nul() {
    let mut b = one(1u64);
    b[NAME + 1] = b'x'; // the NUL after "p"
    assert_eq!(rule(&b), (DecodeRule::NameNotTerminated, NAME as u64));
    let mut b = NvList::new().with("pq", 1u64).pack();
    b[NAME] = 0; // "\0q\0"
    assert_eq!(rule(&b).0, DecodeRule::NameNotTerminated);
}

#[test]
fn hostile_datasize_fails_at_once() {
    let mut b = one(1u64);
    put_u64(&mut b, DATASIZE, 1 << 63);
    assert!(b.len() < 100);
    assert_eq!(
        rule(&b),
        (
            DecodeRule::DataSizeTooLarge {
                datasize: 1 << 63,
                left: 8
            },
            DATASIZE as u64
        )
    );
}

#[test]
fn scalar_sizes_and_counts() {
    let mut b = one(1u64);
    put_u64(&mut b, DATASIZE, 7);
    assert!(matches!(
        rule(&b).0,
        DecodeRule::BadDataSize { datasize: 7, .. }
    ));
    let mut b = one(true);
    put_u64(&mut b, DATASIZE, 0);
    assert!(matches!(rule(&b).0, DecodeRule::BadDataSize { .. }));
    let mut b = one(());
    b.push(0);
    put_u64(&mut b, DATASIZE, 1);
    fix_size(&mut b);
    assert!(matches!(rule(&b).0, DecodeRule::BadDataSize { .. }));
    for mut b in [one(1u64), one(true), one(()), one("s"), one(vec![1u8])] {
        put_u64(&mut b, NITEMS, 1);
        assert!(matches!(
            rule(&b).0,
            DecodeRule::BadItemCount { nitems: 1, .. }
        ));
    }
}

#[test]
fn bools_are_0_or_1() {
    let mut b = one(true);
    b[DATA] = 2;
    assert_eq!(rule(&b), (DecodeRule::BadBool(2), DATA as u64));
    let mut b = one(vec![true, false, true]);
    b[DATA + 1] = 7;
    assert_eq!(rule(&b), (DecodeRule::BadBool(7), DATA as u64 + 1));
}

#[test]
fn strings_are_terminated_exactly() {
    let mut b = one("abc");
    *b.last_mut().unwrap() = b'd';
    assert_eq!(rule(&b), (DecodeRule::StringNotTerminated, DATA as u64));
    let mut b = one("abc");
    b[DATA + 1] = 0;
    assert_eq!(rule(&b).0, DecodeRule::StringNotTerminated);
    let mut b = one("");
    b.pop();
    put_u64(&mut b, DATASIZE, 0);
    fix_size(&mut b);
    assert!(matches!(
        rule(&b).0,
        DecodeRule::BadDataSize { datasize: 0, .. }
    ));
}

#[test]
fn string_arrays_are_counted_exactly() {
    // Two strings declared, one NUL present.
    let mut b = one(vec!["ab", "cd"]);
    let last = b.len() - 1;
    b[DATA + 2] = b'x';
    assert_eq!(b[last], 0);
    assert_eq!(rule(&b).0, DecodeRule::StringNotTerminated);
    // One string declared, two present.
    let mut b = one(vec!["ab", "cd"]);
    put_u64(&mut b, NITEMS, 1);
    assert!(matches!(
        rule(&b).0,
        DecodeRule::BadItemCount { nitems: 1, .. }
    ));
    // More items than bytes.
    let mut b = one(vec!["ab"]);
    put_u64(&mut b, NITEMS, 1 << 40);
    assert!(matches!(rule(&b).0, DecodeRule::BadItemCount { .. }));
}

#[test]
fn empty_binaries_and_arrays_are_refused() {
    let mut b = one(vec![9u8]);
    b.pop();
    put_u64(&mut b, DATASIZE, 0);
    fix_size(&mut b);
    assert_eq!(rule(&b).0, DecodeRule::EmptyBinary);
    let arrays: [Value; 4] = [
        vec![true].into(),
        vec![1u64].into(),
        vec!["s"].into(),
        vec![NvList::new()].into(),
    ];
    for v in arrays {
        let mut b = one(v);
        put_u64(&mut b, NITEMS, 0);
        assert_eq!(rule(&b).0, DecodeRule::EmptyArray);
    }
}

#[test]
fn number_array_size_matches_count() {
    let mut b = one(vec![1u64, 2]);
    put_u64(&mut b, NITEMS, 3);
    assert!(matches!(
        rule(&b).0,
        DecodeRule::BadDataSize { datasize: 16, .. }
    ));
    let mut b = one(vec![1u64, 2]);
    put_u64(&mut b, NITEMS, 1 << 61); // 8 * nitems overflows
    assert!(matches!(rule(&b).0, DecodeRule::BadDataSize { .. }));
}

#[test]
fn nvlist_array_count_is_bounded_by_input() {
    let mut b = one(vec![NvList::new()]);
    put_u64(&mut b, NITEMS, u64::MAX / 2);
    assert!(matches!(rule(&b).0, DecodeRule::BadItemCount { .. }));
}

#[test]
fn duplicate_names() {
    let mut b = NvList::new().with("a", 1u64).with("b", 2u64).pack();
    let second_name = 19 + 19 + 2 + 8 + 19;
    b[second_name] = b'a';
    assert_eq!(rule(&b), (DecodeRule::DuplicateName, 19 + 29));
    // In an IGNORE_CASE list, "A" and "a" collide.
    let mut b = NvList::with_flags(Flags::IGNORE_CASE)
        .with("a", 1u64)
        .with("b", 2u64)
        .pack();
    b[second_name] = b'A';
    assert_eq!(rule(&b).0, DecodeRule::DuplicateName);
    // NO_UNIQUE allows them.
    let mut b = NvList::with_flags(Flags::NO_UNIQUE)
        .with("a", 1u64)
        .with("b", 2u64)
        .pack();
    b[second_name] = b'a';
    assert_eq!(NvList::unpack(&b).unwrap().len(), 2);
}

#[test]
fn duplicates_in_long_lists_are_found() {
    // Past the decoder's linear scan, its hash set must catch them too.
    for (flags, dup) in [(Flags::NONE, b"name042"), (Flags::IGNORE_CASE, b"NAME042")] {
        let mut nv = NvList::with_flags(flags);
        for i in 0..100 {
            nv.insert(format!("name{i:03}"), i as u64);
        }
        nv.insert("nameXXX", 0u64);
        let mut b = nv.pack();
        let at = b.len() - 8 - 8; // "nameXXX\0" and its number
        b[at..at + 7].copy_from_slice(dup);
        assert_eq!(rule(&b).0, DecodeRule::DuplicateName, "{flags:?}");
    }
}

#[test]
fn markers_need_the_right_parent() {
    // An NVLIST_UP at the top level.
    let mut b = one(());
    b[TYPE] = 255;
    b[NAMESIZE..NAMESIZE + 2].copy_from_slice(&1u16.to_le_bytes());
    b.truncate(NAME);
    b.push(0);
    fix_size(&mut b);
    assert_eq!(rule(&b), (DecodeRule::UnexpectedUp, 19));
    b[TYPE] = 254;
    assert_eq!(rule(&b), (DecodeRule::UnexpectedArrayNext, 19));
    // An NVLIST_UP closing an array element.
    let mut b = one(vec![NvList::new()]);
    let marker = b.len() - 20;
    assert_eq!(b[marker], 254);
    b[marker] = 255;
    assert_eq!(rule(&b).0, DecodeRule::UnexpectedUp);
    // An NVLIST_ARRAY_NEXT closing a nested list.
    let mut b = one(NvList::new());
    let marker = b.len() - 20;
    assert_eq!(b[marker], 255);
    b[marker] = 254;
    assert_eq!(rule(&b).0, DecodeRule::UnexpectedArrayNext);
    // A marker with data.
    let mut b = one(NvList::new());
    put_u64(&mut b, marker + 11, 1);
    assert_eq!(rule(&b), (DecodeRule::BadMarker, marker as u64));
}

#[test]
fn input_must_close_every_list() {
    let mut b = one(NvList::new().with("x", 1u64));
    b.truncate(b.len() - 20); // drop the NVLIST_UP
    fix_size(&mut b);
    let nested_size_at = DATA + 11;
    let nested = b.len() as u64 - (DATA as u64 + 19);
    put_u64(&mut b, nested_size_at, nested);
    assert!(matches!(rule(&b).0, DecodeRule::Unclosed));
}

#[test]
fn nested_list_rules() {
    let mut b = one(NvList::new().with("x", 1u64));
    put_u64(&mut b, DATASIZE, 0);
    assert!(matches!(rule(&b).0, DecodeRule::BadDataSize { .. }));
    let mut b = one(NvList::new().with("x", 1u64));
    b[DATA + 2] |= 0x80; // the nested header claims big-endian
    assert_eq!(rule(&b), (DecodeRule::ByteOrderMismatch, DATA as u64 + 2));
    let mut b = one(NvList::new().with("x", 1u64));
    put_u64(&mut b, DATA + 11, 5);
    assert!(matches!(
        rule(&b).0,
        DecodeRule::SizeMismatch { declared: 5, .. }
    ));
}

fn deep(depth: usize) -> NvList {
    let mut nv = NvList::new().with("leaf", 1u64);
    for _ in 0..depth {
        nv = NvList::new().with("d", nv);
    }
    nv
}

#[test]
fn depth_is_bounded() {
    let ok = deep(200).pack();
    assert!(NvList::unpack(&ok).is_ok());
    let too_deep = deep(300).pack();
    assert_eq!(rule(&too_deep).0, DecodeRule::TooDeep { limit: 256 });
    let strict = DecodeOptions {
        max_depth: 128,
        ..DecodeOptions::default()
    };
    assert!(NvList::unpack_with(&deep(128).pack(), &strict).is_ok());
    assert!(NvList::unpack_with(&deep(129).pack(), &strict).is_err());
}

#[test]
fn size_is_bounded() {
    let b = one(vec![7u64; 100]);
    let small = DecodeOptions {
        max_size: 100,
        ..DecodeOptions::default()
    };
    let err = NvList::unpack_with(&b, &small).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::Decode {
            rule: DecodeRule::TooLarge { limit: 100 },
            ..
        }
    ));
}

/// An empty string packs to one byte and is held in 24: an array of them
/// would make a section's decoded form 24 times its size. The decoder
/// refuses what would take more than 16 bytes per packed byte, and
/// accepts ordinary lists, short strings included, well within it.
#[test]
fn memory_is_bounded_by_the_packed_size() {
    let empty = NvList::new()
        .with("s", vec![NvString::from(""); 100_000])
        .pack();
    let (found, at) = rule(&empty);
    assert_eq!(found, DecodeRule::TooMuchMemory { factor: 16 });
    assert_eq!(at, 19, "the pair that would take it, after the list header");
    let words: Vec<NvString> = (0..100_000)
        .map(|i| NvString::from(format!("{}", i % 100)))
        .collect();
    let packed = NvList::new().with("s", words).pack();
    NvList::unpack(&packed).unwrap();
    let mut pairs = NvList::new();
    for i in 0..100_000u64 {
        // Unique names; `push` would check each against all before it.
        pairs.push_unchecked(format!("p{i}").into(), i.into());
        pairs.push_unchecked(format!("n{i}").into(), Value::Null);
    }
    assert!(NvList::unpack(&pairs.pack()).is_ok());
    assert!(NvList::unpack(&deep(256).pack()).is_ok());
    let generous = DecodeOptions {
        max_expansion: 32,
        ..DecodeOptions::default()
    };
    assert!(NvList::unpack_with(&empty, &generous).is_ok());
}

#[test]
fn errors_name_the_path() {
    let inner = NvList::new().with("x", 1u64).with("flag", true);
    let nv = NvList::new().with("arr", vec![NvList::new(), NvList::new().with("l", inner)]);
    let mut b = nv.pack();
    let at = b.windows(5).position(|w| w == b"flag\0").unwrap() + 5;
    b[at] = 9;
    let err = NvList::unpack(&b).unwrap_err();
    assert_eq!(err.offset(), Some(at as u64));
    assert_eq!(
        err.to_string(),
        format!("byte {at}, pair `arr[1].l.flag`: bool byte 9 is neither 0 nor 1")
    );
}
