//! The benchmark's device state with fixed-size arrays where a VMM has
//! them (`[u64; 32]` registers, a 96-byte exit record, a 4 KiB LAPIC page,
//! `[Timer; 8]`), the data of [`crate::sample`] unchanged.

use bitcode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use snapshot_core::Snapshot;

use crate::{DeviceState, HpetTimer, PitChannel};

#[derive(Snapshot, Serialize, Deserialize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet_a")]
pub struct Hpet {
    pub config: u64,
    pub isr: u64,
    pub countbase: u32,
    pub countbase_sbt: i64,
    pub timers: [HpetTimer; 8],
}

#[derive(Snapshot, Serialize, Deserialize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vrtc_a")]
pub struct Rtc {
    pub addr: u8,
    pub base_uptime: i64,
    pub base_rtctime: i64,
    pub halted: bool,
    #[serde(with = "serde_bytes")]
    pub nvram: [u8; 128],
}

#[derive(Snapshot, Serialize, Deserialize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vatpit_a")]
pub struct Pit {
    pub channels: [PitChannel; 3],
}

#[derive(Snapshot, Serialize, Deserialize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vcpu_a")]
pub struct Vcpu {
    pub id: u32,
    pub regs: [u64; 32],
    #[serde(with = "serde_bytes")]
    pub exit: [u8; 96],
    pub nextrip: u64,
    pub tsc_offset: u64,
}

#[derive(Snapshot, Serialize, Deserialize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vlapic_a")]
pub struct Lapic {
    pub id: u32,
    pub esr_pending: u32,
    pub timer_period: u64,
    pub timer_freq: u64,
    #[serde(with = "serde_bytes")]
    pub page: [u8; 4096],
}

#[derive(Snapshot, Serialize, Deserialize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "devices_a")]
pub struct ArrayState {
    pub hpet: Hpet,
    pub rtc: Rtc,
    pub pit: Pit,
    pub vcpus: [Vcpu; 4],
    pub lapics: [Lapic; 4],
}

fn array<T: Clone, const N: usize>(items: &[T]) -> [T; N] {
    std::array::from_fn(|i| items[i].clone())
}

fn bytes<const N: usize>(items: &[u8]) -> [u8; N] {
    items.try_into().expect("the sample's buffer lengths")
}

impl From<&DeviceState> for ArrayState {
    fn from(s: &DeviceState) -> ArrayState {
        ArrayState {
            hpet: Hpet {
                config: s.hpet.config,
                isr: s.hpet.isr,
                countbase: s.hpet.countbase,
                countbase_sbt: s.hpet.countbase_sbt,
                timers: array(&s.hpet.timers),
            },
            rtc: Rtc {
                addr: s.rtc.addr,
                base_uptime: s.rtc.base_uptime,
                base_rtctime: s.rtc.base_rtctime,
                halted: s.rtc.halted,
                nvram: bytes(&s.rtc.nvram),
            },
            pit: Pit {
                channels: array(&s.pit.channels),
            },
            vcpus: std::array::from_fn(|i| {
                let v = &s.vcpus[i];
                Vcpu {
                    id: v.id,
                    regs: array(&v.regs),
                    exit: bytes(&v.exit),
                    nextrip: v.nextrip,
                    tsc_offset: v.tsc_offset,
                }
            }),
            lapics: std::array::from_fn(|i| {
                let l = &s.lapics[i];
                Lapic {
                    id: l.id,
                    esr_pending: l.esr_pending,
                    timer_period: l.timer_period,
                    timer_freq: l.timer_freq,
                    page: bytes(&l.page),
                }
            }),
        }
    }
}
