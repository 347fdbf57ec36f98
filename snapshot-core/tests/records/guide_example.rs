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
