//! Models that did not change across the releases: every release uses
//! these types, at version 1.

use snapshot_core::compat::Sample;
use snapshot_core::Snapshot;

/// A virtqueue's state (split ring): guest addresses of its three parts
/// and the device's indexes into them.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "virtq", version = 1)]
pub struct VirtQueue {
    pub size: u16,
    pub enabled: bool,
    pub desc_gpa: u64,
    pub avail_gpa: u64,
    pub used_gpa: u64,
    /// The next available-ring entry the device will consume.
    pub last_avail_idx: u16,
    pub used_idx: u16,
    pub msix_vector: u16,
}

impl VirtQueue {
    /// The `n`-th queue of a device, as a guest driver would set it up.
    pub fn booted(n: u64, size: u16) -> VirtQueue {
        let base = 0x7f00_0000 + n * 0x4000;
        VirtQueue {
            size,
            enabled: true,
            desc_gpa: base,
            avail_gpa: base + 16 * u64::from(size),
            used_gpa: base + 0x2000,
            last_avail_idx: (n as u16 * 37) % size,
            used_idx: (n as u16 * 37) % size,
            msix_vector: n as u16 + 1,
        }
    }
}

impl Sample for VirtQueue {
    fn sample() -> Self {
        VirtQueue::booted(1, 256)
    }
}

/// One HPET timer (comparator): configuration, comparator value and the
/// period it reloads with.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet_timer", version = 1)]
pub struct HpetTimer {
    pub cap_config: u64,
    pub msireg: u64,
    /// Comparator: the counter value of the next interrupt.
    pub compval: u32,
    /// Period in counter ticks, for a periodic timer; 0 otherwise.
    pub comprate: u32,
}

impl Sample for HpetTimer {
    fn sample() -> Self {
        HpetTimer {
            cap_config: 0x0000_00f0_0000_8030,
            msireg: 0xfee0_0000_0000_4041,
            compval: 0x0123_4567,
            comprate: 14_318,
        }
    }
}

/// One i8254 PIT channel.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vatpit_channel", version = 1)]
pub struct PitChannel {
    pub mode: u8,
    pub initial: u16,
    pub status: u8,
    pub ol: [u8; 2],
    pub olbyte: u8,
    pub frbyte: u8,
    pub now_ns: u64,
}

/// The i8254 programmable interval timer: three channels.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vatpit", version = 1)]
pub struct Pit {
    pub channels: [PitChannel; 3],
}

impl Pit {
    /// The PIT as a BIOS leaves it: channel 0 at 100 Hz, the others idle.
    pub fn booted() -> Pit {
        let channel = |n: u8, initial: u16| PitChannel {
            mode: if n == 0 { 2 } else { 3 },
            initial,
            status: 0x30 | (n << 1),
            ol: initial.to_le_bytes(),
            olbyte: 0,
            frbyte: 0,
            now_ns: 1_000_000 * u64::from(n),
        };
        Pit {
            channels: [channel(0, 11_932), channel(1, 18), channel(2, 1_193)],
        }
    }
}

impl Sample for PitChannel {
    fn sample() -> Self {
        Pit::booted().channels[0].clone()
    }
}

impl Sample for Pit {
    fn sample() -> Self {
        Pit::booted()
    }
}

/// The ACPI power-management timer: a free-running 3.579545 MHz counter.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vpmtmr", version = 1)]
pub struct PmTimer {
    /// Counter value at `base_ns`.
    pub baseval: u32,
    /// Host uptime, in nanoseconds, when the counter held `baseval`.
    pub base_ns: u64,
}

impl Sample for PmTimer {
    fn sample() -> Self {
        PmTimer {
            baseval: 0x00ab_cdef,
            base_ns: 5_000_000_000,
        }
    }
}
