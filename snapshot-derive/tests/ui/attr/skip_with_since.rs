use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    count: u16,
    #[snapshot(skip, since = 2, default)]
    cache: u32,
}

fn main() {}
