use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    count: u16,
    #[snapshot(since = 3, default)]
    latch: u32,
}

fn main() {}
