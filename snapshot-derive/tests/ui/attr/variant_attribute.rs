use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "mode")]
enum Mode {
    #[snapshot(rename_from = "Off")]
    Disabled,
    Periodic(u32),
}

fn main() {}
