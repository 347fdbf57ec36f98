//! What the KVM benches share: running the example VMM and taking
//! medians.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_example-vmm");

/// Runs the example VMM with `args`, which must succeed; its stderr
/// (where `--timings` reports).
pub fn run(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("example-vmm runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The median of `v` (not empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
