use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2, version = 3)]
struct Pit {
    count: u16,
}

fn main() {}
