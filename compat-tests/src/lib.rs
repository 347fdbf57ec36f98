//! The compatibility tests of the example VMM: its schema history in
//! `schemas/`, the golden fixtures in `compat-tests/fixtures/`, and the
//! tests `snapshot_core::compat_tests!` generates from them. Run with
//! `SNAPSHOT_BLESS=1` to record a new version (see `docs/guide.md`).

#[cfg(test)]
mod tests {
    snapshot_core::compat_tests! {
        registry: example_vmm::registry(),
        schemas: "../schemas",
        fixtures: "fixtures",
        types: [
            vcpu, vlapic, vioapic, vhpet, vhpet_timer, vrtc, vatpit, vatpit_channel,
            vpmtmr, virtio_net, virtio_blk, virtq, blk_cache,
            serial, kvm_machine, kvm_vcpu, kvm_vm, kvm_regs, kvm_segment, kvm_dtable, kvm_sregs,
            kvm_fpu, kvm_xsave, kvm_xcr, kvm_xcrs, kvm_lapic_state, kvm_exception_event,
            kvm_interrupt_event, kvm_nmi_event, kvm_smi_event, kvm_triple_fault_event,
            kvm_vcpu_events, kvm_debugregs, kvm_cpuid_entry2, kvm_pic_state, kvm_ioapic_state,
            kvm_pit_channel_state, kvm_pit_state2, kvm_clock_data, kvm_host_requirements,
        ],
    }
}
