//! Encode and decode an 18 KB bhyve-like device state with every codec, in
//! one run on one machine: the state as `Vec`s, then as fixed-size arrays
//! (`arrays_*`). Run with
//! `cargo bench -p snapshot-bench --bench device_state`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use snapshot_bench::arrays::ArrayState;
use snapshot_bench::{raw, sample, versionize_decode, versionize_encode, DeviceState};
use snapshot_core::{NvList, Snapshot};
use versionize::VersionMap;

fn encode(c: &mut Criterion) {
    let state = sample();
    let map = VersionMap::new();
    let mut g = c.benchmark_group("encode");
    g.bench_function("snapshot (to_bytes)", |b| {
        b.iter(|| black_box(&state).to_bytes())
    });
    g.bench_function("snapshot: to_nvlist + pack (tree)", |b| {
        b.iter(|| black_box(&state).to_nvlist().pack())
    });
    g.bench_function("bincode + serde_bytes", |b| {
        b.iter(|| bincode::serialize(black_box(&state)).unwrap())
    });
    g.bench_function("bitcode derive", |b| {
        b.iter(|| bitcode::encode(black_box(&state)))
    });
    g.bench_function("postcard + serde_bytes", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&state)).unwrap())
    });
    g.bench_function("versionize", |b| {
        b.iter(|| versionize_encode(black_box(&state), &map).unwrap())
    });
    g.bench_function("serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&state)).unwrap())
    });
    g.bench_function("raw field stream", |b| {
        b.iter(|| raw::encode(black_box(&state)))
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    let state = sample();
    let map = VersionMap::new();
    let packed = state.to_bytes();
    let bincoded = bincode::serialize(&state).unwrap();
    let versionized = versionize_encode(&state, &map).unwrap();
    let json = serde_json::to_vec(&state).unwrap();
    let rawed = raw::encode(&state);
    let bitcoded = bitcode::encode(&state);
    let postcarded = postcard::to_allocvec(&state).unwrap();
    eprintln!(
        "sizes: nvlist {} B, bincode {} B, bitcode {} B, postcard {} B, versionize {} B, json {} B, raw {} B",
        packed.len(),
        bincoded.len(),
        bitcoded.len(),
        postcarded.len(),
        versionized.len(),
        json.len(),
        rawed.len()
    );
    let mut g = c.benchmark_group("decode");
    g.bench_function("snapshot (from_bytes)", |b| {
        b.iter(|| DeviceState::from_bytes(black_box(&packed)).unwrap())
    });
    let tree = NvList::unpack(&packed).unwrap();
    g.bench_function("snapshot: unpack only", |b| {
        b.iter(|| NvList::unpack(black_box(&packed)).unwrap())
    });
    g.bench_function("snapshot: from_nvlist only", |b| {
        b.iter(|| DeviceState::from_nvlist(black_box(&tree)).unwrap())
    });
    g.bench_function("bincode + serde_bytes", |b| {
        b.iter(|| bincode::deserialize::<DeviceState>(black_box(&bincoded)).unwrap())
    });
    g.bench_function("bitcode derive", |b| {
        b.iter(|| bitcode::decode::<DeviceState>(black_box(&bitcoded)).unwrap())
    });
    g.bench_function("postcard + serde_bytes", |b| {
        b.iter(|| postcard::from_bytes::<DeviceState>(black_box(&postcarded)).unwrap())
    });
    g.bench_function("versionize", |b| {
        b.iter(|| versionize_decode(black_box(&versionized), &map).unwrap())
    });
    g.bench_function("serde_json", |b| {
        b.iter(|| serde_json::from_slice::<DeviceState>(black_box(&json)).unwrap())
    });
    g.bench_function("raw field stream", |b| {
        b.iter(|| raw::decode(black_box(&rawed)).unwrap())
    });
    g.finish();
}

/// The same state with fixed-size arrays, against the codecs that take
/// the same structs.
fn arrays(c: &mut Criterion) {
    let state = ArrayState::from(&sample());
    let packed = state.to_bytes();
    let bincoded = bincode::serialize(&state).unwrap();
    let bitcoded = bitcode::encode(&state);
    let postcarded = postcard::to_allocvec(&state).unwrap();
    assert_eq!(ArrayState::from_bytes(&packed).unwrap(), state);
    eprintln!(
        "arrays sizes: nvlist {} B, bincode {} B, bitcode {} B, postcard {} B",
        packed.len(),
        bincoded.len(),
        bitcoded.len(),
        postcarded.len()
    );
    let mut g = c.benchmark_group("arrays_encode");
    g.bench_function("snapshot (to_bytes)", |b| {
        b.iter(|| black_box(&state).to_bytes())
    });
    g.bench_function("bincode + serde_bytes", |b| {
        b.iter(|| bincode::serialize(black_box(&state)).unwrap())
    });
    g.bench_function("bitcode derive", |b| {
        b.iter(|| bitcode::encode(black_box(&state)))
    });
    g.bench_function("postcard + serde_bytes", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&state)).unwrap())
    });
    g.finish();
    let mut g = c.benchmark_group("arrays_decode");
    g.bench_function("snapshot (from_bytes)", |b| {
        b.iter(|| ArrayState::from_bytes(black_box(&packed)).unwrap())
    });
    g.bench_function("bincode + serde_bytes", |b| {
        b.iter(|| bincode::deserialize::<ArrayState>(black_box(&bincoded)).unwrap())
    });
    g.bench_function("bitcode derive", |b| {
        b.iter(|| bitcode::decode::<ArrayState>(black_box(&bitcoded)).unwrap())
    });
    g.bench_function("postcard + serde_bytes", |b| {
        b.iter(|| postcard::from_bytes::<ArrayState>(black_box(&postcarded)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, encode, decode, arrays);
criterion_main!(benches);
