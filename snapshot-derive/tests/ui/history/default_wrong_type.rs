use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    count: u16,
    #[snapshot(since = 2, default = latch_default)]
    latch: u32,
}

fn latch_default() -> &'static str {
    "none"
}

fn main() {}
