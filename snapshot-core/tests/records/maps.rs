//! Maps as fields: keyed pairs in key order (entries when keys cannot be
//! names), equal maps equal bytes whatever the insertion order or hasher,
//! and records in them stepping up and down like those of an array.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use snapshot_core::{MapKey, NvList, Snapshot, Value};

use super::util::{round_trip, through_wire};

/// A Cloud Hypervisor-like device tree: nodes by id, and a map keyed by a
/// type of the program's own.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "tree", version = 1)]
struct Tree {
    nodes: HashMap<String, Node>,
    slots: BTreeMap<u32, u64>,
    by_bus: BTreeMap<Bus, String>,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "node", version = 2)]
struct Node {
    parent: Option<String>,
    #[snapshot(since = 2, default)]
    resources: u64,
}

/// A key type of the program's own, stored as entries.
#[derive(Snapshot, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[snapshot(name = "bus", version = 1)]
struct Bus {
    segment: u16,
    number: u8,
}

impl MapKey for Bus {}

/// Nodes by name, for the step down to a build whose nodes are older.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "forest", version = 1)]
struct Forest {
    nodes: HashMap<String, Node>,
}

mod old {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "node", version = 1)]
    pub struct Node {
        pub parent: Option<String>,
    }

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "forest", version = 1)]
    pub struct Forest {
        pub nodes: std::collections::BTreeMap<String, Node>,
    }
}

prop_compose! {
    fn tree()(
        nodes in proptest::collection::vec(("[a-z0-9:./_-]{0,12}", proptest::option::of("[a-z]{1,4}")), 0..8),
        slots in proptest::collection::vec((any::<u32>(), any::<u64>()), 0..8),
        buses in proptest::collection::vec((any::<u16>(), any::<u8>(), "[a-z]{0,4}"), 0..4),
    ) -> Tree {
        Tree {
            nodes: nodes.into_iter().map(|(k, p)| (k, Node { parent: p, resources: 0 })).collect(),
            slots: slots.into_iter().collect(),
            by_bus: buses.into_iter().map(|(s, n, v)| (Bus { segment: s, number: n }, v)).collect(),
        }
    }
}

proptest! {
    #[test]
    fn maps_round_trip_in_key_order_whatever_the_insertion_order(t in tree()) {
        let [fast, slow] = round_trip(&t);
        prop_assert_eq!(&fast, &t);
        prop_assert_eq!(&slow, &t);
        // The same entries inserted the other way round, in a map of
        // another hasher state: the same bytes.
        let mut reversed: Vec<_> = t.nodes.clone().into_iter().collect();
        reversed.reverse();
        let again = Tree { nodes: reversed.into_iter().collect(), ..t.clone() };
        prop_assert_eq!(again.to_bytes(), t.to_bytes());
    }
}

#[test]
fn keys_are_names_in_order_and_other_keys_are_entries() {
    let t = Tree {
        nodes: HashMap::from([
            (
                "vda".to_owned(),
                Node {
                    parent: None,
                    resources: 0,
                },
            ),
            (
                "0000:00:01.0".to_owned(),
                Node {
                    parent: Some("pci".into()),
                    resources: 0,
                },
            ),
        ]),
        slots: BTreeMap::from([(10, 1), (2, 7)]),
        by_bus: BTreeMap::from([(
            Bus {
                segment: 0,
                number: 3,
            },
            "net".to_owned(),
        )]),
    };
    let nv = through_wire(&t.to_nvlist());
    let Some(Value::NvList(nodes)) = nv.get("nodes") else {
        panic!("{nv:?}")
    };
    let names: Vec<String> = nodes.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["0000:00:01.0", "vda"]);
    let Some(Value::NvList(slots)) = nv.get("slots") else {
        panic!()
    };
    let names: Vec<String> = slots.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["2", "10"], "integer keys in numeric order");
    let Some(Value::NvListArray(entries)) = nv.get("by_bus") else {
        panic!()
    };
    assert_eq!(entries[0].get("value"), Some(&Value::String("net".into())));
    // A string key that cannot be a name (it holds a NUL): entries.
    let odd = Tree {
        nodes: HashMap::from([(
            "a\0b".to_owned(),
            Node {
                parent: None,
                resources: 0,
            },
        )]),
        ..t.clone()
    };
    let nv = through_wire(&odd.to_nvlist());
    assert!(matches!(nv.get("nodes"), Some(Value::NvListArray(_))));
    assert_eq!(Tree::from_nvlist(&nv).unwrap(), odd);

    // A name that is not a key the type writes, and a key stored twice.
    let mut bad = t.to_nvlist();
    bad.insert("slots", NvList::new().with("07", 1u64));
    let e = Tree::from_nvlist(&bad).unwrap_err().to_string();
    assert!(e.contains("slots") && e.contains("07"), "{e}");
    let entry = |k: u16| {
        NvList::new()
            .with(
                "key",
                Bus {
                    segment: k,
                    number: 0,
                }
                .to_nvlist(),
            )
            .with("value", "x")
    };
    bad = t.to_nvlist();
    bad.insert("by_bus", vec![entry(1), entry(1)]);
    let e = Tree::from_nvlist(&bad).unwrap_err().to_string();
    assert!(e.contains("by_bus[1]") && e.contains("stored twice"), "{e}");
}

/// A map of records steps down for an older reader and back up, as an
/// array of them does.
#[test]
fn records_in_a_map_step_down_and_up() {
    let t = Forest {
        nodes: HashMap::from([
            (
                "a".to_owned(),
                Node {
                    parent: None,
                    resources: 0,
                },
            ),
            (
                "b".to_owned(),
                Node {
                    parent: Some("a".into()),
                    resources: 0,
                },
            ),
        ]),
    };
    let v1 = BTreeMap::from([("node".to_owned(), 1)]);
    let nv = through_wire(&t.to_nvlist_for_versions(&v1).unwrap());
    let old = old::Forest::from_nvlist(&nv).unwrap();
    assert_eq!(old.nodes["b"].parent.as_deref(), Some("a"));
    assert_eq!(Forest::from_nvlist(&nv).unwrap(), t, "read back up");
    let mut busy = t.clone();
    busy.nodes.get_mut("b").unwrap().resources = 3;
    let e = busy.to_nvlist_for_versions(&v1).unwrap_err();
    assert_eq!(e.path(), Some("forest.nodes.b.resources"));
}
