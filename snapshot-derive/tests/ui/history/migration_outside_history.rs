use snapshot_core::{MigrationError, NvList, Snapshot};

#[derive(Snapshot)]
#[snapshot(name = "pit", version = 2)]
#[snapshot(migrate(from = 2, up = up))]
struct Pit {
    count: u16,
}

fn up(_: &mut NvList) -> Result<(), MigrationError> {
    Ok(())
}

fn main() {}
