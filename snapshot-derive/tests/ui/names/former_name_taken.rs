use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    count: u16,
    #[snapshot(rename_from = "count", renamed_in = 2)]
    counter: u16,
}

fn main() {}
