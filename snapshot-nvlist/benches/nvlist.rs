//! Pack and unpack speed on a bhyve-like device state of about 5.3 KB (the
//! size of the list libnv's reference figures were taken on) and on a flat
//! list of 10,000 numbers, whose unpack is quadratic in libnv.
//!
//! `cargo bench -p snapshot-nvlist --bench nvlist`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use snapshot_nvlist::NvList;

/// Register-like values: varied, so nothing compresses or repeats.
fn reg(seed: u64) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (seed << 7)
}

/// Device state shaped like bhyve's: an HPET with 8 timers, an RTC with
/// its 128-byte register file, an i8254 PIT with 3 channels, 4 vCPUs of 14 registers.
pub fn bhyve_like() -> NvList {
    let timers: Vec<NvList> = (0..8u64)
        .map(|i| {
            NvList::new()
                .with("cap_config", reg(i))
                .with("msireg", reg(i + 10))
                .with("compval", reg(i + 20))
                .with("comprate", reg(i + 30))
                .with("callout_sbt", reg(i + 40))
        })
        .collect();
    let hpet = NvList::new()
        .with("config", 1u64)
        .with("isr", 0u64)
        .with("countbase", reg(1))
        .with("countbase_sbt", reg(2))
        .with("timers", timers);
    let rtc = NvList::new()
        .with("addr", 0x0eu64)
        .with("base_uptime", reg(3))
        .with("base_rtctime", reg(4))
        .with("rtcdev", (0..128u8).collect::<Vec<u8>>());
    let channels: Vec<NvList> = (0..3u64)
        .map(|i| {
            NvList::new()
                .with("mode", i)
                .with("initial", reg(i + 50))
                .with("now_sbt", reg(i + 60))
                .with("cr", vec![1u8, 2])
                .with("ol", vec![3u8, 4])
                .with("slatched", false)
                .with("status", 0u64)
                .with("olbyte", 0u64)
                .with("frbyte", 0u64)
        })
        .collect();
    let pit = NvList::new().with("channels", channels);
    const REGS: [&str; 14] = [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "rflags", "cr0", "cr3",
        "cr4", "efer",
    ];
    let vcpus: Vec<NvList> = (0..4u64)
        .map(|v| {
            let mut cpu = NvList::new();
            for (i, r) in REGS.iter().enumerate() {
                cpu.insert(*r, reg(v * 100 + i as u64));
            }
            cpu
        })
        .collect();
    NvList::new()
        .with("vhpet", hpet)
        .with("vrtc", rtc)
        .with("vatpit", pit)
        .with("vcpus", vcpus)
}

fn numbers() -> NvList {
    let mut nv = NvList::new();
    for i in 0..10_000u64 {
        nv.insert(format!("n{i}"), reg(i));
    }
    nv
}

fn bench(c: &mut Criterion) {
    for (name, nv) in [("bhyve_like", bhyve_like()), ("numbers_10000", numbers())] {
        let packed = nv.pack();
        let mut group = c.benchmark_group(format!("{name}_{}B", packed.len()));
        group.throughput(Throughput::Bytes(packed.len() as u64));
        group.bench_function("pack", |b| b.iter(|| black_box(&nv).pack()));
        group.bench_function("unpack", |b| {
            b.iter(|| NvList::unpack(black_box(&packed)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
