use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    #[snapshot(default)]
    count: u16,
}

fn main() {}
