//! A bhyve-like VM device state of about 18 KB, and the codecs the
//! benchmark compares on it: `#[derive(Snapshot)]` on nvlists, bincode (with
//! `serde_bytes` on byte buffers), bitcode's derive, postcard, versionize,
//! serde_json, and a hand-written positional field stream like today's
//! bhyve `.kern` file. [`arrays`] holds the same state with fixed-size
//! arrays where a VMM has them.
//!
//! One set of structs carries every derive, so each codec sees the same
//! data.

use bitcode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use snapshot_core::Snapshot;
use versionize::{VersionMap, Versionize, VersionizeResult};
use versionize_derive::Versionize;

pub mod arrays;
pub mod compare;
pub mod raw;

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet_timer")]
pub struct HpetTimer {
    pub cap_config: u64,
    pub msireg: u64,
    pub compval: u32,
    pub comprate: u32,
    pub callout_sbt: i64,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vhpet")]
pub struct Hpet {
    pub config: u64,
    pub isr: u64,
    pub countbase: u32,
    pub countbase_sbt: i64,
    pub timers: Vec<HpetTimer>,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vrtc")]
pub struct Rtc {
    pub addr: u8,
    pub base_uptime: i64,
    pub base_rtctime: i64,
    pub halted: bool,
    #[serde(with = "serde_bytes")]
    pub nvram: Vec<u8>,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vatpit_channel")]
pub struct PitChannel {
    pub mode: u8,
    pub initial: u16,
    pub count_ol: u16,
    pub status: u8,
    pub olbyte: u8,
    pub crbyte: u8,
    pub frozen: bool,
    pub slatched: bool,
    pub callout_sbt: i64,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vatpit")]
pub struct Pit {
    pub channels: Vec<PitChannel>,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vcpu")]
pub struct Vcpu {
    pub id: u32,
    pub regs: Vec<u64>,
    #[serde(with = "serde_bytes")]
    pub exit: Vec<u8>,
    pub nextrip: u64,
    pub tsc_offset: u64,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "vlapic")]
pub struct Lapic {
    pub id: u32,
    pub esr_pending: u32,
    pub timer_period: u64,
    pub timer_freq: u64,
    #[serde(with = "serde_bytes")]
    pub page: Vec<u8>,
}

#[derive(Snapshot, Serialize, Deserialize, Versionize, Encode, Decode, Clone, Debug, PartialEq)]
#[snapshot(name = "devices")]
pub struct DeviceState {
    pub hpet: Hpet,
    pub rtc: Rtc,
    pub pit: Pit,
    pub vcpus: Vec<Vcpu>,
    pub lapics: Vec<Lapic>,
}

/// A deterministic, non-trivial state: no field is zero, so no codec can
/// profit from an all-default state.
pub fn sample() -> DeviceState {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut bytes = |n: usize| (0..n).map(|_| next() as u8).collect::<Vec<u8>>();
    let nvram = bytes(128);
    let exits: Vec<_> = (0..4).map(|_| bytes(96)).collect();
    let pages: Vec<_> = (0..4).map(|_| bytes(4096)).collect();
    let mut next = {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s
        }
    };
    DeviceState {
        hpet: Hpet {
            config: next(),
            isr: next(),
            countbase: next() as u32,
            countbase_sbt: next() as i64,
            timers: (0..8)
                .map(|_| HpetTimer {
                    cap_config: next(),
                    msireg: next(),
                    compval: next() as u32,
                    comprate: next() as u32,
                    callout_sbt: next() as i64,
                })
                .collect(),
        },
        rtc: Rtc {
            addr: 0x70,
            base_uptime: next() as i64,
            base_rtctime: next() as i64,
            halted: true,
            nvram,
        },
        pit: Pit {
            channels: (0..3)
                .map(|i| PitChannel {
                    mode: 2 + i,
                    initial: next() as u16,
                    count_ol: next() as u16,
                    status: next() as u8,
                    olbyte: 1,
                    crbyte: 2,
                    frozen: i == 1,
                    slatched: i == 2,
                    callout_sbt: next() as i64,
                })
                .collect(),
        },
        vcpus: exits
            .into_iter()
            .enumerate()
            .map(|(i, exit)| Vcpu {
                id: i as u32,
                regs: (0..32).map(|_| next()).collect(),
                exit,
                nextrip: next(),
                tsc_offset: next(),
            })
            .collect(),
        lapics: pages
            .into_iter()
            .enumerate()
            .map(|(i, page)| Lapic {
                id: i as u32,
                esr_pending: next() as u32,
                timer_period: next(),
                timer_freq: next(),
                page,
            })
            .collect(),
    }
}

/// Encodes with versionize at its first version, as Firecracker did.
pub fn versionize_encode(state: &DeviceState, map: &VersionMap) -> VersionizeResult<Vec<u8>> {
    let mut out = Vec::with_capacity(20 * 1024);
    Versionize::serialize(state, &mut out, map, 1)?;
    Ok(out)
}

/// Decodes what [`versionize_encode`] wrote.
pub fn versionize_decode(bytes: &[u8], map: &VersionMap) -> VersionizeResult<DeviceState> {
    <DeviceState as Versionize>::deserialize(&mut &bytes[..], map, 1)
}

#[cfg(test)]
mod tests {
    use snapshot_core::NvList;

    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let state = sample();
        let bytes = state.to_bytes();
        assert_eq!(bytes, state.to_nvlist().pack());
        let nv = NvList::unpack(&bytes).unwrap();
        assert_eq!(DeviceState::from_nvlist(&nv).unwrap(), state);
        // The benchmark measures the fast path: make sure it is taken.
        let fast = snapshot_core::__private::read_fast::<DeviceState>(&bytes);
        assert_eq!(fast.as_ref(), Some(&state));

        let bytes = bincode::serialize(&state).unwrap();
        assert_eq!(bincode::deserialize::<DeviceState>(&bytes).unwrap(), state);

        let map = VersionMap::new();
        let bytes = versionize_encode(&state, &map).unwrap();
        assert_eq!(versionize_decode(&bytes, &map).unwrap(), state);

        let json = serde_json::to_vec(&state).unwrap();
        assert_eq!(serde_json::from_slice::<DeviceState>(&json).unwrap(), state);

        let bytes = raw::encode(&state);
        assert_eq!(raw::decode(&bytes).unwrap(), state);
    }

    #[test]
    fn state_is_about_18_kb() {
        let packed = sample().to_nvlist().pack().len();
        let raw = raw::encode(&sample()).len();
        assert!((17_000..21_000).contains(&raw), "raw stream is {raw} bytes");
        assert!(packed < raw * 3 / 2, "nvlist is {packed} bytes, raw {raw}");
    }
}
