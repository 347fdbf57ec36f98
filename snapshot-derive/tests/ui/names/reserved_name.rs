use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
#[snapshot(removed(field = ".version", since = 2))]
struct Pit {
    count: u16,
}

fn main() {}
