use snapshot_core::{MigrationError, NvList, Snapshot};

fn keep(_: &mut NvList) -> Result<(), MigrationError> {
    Ok(())
}

#[derive(Snapshot)]
#[snapshot(name = "dev", version = 2)]
#[snapshot(migrate(from = 1, up = keep, down = keep, converts(timeout: u32, count)))]
struct Dev {
    timeout_ms: u64,
    count: u64,
}

#[derive(Snapshot)]
#[snapshot(name = "mode", version = 2)]
#[snapshot(migrate(from = 1, up = keep, down = keep, converts(On: u8)))]
enum Mode {
    Off,
    On(u8),
    #[snapshot(since = 3)]
    Burst,
}

fn main() {}
