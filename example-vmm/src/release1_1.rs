//! The models of release 1.1.0, the newest of the 1.x line.

use snapshot_core::compat::Sample;
use snapshot_core::{MigrationError, NvList, Result, Snapshot};

pub use crate::shared::{HpetTimer, Pit, PitChannel, PmTimer, VirtQueue};
use crate::{get, guest, put, Target};

const NANOS: i64 = 1_000_000_000;

/// The RTC. Version 2 keeps the time base in nanoseconds (under a new
/// name), and adds the extended CMOS bank behind ports 0x72/0x73.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vrtc", version = 2)]
#[snapshot(migrate(from = 1, up = seconds_to_nanos, down = nanos_to_seconds))]
pub struct Rtc {
    pub addr: u8,
    /// Guest wall-clock time at `base_uptime`, in nanoseconds.
    #[snapshot(rename_from = "base_rtctime", renamed_in = 2)]
    pub base_time_ns: i64,
    pub base_uptime: u64,
    pub century: u8,
    pub regs: [u8; 128],
    #[snapshot(since = 2, default)]
    pub nvram_ext: Vec<u8>,
}

/// Version 1 counted seconds; version 2 counts nanoseconds.
pub fn seconds_to_nanos(nv: &mut NvList) -> Result<(), MigrationError> {
    let seconds = nv.get_number("base_rtctime")? as i64;
    let nanos = seconds
        .checked_mul(NANOS)
        .ok_or_else(|| MigrationError::invalid("base_rtctime", "too large for nanoseconds"))?;
    nv.insert("base_rtctime", nanos as u64);
    Ok(())
}

/// Back to whole seconds; a time with a fraction of a second is refused,
/// as the older reader would lose it.
pub fn nanos_to_seconds(nv: &mut NvList) -> Result<(), MigrationError> {
    let nanos = nv.get_number("base_rtctime")? as i64;
    if nanos % NANOS != 0 {
        return Err(MigrationError::invalid(
            "base_rtctime",
            format!("{nanos} ns is not a whole number of seconds, which version 1 stores"),
        ));
    }
    nv.insert("base_rtctime", (nanos / NANOS) as u64);
    Ok(())
}

impl Sample for Rtc {
    fn sample() -> Self {
        Rtc {
            addr: 0x0c,
            base_time_ns: 1_700_000_000 * NANOS,
            base_uptime: 123_456_789,
            century: 0x20,
            regs: guest::cmos(),
            nvram_ext: (0..128u8).map(|i| i ^ 0x5a).collect(),
        }
    }
}

/// The local APIC. Version 2 adds the TSC-deadline timer.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vlapic", version = 2)]
pub struct Lapic {
    pub apic_id: u32,
    /// The 4 KiB register page the guest sees at the APIC base.
    pub apic_page: [u8; 4096],
    pub esr_pending: u32,
    /// Timer input frequency, in Hz.
    pub timer_freq: u64,
    pub timer_fire_ns: u64,
    pub timer_period_ns: u64,
    pub msr_apicbase: u64,
    /// `IA32_TSC_DEADLINE`; 0 when the deadline timer is disarmed.
    #[snapshot(since = 2, default)]
    pub tsc_deadline: u64,
}

impl Lapic {
    /// The APIC of vCPU `id` after boot.
    pub fn booted(id: u32) -> Lapic {
        Lapic {
            apic_id: id,
            apic_page: guest::apic_page(id),
            esr_pending: 0,
            timer_freq: 128_000_000,
            timer_fire_ns: 42_000_000 + u64::from(id),
            timer_period_ns: 1_000_000,
            msr_apicbase: 0xfee0_0800 | if id == 0 { 0x100 } else { 0 },
            tsc_deadline: 0,
        }
    }
}

impl Sample for Lapic {
    fn sample() -> Self {
        Lapic {
            tsc_deadline: 0x1234_5678_9abc,
            ..Lapic::booted(1)
        }
    }
}

/// A vCPU's architectural state.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vcpu", version = 1)]
pub struct Vcpu {
    pub id: u32,
    pub gprs: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub cr8: u64,
    pub efer: u64,
    /// Guest TSC minus host TSC.
    pub tsc_offset: i64,
    /// Waiting in HLT for an interrupt.
    pub halted: bool,
}

impl Vcpu {
    /// vCPU `id` of a booted 64-bit guest.
    pub fn booted(id: u32) -> Vcpu {
        let mut gprs = [0u64; 16];
        for (i, r) in gprs.iter_mut().enumerate() {
            *r = 0xffff_8000_0000_0000 + (u64::from(id) << 20) + i as u64 * 0x1008;
        }
        Vcpu {
            id,
            gprs,
            rip: 0xffff_ffff_8100_0000 + u64::from(id) * 0x40,
            rflags: 0x246,
            cr0: 0x8005_0033,
            cr2: 0x7f12_3456_7000,
            cr3: 0x0010_2000 + u64::from(id) * 0x1000,
            cr4: 0x0037_06f0,
            cr8: 0,
            efer: 0xd01,
            tsc_offset: -123_456_789,
            halted: id != 0,
        }
    }
}

impl Sample for Vcpu {
    fn sample() -> Self {
        Vcpu {
            cr8: 2,
            ..Vcpu::booted(1)
        }
    }
}

/// The I/O APIC: 32 redirection entries.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vioapic", version = 1)]
pub struct Ioapic {
    pub id: u32,
    pub ioregsel: u32,
    pub rtbl: [u64; 32],
    pub pin_level: [bool; 32],
}

impl Ioapic {
    /// The I/O APIC with the legacy IRQs routed.
    pub fn booted() -> Ioapic {
        let mut rtbl = [0x0001_0000u64; 32];
        for (pin, r) in rtbl.iter_mut().enumerate().take(16) {
            *r = 0x20 + pin as u64;
        }
        let mut pin_level = [false; 32];
        pin_level[9] = true;
        Ioapic {
            id: 0x0200_0000,
            ioregsel: 0x10,
            rtbl,
            pin_level,
        }
    }
}

impl Sample for Ioapic {
    fn sample() -> Self {
        Ioapic::booted()
    }
}

/// The HPET: general registers and eight timers.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet", version = 1)]
pub struct Hpet {
    pub config: u64,
    pub isr: u64,
    pub countbase: u32,
    pub countbase_ns: u64,
    pub timers: [HpetTimer; 8],
}

impl Hpet {
    /// The HPET enabled in legacy-replacement mode.
    pub fn booted() -> Hpet {
        let timers = std::array::from_fn(|n| HpetTimer {
            cap_config: 0x00f0_0000_8030 | (n as u64) << 9,
            msireg: 0,
            compval: 0x1000 * n as u32,
            comprate: if n == 0 { 14_318 } else { 0 },
        });
        Hpet {
            config: 3,
            isr: 1,
            countbase: 0x8000_0000,
            countbase_ns: 7_000_000_000,
            timers,
        }
    }
}

impl Sample for Hpet {
    fn sample() -> Self {
        Hpet::booted()
    }
}

/// A virtio-net device.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "virtio_net", version = 1)]
pub struct VirtioNet {
    pub mac: [u8; 6],
    pub status: u8,
    pub features: u64,
    pub mtu: u16,
    pub rx_merge: bool,
    pub queues: Vec<VirtQueue>,
}

impl VirtioNet {
    /// A started device with an rx and a tx queue.
    pub fn booted() -> VirtioNet {
        VirtioNet {
            mac: [0x58, 0x9c, 0xfc, 0x0b, 0x2d, 0x11],
            status: 0x0f,
            features: 0x0000_0001_3020_8020,
            mtu: 1500,
            rx_merge: true,
            queues: vec![VirtQueue::booted(0, 1024), VirtQueue::booted(1, 1024)],
        }
    }
}

impl Sample for VirtioNet {
    fn sample() -> Self {
        VirtioNet::booted()
    }
}

/// A virtio-blk device.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "virtio_blk", version = 1)]
pub struct VirtioBlk {
    /// In 512-byte sectors.
    pub capacity: u64,
    pub status: u8,
    pub features: u64,
    pub read_only: bool,
    pub queue: VirtQueue,
}

impl VirtioBlk {
    /// A started 8 GiB disk.
    pub fn booted() -> VirtioBlk {
        VirtioBlk {
            capacity: 16 << 20,
            status: 0x0f,
            features: 0x0000_0001_1000_0244,
            read_only: false,
            queue: VirtQueue::booted(2, 256),
        }
    }
}

impl Sample for VirtioBlk {
    fn sample() -> Self {
        VirtioBlk::booted()
    }
}

/// A whole VM's device state on the release-1 models.
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
    /// A VM with `ncpus` vCPUs, as it is after the guest booted.
    pub fn boot(ncpus: u32) -> Vm {
        Vm {
            vcpus: (0..ncpus).map(Vcpu::booted).collect(),
            lapics: (0..ncpus).map(Lapic::booted).collect(),
            ioapic: Ioapic::booted(),
            hpet: Hpet::booted(),
            rtc: Rtc {
                nvram_ext: Vec::new(),
                ..Rtc::sample()
            },
            pit: Pit::booted(),
            pmtmr: PmTimer::sample(),
            net: VirtioNet::booted(),
            blk: VirtioBlk::booted(),
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

    /// Resumes from a device list written by any release this one reads.
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
