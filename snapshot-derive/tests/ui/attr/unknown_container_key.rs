use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", verison = 2)]
struct Pit {
    count: u16,
}

fn main() {}
