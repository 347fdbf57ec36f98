use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 0)]
struct Pit {
    count: u16,
}

fn main() {}
