//! The models of release 1.0.0 that changed in 1.1.0; the others are the
//! same as in [`release1_1`](crate::release1_1). Kept so that the history of
//! version 1 of these types is recorded from real types, and a 1.0.0
//! snapshot can be made and resumed.

use snapshot_core::compat::Sample;
use snapshot_core::Snapshot;

/// The MC146818 RTC: 128 bytes of registers and CMOS, and the time base.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vrtc", version = 1)]
pub struct Rtc {
    pub addr: u8,
    /// Guest wall-clock time at `base_uptime`, in seconds.
    pub base_rtctime: i64,
    pub base_uptime: u64,
    pub century: u8,
    pub regs: [u8; 128],
}

impl Sample for Rtc {
    fn sample() -> Self {
        Rtc {
            addr: 0x0c,
            base_rtctime: 1_700_000_000,
            base_uptime: 123_456_789,
            century: 0x20,
            regs: crate::guest::cmos(),
        }
    }
}

/// The local APIC: its 4 KiB register page and timer state.
#[derive(Snapshot, Clone, Debug, PartialEq)]
#[snapshot(name = "vlapic", version = 1)]
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
}

impl Sample for Lapic {
    fn sample() -> Self {
        Lapic {
            apic_id: 1,
            apic_page: crate::guest::apic_page(1),
            esr_pending: 0,
            timer_freq: 128_000_000,
            timer_fire_ns: 42_000_000,
            timer_period_ns: 1_000_000,
            msr_apicbase: 0xfee0_0900,
        }
    }
}
