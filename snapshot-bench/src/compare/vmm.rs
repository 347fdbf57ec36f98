//! The example VMM's device state (`example-vmm`, release 2.0.0 models),
//! copied field for field into types every format can take.
//!
//! The example VMM's types derive only `Snapshot`, and two of them hold
//! arrays longer than serde derives (`[u8; 128]`, `[u8; 4096]`), so the
//! comparison saves these copies: the same records under the same schema
//! names with the same fields, in the same order, holding the same
//! values, plus serde and a positional field stream ([`Raw`]) like
//! bhyve's. Byte arrays become `Vec<u8>` (serde_bytes), the enum keeps its
//! variants. The copies carry no version history, so they write every
//! field, where the example VMM leaves out added fields holding their
//! default.

use example_vmm::{release1_1, release2_0 as m};
use serde::{Deserialize, Serialize};
use snapshot_core::Snapshot;

/// Native little-endian fields in declaration order, no names, no types:
/// what bhyve's `.kern` stream holds.
pub trait Raw: Sized {
    /// Appends the fields.
    fn put(&self, out: &mut Vec<u8>);
    /// Takes the fields from the front of `input`; `None` if it ends early
    /// or holds an impossible value.
    fn take(input: &mut &[u8]) -> Option<Self>;

    /// Appends `items` in a row; bytes override it to copy one block, as
    /// the C code's `memcpy` of a buffer does.
    fn put_many(items: &[Self], out: &mut Vec<u8>) {
        items.iter().for_each(|v| v.put(out));
    }

    /// Takes `n` values in a row; bytes override it to copy one block.
    fn take_many(input: &mut &[u8], n: usize) -> Option<Vec<Self>> {
        (0..n).map(|_| Self::take(input)).collect()
    }
}

macro_rules! raw_int {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(input: &mut &[u8]) -> Option<Self> {
                let (head, rest) = input.split_first_chunk()?;
                *input = rest;
                Some(<$t>::from_le_bytes(*head))
            }
        }
    )*};
}

raw_int!(u16, u32, u64, i64);

impl Raw for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        Some(b)
    }
    fn put_many(items: &[Self], out: &mut Vec<u8>) {
        out.extend_from_slice(items);
    }
    fn take_many(input: &mut &[u8], n: usize) -> Option<Vec<Self>> {
        let (head, rest) = input.split_at_checked(n)?;
        *input = rest;
        Some(head.to_vec())
    }
}

impl Raw for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        Some(u8::take(input)? != 0)
    }
}

/// A length (`u32`), then the items; bytes are read as one block.
impl<T: Raw> Raw for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        (self.len() as u32).put(out);
        T::put_many(self, out);
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        let n = u32::take(input)? as usize;
        // Every item takes at least a byte: a bad length fails here,
        // before allocating.
        if n > input.len() {
            return None;
        }
        T::take_many(input, n)
    }
}

/// The items, no length: the size is fixed in the C struct.
impl<T: Raw, const N: usize> Raw for [T; N] {
    fn put(&self, out: &mut Vec<u8>) {
        T::put_many(self, out);
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        T::take_many(input, N)?.try_into().ok()
    }
}

/// A present flag, then the value.
impl<T: Raw> Raw for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        self.is_some().put(out);
        if let Some(v) = self {
            v.put(out);
        }
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        Some(if bool::take(input)? {
            Some(T::take(input)?)
        } else {
            None
        })
    }
}

macro_rules! raw_struct {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Raw for $t {
            fn put(&self, out: &mut Vec<u8>) {
                $(self.$f.put(out);)*
            }
            fn take(input: &mut &[u8]) -> Option<Self> {
                Some($t { $($f: Raw::take(input)?,)* })
            }
        }
    };
}

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vcpu", version = 2)]
pub struct Vcpu {
    pub id: u32,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub tpr: u64,
    pub efer: u64,
    pub xcr0: u64,
    pub rip: u64,
    pub rflags: u64,
    pub gprs: [u64; 16],
    pub tsc_offset: i64,
    pub halted: bool,
    pub pending_exception: Option<u8>,
}
raw_struct!(Vcpu {
    id,
    cr0,
    cr2,
    cr3,
    cr4,
    tpr,
    efer,
    xcr0,
    rip,
    rflags,
    gprs,
    tsc_offset,
    halted,
    pending_exception
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vlapic", version = 2)]
pub struct Lapic {
    pub apic_id: u32,
    #[serde(with = "serde_bytes")]
    pub apic_page: Vec<u8>,
    pub esr_pending: u32,
    pub timer_freq: u64,
    pub timer_fire_ns: u64,
    pub timer_period_ns: u64,
    pub msr_apicbase: u64,
    pub tsc_deadline: u64,
}
raw_struct!(Lapic {
    apic_id,
    apic_page,
    esr_pending,
    timer_freq,
    timer_fire_ns,
    timer_period_ns,
    msr_apicbase,
    tsc_deadline
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vioapic", version = 2)]
pub struct Ioapic {
    pub id: u32,
    pub redirection: [u64; 32],
    pub pin_level: [bool; 32],
    pub ioregsel: u32,
}
raw_struct!(Ioapic {
    id,
    redirection,
    pin_level,
    ioregsel
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet_timer", version = 1)]
pub struct HpetTimer {
    pub cap_config: u64,
    pub msireg: u64,
    pub compval: u32,
    pub comprate: u32,
}
raw_struct!(HpetTimer {
    cap_config,
    msireg,
    compval,
    comprate
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet", version = 2)]
pub struct Hpet {
    pub config: u64,
    pub isr: u64,
    pub countbase: u64,
    pub countbase_ns: u64,
    pub timers: [HpetTimer; 8],
}
raw_struct!(Hpet {
    config,
    isr,
    countbase,
    countbase_ns,
    timers
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vrtc", version = 3)]
pub struct Rtc {
    pub addr: u8,
    pub base_time_ns: i64,
    pub base_uptime: u64,
    #[serde(with = "serde_bytes")]
    pub regs: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub nvram_ext: Vec<u8>,
}
raw_struct!(Rtc {
    addr,
    base_time_ns,
    base_uptime,
    regs,
    nvram_ext
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
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
raw_struct!(PitChannel {
    mode,
    initial,
    status,
    ol,
    olbyte,
    frbyte,
    now_ns
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vatpit", version = 1)]
pub struct Pit {
    pub channels: [PitChannel; 3],
}
raw_struct!(Pit { channels });

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "vpmtmr", version = 1)]
pub struct PmTimer {
    pub baseval: u32,
    pub base_ns: u64,
}
raw_struct!(PmTimer { baseval, base_ns });

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "virtq", version = 1)]
pub struct VirtQueue {
    pub size: u16,
    pub enabled: bool,
    pub desc_gpa: u64,
    pub avail_gpa: u64,
    pub used_gpa: u64,
    pub last_avail_idx: u16,
    pub used_idx: u16,
    pub msix_vector: u16,
}
raw_struct!(VirtQueue {
    size,
    enabled,
    desc_gpa,
    avail_gpa,
    used_gpa,
    last_avail_idx,
    used_idx,
    msix_vector
});

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "virtio_net", version = 2)]
pub struct VirtioNet {
    pub mac: [u8; 6],
    pub status: u8,
    pub negotiated_features: u64,
    pub mtu: u32,
    pub rx_merge: bool,
    pub queues: Vec<VirtQueue>,
}
raw_struct!(VirtioNet {
    mac,
    status,
    negotiated_features,
    mtu,
    rx_merge,
    queues
});

/// The write cache mode, by variant.
#[derive(Snapshot, Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[snapshot(name = "blk_cache", version = 1)]
pub enum CacheMode {
    Writethrough,
    Writeback,
}

impl Raw for CacheMode {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        match u8::take(input)? {
            0 => Some(CacheMode::Writethrough),
            1 => Some(CacheMode::Writeback),
            _ => None,
        }
    }
}

#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "virtio_blk", version = 2)]
pub struct VirtioBlk {
    pub capacity: u64,
    pub status: u8,
    pub features: u64,
    pub read_only: bool,
    pub queue: VirtQueue,
    pub cache: CacheMode,
}
raw_struct!(VirtioBlk {
    capacity,
    status,
    features,
    read_only,
    queue,
    cache
});

/// Every device and vCPU of the VM.
#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "devices", version = 1)]
pub struct Devices {
    pub vcpus: Vec<Vcpu>,
    pub lapics: Vec<Lapic>,
    pub ioapic: Ioapic,
    pub hpet: Hpet,
    pub rtc: Rtc,
    pub pit: Pit,
    pub pmtmr: PmTimer,
    pub net: VirtioNet,
    pub blk: VirtioBlk,
}
raw_struct!(Devices {
    vcpus,
    lapics,
    ioapic,
    hpet,
    rtc,
    pit,
    pmtmr,
    net,
    blk
});

fn queue(q: &m::VirtQueue) -> VirtQueue {
    VirtQueue {
        size: q.size,
        enabled: q.enabled,
        desc_gpa: q.desc_gpa,
        avail_gpa: q.avail_gpa,
        used_gpa: q.used_gpa,
        last_avail_idx: q.last_avail_idx,
        used_idx: q.used_idx,
        msix_vector: q.msix_vector,
    }
}

impl From<&m::Vm> for Devices {
    fn from(vm: &m::Vm) -> Devices {
        Devices {
            vcpus: vm
                .vcpus
                .iter()
                .map(|v| Vcpu {
                    id: v.id,
                    cr0: v.cr0,
                    cr2: v.cr2,
                    cr3: v.cr3,
                    cr4: v.cr4,
                    tpr: v.tpr,
                    efer: v.efer,
                    xcr0: v.xcr0,
                    rip: v.rip,
                    rflags: v.rflags,
                    gprs: v.gprs,
                    tsc_offset: v.tsc_offset,
                    halted: v.halted,
                    pending_exception: v.pending_exception,
                })
                .collect(),
            lapics: vm
                .lapics
                .iter()
                .map(|l| Lapic {
                    apic_id: l.apic_id,
                    apic_page: l.apic_page.to_vec(),
                    esr_pending: l.esr_pending,
                    timer_freq: l.timer_freq,
                    timer_fire_ns: l.timer_fire_ns,
                    timer_period_ns: l.timer_period_ns,
                    msr_apicbase: l.msr_apicbase,
                    tsc_deadline: l.tsc_deadline,
                })
                .collect(),
            ioapic: Ioapic {
                id: vm.ioapic.id,
                redirection: vm.ioapic.redirection,
                pin_level: vm.ioapic.pin_level,
                ioregsel: vm.ioapic.ioregsel,
            },
            hpet: Hpet {
                config: vm.hpet.config,
                isr: vm.hpet.isr,
                countbase: vm.hpet.countbase,
                countbase_ns: vm.hpet.countbase_ns,
                timers: vm.hpet.timers.each_ref().map(|t| HpetTimer {
                    cap_config: t.cap_config,
                    msireg: t.msireg,
                    compval: t.compval,
                    comprate: t.comprate,
                }),
            },
            rtc: Rtc {
                addr: vm.rtc.addr,
                base_time_ns: vm.rtc.base_time_ns,
                base_uptime: vm.rtc.base_uptime,
                regs: vm.rtc.regs.to_vec(),
                nvram_ext: vm.rtc.nvram_ext.clone(),
            },
            pit: Pit {
                channels: vm.pit.channels.each_ref().map(|c| PitChannel {
                    mode: c.mode,
                    initial: c.initial,
                    status: c.status,
                    ol: c.ol,
                    olbyte: c.olbyte,
                    frbyte: c.frbyte,
                    now_ns: c.now_ns,
                }),
            },
            pmtmr: PmTimer {
                baseval: vm.pmtmr.baseval,
                base_ns: vm.pmtmr.base_ns,
            },
            net: VirtioNet {
                mac: vm.net.mac,
                status: vm.net.status,
                negotiated_features: vm.net.negotiated_features,
                mtu: vm.net.mtu,
                rx_merge: vm.net.rx_merge,
                queues: vm.net.queues.iter().map(queue).collect(),
            },
            blk: VirtioBlk {
                capacity: vm.blk.capacity,
                status: vm.blk.status,
                features: vm.blk.features,
                read_only: vm.blk.read_only,
                queue: queue(&vm.blk.queue),
                cache: match vm.blk.cache {
                    m::CacheMode::Writethrough => CacheMode::Writethrough,
                    m::CacheMode::Writeback => CacheMode::Writeback,
                },
            },
        }
    }
}

/// The example VMM after its guest booted with `ncpus` vCPUs, on the
/// release-2 models, with the write-back cache on so every record holds
/// its newest fields.
pub fn booted(ncpus: u32) -> Devices {
    let mut vm = m::Vm::from_release1(&release1_1::Vm::boot(ncpus));
    vm.blk.cache = m::CacheMode::Writeback;
    Devices::from(&vm)
}

/// Encodes the positional stream.
pub fn raw_encode(d: &Devices) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * 1024);
    d.put(&mut out);
    out
}

/// Decodes the positional stream; `None` if it is short or holds an
/// impossible value, or bytes are left over.
pub fn raw_decode(mut bytes: &[u8]) -> Option<Devices> {
    let d = Devices::take(&mut bytes)?;
    bytes.is_empty().then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_hold_the_example_vmm_values_and_round_trip() {
        let d = booted(4);
        assert_eq!(d.vcpus.len(), 4);
        assert_eq!(d.lapics[1].apic_page.len(), 4096);
        assert_eq!(raw_decode(&raw_encode(&d)), Some(d.clone()));
        assert_eq!(Devices::from_bytes(&d.to_bytes()).unwrap(), d);
        let json = serde_json::to_vec(&d).unwrap();
        assert_eq!(serde_json::from_slice::<Devices>(&json).unwrap(), d);
    }

    #[test]
    fn records_keep_the_example_vmm_schema_names() {
        let vm = m::Vm::from_release1(&release1_1::Vm::boot(1));
        let ours = Devices::from(&vm);
        assert_eq!(
            ours.hpet.to_nvlist().get_string(".schema").unwrap(),
            vm.hpet.to_nvlist().get_string(".schema").unwrap()
        );
        // The same field names in the same order, except that the example
        // VMM leaves out fields added since version 1 that hold their
        // default, and the copies, without history, write every field.
        let names =
            |nv: snapshot_core::NvList| nv.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
        for (ours, theirs) in [
            (ours.vcpus[0].to_nvlist(), vm.vcpus[0].to_nvlist()),
            (ours.lapics[0].to_nvlist(), vm.lapics[0].to_nvlist()),
            (ours.rtc.to_nvlist(), vm.rtc.to_nvlist()),
            (ours.net.to_nvlist(), vm.net.to_nvlist()),
        ] {
            let (ours, theirs) = (names(ours), names(theirs));
            let mut rest = ours.iter();
            assert!(
                theirs.iter().all(|n| rest.any(|o| o == n)),
                "{ours:?} / {theirs:?}"
            );
        }
    }
}
