use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "mode", version = 2)]
enum Mode {
    Off,
    Periodic {
        #[snapshot(since = 2, default)]
        period: u32,
    },
}

fn main() {}
