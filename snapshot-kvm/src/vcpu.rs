//! The records of a vCPU's state, one per kvm-bindings structure.

use kvm_bindings::{
    kvm_cpuid_entry2, kvm_debugregs, kvm_dtable, kvm_fpu, kvm_lapic_state, kvm_regs, kvm_segment,
    kvm_sregs, kvm_vcpu_events, kvm_vcpu_events__bindgen_ty_1, kvm_vcpu_events__bindgen_ty_2,
    kvm_vcpu_events__bindgen_ty_3, kvm_vcpu_events__bindgen_ty_4, kvm_vcpu_events__bindgen_ty_5,
    kvm_xcr, kvm_xcrs, kvm_xsave,
};

use crate::mirror::mirror;

mirror! {
    /// `kvm_regs`: the general registers, `rip` and `rflags`.
    Regs = kvm_regs, "kvm_regs", regs {
        rax: u64, rbx: u64, rcx: u64, rdx: u64, rsi: u64, rdi: u64, rsp: u64, rbp: u64,
        r8: u64, r9: u64, r10: u64, r11: u64, r12: u64, r13: u64, r14: u64, r15: u64,
        rip: u64, rflags: u64,
    }
}

mirror! {
    /// `kvm_segment`: a segment register with its hidden part.
    Segment = kvm_segment, "kvm_segment", segment {
        base: u64, limit: u32, selector: u16, type_: u8, present: u8, dpl: u8, db: u8,
        s: u8, l: u8, g: u8, avl: u8, unusable: u8,
    }
}

mirror! {
    /// `kvm_dtable`: the GDTR or IDTR.
    Dtable = kvm_dtable, "kvm_dtable", dtable { base: u64, limit: u16 }
}

mirror! {
    /// `kvm_sregs`: segments, descriptor tables, control registers, EFER,
    /// the APIC base and the pending external interrupt bitmap.
    Sregs = kvm_sregs, "kvm_sregs", sregs {
        cs: Segment, ds: Segment, es: Segment, fs: Segment, gs: Segment, ss: Segment,
        tr: Segment, ldt: Segment, gdt: Dtable, idt: Dtable,
        cr0: u64, cr2: u64, cr3: u64, cr4: u64, cr8: u64, efer: u64, apic_base: u64,
        interrupt_bitmap: [u64; 4],
    }
}

mirror! {
    /// `kvm_fpu`: the x87 and SSE registers (the legacy part of xsave).
    Fpu = kvm_fpu, "kvm_fpu", fpu {
        fpr: [[u8; 16]; 8], fcw: u16, fsw: u16, ftwx: u8, last_opcode: u16, last_ip: u64,
        last_dp: u64, xmm: [[u8; 16]; 16], mxcsr: u32,
    }
}

mirror! {
    /// `kvm_xsave`: the XSAVE area (x87, SSE, AVX and the other enabled
    /// components), as 1024 words.
    Xsave = kvm_xsave, "kvm_xsave", xsave { region: [u32; 1024] }
}

mirror! {
    /// `kvm_xcr`: one extended control register (XCR0).
    Xcr = kvm_xcr, "kvm_xcr", xcr { xcr: u32, value: u64 }
}

mirror! {
    /// `kvm_xcrs`: the extended control registers; the first `nr_xcrs`
    /// entries are used.
    Xcrs = kvm_xcrs, "kvm_xcrs", xcrs { nr_xcrs: u32, flags: u32, xcrs: [Xcr; 16] }
}

mirror! {
    /// `kvm_lapic_state`: the local APIC's register page.
    Lapic = kvm_lapic_state, "kvm_lapic_state", lapic { regs: [i8; 1024] }
}

mirror! {
    /// `kvm_vcpu_events.exception`.
    Exception = kvm_vcpu_events__bindgen_ty_1, "kvm_exception_event", exception_event {
        injected: u8, nr: u8, has_error_code: u8, pending: u8, error_code: u32,
    }
}

mirror! {
    /// `kvm_vcpu_events.interrupt`.
    Interrupt = kvm_vcpu_events__bindgen_ty_2, "kvm_interrupt_event", interrupt_event {
        injected: u8, nr: u8, soft: u8, shadow: u8,
    }
}

mirror! {
    /// `kvm_vcpu_events.nmi`.
    Nmi = kvm_vcpu_events__bindgen_ty_3, "kvm_nmi_event", nmi_event {
        injected: u8, pending: u8, masked: u8,
    }
}

mirror! {
    /// `kvm_vcpu_events.smi`.
    Smi = kvm_vcpu_events__bindgen_ty_4, "kvm_smi_event", smi_event {
        smm: u8, pending: u8, smm_inside_nmi: u8, latched_init: u8,
    }
}

mirror! {
    /// `kvm_vcpu_events.triple_fault`.
    TripleFault = kvm_vcpu_events__bindgen_ty_5, "kvm_triple_fault_event", triple_fault_event {
        pending: u8,
    }
}

mirror! {
    /// `kvm_vcpu_events`: pending and injected exceptions, interrupts,
    /// NMIs, SMIs and the interrupt shadow.
    VcpuEvents = kvm_vcpu_events, "kvm_vcpu_events", vcpu_events {
        exception: Exception, interrupt: Interrupt, nmi: Nmi, sipi_vector: u32, flags: u32,
        smi: Smi, triple_fault: TripleFault, exception_has_payload: u8, exception_payload: u64,
    }
}

mirror! {
    /// `kvm_debugregs`: DR0-3, DR6 and DR7.
    DebugRegs = kvm_debugregs, "kvm_debugregs", debugregs {
        db: [u64; 4], dr6: u64, dr7: u64, flags: u64,
    }
}

mirror! {
    /// `kvm_cpuid_entry2`: one CPUID leaf as given to the guest.
    CpuidEntry = kvm_cpuid_entry2, "kvm_cpuid_entry2", cpuid_entry {
        function: u32, index: u32, flags: u32, eax: u32, ebx: u32, ecx: u32, edx: u32,
    }
}
