//! Property tests: every part of the data model survives encode, pack,
//! strict unpack and decode unchanged.

use proptest::collection::vec;
use proptest::prelude::*;
use snapshot_core::{Field, NvList, Snapshot, Value};

use super::util::{fast_agrees, round_trip, through_wire};

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "ints")]
struct Ints {
    a: u8,
    b: u16,
    c: u32,
    d: u64,
    e: i8,
    f: i16,
    g: i32,
    h: i64,
    i: u128,
    j: i128,
    k: usize,
    l: isize,
}

/// Floats compare by bits below, so NaN payloads count.
#[derive(Snapshot, Debug, Clone)]
#[snapshot(name = "floats")]
struct Floats {
    a: f32,
    b: f64,
    c: Vec<f32>,
    d: [f64; 2],
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "texts")]
struct Texts {
    s: String,
    c: char,
    strings: Vec<String>,
    chars: Vec<char>,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "seqs")]
struct Seqs {
    bytes: Vec<u8>,
    page: [u8; 16],
    signed_bytes: Vec<i8>,
    numbers: Vec<u32>,
    signed: Vec<i64>,
    bools: Vec<bool>,
    fixed: [u16; 4],
    nested: Vec<Vec<u8>>,
    optional: Vec<Option<u32>>,
    none: [u8; 0],
    wide: Vec<u128>,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "opts")]
struct Opts {
    a: Option<u32>,
    b: Option<Option<bool>>,
    c: Option<Vec<u8>>,
    d: Option<String>,
    e: Box<u64>,
    f: (u8, String, bool),
    g: Option<(i32,)>,
    h: (),
    i: Option<Box<Ints>>,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "shape", version = 2)]
enum Shape {
    Unit,
    Tuple(u32, String),
    Named { x: i64, inner: Box<Ints> },
    Empty {},
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "generic")]
struct Generic<T> {
    value: T,
    items: Vec<T>,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "either")]
enum Either<A, B> {
    Left(A),
    Right { b: B },
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "tuple_struct")]
struct Pair(u8, Option<Shape>);

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "unit_struct")]
struct Nothing;

fn ints() -> impl Strategy<Value = Ints> {
    (
        (any::<u8>(), any::<u16>(), any::<u32>(), any::<u64>()),
        (any::<i8>(), any::<i16>(), any::<i32>(), any::<i64>()),
        (any::<u128>(), any::<i128>(), any::<usize>(), any::<isize>()),
    )
        .prop_map(|((a, b, c, d), (e, f, g, h), (i, j, k, l))| Ints {
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
            i,
            j,
            k,
            l,
        })
}

/// Any `f32` or `f64` bit pattern, NaNs with payloads included.
fn floats() -> impl Strategy<Value = Floats> {
    (
        any::<u32>(),
        any::<u64>(),
        vec(any::<u32>(), 0..4),
        any::<[u64; 2]>(),
    )
        .prop_map(|(a, b, c, d)| Floats {
            a: f32::from_bits(a),
            b: f64::from_bits(b),
            c: c.into_iter().map(f32::from_bits).collect(),
            d: d.map(f64::from_bits),
        })
}

/// Strings of any chars, NUL included.
fn string() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

fn texts() -> impl Strategy<Value = Texts> {
    (
        string(),
        any::<char>(),
        vec(string(), 0..4),
        vec(any::<char>(), 0..4),
    )
        .prop_map(|(s, c, strings, chars)| Texts {
            s,
            c,
            strings,
            chars,
        })
}

fn seqs() -> impl Strategy<Value = Seqs> {
    (
        (
            vec(any::<u8>(), 0..8),
            any::<[u8; 16]>(),
            vec(any::<i8>(), 0..4),
            vec(any::<u32>(), 0..4),
            vec(any::<i64>(), 0..4),
            vec(any::<bool>(), 0..4),
        ),
        (
            any::<[u16; 4]>(),
            vec(vec(any::<u8>(), 0..3), 0..3),
            vec(any::<Option<u32>>(), 0..4),
            vec(any::<u128>(), 0..3),
        ),
    )
        .prop_map(
            |(
                (bytes, page, signed_bytes, numbers, signed, bools),
                (fixed, nested, optional, wide),
            )| {
                Seqs {
                    bytes,
                    page,
                    signed_bytes,
                    numbers,
                    signed,
                    bools,
                    fixed,
                    nested,
                    optional,
                    none: [],
                    wide,
                }
            },
        )
}

fn opts() -> impl Strategy<Value = Opts> {
    (
        (
            any::<Option<u32>>(),
            any::<Option<Option<bool>>>(),
            proptest::option::of(vec(any::<u8>(), 0..3)),
            proptest::option::of(string()),
        ),
        (
            any::<u64>(),
            (any::<u8>(), string(), any::<bool>()),
            any::<Option<i32>>(),
            proptest::option::of(ints()),
        ),
    )
        .prop_map(|((a, b, c, d), (e, f, g, i))| Opts {
            a,
            b,
            c,
            d,
            e: Box::new(e),
            f,
            g: g.map(|x| (x,)),
            h: (),
            i: i.map(Box::new),
        })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Unit),
        Just(Shape::Empty {}),
        (any::<u32>(), string()).prop_map(|(a, b)| Shape::Tuple(a, b)),
        (any::<i64>(), ints()).prop_map(|(x, i)| Shape::Named {
            x,
            inner: Box::new(i)
        }),
    ]
}

fn floats_bits(f: &Floats) -> (u32, u64, Vec<u32>, [u64; 2]) {
    (
        f.a.to_bits(),
        f.b.to_bits(),
        f.c.iter().map(|x| x.to_bits()).collect(),
        f.d.map(f64::to_bits),
    )
}

proptest! {
    #[test]
    fn ints_round_trip(x in ints()) {
        let [fast, slow] = round_trip(&x);
        prop_assert_eq!(fast, x.clone());
        prop_assert_eq!(slow, x);
    }

    #[test]
    fn floats_round_trip_bit_exact(x in floats()) {
        for y in round_trip(&x) {
            prop_assert_eq!(floats_bits(&y), floats_bits(&x));
        }
    }

    #[test]
    fn texts_round_trip(x in texts()) {
        let [fast, slow] = round_trip(&x);
        prop_assert_eq!(fast, x.clone());
        prop_assert_eq!(slow, x);
    }

    #[test]
    fn seqs_round_trip(x in seqs()) {
        let [fast, slow] = round_trip(&x);
        prop_assert_eq!(fast, x.clone());
        prop_assert_eq!(slow, x);
    }

    #[test]
    fn opts_round_trip(x in opts()) {
        let [fast, slow] = round_trip(&x);
        prop_assert_eq!(fast, x.clone());
        prop_assert_eq!(slow, x);
    }

    #[test]
    fn enums_round_trip(x in shape()) {
        let [fast, slow] = round_trip(&x);
        prop_assert_eq!(fast, x.clone());
        prop_assert_eq!(slow, x);
    }

    #[test]
    fn generics_round_trip(value in shape(), items in vec(shape(), 0..3), n in any::<Option<u8>>()) {
        let generic = Generic { value, items };
        for y in round_trip(&generic) {
            prop_assert_eq!(y, generic.clone());
        }
        let either: Vec<Either<u8, Shape>> = vec![Either::Left(n.unwrap_or(1)), Either::Right { b: Shape::Unit }];
        for y in round_trip(&Generic { value: either[0].clone(), items: either.clone() }) {
            prop_assert_eq!(y.items, either.clone());
        }
        let pair = Pair(n.unwrap_or(0), n.map(|_| Shape::Unit));
        for y in round_trip(&pair) {
            prop_assert_eq!(y, pair.clone());
        }
    }

    /// Every field type also works as a value nested in others.
    #[test]
    fn nested_values_round_trip(v in vec(proptest::option::of(vec(string(), 0..3)), 0..4)) {
        let value = v.to_value();
        let mut nv = NvList::new();
        nv.insert("v", value);
        let back = through_wire(&nv);
        prop_assert_eq!(Vec::<Option<Vec<String>>>::from_value(back.get("v").unwrap()).unwrap(), v);
    }
}

/// Records mixing every kind of pair the fast path reads, to mutate.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "mixed", version = 2)]
struct Mixed {
    ints: Ints,
    shapes: Vec<Shape>,
    bytes: Vec<u8>,
    numbers: Vec<u16>,
    bools: Vec<bool>,
    text: String,
    maybe: Option<i32>,
    #[snapshot(since = 2, default)]
    added: u8,
}

fn mixed() -> impl Strategy<Value = Mixed> {
    (
        ints(),
        vec(shape(), 0..3),
        vec(any::<u8>(), 0..4),
        vec(any::<u16>(), 0..3),
        vec(any::<bool>(), 0..3),
        string(),
        any::<Option<i32>>(),
        any::<u8>(),
    )
        .prop_map(
            |(ints, shapes, bytes, numbers, bools, text, maybe, added)| Mixed {
                ints,
                shapes,
                bytes,
                numbers,
                bools,
                text,
                maybe,
                added,
            },
        )
}

proptest! {
    /// The fast path never accepts what the checked path refuses, and
    /// reads what it reads, on inputs with bytes overwritten or cut.
    #[test]
    fn fast_path_agrees_on_mutated_input(
        x in mixed(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let mut bytes = x.to_bytes();
        let fast = snapshot_core::__private::read_fast::<Mixed>(&bytes);
        prop_assert_eq!(fast.as_ref(), Some(&x), "the fast path reads every field of Mixed");
        prop_assert_eq!(&round_trip(&x)[1], &x);
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
            fast_agrees::<Mixed>(&bytes);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
            fast_agrees::<Mixed>(&bytes);
        }
    }

    /// Numbers changed in place keep the input valid: both paths must read
    /// the new values alike (or both refuse them).
    #[test]
    fn fast_path_agrees_on_edited_numbers(x in mixed(), at in any::<prop::sample::Index>(), n in any::<u64>()) {
        let mut bytes = x.to_bytes();
        let at = at.index(bytes.len() - 8);
        bytes[at..at + 8].copy_from_slice(&n.to_le_bytes());
        fast_agrees::<Mixed>(&bytes);
        if let Some(fast) = snapshot_core::__private::read_fast::<Mixed>(&bytes) {
            prop_assert_eq!(Mixed::from_bytes(&bytes).unwrap(), fast);
        }
    }
}

#[test]
fn unit_struct_round_trips() {
    assert_eq!(round_trip(&Nothing), [Nothing, Nothing]);
}

#[test]
fn stored_forms() {
    let nv = Opts {
        a: None,
        b: Some(None),
        c: Some(Vec::new()),
        d: Some("x\0y".into()),
        e: Box::new(1),
        f: (1, String::new(), true),
        g: None,
        h: (),
        i: None,
    }
    .to_nvlist();
    assert_eq!(nv.get("a"), Some(&Value::Null));
    assert_eq!(
        nv.get("b"),
        Some(&Value::NvList(NvList::new().with("some", ())))
    );
    assert_eq!(
        nv.get("c"),
        Some(&Value::NvList(NvList::new().with("some", ())))
    );
    assert_eq!(nv.get("d"), Some(&Value::Binary(b"x\0y".to_vec())));
    let f = nv.get_nvlist("f").unwrap();
    let names: Vec<_> = f.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["0", "1", "2"]);
    assert_eq!((-1i32).to_value(), Value::Number(u64::MAX));
    assert_eq!(
        Shape::Unit.to_nvlist().get_string(".variant").unwrap(),
        "Unit"
    );
}
