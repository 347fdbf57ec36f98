use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2, colour = "red")]
#[snapshot(removed(field = "latch", since = 5))]
struct Pit {
    #[snapshot(since = 4, default)]
    count: u16,
    #[snapshot(rename_from = "count", renamed_in = 2)]
    counter: u16,
}

fn main() {}
