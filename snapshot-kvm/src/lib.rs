//! The x86-64 state of a KVM guest as versioned records, for any Rust VMM
//! on kvm-ioctls: every register set KVM exposes per vCPU
//! ([`VcpuState`]), and the in-kernel irqchips, PIT and clock of the VM
//! ([`VmState`]), with their capture and their restore in the order KVM
//! needs (docs/kvm.md).
//!
//! Each kvm-bindings structure has a record here with the same field
//! names ([`Regs`] for `kvm_regs`, [`Sregs`] for `kvm_sregs`, ...), whose
//! schema is recorded in `schemas/` with a golden fixture, like any
//! record. A VMM that keeps the kvm-bindings structures in its own state
//! stores them through the conversion modules of [`with`]:
//!
//! ```
//! use snapshot_core::Snapshot;
//!
//! #[derive(Snapshot)]
//! #[snapshot(name = "my_vcpu")]
//! struct MyVcpu {
//!     #[snapshot(with = snapshot_kvm::with::regs, stored = snapshot_kvm::Regs)]
//!     regs: kvm_bindings::kvm_regs,
//! }
//! ```

mod error;
mod host;
mod mirror;
mod state;
mod vcpu;
mod vm;

pub use error::KvmError;
pub use host::{HostRequirements, CAPABILITIES, HOST_SECTION};
pub use state::{msrs_to_save, register, VcpuState, VmState, VERSIONS};
pub use vcpu::{
    CpuidEntry, DebugRegs, Dtable, Exception, Fpu, Interrupt, Lapic, Nmi, Regs, Segment, Smi,
    Sregs, TripleFault, VcpuEvents, Xcr, Xcrs, Xsave,
};
pub use vm::{Clock, Ioapic, Pic, Pit, PitChannel};

/// Conversion modules for `#[snapshot(with = ..., stored = ...)]`: one per
/// kvm-bindings structure, named after it without `kvm_`.
pub mod with {
    pub use crate::vcpu::{
        cpuid_entry, debugregs, dtable, exception_event, fpu, interrupt_event, lapic, nmi_event,
        regs, segment, smi_event, sregs, triple_fault_event, vcpu_events, xcr, xcrs, xsave,
    };
    pub use crate::vm::{clock, ioapic, pic, pit, pit_channel};
}
