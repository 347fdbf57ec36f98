//! Pack and unpack speed on a bhyve-like device state of about 5.3 KB (the
//! size of the list libnv's reference figures were taken on) and on a flat
//! list of 10,000 numbers, whose unpack is quadratic in libnv; beside
//! `unpack`, the checked view (`View::parse`) alone and with the lookups a
//! reader of one device's state makes.
//!
//! `cargo bench -p snapshot-nvlist --bench nvlist`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use snapshot_nvlist::{NvList, Result, View};

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

/// Four values of the bhyve-like state, from three levels of nesting.
fn bhyve_lookups(view: &View<'_>) -> Result<u64> {
    let root = view.root();
    let hpet = root.get_nvlist("vhpet")?;
    let timer = hpet.get_nvlist_array("timers")?.get(3);
    let compval = timer.map_or(Ok(0), |t| t.get_number("compval"))?;
    let rtcdev = root.get_nvlist("vrtc")?.get_binary("rtcdev")?;
    let cpu = root.get_nvlist_array("vcpus")?.get(2);
    let rip = cpu.map_or(Ok(0), |c| c.get_number("rip"))?;
    Ok(compval ^ rip ^ hpet.get_number("config")? ^ rtcdev.len() as u64)
}

/// The first and last of the 10,000 numbers.
fn numbers_lookups(view: &View<'_>) -> Result<u64> {
    let root = view.root();
    Ok(root.get_number("n0")? ^ root.get_number("n9999")?)
}

fn bench(c: &mut Criterion) {
    type Lookups = fn(&View<'_>) -> Result<u64>;
    let inputs: [(&str, NvList, Lookups); 2] = [
        ("bhyve_like", bhyve_like(), bhyve_lookups),
        ("numbers_10000", numbers(), numbers_lookups),
    ];
    for (name, nv, lookups) in inputs {
        let packed = nv.pack();
        let mut group = c.benchmark_group(format!("{name}_{}B", packed.len()));
        group.throughput(Throughput::Bytes(packed.len() as u64));
        group.bench_function("pack", |b| b.iter(|| black_box(&nv).pack()));
        group.bench_function("unpack", |b| {
            b.iter(|| NvList::unpack(black_box(&packed)).unwrap())
        });
        group.bench_function("view_parse", |b| {
            b.iter(|| View::parse(black_box(&packed)).unwrap())
        });
        group.bench_function("view_parse_lookups", |b| {
            b.iter(|| lookups(&View::parse(black_box(&packed)).unwrap()).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
