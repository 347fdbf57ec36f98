use snapshot_core::Snapshot;

#[derive(Snapshot)]
union Bits {
    word: u32,
    bytes: [u8; 4],
}

fn main() {}
