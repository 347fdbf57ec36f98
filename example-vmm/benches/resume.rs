//! Resume and save times of the KVM guest, side by side: guest memory
//! mapped from the image against read in whole, at 256 MiB, 1 GiB and
//! 4 GiB. Run with `cargo bench -p example-vmm --bench resume` (needs a
//! usable /dev/kvm; a few GiB of sparse files in a temporary directory).
//!
//! Each resume is a new process; the time is from the command's start to
//! its first KVM_RUN, as `resume --timings` reports it (the process's own
//! exec and loading, about a millisecond, come before).

mod common;

use common::{median, run};
const RUNS: usize = 7;

/// The `timings:` value in ms (the number before `ms`) from a
/// command's stderr.
fn timing(stderr: &str, what: &str) -> f64 {
    stderr
        .lines()
        .find(|l| l.contains(what))
        .and_then(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words
                .windows(2)
                .find(|w| w[1] == "ms")
                .and_then(|w| w[0].parse::<f64>().ok())
        })
        .unwrap_or_else(|| panic!("no `{what}` timing in: {stderr}"))
}

fn main() {
    if let Err(why) = example_vmm::kvm::open_kvm() {
        println!("resume bench: not run: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!(
        "| guest | save (pause to durable) | first KVM_RUN, mapped | first KVM_RUN, read in |"
    );
    println!("| ---: | ---: | ---: | ---: |");
    for mib in ["256", "1024", "4096"] {
        let image = dir.path().join(format!("{mib}.snap"));
        let image = image.to_str().expect("UTF-8 path");
        let save = timing(
            &run(&[
                "run",
                "--memory",
                mib,
                "--steps",
                "2",
                "--save-at-step",
                "1",
                "-o",
                image,
                "--timings",
            ]),
            "saved",
        );
        let first = |how: &str| {
            median(
                (0..RUNS)
                    .map(|_| {
                        let err = run(&["resume", image, "--memory-load", how, "--timings"]);
                        timing(&err, "first KVM_RUN")
                    })
                    .collect(),
            )
        };
        let (mapped, read) = (first("map"), first("read"));
        println!("| {mib} MiB | {save:.0} ms | {mapped:.1} ms | {read:.1} ms |");
    }
}
