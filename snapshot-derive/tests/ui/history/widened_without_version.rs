use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    #[snapshot(widened_from = u16)]
    count: u32,
}

fn main() {}
