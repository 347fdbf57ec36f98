// The module's functions have the wrong signatures: `to_stored` takes the
// value by value, and `from_stored` returns the value without a `Result`.
// Each error is at the attribute.
use snapshot_core::Snapshot;

pub struct Foreign(pub u64);

mod by_value {
    pub fn to_stored(f: super::Foreign) -> u64 {
        f.0
    }
    pub fn from_stored(n: u64) -> super::Foreign {
        super::Foreign(n)
    }
}

mod wrong_stored {
    pub fn to_stored(f: &super::Foreign) -> u32 {
        f.0 as u32
    }
    pub fn from_stored(n: u32) -> Result<super::Foreign, String> {
        Ok(super::Foreign(n.into()))
    }
}

#[derive(Snapshot)]
#[snapshot(name = "dev")]
struct Dev {
    #[snapshot(with = by_value, stored = u64)]
    a: Foreign,
    #[snapshot(with = wrong_stored, stored = u64)]
    b: Foreign,
}

fn main() {}
