//! The models of release 2.0.0. Each type declares its whole history, so
//! this build reads every snapshot of 1.0.0, 1.1.0 and 2.0.0, and writes
//! for the older readers.

use snapshot_core::compat::Sample;
use snapshot_core::{MigrationError, NvList, Result, Snapshot};

use crate::release1_1::{nanos_to_seconds, seconds_to_nanos};
pub use crate::release1_1::{Lapic, VirtQueue};
pub use crate::shared::{HpetTimer, Pit, PitChannel, PmTimer};
use crate::{get, put, release1_1, Target};

/// Index of the century byte in the CMOS register file.
const CMOS_CENTURY: usize = 0x32;

/// The RTC. Version 3 drops `century`: the guest reads it from the
/// register file, where it now lives only.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vrtc", version = 3)]
#[snapshot(removed(field = "century", since = 3))]
#[snapshot(migrate(from = 1, up = seconds_to_nanos, down = nanos_to_seconds))]
#[snapshot(migrate(from = 2, up = century_into_regs, down = century_from_regs))]
pub struct Rtc {
    pub addr: u8,
    /// Guest wall-clock time at `base_uptime`, in nanoseconds.
    #[snapshot(rename_from = "base_rtctime", renamed_in = 2)]
    pub base_time_ns: i64,
    pub base_uptime: u64,
    pub regs: [u8; 128],
    #[snapshot(since = 2, default)]
    pub nvram_ext: Vec<u8>,
}

/// Version 2 kept the century beside the registers; version 3 keeps it
/// in register 0x32 only.
fn century_into_regs(nv: &mut NvList) -> Result<(), MigrationError> {
    let century = nv.get_number("century")?;
    let mut regs = nv.get_binary("regs")?.to_vec();
    let slot = regs
        .get_mut(CMOS_CENTURY)
        .ok_or_else(|| MigrationError::invalid("regs", "shorter than 128 bytes"))?;
    *slot = u8::try_from(century)
        .map_err(|_| MigrationError::invalid("century", format!("{century} is not a byte")))?;
    nv.insert("regs", regs);
    Ok(())
}

fn century_from_regs(nv: &mut NvList) -> Result<(), MigrationError> {
    let century = nv
        .get_binary("regs")?
        .get(CMOS_CENTURY)
        .copied()
        .ok_or_else(|| MigrationError::invalid("regs", "shorter than 128 bytes"))?;
    nv.insert("century", u64::from(century));
    Ok(())
}

impl Sample for Rtc {
    fn sample() -> Self {
        let r1 = release1_1::Rtc::sample();
        Rtc::from_release1(&r1)
    }
}

impl Rtc {
    /// What a release-1 RTC becomes on release 2.
    pub fn from_release1(r: &release1_1::Rtc) -> Rtc {
        let mut regs = r.regs;
        regs[CMOS_CENTURY] = r.century;
        Rtc {
            addr: r.addr,
            base_time_ns: r.base_time_ns,
            base_uptime: r.base_uptime,
            regs,
            nvram_ext: r.nvram_ext.clone(),
        }
    }
}

fn default_xcr0() -> u64 {
    1
}

/// A vCPU. Version 2 adds `xcr0` and a pending exception, calls `cr8` by
/// its architectural name, and groups the control registers first.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vcpu", version = 2)]
pub struct Vcpu {
    pub id: u32,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    #[snapshot(rename_from = "cr8", renamed_in = 2)]
    pub tpr: u64,
    pub efer: u64,
    #[snapshot(since = 2, default = default_xcr0)]
    pub xcr0: u64,
    pub rip: u64,
    pub rflags: u64,
    pub gprs: [u64; 16],
    /// Guest TSC minus host TSC.
    pub tsc_offset: i64,
    /// Waiting in HLT for an interrupt.
    pub halted: bool,
    /// A fault vector to inject before the next instruction.
    #[snapshot(since = 2, default)]
    pub pending_exception: Option<u8>,
}

impl Vcpu {
    /// What a release-1 vCPU becomes on release 2.
    pub fn from_release1(v: &release1_1::Vcpu) -> Vcpu {
        Vcpu {
            id: v.id,
            cr0: v.cr0,
            cr2: v.cr2,
            cr3: v.cr3,
            cr4: v.cr4,
            tpr: v.cr8,
            efer: v.efer,
            xcr0: default_xcr0(),
            rip: v.rip,
            rflags: v.rflags,
            gprs: v.gprs,
            tsc_offset: v.tsc_offset,
            halted: v.halted,
            pending_exception: None,
        }
    }
}

impl Sample for Vcpu {
    fn sample() -> Self {
        Vcpu {
            xcr0: 7,
            pending_exception: Some(14),
            ..Vcpu::from_release1(&release1_1::Vcpu::sample())
        }
    }
}

/// The I/O APIC. Version 2 renames the redirection table and reorders.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vioapic", version = 2)]
pub struct Ioapic {
    pub id: u32,
    #[snapshot(rename_from = "rtbl", renamed_in = 2)]
    pub redirection: [u64; 32],
    pub pin_level: [bool; 32],
    pub ioregsel: u32,
}

impl Ioapic {
    /// What a release-1 I/O APIC becomes on release 2.
    pub fn from_release1(i: &release1_1::Ioapic) -> Ioapic {
        Ioapic {
            id: i.id,
            redirection: i.rtbl,
            pin_level: i.pin_level,
            ioregsel: i.ioregsel,
        }
    }
}

impl Sample for Ioapic {
    fn sample() -> Self {
        Ioapic::from_release1(&release1_1::Ioapic::sample())
    }
}

/// The HPET. Version 2 keeps the full 64-bit main counter base.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet", version = 2)]
pub struct Hpet {
    pub config: u64,
    pub isr: u64,
    #[snapshot(widened_from = u32, widened_in = 2)]
    pub countbase: u64,
    pub countbase_ns: u64,
    pub timers: [HpetTimer; 8],
}

impl Hpet {
    /// What a release-1 HPET becomes on release 2.
    pub fn from_release1(h: &release1_1::Hpet) -> Hpet {
        Hpet {
            config: h.config,
            isr: h.isr,
            countbase: h.countbase.into(),
            countbase_ns: h.countbase_ns,
            timers: h.timers.clone(),
        }
    }
}

impl Sample for Hpet {
    fn sample() -> Self {
        Hpet::from_release1(&release1_1::Hpet::sample())
    }
}

/// virtio-net. Version 2 allows jumbo MTUs and names the features it
/// stores for what they are.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "virtio_net", version = 2)]
pub struct VirtioNet {
    pub mac: [u8; 6],
    pub status: u8,
    #[snapshot(rename_from = "features", renamed_in = 2)]
    pub negotiated_features: u64,
    #[snapshot(widened_from = u16, widened_in = 2)]
    pub mtu: u32,
    pub rx_merge: bool,
    pub queues: Vec<VirtQueue>,
}

impl VirtioNet {
    /// What a release-1 device becomes on release 2.
    pub fn from_release1(n: &release1_1::VirtioNet) -> VirtioNet {
        VirtioNet {
            mac: n.mac,
            status: n.status,
            negotiated_features: n.features,
            mtu: n.mtu.into(),
            rx_merge: n.rx_merge,
            queues: n.queues.clone(),
        }
    }
}

impl Sample for VirtioNet {
    fn sample() -> Self {
        VirtioNet::from_release1(&release1_1::VirtioNet::sample())
    }
}

/// virtio-blk. Version 2 adds the write-back cache mode.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "virtio_blk", version = 2)]
pub struct VirtioBlk {
    /// In 512-byte sectors.
    pub capacity: u64,
    pub status: u8,
    pub features: u64,
    pub read_only: bool,
    pub queue: VirtQueue,
    /// The write cache mode the guest chose (`VIRTIO_BLK_F_CONFIG_WCE`).
    #[snapshot(since = 2, default)]
    pub cache: CacheMode,
}

/// How a virtio-blk device completes writes: an enum record, stored by
/// variant name.
#[derive(Snapshot, Clone, Copy, Debug, Default, PartialEq)]
#[snapshot(name = "blk_cache", version = 1)]
pub enum CacheMode {
    /// A write completes once it is on stable storage.
    #[default]
    Writethrough,
    /// A write completes once it is in the host's cache; flushes persist.
    Writeback,
}

impl Sample for CacheMode {
    fn sample() -> Self {
        CacheMode::Writeback
    }
}

impl VirtioBlk {
    /// What a release-1 device becomes on release 2.
    pub fn from_release1(b: &release1_1::VirtioBlk) -> VirtioBlk {
        VirtioBlk {
            capacity: b.capacity,
            status: b.status,
            features: b.features,
            read_only: b.read_only,
            queue: b.queue.clone(),
            cache: CacheMode::Writethrough,
        }
    }
}

impl Sample for VirtioBlk {
    fn sample() -> Self {
        VirtioBlk {
            cache: CacheMode::Writeback,
            ..VirtioBlk::from_release1(&release1_1::VirtioBlk::sample())
        }
    }
}

/// A whole VM's device state on the release-2 models.
#[derive(Clone, Debug, PartialEq)]
pub struct Vm {
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

impl Vm {
    /// What a release-1 VM's devices are on release 2, computed by hand
    /// from the models, to check the engine's upgrade against.
    pub fn from_release1(vm: &release1_1::Vm) -> Vm {
        Vm {
            vcpus: vm.vcpus.iter().map(Vcpu::from_release1).collect(),
            lapics: vm.lapics.clone(),
            ioapic: Ioapic::from_release1(&vm.ioapic),
            hpet: Hpet::from_release1(&vm.hpet),
            rtc: Rtc::from_release1(&vm.rtc),
            pit: vm.pit.clone(),
            pmtmr: vm.pmtmr.clone(),
            net: VirtioNet::from_release1(&vm.net),
            blk: VirtioBlk::from_release1(&vm.blk),
        }
    }

    /// The device list, one record per device, written for `target`.
    pub fn save(&self, target: Target) -> Result<NvList> {
        let mut d = NvList::new();
        for (i, (cpu, lapic)) in self.vcpus.iter().zip(&self.lapics).enumerate() {
            put(&mut d, &format!("vcpu{i}"), cpu, target)?;
            put(&mut d, &format!("vlapic{i}"), lapic, target)?;
        }
        put(&mut d, "vioapic", &self.ioapic, target)?;
        put(&mut d, "vhpet", &self.hpet, target)?;
        put(&mut d, "vrtc", &self.rtc, target)?;
        put(&mut d, "vatpit", &self.pit, target)?;
        put(&mut d, "vpmtmr", &self.pmtmr, target)?;
        put(&mut d, "virtio_net0", &self.net, target)?;
        put(&mut d, "virtio_blk0", &self.blk, target)?;
        Ok(d)
    }

    /// Resumes from a device list written by any release.
    pub fn restore(d: &NvList) -> Result<Vm> {
        let ncpus = (0..).take_while(|i| d.contains(format!("vcpu{i}"))).count();
        Ok(Vm {
            vcpus: (0..ncpus)
                .map(|i| get(d, &format!("vcpu{i}")))
                .collect::<Result<_>>()?,
            lapics: (0..ncpus)
                .map(|i| get(d, &format!("vlapic{i}")))
                .collect::<Result<_>>()?,
            ioapic: get(d, "vioapic")?,
            hpet: get(d, "vhpet")?,
            rtc: get(d, "vrtc")?,
            pit: get(d, "vatpit")?,
            pmtmr: get(d, "vpmtmr")?,
            net: get(d, "virtio_net0")?,
            blk: get(d, "virtio_blk0")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest;

    #[test]
    fn release1_vm_upgrades_to_the_hand_computed_value() {
        let r1 = release1_1::Vm::boot(2);
        let saved = r1.save(None).unwrap();
        let r2 = Vm::restore(&NvList::unpack(&saved.pack()).unwrap()).unwrap();
        assert_eq!(r2, Vm::from_release1(&r1));
    }

    #[test]
    fn release2_saves_for_release1() {
        let reg = crate::registry();
        let (_, versions) = reg.find_release("1").unwrap();
        let r1 = release1_1::Vm::boot(2);
        let r2 = Vm::from_release1(&r1);
        let saved = r2.save(Some(versions)).unwrap();
        assert_eq!(release1_1::Vm::restore(&saved).unwrap(), r1);
    }

    #[test]
    fn new_state_refuses_to_go_to_release1() {
        let reg = crate::registry();
        let (_, versions) = reg.find_release("1").unwrap();
        let mut r2 = Vm::from_release1(&release1_1::Vm::boot(1));
        r2.net.mtu = 70_000;
        let err = r2.save(Some(versions)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "virtio_net0.mtu: 70000 does not fit u16 (converting v2 -> v1)"
        );
    }

    #[test]
    fn guest_cmos_keeps_the_century() {
        assert_eq!(guest::cmos()[CMOS_CENTURY], 0x20);
    }
}
