// `with` without `stored`, `stored` without `with`, `serde` with `with`,
// and a conversion on a skipped field: each is an error at the attribute.
use snapshot_core::Snapshot;

mod conv {
    pub fn to_stored(n: &u64) -> u64 {
        *n
    }
    pub fn from_stored(n: u64) -> Result<u64, String> {
        Ok(n)
    }
}

#[derive(Snapshot)]
#[snapshot(name = "dev")]
struct Dev {
    #[snapshot(with = conv)]
    a: u64,
    #[snapshot(stored = u64)]
    b: u64,
    #[snapshot(serde, with = conv, stored = u64)]
    c: u64,
    #[snapshot(skip, serde)]
    d: u64,
}

fn main() {}
