//! The records of the VM's in-kernel devices: the two 8259 PICs, the
//! IOAPIC, the PIT and the kvmclock.

use kvm_bindings::{
    kvm_clock_data, kvm_ioapic_state, kvm_pic_state, kvm_pit_channel_state, kvm_pit_state2,
};

use crate::mirror::{mirror, Mirror};

mirror! {
    /// `kvm_pic_state`: one 8259 PIC (master or slave).
    Pic = kvm_pic_state, "kvm_pic_state", pic {
        last_irr: u8, irr: u8, imr: u8, isr: u8, priority_add: u8, irq_base: u8,
        read_reg_select: u8, poll: u8, special_mask: u8, init_state: u8, auto_eoi: u8,
        rotate_on_auto_eoi: u8, special_fully_nested_mode: u8, init4: u8, elcr: u8,
        elcr_mask: u8,
    }
}

/// `kvm_ioapic_state`: the IOAPIC, its redirection table entries as the
/// 64-bit words the hardware holds.
#[derive(snapshot_core::Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "kvm_ioapic_state")]
pub struct Ioapic {
    pub base_address: u64,
    pub ioregsel: u32,
    pub id: u32,
    pub irr: u32,
    pub redirtbl: [u64; 24],
}

impl Mirror<kvm_ioapic_state> for Ioapic {
    fn of(k: &kvm_ioapic_state) -> Ioapic {
        Ioapic {
            base_address: k.base_address,
            ioregsel: k.ioregsel,
            id: k.id,
            irr: k.irr,
            // SAFETY: every bit pattern is a valid `u64`.
            redirtbl: std::array::from_fn(|i| unsafe { k.redirtbl[i].bits }),
        }
    }
    fn to(&self) -> kvm_ioapic_state {
        let mut k = kvm_ioapic_state {
            base_address: self.base_address,
            ioregsel: self.ioregsel,
            id: self.id,
            irr: self.irr,
            ..Default::default()
        };
        for (entry, bits) in k.redirtbl.iter_mut().zip(self.redirtbl) {
            entry.bits = bits;
        }
        k
    }
}

impl snapshot_core::compat::Sample for Ioapic {
    fn sample() -> Ioapic {
        Ioapic::of(&crate::mirror::pattern::<kvm_ioapic_state>())
    }
}

/// Conversion of `kvm_ioapic_state` for `#[snapshot(with = ...)]`.
pub mod ioapic {
    use super::{Ioapic, Mirror};
    use kvm_bindings::kvm_ioapic_state;

    /// The record of `k`.
    pub fn to_stored(k: &kvm_ioapic_state) -> Ioapic {
        Ioapic::of(k)
    }

    /// The structure of a record: every record converts.
    pub fn from_stored(s: Ioapic) -> Result<kvm_ioapic_state, std::convert::Infallible> {
        Ok(s.to())
    }
}

mirror! {
    /// `kvm_pit_channel_state`: one 8254 channel, its count and where the
    /// guest is in reading or writing it.
    PitChannel = kvm_pit_channel_state, "kvm_pit_channel_state", pit_channel {
        count: u32, latched_count: u16, count_latched: u8, status_latched: u8, status: u8,
        read_state: u8, write_state: u8, write_latch: u8, rw_mode: u8, mode: u8, bcd: u8,
        gate: u8,
        /// Host time (ns, CLOCK_MONOTONIC) at which `count` was loaded.
        count_load_time: i64,
    }
}

mirror! {
    /// `kvm_pit_state2`: the PIT's three channels and flags.
    Pit = kvm_pit_state2, "kvm_pit_state2", pit { channels: [PitChannel; 3], flags: u32 }
}

mirror! {
    /// `kvm_clock_data`: the kvmclock.
    Clock = kvm_clock_data, "kvm_clock_data", clock {
        clock: u64, flags: u32, realtime: u64, host_tsc: u64,
    }
}
