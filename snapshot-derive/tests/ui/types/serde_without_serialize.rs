// `#[snapshot(serde)]` on a type without serde impls: the error is at the
// attribute.
use snapshot_core::Snapshot;

pub struct NotSerde(pub u64);

#[derive(Snapshot)]
#[snapshot(name = "dev")]
struct Dev {
    #[snapshot(serde)]
    value: NotSerde,
}

fn main() {}
