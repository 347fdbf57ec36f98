// A type of another crate or of std that the model does not know is a
// compile error at the field's type.
use snapshot_core::Snapshot;

#[derive(Snapshot)]
#[snapshot(name = "timer")]
struct Timer {
    started: std::time::Instant,
}

fn main() {}
