use snapshot_core::{NvList, Snapshot};

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
#[snapshot(migrate(from = 1, up = up))]
struct Pit {
    count: u16,
}

fn up(_: &NvList) {}

fn main() {}
