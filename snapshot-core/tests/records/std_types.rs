//! Standard-library types as fields: each round-trips through the wire
//! and both read paths, is stored as the type it stands on, and refuses
//! stored values it cannot hold.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::{NonZeroI32, NonZeroU16, NonZeroU64, Wrapping};
use std::ops::Range;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use snapshot_core::{NvList, Snapshot, Value};

use super::util::{fast_agrees, round_trip};

/// The state a Firecracker-like block device and its queues keep.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "std_types")]
struct StdTypes {
    next_avail: Wrapping<u16>,
    used_ring: Vec<Wrapping<u16>>,
    count: Wrapping<u64>,
    queue_size: NonZeroU16,
    id: NonZeroU64,
    delta: NonZeroI32,
    sizes: Vec<NonZeroU16>,
    timeout: Duration,
    path: PathBuf,
    raw_name: OsString,
    ip: Ipv4Addr,
    ip6: Ipv6Addr,
    any_ip: IpAddr,
    peer: SocketAddr,
    window: Range<u64>,
    label: Cow<'static, str>,
    refill: Option<Duration>,
}

prop_compose! {
    fn state()(
        next_avail in any::<u16>(),
        used_ring in proptest::collection::vec(any::<u16>(), 0..8),
        count in any::<u64>(),
        queue_size in 1..=u16::MAX,
        id in 1..=u64::MAX,
        delta in any::<i32>().prop_filter("non-zero", |d| *d != 0),
        sizes in proptest::collection::vec(1..=u16::MAX, 0..4),
        secs in any::<u64>(),
        nanos in 0..1_000_000_000u32,
        path in proptest::collection::vec(1..=255u8, 0..40),
        raw_name in proptest::collection::vec(any::<u8>(), 0..20),
        ip in any::<u32>(),
        ip6 in any::<u128>(),
        port in any::<u16>(),
        window in any::<(u64, u64)>(),
        label in "[a-z ]{0,12}",
        refill in proptest::option::of((any::<u64>(), 0..1_000_000_000u32)),
    ) -> StdTypes {
        StdTypes {
            next_avail: Wrapping(next_avail),
            used_ring: used_ring.into_iter().map(Wrapping).collect(),
            count: Wrapping(count),
            queue_size: NonZeroU16::new(queue_size).unwrap(),
            id: NonZeroU64::new(id).unwrap(),
            delta: NonZeroI32::new(delta).unwrap(),
            sizes: sizes.into_iter().map(|s| NonZeroU16::new(s).unwrap()).collect(),
            timeout: Duration::new(secs, nanos),
            path: PathBuf::from(OsString::from_vec(path)),
            raw_name: OsString::from_vec(raw_name),
            ip: Ipv4Addr::from(ip),
            ip6: Ipv6Addr::from(ip6),
            any_ip: if ip % 2 == 0 { IpAddr::V4(Ipv4Addr::from(ip)) } else { IpAddr::V6(Ipv6Addr::from(ip6)) },
            peer: SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip6)), port),
            window: window.0..window.1,
            label: Cow::Owned(label),
            refill: refill.map(|(s, n)| Duration::new(s, n)),
        }
    }
}

proptest! {
    #[test]
    fn std_types_round_trip_and_encode_equal_values_alike(s in state()) {
        let [fast, slow] = round_trip(&s);
        prop_assert_eq!(&fast, &s);
        prop_assert_eq!(&slow, &s);
        prop_assert_eq!(s.clone().to_bytes(), s.to_bytes());
        fast_agrees::<StdTypes>(&s.to_bytes());
    }
}

#[test]
fn std_types_are_stored_as_the_types_they_stand_on() {
    let s = StdTypes {
        next_avail: Wrapping(7),
        used_ring: vec![Wrapping(1), Wrapping(2)],
        count: Wrapping(u64::MAX),
        queue_size: NonZeroU16::new(256).unwrap(),
        id: NonZeroU64::new(9).unwrap(),
        delta: NonZeroI32::new(-3).unwrap(),
        sizes: vec![],
        timeout: Duration::new(5, 250),
        path: PathBuf::from(OsString::from_vec(b"/var/\xffdisk.img".to_vec())),
        raw_name: OsString::from_vec(b"a\0b".to_vec()),
        ip: Ipv4Addr::new(10, 0, 0, 2),
        ip6: "fe80::1".parse().unwrap(),
        any_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        peer: "[fe80::1]:22".parse().unwrap(),
        window: 4096..8192,
        label: Cow::Borrowed("vda"),
        refill: None,
    };
    let nv = s.to_nvlist();
    assert_eq!(nv.get("next_avail"), Some(&Value::Number(7)));
    assert_eq!(nv.get("used_ring"), Some(&Value::NumberArray(vec![1, 2])));
    assert_eq!(nv.get("queue_size"), Some(&Value::Number(256)));
    assert_eq!(nv.get("delta"), Some(&Value::Number(-3i64 as u64)));
    let timeout = NvList::new().with("secs", 5u64).with("nanos", 250u64);
    assert_eq!(nv.get("timeout"), Some(&Value::NvList(timeout)));
    assert_eq!(
        nv.get("path"),
        Some(&Value::String(b"/var/\xffdisk.img"[..].into()))
    );
    assert_eq!(nv.get("raw_name"), Some(&Value::Binary(b"a\0b".to_vec())));
    assert_eq!(nv.get("ip"), Some(&Value::String("10.0.0.2".into())));
    assert_eq!(nv.get("peer"), Some(&Value::String("[fe80::1]:22".into())));
    let window = NvList::new().with("start", 4096u64).with("end", 8192u64);
    assert_eq!(nv.get("window"), Some(&Value::NvList(window)));
    assert_eq!(nv.get("label"), Some(&Value::String("vda".into())));
    assert_eq!(StdTypes::from_nvlist(&nv).unwrap(), s);

    // What the types cannot hold is refused, naming the field.
    let refused = |field: &str, value: Value| {
        let mut bad = nv.clone();
        bad.insert(field, value);
        StdTypes::from_nvlist(&bad).unwrap_err().to_string()
    };
    let e = refused("queue_size", Value::Number(0));
    assert!(
        e.contains("queue_size") && e.contains("0 does not fit NonZeroU16"),
        "{e}"
    );
    let e = refused("ip", Value::String("10.0.0.300".into()));
    assert!(e.contains("ip") && e.contains("10.0.0.300"), "{e}");
    let late = NvList::new()
        .with("secs", 1u64)
        .with("nanos", 1_000_000_000u64);
    let e = refused("timeout", Value::NvList(late));
    assert!(e.contains("timeout.nanos"), "{e}");
    let e = refused("window", Value::NvList(NvList::new().with("start", 1u64)));
    assert!(e.contains("window.end") && e.contains("missing"), "{e}");
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "sets")]
struct Sets {
    ids: BTreeSet<u32>,
    names: HashSet<String>,
    pending: VecDeque<u16>,
}

proptest! {
    /// Equal sets are equal bytes whatever the order they were built in
    /// (or a hasher's), and every container round-trips.
    #[test]
    fn sets_encode_in_order_whatever_was_inserted_first(
        ids in proptest::collection::vec(any::<u32>(), 0..20),
        names in proptest::collection::vec("[a-z]{0,6}", 0..20),
        pending in proptest::collection::vec(any::<u16>(), 0..20),
    ) {
        let a = Sets {
            ids: ids.iter().copied().collect(),
            names: names.iter().cloned().collect(),
            pending: pending.iter().copied().collect(),
        };
        let b = Sets {
            ids: ids.iter().rev().copied().collect(),
            names: names.iter().rev().cloned().collect(),
            pending: pending.iter().copied().collect(),
        };
        prop_assert_eq!(a.to_bytes(), b.to_bytes());
        let [fast, slow] = round_trip(&a);
        prop_assert_eq!(&fast, &a);
        prop_assert_eq!(&slow, &a);
    }
}

#[test]
fn a_set_item_stored_twice_is_refused() {
    let nv = Sets {
        ids: [1, 2].into_iter().collect(),
        names: HashSet::new(),
        pending: VecDeque::new(),
    }
    .to_nvlist();
    assert_eq!(nv.get("ids"), Some(&Value::NumberArray(vec![1, 2])));
    let mut bad = nv.clone();
    bad.insert("ids", Value::NumberArray(vec![1, 1]));
    let e = Sets::from_nvlist(&bad).unwrap_err().to_string();
    assert!(e.contains("ids[1]") && e.contains("stored twice"), "{e}");
}
