//! A vCPU's and a VM's whole state: what is captured, and the order
//! KVM needs it back in.

use std::collections::BTreeMap;

use kvm_bindings::{
    kvm_irqchip, kvm_mp_state, CpuId, Msrs, KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER,
    KVM_IRQCHIP_PIC_SLAVE,
};
use kvm_ioctls::{Kvm, VcpuFd, VmFd};
use snapshot_core::compat::{Registry, Sample};
use snapshot_core::Snapshot;

use crate::error::{Call, KvmError};
use crate::mirror::Mirror;
use crate::vcpu::{CpuidEntry, DebugRegs, Fpu, Lapic, Regs, Sregs, VcpuEvents, Xcrs, Xsave};
use crate::vm::{Clock, Ioapic, Pic, Pit};

/// Everything KVM holds for one x86-64 vCPU.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "kvm_vcpu")]
pub struct VcpuState {
    /// The vCPU's id (its APIC id).
    pub id: u32,
    /// CPUID as the VMM gave it to the guest: what a host must offer to
    /// resume it.
    pub cpuid: Vec<CpuidEntry>,
    /// The guest's TSC frequency in kHz.
    pub tsc_khz: u32,
    /// `kvm_mp_state`: runnable, halted, waiting for INIT or SIPI.
    pub mp_state: u32,
    pub regs: Regs,
    pub sregs: Sregs,
    /// The legacy FPU view; restore uses `xsave`, which contains it.
    pub fpu: Fpu,
    pub xsave: Xsave,
    pub xcrs: Xcrs,
    pub lapic: Lapic,
    /// The MSRs KVM reports to save, by index.
    pub msrs: BTreeMap<u32, u64>,
    pub events: VcpuEvents,
    pub debugregs: DebugRegs,
}

/// The MSRs to save: those of KVM's index list that this host lets a
/// vCPU read (some listed ones are refused by a given host or guest
/// CPUID; those are skipped, as a VMM must).
pub fn msrs_to_save(kvm: &Kvm, vcpu: &VcpuFd) -> Result<Vec<u32>, KvmError> {
    let list = kvm.get_msr_index_list().call("KVM_GET_MSR_INDEX_LIST")?;
    let mut readable = Vec::new();
    for &index in list.as_slice() {
        let mut one = msrs(&[(index, 0)])?;
        if vcpu.get_msrs(&mut one).call("KVM_GET_MSRS")? == 1 {
            readable.push(index);
        }
    }
    Ok(readable)
}

fn msrs(entries: &[(u32, u64)]) -> Result<Msrs, KvmError> {
    let entries: Vec<_> = entries
        .iter()
        .map(|&(index, data)| kvm_bindings::kvm_msr_entry {
            index,
            data,
            ..Default::default()
        })
        .collect();
    Msrs::from_entries(&entries).map_err(|_| KvmError {
        call: "building the MSR list (too many MSRs)",
        source: kvm_ioctls::Error::new(libc_e2big()),
    })
}

/// `E2BIG`, the error of a list longer than KVM takes.
fn libc_e2big() -> i32 {
    7
}

impl VcpuState {
    /// Captures the state of a paused vCPU (not inside `KVM_RUN`; after a
    /// run with `immediate_exit` set, so that a pending I/O is complete).
    /// `cpuid` is the CPUID the VMM gave the vCPU: KVM_GET_CPUID2 returns
    /// what a host's KVM makes of it (on some, the host's own CPUID), so
    /// the VMM's copy is the one to save and give again.
    pub fn capture(
        vcpu: &VcpuFd,
        id: u32,
        msr_indices: &[u32],
        cpuid: &CpuId,
    ) -> Result<VcpuState, KvmError> {
        // First, as Firecracker does: reading it flushes pending events
        // into the state read after.
        let mp_state = vcpu.get_mp_state().call("KVM_GET_MP_STATE")?.mp_state;
        let regs = Regs::of(&vcpu.get_regs().call("KVM_GET_REGS")?);
        let sregs = Sregs::of(&vcpu.get_sregs().call("KVM_GET_SREGS")?);
        let fpu = Fpu::of(&vcpu.get_fpu().call("KVM_GET_FPU")?);
        let xsave = Xsave::of(&vcpu.get_xsave().call("KVM_GET_XSAVE")?);
        let xcrs = Xcrs::of(&vcpu.get_xcrs().call("KVM_GET_XCRS")?);
        let debugregs = DebugRegs::of(&vcpu.get_debug_regs().call("KVM_GET_DEBUGREGS")?);
        let lapic = Lapic::of(&vcpu.get_lapic().call("KVM_GET_LAPIC")?);
        let tsc_khz = vcpu.get_tsc_khz().call("KVM_GET_TSC_KHZ")?;
        let cpuid = cpuid.as_slice().iter().map(CpuidEntry::of).collect();
        let mut msr_list = msrs(&msr_indices.iter().map(|&i| (i, 0)).collect::<Vec<_>>())?;
        let read = vcpu.get_msrs(&mut msr_list).call("KVM_GET_MSRS")?;
        if read != msr_indices.len() {
            return Err(KvmError {
                call: "KVM_GET_MSRS (an MSR to save could not be read)",
                source: kvm_ioctls::Error::new(5),
            });
        }
        let msrs = msr_list
            .as_slice()
            .iter()
            .map(|e| (e.index, e.data))
            .collect();
        let events = VcpuEvents::of(&vcpu.get_vcpu_events().call("KVM_GET_VCPU_EVENTS")?);
        Ok(VcpuState {
            id,
            cpuid,
            tsc_khz,
            mp_state,
            regs,
            sregs,
            fpu,
            xsave,
            xcrs,
            lapic,
            msrs,
            events,
            debugregs,
        })
    }

    /// Restores the state into a new vCPU, in the order KVM needs
    /// (docs/kvm.md): the TSC frequency and CPUID before anything that
    /// depends on the features they give, the MP state, registers, special
    /// registers (mode, paging) before the extended state, the LAPIC
    /// before the MSRs (the TSC deadline MSR needs it), and the events
    /// last, so that an injected interrupt meets a complete vCPU.
    pub fn restore(&self, vcpu: &VcpuFd) -> Result<(), KvmError> {
        if vcpu.get_tsc_khz().call("KVM_GET_TSC_KHZ")? != self.tsc_khz {
            vcpu.set_tsc_khz(self.tsc_khz).call("KVM_SET_TSC_KHZ")?;
        }
        vcpu.set_cpuid2(&self.cpuid()?).call("KVM_SET_CPUID2")?;
        vcpu.set_mp_state(kvm_mp_state {
            mp_state: self.mp_state,
        })
        .call("KVM_SET_MP_STATE")?;
        vcpu.set_regs(&self.regs.to()).call("KVM_SET_REGS")?;
        vcpu.set_sregs(&self.sregs.to()).call("KVM_SET_SREGS")?;
        // SAFETY: the area is a whole `kvm_xsave` (4 KiB), the size
        // KVM_SET_XSAVE reads.
        unsafe { vcpu.set_xsave(&self.xsave.to()) }.call("KVM_SET_XSAVE")?;
        vcpu.set_xcrs(&self.xcrs.to()).call("KVM_SET_XCRS")?;
        vcpu.set_debug_regs(&self.debugregs.to())
            .call("KVM_SET_DEBUGREGS")?;
        vcpu.set_lapic(&self.lapic.to()).call("KVM_SET_LAPIC")?;
        let entries: Vec<_> = self.msrs.iter().map(|(&i, &d)| (i, d)).collect();
        let written = vcpu.set_msrs(&msrs(&entries)?).call("KVM_SET_MSRS")?;
        if written != entries.len() {
            let failed = entries[written].0;
            return Err(KvmError {
                call: if failed == 0 {
                    "KVM_SET_MSRS"
                } else {
                    "KVM_SET_MSRS (an MSR was refused)"
                },
                source: kvm_ioctls::Error::new(22),
            });
        }
        vcpu.set_vcpu_events(&self.events.to())
            .call("KVM_SET_VCPU_EVENTS")?;
        Ok(())
    }
}

/// The VM's in-kernel devices: both PICs, the IOAPIC, the PIT and the
/// kvmclock.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "kvm_vm")]
pub struct VmState {
    pub pic_master: Pic,
    pub pic_slave: Pic,
    pub ioapic: Ioapic,
    pub pit: Pit,
    pub clock: Clock,
}

fn get_chip(vm: &VmFd, chip_id: u32) -> Result<kvm_irqchip, KvmError> {
    let mut chip = kvm_irqchip {
        chip_id,
        ..Default::default()
    };
    vm.get_irqchip(&mut chip).call("KVM_GET_IRQCHIP")?;
    Ok(chip)
}

impl VmState {
    /// Captures the in-kernel devices of a VM whose vCPUs are paused.
    pub fn capture(vm: &VmFd) -> Result<VmState, KvmError> {
        let master = get_chip(vm, KVM_IRQCHIP_PIC_MASTER)?;
        let slave = get_chip(vm, KVM_IRQCHIP_PIC_SLAVE)?;
        let ioapic = get_chip(vm, KVM_IRQCHIP_IOAPIC)?;
        // SAFETY: KVM filled the union member its `chip_id` names.
        let (pic_master, pic_slave, ioapic) = unsafe {
            (
                Pic::of(&master.chip.pic),
                Pic::of(&slave.chip.pic),
                Ioapic::of(&ioapic.chip.ioapic),
            )
        };
        Ok(VmState {
            pic_master,
            pic_slave,
            ioapic,
            pit: Pit::of(&vm.get_pit2().call("KVM_GET_PIT2")?),
            clock: Clock::of(&vm.get_clock().call("KVM_GET_CLOCK")?),
        })
    }

    /// Restores the devices into a new VM that has its irqchip and PIT
    /// created, before its vCPUs are restored.
    pub fn restore(&self, vm: &VmFd) -> Result<(), KvmError> {
        vm.set_pit2(&self.pit.to()).call("KVM_SET_PIT2")?;
        let mut clock = self.clock.to();
        // KVM_SET_CLOCK takes only the realtime flag, which this state
        // does not use: the guest's clock continues from its value.
        clock.flags = 0;
        vm.set_clock(&clock).call("KVM_SET_CLOCK")?;
        let chips = [
            (KVM_IRQCHIP_PIC_MASTER, &self.pic_master),
            (KVM_IRQCHIP_PIC_SLAVE, &self.pic_slave),
        ];
        for (chip_id, pic) in chips {
            let mut chip = kvm_irqchip {
                chip_id,
                ..Default::default()
            };
            chip.chip.pic = pic.to();
            vm.set_irqchip(&chip).call("KVM_SET_IRQCHIP")?;
        }
        let mut chip = kvm_irqchip {
            chip_id: KVM_IRQCHIP_IOAPIC,
            ..Default::default()
        };
        chip.chip.ioapic = self.ioapic.to();
        vm.set_irqchip(&chip).call("KVM_SET_IRQCHIP")
    }
}

impl Sample for VcpuState {
    fn sample() -> VcpuState {
        VcpuState {
            id: 1,
            cpuid: vec![CpuidEntry::sample(), CpuidEntry::sample()],
            tsc_khz: 2_400_000,
            mp_state: 2,
            regs: Regs::sample(),
            sregs: Sregs::sample(),
            fpu: Fpu::sample(),
            xsave: Xsave::sample(),
            xcrs: Xcrs::sample(),
            lapic: Lapic::sample(),
            msrs: BTreeMap::from([
                (0x10, 0x1234_5678_9abc),
                (0x175, 0x8000),
                (0xc000_0080, 0xd01),
            ]),
            events: VcpuEvents::sample(),
            debugregs: DebugRegs::sample(),
        }
    }
}

impl Sample for VmState {
    fn sample() -> VmState {
        VmState {
            pic_master: Pic::sample(),
            pic_slave: Pic::sample(),
            ioapic: Ioapic::sample(),
            pit: Pit::sample(),
            clock: Clock::sample(),
        }
    }
}

/// Adds every record type of the crate to a program's registry, with a
/// sample for its golden fixture: the program's schema history then
/// guards them like its own.
pub fn register(registry: &mut Registry) {
    registry
        .add_sample::<Regs>()
        .add_sample::<crate::vcpu::Segment>()
        .add_sample::<crate::vcpu::Dtable>()
        .add_sample::<Sregs>()
        .add_sample::<Fpu>()
        .add_sample::<Xsave>()
        .add_sample::<crate::vcpu::Xcr>()
        .add_sample::<Xcrs>()
        .add_sample::<Lapic>()
        .add_sample::<crate::vcpu::Exception>()
        .add_sample::<crate::vcpu::Interrupt>()
        .add_sample::<crate::vcpu::Nmi>()
        .add_sample::<crate::vcpu::Smi>()
        .add_sample::<crate::vcpu::TripleFault>()
        .add_sample::<VcpuEvents>()
        .add_sample::<DebugRegs>()
        .add_sample::<CpuidEntry>()
        .add_sample::<Pic>()
        .add_sample::<Ioapic>()
        .add_sample::<crate::vm::PitChannel>()
        .add_sample::<Pit>()
        .add_sample::<Clock>()
        .add_sample::<VcpuState>()
        .add_sample::<VmState>()
        .add_sample::<crate::host::HostRequirements>();
}

/// The schema name and version of every record type of the crate, for a
/// program's release maps.
pub const VERSIONS: &[(&str, u32)] = &[
    ("kvm_regs", 1),
    ("kvm_segment", 1),
    ("kvm_dtable", 1),
    ("kvm_sregs", 1),
    ("kvm_fpu", 1),
    ("kvm_xsave", 1),
    ("kvm_xcr", 1),
    ("kvm_xcrs", 1),
    ("kvm_lapic_state", 1),
    ("kvm_exception_event", 1),
    ("kvm_interrupt_event", 1),
    ("kvm_nmi_event", 1),
    ("kvm_smi_event", 1),
    ("kvm_triple_fault_event", 1),
    ("kvm_vcpu_events", 1),
    ("kvm_debugregs", 1),
    ("kvm_cpuid_entry2", 1),
    ("kvm_pic_state", 1),
    ("kvm_ioapic_state", 1),
    ("kvm_pit_channel_state", 1),
    ("kvm_pit_state2", 1),
    ("kvm_clock_data", 1),
    ("kvm_vcpu", 1),
    ("kvm_vm", 1),
    ("kvm_host_requirements", 1),
];

impl VcpuState {
    /// The CPUID to give a vCPU restoring this state.
    pub fn cpuid(&self) -> Result<CpuId, KvmError> {
        let entries: Vec<_> = self.cpuid.iter().map(Mirror::to).collect();
        CpuId::from_entries(&entries).map_err(|_| KvmError {
            call: "building the CPUID list (too many entries)",
            source: kvm_ioctls::Error::new(libc_e2big()),
        })
    }
}
