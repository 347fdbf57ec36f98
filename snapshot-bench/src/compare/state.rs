//! The VM state every format saves and restores: the seam between the
//! harness and the device models it measures, here the example VMM's
//! (see [`vmm`]).
//!
//! Everything a format needs from the device models goes through this
//! module (the state, its records per device, the one value read and
//! changed, its path in the image), so pointing the comparison at other
//! models changes this file and [`vmm`] only.

use anyhow::{anyhow, bail, Result};
use snapshot_core::Snapshot;

use crate::compare::vmm::{
    self, Devices, Hpet, Ioapic, Lapic, Pit, PmTimer, Rtc, Vcpu, VirtioBlk, VirtioNet,
};

/// vCPUs of the VM.
const VCPUS: u32 = 4;

/// What [`VmState::build`] holds besides memory, for the report.
pub const DESCRIPTION: &str = "the example VMM's device state (`example-vmm`, release 2.0.0 \
    models, booted with 4 vCPUs): 4 vCPUs, 4 local APICs with their 4 KiB register page, \
    the I/O APIC, the HPET with 8 timers, the RTC with its CMOS registers, the PIT, the \
    PM timer, virtio-net with 2 queues and virtio-blk";

/// Bytes of a guest page.
pub const PAGE: usize = 4096;

/// A paused VM: device and vCPU state, and guest memory.
#[derive(Clone, Debug, PartialEq)]
pub struct VmState {
    /// Every device model and vCPU.
    pub devices: Devices,
    /// Guest memory, a whole number of pages.
    pub memory: Vec<u8>,
}

/// What kind of content a guest page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PageKind {
    Zero,
    /// Random bytes: encrypted or compressed data, does not shrink.
    Random,
    /// Text-like bytes from a small vocabulary: code and strings, shrinks
    /// several times under zstd.
    Text,
    /// Mostly zero with a few words set: page tables, sparse heaps.
    Sparse,
}

/// A small deterministic generator, so every run and every format see the
/// same memory.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&[u8]] = &[
    b"the ", b"kernel ", b"mov ", b"rax, ", b"0x0 ", b"call ", b"ret\n", b"push ", b"int ",
    b"struct ", b"return ", b"if (", b") {\n", b"}\n", b"error", b"memory ", b"page ", b"ok ",
];

impl VmState {
    /// The state with `memory_bytes` of guest memory (rounded down to
    /// whole pages), about `zero_fraction` of it zero pages.
    ///
    /// Zero pages come in runs of up to 2 MiB, as free memory does in a
    /// guest, so whole 1 MiB chunks can be zero. The other pages are
    /// 40 % random, 40 % text-like and 20 % sparse, chosen per page.
    pub fn build(memory_bytes: u64, zero_fraction: f64) -> VmState {
        let pages = (memory_bytes as usize) / PAGE;
        let mut memory = vec![0u8; pages * PAGE];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut page = 0;
        while page < pages {
            let run = (1 + rng.below(512) as usize).min(pages - page);
            let zero = (rng.below(1_000_000) as f64) < zero_fraction * 1_000_000.0;
            for p in page..page + run {
                let kind = if zero {
                    PageKind::Zero
                } else {
                    match rng.below(10) {
                        0..=3 => PageKind::Random,
                        4..=7 => PageKind::Text,
                        _ => PageKind::Sparse,
                    }
                };
                fill(&mut memory[p * PAGE..(p + 1) * PAGE], kind, &mut rng);
            }
            page += run;
        }
        VmState {
            devices: vmm::booted(VCPUS),
            memory,
        }
    }

    /// The fraction of guest pages that are all zero.
    pub fn zero_page_fraction(&self) -> f64 {
        let pages = self.memory.len() / PAGE;
        if pages == 0 {
            return 0.0;
        }
        let zero = self
            .memory
            .chunks_exact(PAGE)
            .filter(|p| p.iter().all(|&b| b == 0))
            .count();
        zero as f64 / pages as f64
    }

    /// A page of random content in the middle of memory: a bit flipped
    /// there changes real data, and its bytes occur nowhere else, so a
    /// format's file can be searched for them.
    pub fn probe_page(&self) -> Option<usize> {
        let pages = self.memory.len() / PAGE;
        (pages / 2..pages)
            .chain(0..pages / 2)
            .find(|&p| looks_random(&self.memory[p * PAGE..(p + 1) * PAGE]))
    }
}

/// Whether a page has no zero 8-byte word in its first 256 bytes: true of
/// random pages, false of the other kinds.
fn looks_random(page: &[u8]) -> bool {
    page[..256].chunks_exact(8).all(|w| w != [0; 8])
        && page[..256].chunks_exact(8).all(|w| !w.is_ascii())
}

fn fill(page: &mut [u8], kind: PageKind, rng: &mut XorShift) {
    match kind {
        PageKind::Zero => {}
        PageKind::Random => {
            for word in page.chunks_exact_mut(8) {
                word.copy_from_slice(&rng.next().to_le_bytes());
            }
        }
        PageKind::Text => {
            let mut at = 0;
            while at < page.len() {
                let word = WORDS[rng.below(WORDS.len() as u64) as usize];
                let n = word.len().min(page.len() - at);
                page[at..at + n].copy_from_slice(&word[..n]);
                at += n;
            }
        }
        PageKind::Sparse => {
            for _ in 0..8 {
                let at = rng.below((PAGE / 8) as u64) as usize * 8;
                page[at..at + 8].copy_from_slice(&rng.next().to_le_bytes());
            }
        }
    }
}

/// The value every format reads and changes: the comparator of the
/// HPET's second timer.
pub fn probe(devices: &Devices) -> u64 {
    devices.hpet.timers[1].compval.into()
}

/// Sets the value [`probe`] reads.
pub fn set_probe(devices: &mut Devices, value: u64) {
    devices.hpet.timers[1].compval = value as u32;
}

/// The probed value's path in the image's `devices` section.
pub const PROBE_PATH: &str = "devices.hpet.timers[1].compval";

/// The device whose record holds the probed value, for formats that keep
/// one record per device.
pub const PROBE_RECORD: &str = "vhpet";

/// The state as one packed record per device and vCPU, under the keys the
/// example VMM's device list uses (`vcpuN`, `vlapicN`, `vioapic`, `vhpet`,
/// `vrtc`, `vatpit`, `vpmtmr`, `virtio_net0`, `virtio_blk0`), for formats
/// that store devices apart.
pub fn records(d: &Devices) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, (cpu, lapic)) in d.vcpus.iter().zip(&d.lapics).enumerate() {
        out.push((format!("vcpu{i}"), cpu.to_bytes()));
        out.push((format!("vlapic{i}"), lapic.to_bytes()));
    }
    out.extend([
        ("vioapic".to_owned(), d.ioapic.to_bytes()),
        ("vhpet".to_owned(), d.hpet.to_bytes()),
        ("vrtc".to_owned(), d.rtc.to_bytes()),
        ("vatpit".to_owned(), d.pit.to_bytes()),
        ("vpmtmr".to_owned(), d.pmtmr.to_bytes()),
        ("virtio_net0".to_owned(), d.net.to_bytes()),
        ("virtio_blk0".to_owned(), d.blk.to_bytes()),
    ]);
    out
}

/// Takes the one record named `name` out of `map`, decoded.
fn one<T: Snapshot>(map: &mut Vec<(&str, &[u8])>, name: &str) -> Result<T> {
    let at = map
        .iter()
        .position(|(n, _)| *n == name)
        .ok_or_else(|| anyhow!("no `{name}` record"))?;
    Ok(T::from_bytes(map.swap_remove(at).1)?)
}

/// The state from the records [`records`] made, in any order.
pub fn from_records<'a>(rows: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Devices> {
    let mut map: Vec<(&str, &[u8])> = rows.into_iter().collect();
    let ncpus = (0..)
        .take_while(|i| map.iter().any(|(n, _)| *n == format!("vcpu{i}")))
        .count();
    let mut vcpus = Vec::with_capacity(ncpus);
    let mut lapics = Vec::with_capacity(ncpus);
    for i in 0..ncpus {
        vcpus.push(one::<Vcpu>(&mut map, &format!("vcpu{i}"))?);
        lapics.push(one::<Lapic>(&mut map, &format!("vlapic{i}"))?);
    }
    let d = Devices {
        vcpus,
        lapics,
        ioapic: one::<Ioapic>(&mut map, "vioapic")?,
        hpet: one::<Hpet>(&mut map, "vhpet")?,
        rtc: one::<Rtc>(&mut map, "vrtc")?,
        pit: one::<Pit>(&mut map, "vatpit")?,
        pmtmr: one::<PmTimer>(&mut map, "vpmtmr")?,
        net: one::<VirtioNet>(&mut map, "virtio_net0")?,
        blk: one::<VirtioBlk>(&mut map, "virtio_blk0")?,
    };
    if let Some((name, _)) = map.first() {
        bail!("unknown device record `{name}`");
    }
    Ok(d)
}

/// The probed value, from the [`PROBE_RECORD`] record alone.
pub fn probe_record(bytes: &[u8]) -> Result<u64> {
    Ok(Hpet::from_bytes(bytes)?.timers[1].compval.into())
}

/// The [`PROBE_RECORD`] record with the probed value changed.
pub fn set_probe_record(bytes: &[u8], value: u64) -> Result<Vec<u8>> {
    let mut hpet = Hpet::from_bytes(bytes)?;
    hpet.timers[1].compval = value as u32;
    Ok(hpet.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_fraction_is_close_to_the_request() {
        for want in [0.0, 0.5, 0.9] {
            let got = VmState::build(64 << 20, want).zero_page_fraction();
            assert!((got - want).abs() < 0.15, "asked {want}, got {got}");
        }
    }

    #[test]
    fn same_request_same_memory_and_a_probe_page() {
        let a = VmState::build(4 << 20, 0.5);
        assert_eq!(a, VmState::build(4 << 20, 0.5));
        assert_eq!(a.memory.len(), 4 << 20);
        assert!(a.probe_page().is_some());
    }

    #[test]
    fn records_round_trip_and_carry_the_probe() {
        let d = vmm::booted(2);
        let rows = records(&d);
        let back = from_records(rows.iter().rev().map(|(n, b)| (n.as_str(), b.as_slice())));
        assert_eq!(back.unwrap(), d);
        let (_, hpet) = rows.iter().find(|(n, _)| n == PROBE_RECORD).unwrap();
        let changed = set_probe_record(hpet, 77).unwrap();
        assert_eq!(probe_record(&changed).unwrap(), 77);
    }

    #[test]
    fn probe_reads_what_set_probe_wrote() {
        let mut d = vmm::booted(1);
        set_probe(&mut d, 12345);
        assert_eq!(probe(&d), 12345);
    }
}
