use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    #[snapshot(widened_from = std::time::Instant, widened_in = 2)]
    count: u32,
}

fn main() {}
