use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit")]
struct Pit {
    #[snapshot(rename = "cnt")]
    count: u16,
}

fn main() {}
