//! The serde bridge: a type with both `#[derive(Snapshot)]` and serde's
//! derives is stored as the same bytes either way, reads back either way,
//! and bad stored values are refused with their path.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::num::{NonZeroU32, Wrapping};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde::{Deserialize, Serialize};
use snapshot_core::serde::{from_nvlist, from_value, to_nvlist, to_value};
use snapshot_core::{MapKey, NvList, Snapshot, Value};

/// Every shape the derive stores, at version 1 (what the bridge writes).
#[derive(Snapshot, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Device {
    a: u8,
    b: i8,
    c: u16,
    d: i32,
    e: u64,
    f: i64,
    g: u128,
    h: i128,
    x: f32,
    y: f64,
    ch: char,
    flag: bool,
    name: String,
    bytes: Vec<u8>,
    signed_bytes: Vec<i8>,
    words: Vec<u16>,
    deltas: Vec<i32>,
    floats: Vec<f32>,
    names: Vec<String>,
    flags: Vec<bool>,
    chars: Vec<char>,
    maybe: Option<u32>,
    maybe_bytes: Option<Vec<u8>>,
    maybe_maybe: Option<Option<u8>>,
    mac: [u8; 6],
    regs: [u64; 3],
    by_name: BTreeMap<String, u32>,
    by_id: HashMap<u32, Queue>,
    by_bus: BTreeMap<Bus, String>,
    ports: BTreeSet<u16>,
    queues: Vec<Queue>,
    deque: VecDeque<u32>,
    engine: Engine,
    engines: Vec<Engine>,
    timeout: Duration,
    window: Range<u64>,
    ip: Ipv4Addr,
    peer: SocketAddr,
    index: Wrapping<u16>,
    id: NonZeroU32,
    path: PathBuf,
    paths: Vec<PathBuf>,
    addrs: [Ipv4Addr; 2],
    labels: Vec<Cow<'static, str>>,
    boxed: Box<Queue>,
    pair: (u8, String),
    pairs: Vec<(u32, String)>,
    point: Point,
    unit: (),
    marker: Marker,
}

#[derive(Snapshot, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Queue {
    size: u16,
    ready: bool,
    descs: Option<u64>,
}

/// A key type of the program's own: stored as `{ key, value }` entries.
#[derive(Snapshot, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Bus {
    segment: u16,
    number: u8,
}

impl MapKey for Bus {}

#[derive(Snapshot, Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Engine {
    Sync,
    Async(u32),
    Pair(u8, String),
    Io { depth: u16, path: Option<String> },
}

#[derive(Snapshot, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point(u32, i64);

#[derive(Snapshot, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Marker;

fn queue() -> impl Strategy<Value = Queue> {
    (any::<u16>(), any::<bool>(), any::<Option<u64>>()).prop_map(|(size, ready, descs)| Queue {
        size,
        ready,
        descs,
    })
}

fn engine() -> impl Strategy<Value = Engine> {
    prop_oneof![
        Just(Engine::Sync),
        any::<u32>().prop_map(Engine::Async),
        (any::<u8>(), ".*").prop_map(|(a, b)| Engine::Pair(a, b)),
        (any::<u16>(), proptest::option::of("[a-z/]{0,8}"))
            .prop_map(|(depth, path)| Engine::Io { depth, path }),
    ]
}

fn vec<T: Strategy>(t: T) -> proptest::collection::VecStrategy<T> {
    proptest::collection::vec(t, 0..5)
}

prop_compose! {
    fn numbers()(
        a in any::<u8>(), b in any::<i8>(), c in any::<u16>(), d in any::<i32>(),
        e in any::<u64>(), f in any::<i64>(), g in any::<u128>(), h in any::<i128>(),
        x in any::<f32>(), y in any::<f64>(), ch in any::<char>(), flag in any::<bool>(),
    ) -> (u8, i8, u16, i32, u64, i64, u128, i128, f32, f64, char, bool) {
        (a, b, c, d, e, f, g, h, x, y, ch, flag)
    }
}

prop_compose! {
    fn sequences()(
        name in "(.|\u{0}){0,6}", bytes in vec(any::<u8>()), signed_bytes in vec(any::<i8>()),
        words in vec(any::<u16>()), deltas in vec(any::<i32>()), floats in vec(any::<f32>()),
        names in vec("(.|\u{0}){0,4}"), flags in vec(any::<bool>()), chars in vec(any::<char>()),
    ) -> (String, Vec<u8>, Vec<i8>, Vec<u16>, Vec<i32>, Vec<f32>, Vec<String>, Vec<bool>, Vec<char>) {
        (name, bytes, signed_bytes, words, deltas, floats, names, flags, chars)
    }
}

prop_compose! {
    fn containers()(
        maybe in any::<Option<u32>>(),
        maybe_bytes in proptest::option::of(vec(any::<u8>())),
        maybe_maybe in any::<Option<Option<u8>>>(),
        mac in any::<[u8; 6]>(),
        regs in any::<[u64; 3]>(),
        by_name in proptest::collection::btree_map("(.|\u{0}){0,5}", any::<u32>(), 0..4),
        by_id in proptest::collection::hash_map(any::<u32>(), queue(), 0..4),
        by_bus in proptest::collection::btree_map(
            (any::<u16>(), any::<u8>()).prop_map(|(segment, number)| Bus { segment, number }),
            ".{0,4}",
            0..4,
        ),
        ports in proptest::collection::btree_set(any::<u16>(), 0..4),
        queues in vec(queue()),
        deque in vec(any::<u32>()),
    ) -> (
        Option<u32>, Option<Vec<u8>>, Option<Option<u8>>, [u8; 6], [u64; 3],
        BTreeMap<String, u32>, HashMap<u32, Queue>, BTreeMap<Bus, String>, BTreeSet<u16>,
        Vec<Queue>, Vec<u32>,
    ) {
        (maybe, maybe_bytes, maybe_maybe, mac, regs, by_name, by_id, by_bus, ports, queues, deque)
    }
}

prop_compose! {
    fn device()(
        n in numbers(), s in sequences(), c in containers(),
        engine in engine(), engines in vec(engine()),
        secs in any::<u64>(), nanos in 0..1_000_000_000u32,
        window in any::<(u64, u64)>(),
        ip in any::<[u8; 4]>(), port in any::<u16>(),
        index in any::<u16>(), id in 1..=u32::MAX,
        path in "[a-z/.]{0,12}", boxed in queue(),
        paths in vec("[a-z/.\u{0}]{0,6}"), addrs in any::<[[u8; 4]; 2]>(),
        labels in vec("(.|\u{0}){0,4}"),
        pair in (any::<u8>(), ".{0,3}"), pairs in vec((any::<u32>(), ".{0,3}")),
        point in any::<(u32, i64)>(),
    ) -> Device {
        Device {
            a: n.0, b: n.1, c: n.2, d: n.3, e: n.4, f: n.5, g: n.6, h: n.7,
            x: n.8, y: n.9, ch: n.10, flag: n.11,
            name: s.0, bytes: s.1, signed_bytes: s.2, words: s.3, deltas: s.4, floats: s.5,
            names: s.6, flags: s.7, chars: s.8,
            maybe: c.0, maybe_bytes: c.1, maybe_maybe: c.2, mac: c.3, regs: c.4,
            by_name: c.5, by_id: c.6, by_bus: c.7, ports: c.8, queues: c.9,
            deque: c.10.into(),
            engine, engines,
            timeout: Duration::new(secs, nanos),
            window: window.0..window.1,
            ip: Ipv4Addr::from(ip),
            peer: SocketAddr::from((ip, port)),
            index: Wrapping(index),
            id: NonZeroU32::new(id).unwrap(),
            path: PathBuf::from(path),
            paths: paths.into_iter().map(PathBuf::from).collect(),
            addrs: addrs.map(Ipv4Addr::from),
            labels: labels.into_iter().map(Cow::Owned).collect(),
            boxed: Box::new(boxed),
            pair, pairs,
            point: Point(point.0, point.1),
            unit: (),
            marker: Marker,
        }
    }
}

/// Equal as stored: floats by their bits, so NaN equals NaN.
fn same_bytes(a: &NvList, b: &NvList) {
    assert_eq!(a.pack(), b.pack());
}

proptest! {
    /// The bridge stores what the derive stores, byte for byte, and each
    /// reads what the other wrote.
    #[test]
    fn bridge_and_derive_agree(device in device()) {
        let derived = device.to_nvlist();
        let bridged = to_nvlist(&device).expect("every shape serializes");
        same_bytes(&bridged, &derived);
        let back = NvList::unpack(&bridged.pack()).expect("the bridge writes valid libnv");
        let through_serde: Device = from_nvlist(&back).expect("the bridge reads the derive's list");
        let through_derive = Device::from_nvlist(&back).expect("the derive reads the bridge's list");
        // Compare stored forms, so that NaN payloads count as equal.
        same_bytes(&through_serde.to_nvlist(), &derived);
        same_bytes(&through_derive.to_nvlist(), &derived);
    }

    /// Equal maps and sets are equal bytes whatever the insertion order
    /// or hasher.
    #[test]
    fn maps_are_canonical(entries in proptest::collection::vec((any::<u32>(), ".{0,3}"), 0..8)) {
        let forward: HashMap<u32, String> = entries.iter().cloned().collect();
        let mut backward: HashMap<u32, String> = HashMap::with_capacity(64);
        for (k, _) in entries.iter().rev() {
            backward.entry(*k).or_insert_with(|| forward[k].clone());
        }
        prop_assert_eq!(to_value(&forward).unwrap(), to_value(&backward).unwrap());
        let sorted: BTreeMap<u32, String> = forward.clone().into_iter().collect();
        prop_assert_eq!(to_value(&forward).unwrap(), to_value(&sorted).unwrap());
    }
}

#[test]
fn a_value_that_does_not_fit_names_its_path() {
    let mut list = Device::to_nvlist(&sample());
    let queues = list.get_nvlist_array_mut("queues").unwrap();
    queues[1].insert("size", 70_000u64);
    let err = from_nvlist::<Device>(&list).unwrap_err();
    assert_eq!(err.to_string(), "queues[1].size: 70000 does not fit u16");

    let mut list = Device::to_nvlist(&sample());
    list.insert("name", 7u64);
    let err = from_nvlist::<Device>(&list).unwrap_err();
    assert_eq!(
        err.to_string(),
        "name: expected string or binary, found number"
    );

    let mut list = Device::to_nvlist(&sample());
    list.insert("mac", Value::Binary(vec![1, 2, 3]));
    let err = from_nvlist::<Device>(&list).unwrap_err();
    assert_eq!(err.to_string(), "mac: expected 6 items, found 3");
}

/// Each array type is read as the element type it holds, as the derive
/// reads it: bytes only from a binary, numbers only from a number array.
#[test]
fn arrays_are_read_as_their_element_type() {
    let err = from_value::<Vec<u16>>(&Value::Binary(vec![1, 2])).unwrap_err();
    assert_eq!(err.to_string(), "[0]: expected number, found binary");
    let err = from_value::<Vec<u8>>(&Value::NumberArray(vec![1, 2])).unwrap_err();
    assert_eq!(err.to_string(), "[0]: expected binary, found number[]");
    // A struct is a record: metadata required but for std's plain ones.
    let err =
        from_nvlist::<Bus>(&NvList::new().with("segment", 1u64).with("number", 2u64)).unwrap_err();
    assert_eq!(err.to_string(), "not a record: no `.schema` pair");
}

#[test]
fn records_of_another_schema_or_version_are_refused() {
    let mut list = to_nvlist(&sample().boxed.as_ref().clone()).unwrap();
    list.insert(".schema", "Bus");
    let err = from_nvlist::<Queue>(&list).unwrap_err();
    assert_eq!(err.to_string(), "record of schema `Bus`, expected `Queue`");

    list.insert(".schema", "Queue");
    list.insert(".version", 2u64);
    let err = from_nvlist::<Queue>(&list).unwrap_err();
    assert!(
        err.to_string()
            .contains("stored in version 2: the serde bridge reads records of version 1"),
        "{err}"
    );

    let mut list = to_nvlist(&Engine::Sync).unwrap();
    list.insert(".variant", "Turbo");
    let err = from_nvlist::<Engine>(&list).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("\".variant\": unknown variant `Turbo`, expected one of `Sync`"),
        "{err}"
    );
}

#[test]
fn only_lists_are_nvlists() {
    let err = to_nvlist(&5u32).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected nvlist (a struct, an enum or a map), found number"
    );
    assert_eq!(
        to_nvlist(&BTreeMap::<String, u8>::new()).unwrap(),
        NvList::new()
    );
    let empty: BTreeMap<String, u8> = from_nvlist(&NvList::new()).unwrap();
    assert!(empty.is_empty());
}

/// A map whose `Serialize` gives a key twice is refused, not stored as a
/// list a reader would refuse.
#[test]
fn a_key_given_twice_is_refused() {
    struct Twice;
    impl Serialize for Twice {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("a", &1)?;
            map.serialize_entry("a", &2)?;
            map.end()
        }
    }
    let err = to_value(&Twice).unwrap_err();
    assert_eq!(err.to_string(), "[1]: stored twice");
}

/// What serde leaves open: a tuple of one kind is an array, and a
/// `HashSet` keeps its iteration order (documented in data-model.md).
#[test]
fn tuples_of_one_kind_are_arrays() {
    assert_eq!(
        to_value(&(1u32, 2u32)).unwrap(),
        Value::NumberArray(vec![1, 2])
    );
    let set: HashSet<u8> = [3, 1, 2].into_iter().collect();
    let back: HashSet<u8> = from_value(&to_value(&set).unwrap()).unwrap();
    assert_eq!(back, set);
}

/// Untagged enums and other self-describing reads go through
/// `deserialize_any`.
#[test]
fn untagged_enums_read_back() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Setting {
        Number(u64),
        Text(String),
        List(Vec<u64>),
    }
    for s in [
        Setting::Number(5),
        Setting::Text("on".into()),
        Setting::List(vec![1, 2]),
    ] {
        let value = to_value(&s).unwrap();
        assert_eq!(from_value::<Setting>(&value).unwrap(), s);
    }
}

fn sample() -> Device {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut device = device().new_tree(&mut runner).unwrap().current();
    device.queues = vec![
        Queue {
            size: 256,
            ready: true,
            descs: Some(3),
        },
        Queue {
            size: 128,
            ready: false,
            descs: None,
        },
    ];
    device.name = "vda".into();
    device
}
