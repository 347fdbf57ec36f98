//! Arbitrary bytes into a derived record's decoder, through both its fast
//! path and the nvlist tree: neither may panic, both must agree, and what
//! they accept must encode and decode back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_core::{NvList, Snapshot};

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "timer")]
struct Timer {
    cap_config: u64,
    compval: u32,
    enabled: bool,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "mode")]
enum Mode {
    Off,
    Periodic { period: u64 },
    OneShot(i32),
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "device", version = 2)]
struct Device {
    name: String,
    regs: Vec<u64>,
    page: Vec<u8>,
    timers: Vec<Timer>,
    mode: Mode,
    offset: Option<i64>,
    #[snapshot(since = 2, default)]
    added: u16,
}

fuzz_target!(|data: &[u8]| {
    let fast = Device::from_bytes(data);
    let tree = NvList::unpack(data)
        .map_err(snapshot_core::Error::from)
        .and_then(|nv| Device::from_nvlist(&nv));
    assert_eq!(fast.is_ok(), tree.is_ok(), "fast {fast:?} tree {tree:?}");
    if let (Ok(a), Ok(b)) = (fast, tree) {
        assert_eq!(a, b);
        assert_eq!(
            Device::from_bytes(&a.to_bytes()).expect("re-encoded record"),
            a
        );
    }
});
