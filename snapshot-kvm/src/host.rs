//! What a host must offer to resume a guest, recorded at save and
//! checked before a resume without decoding any device state: the CPUID
//! the guest was given, the KVM capabilities the restore uses, the MSRs
//! saved and the guest's TSC frequency.

use kvm_bindings::KVM_MAX_CPUID_ENTRIES;
use kvm_ioctls::{Cap, Kvm};
use snapshot_core::Snapshot;

use crate::state::VcpuState;
use crate::vcpu::CpuidEntry;

/// The image section holding a [`HostRequirements`] record.
pub const HOST_SECTION: &str = "host";

/// The KVM capabilities a save and restore of [`VcpuState`] and
/// [`VmState`](crate::VmState) use, by their kernel names.
pub const CAPABILITIES: &[(&str, Cap)] = &[
    ("KVM_CAP_IRQCHIP", Cap::Irqchip),
    ("KVM_CAP_PIT2", Cap::Pit2),
    ("KVM_CAP_USER_MEMORY", Cap::UserMemory),
    ("KVM_CAP_SET_TSS_ADDR", Cap::SetTssAddr),
    ("KVM_CAP_EXT_CPUID", Cap::ExtCpuid),
    ("KVM_CAP_MP_STATE", Cap::MpState),
    ("KVM_CAP_ADJUST_CLOCK", Cap::AdjustClock),
    ("KVM_CAP_VCPU_EVENTS", Cap::VcpuEvents),
    ("KVM_CAP_DEBUGREGS", Cap::Debugregs),
    ("KVM_CAP_XSAVE", Cap::Xsave),
    ("KVM_CAP_XCRS", Cap::Xcrs),
    ("KVM_CAP_GET_TSC_KHZ", Cap::GetTscKhz),
];

/// CPUID registers holding feature bits, as (leaf, subleaf, register
/// index in eax..edx): the bits a guest was given must be on the host.
const FEATURES: &[(u32, u32, usize)] = &[
    (1, 0, 2),
    (1, 0, 3),
    (7, 0, 1),
    (7, 0, 2),
    (7, 0, 3),
    (0xd, 1, 0),
    (0x8000_0001, 0, 2),
    (0x8000_0001, 0, 3),
];

/// Bits KVM sets from the guest's own state, not from the host:
/// OSXSAVE (leaf 1, ecx bit 27) follows the guest's CR4.
const DYNAMIC: &[(u32, u32, usize, u32)] = &[(1, 0, 2, 1 << 27)];

/// What a host must offer to resume the guest of an image.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "kvm_host_requirements")]
pub struct HostRequirements {
    /// The program that saved the image, and its release.
    pub producer: String,
    pub release: String,
    /// The guest's TSC frequency, in kHz.
    pub tsc_khz: u32,
    /// CPUID as given to the guest (the boot vCPU's).
    pub cpuid: Vec<CpuidEntry>,
    /// The KVM capabilities the restore uses ([`CAPABILITIES`]).
    pub capabilities: Vec<String>,
    /// The MSRs saved, which the host must let a restore write.
    pub msrs: Vec<u32>,
}

fn register(e: &CpuidEntry, i: usize) -> u32 {
    [e.eax, e.ebx, e.ecx, e.edx][i]
}

const REGISTERS: [&str; 4] = ["eax", "ebx", "ecx", "edx"];

impl HostRequirements {
    /// The requirements of a guest whose boot vCPU is `vcpu`.
    pub fn of(producer: &str, release: &str, vcpu: &VcpuState) -> HostRequirements {
        HostRequirements {
            producer: producer.to_owned(),
            release: release.to_owned(),
            tsc_khz: vcpu.tsc_khz,
            cpuid: vcpu.cpuid.clone(),
            capabilities: CAPABILITIES.iter().map(|(n, _)| (*n).to_owned()).collect(),
            msrs: vcpu.msrs.keys().copied().collect(),
        }
    }

    /// Every reason this host cannot resume the guest; none when it can.
    pub fn check(&self, kvm: &Kvm) -> Vec<String> {
        let mut reasons = Vec::new();
        for name in &self.capabilities {
            match CAPABILITIES.iter().find(|(n, _)| n == name) {
                Some((_, cap)) if kvm.check_extension(*cap) => {}
                Some(_) => reasons.push(format!("KVM here lacks {name}, which the restore uses")),
                None => reasons.push(format!(
                    "the image needs {name}, a capability this build does not know"
                )),
            }
        }
        match kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES) {
            Ok(host) => {
                let host: Vec<CpuidEntry> = host.as_slice().iter().map(CpuidEntry::from).collect();
                self.check_cpuid(&host, &mut reasons);
            }
            Err(e) => reasons.push(format!("cannot read this host's CPUID: {e}")),
        }
        match kvm.get_msr_index_list() {
            Ok(list) => {
                for msr in &self.msrs {
                    if !list.as_slice().contains(msr) {
                        reasons.push(format!("KVM here does not save or restore MSR {msr:#x}"));
                    }
                }
            }
            Err(e) => reasons.push(format!("cannot read this host's MSR list: {e}")),
        }
        self.check_tsc(kvm, &mut reasons);
        reasons
    }

    fn check_cpuid(&self, host: &[CpuidEntry], reasons: &mut Vec<String>) {
        for &(leaf, subleaf, reg) in FEATURES {
            let Some(guest) = self
                .cpuid
                .iter()
                .find(|e| e.function == leaf && e.index == subleaf)
            else {
                continue;
            };
            let dynamic: u32 = DYNAMIC
                .iter()
                .filter(|d| (d.0, d.1, d.2) == (leaf, subleaf, reg))
                .map(|d| d.3)
                .sum();
            let offered = host
                .iter()
                .find(|e| e.function == leaf && e.index == subleaf)
                .map_or(0, |e| register(e, reg));
            let missing = register(guest, reg) & !offered & !dynamic;
            if missing != 0 {
                reasons.push(format!(
                    "CPUID leaf {leaf:#x}.{subleaf} {}: the guest has feature bits {missing:#010x} \
                     that this host does not offer",
                    REGISTERS[reg]
                ));
            }
        }
    }

    fn check_tsc(&self, kvm: &Kvm, reasons: &mut Vec<String>) {
        let host_khz = kvm
            .create_vm()
            .and_then(|vm| vm.create_vcpu(0))
            .and_then(|vcpu| vcpu.get_tsc_khz());
        match host_khz {
            Ok(khz) if khz == self.tsc_khz => {}
            Ok(_) if kvm.check_extension(Cap::TscControl) => {}
            Ok(khz) => reasons.push(format!(
                "the guest's TSC runs at {} kHz, this host's at {khz} kHz, and KVM here cannot \
                 scale it (no KVM_CAP_TSC_CONTROL)",
                self.tsc_khz
            )),
            Err(e) => reasons.push(format!("cannot read this host's TSC frequency: {e}")),
        }
    }
}

impl snapshot_core::compat::Sample for HostRequirements {
    fn sample() -> HostRequirements {
        HostRequirements {
            producer: "example-vmm 3.0.0".into(),
            release: "3.0.0".into(),
            tsc_khz: 2_400_000,
            cpuid: vec![CpuidEntry::sample()],
            capabilities: vec!["KVM_CAP_IRQCHIP".into(), "KVM_CAP_XSAVE".into()],
            msrs: vec![0x10, 0x175],
        }
    }
}
