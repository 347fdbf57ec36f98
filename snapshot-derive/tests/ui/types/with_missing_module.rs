// `with` names a module that does not exist: the error is at the path.
use snapshot_core::Snapshot;

pub struct Foreign(pub u64);

#[derive(Snapshot)]
#[snapshot(name = "dev")]
struct Dev {
    #[snapshot(with = foreign_conv, stored = u64)]
    value: Foreign,
}

fn main() {}
