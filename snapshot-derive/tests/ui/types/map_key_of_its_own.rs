// A map keyed by a type of the program's own needs `impl MapKey for K {}`
// (its entries are then stored as `{ key, value }`): without it, the
// error names the key type and the trait.
use std::collections::BTreeMap;

use snapshot_core::Snapshot;

#[derive(Snapshot, PartialEq, Eq, PartialOrd, Ord)]
#[snapshot(name = "bus")]
struct Bus {
    number: u8,
}

#[derive(Snapshot)]
#[snapshot(name = "tree")]
struct Tree {
    by_bus: BTreeMap<Bus, String>,
}

fn main() {}
