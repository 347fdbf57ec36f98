//! The state of docs/guide.md section 9, as written there: it compiles,
//! round-trips, and stores what the guide says.

use std::collections::HashMap;
use std::num::Wrapping;
use std::path::PathBuf;
use std::time::Duration;

use snapshot_core::{Snapshot, Value};

// --- docs/guide.md, section 9 ---
/// A Firecracker-shaped virtio queue.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "virtq")]
pub struct Queue {
    pub size: u16,
    pub next_avail: Wrapping<u16>,
    pub next_used: Wrapping<u16>,
}

/// A token bucket of a rate limiter.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "token_bucket")]
pub struct TokenBucket {
    pub size: u64,
    pub refill: Duration,
    pub budget: u64,
}

/// A Firecracker-shaped block device.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "block")]
pub struct Block {
    pub id: String,
    pub disk_path: PathBuf,
    pub queues: Vec<Queue>,
    pub rate_limiter: Option<TokenBucket>,
}

/// A Cloud Hypervisor-shaped device tree: nodes by id.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "device_node")]
pub struct DeviceNode {
    pub parent: Option<String>,
    pub children: Vec<String>,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "device_tree")]
pub struct DeviceTree {
    pub nodes: HashMap<String, DeviceNode>,
}
// --- end ---

// --- docs/guide.md, section 9, foreign types ---
/// Another crate's type, without `Field` (kvm-bindings' shape).
#[allow(non_camel_case_types)]
#[derive(Debug, PartialEq)]
pub struct kvm_pit_channel_state {
    pub count: u32,
    pub mode: u8,
}

#[derive(Snapshot)]
#[snapshot(name = "pit_channel")]
pub struct PitChannel {
    pub count: u32,
    pub mode: u8,
}

mod pit_channel {
    use super::*;
    pub fn to_stored(c: &kvm_pit_channel_state) -> PitChannel {
        PitChannel {
            count: c.count,
            mode: c.mode,
        }
    }
    pub fn from_stored(s: PitChannel) -> Result<kvm_pit_channel_state, String> {
        if s.mode > 5 {
            return Err(format!("mode {} is not a PIT mode", s.mode));
        }
        Ok(kvm_pit_channel_state {
            count: s.count,
            mode: s.mode,
        })
    }
}

/// A rate limiter the VMM keeps with serde's derives.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
pub struct RateLimiter {
    pub bandwidth: Option<u64>,
    pub ops: Option<u64>,
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "pit")]
pub struct Pit {
    #[snapshot(with = pit_channel, stored = PitChannel)]
    pub channel: kvm_pit_channel_state,
    #[snapshot(serde)]
    pub limiter: RateLimiter,
}
// --- end ---

/// What the guide says of the foreign types: the schema, the error, and
/// the move of `RateLimiter` onto the derive without a format change.
#[test]
fn the_foreign_types_example_does_what_the_guide_says() {
    let pit = Pit {
        channel: kvm_pit_channel_state {
            count: 0xffff,
            mode: 3,
        },
        limiter: RateLimiter {
            bandwidth: Some(1 << 20),
            ops: None,
        },
    };
    assert_eq!(Pit::from_bytes(&pit.to_bytes()).unwrap(), pit);
    let schema = Pit::schema();
    assert_eq!(schema.fields()[0].ty, "PitChannel");

    let mut nv = pit.to_nvlist();
    nv.get_nvlist_mut("channel").unwrap().insert("mode", 9u64);
    assert_eq!(
        Pit::from_nvlist(&nv).unwrap_err().to_string(),
        "pit.channel: does not convert back to its type: mode 9 is not a PIT mode"
    );

    /// `RateLimiter` moved onto the derive (under its serde name).
    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "RateLimiter")]
    struct Derived {
        bandwidth: Option<u64>,
        ops: Option<u64>,
    }
    let saved = pit.to_nvlist();
    let limiter = saved.get_nvlist("limiter").unwrap();
    assert_eq!(
        Derived::from_nvlist(limiter).unwrap(),
        Derived {
            bandwidth: Some(1 << 20),
            ops: None
        }
    );
}

#[test]
fn the_guide_example_stores_what_the_guide_says() {
    let block = Block {
        id: "vda".into(),
        disk_path: "/srv/vm/rootfs.ext4".into(),
        queues: vec![Queue {
            size: 256,
            next_avail: Wrapping(65535u16) + Wrapping(1),
            next_used: Wrapping(7),
        }],
        rate_limiter: Some(TokenBucket {
            size: 1 << 20,
            refill: Duration::from_millis(100),
            budget: 4096,
        }),
    };
    let nv = block.to_nvlist();
    assert_eq!(
        nv.get("disk_path"),
        Some(&Value::String("/srv/vm/rootfs.ext4".into()))
    );
    assert_eq!(Block::from_bytes(&block.to_bytes()).unwrap(), block);
    let tree = DeviceTree {
        nodes: HashMap::from([
            (
                "_virtio-blk-vda".into(),
                DeviceNode {
                    parent: Some("pci0".into()),
                    children: vec![],
                },
            ),
            (
                "pci0".into(),
                DeviceNode {
                    parent: None,
                    children: vec!["_virtio-blk-vda".into()],
                },
            ),
        ]),
    };
    let nv = tree.to_nvlist();
    let Some(Value::NvList(nodes)) = nv.get("nodes") else {
        panic!("{nv:?}")
    };
    let names: Vec<String> = nodes.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["_virtio-blk-vda", "pci0"]);
    assert_eq!(DeviceTree::from_bytes(&tree.to_bytes()).unwrap(), tree);
}
