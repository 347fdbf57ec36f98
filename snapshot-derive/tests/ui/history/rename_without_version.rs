use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    #[snapshot(rename_from = "cnt")]
    count: u16,
}

fn main() {}
