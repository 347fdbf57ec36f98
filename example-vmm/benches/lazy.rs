//! Lazy restore against eager, at 256 MiB and 1 GiB: for each guest, a
//! run saved mid-way, then resumes with memory read in whole
//! (`--memory-load read`), mapped from the image (`map`), filled through
//! userfaultfd on faults (`--lazy --no-prefetch`) and with the working set
//! a recording resume wrote loaded ahead (`--lazy`). Prints, per resume,
//! the time from the command's start to the first KVM_RUN, the guest's
//! time from there to the end of its program, and for the lazy ones the
//! faults served and pages loaded. The image is in the page cache (it was
//! just written), as after a save on the same host.
//!
//! Run with `cargo bench -p example-vmm --bench lazy` (needs a usable
//! /dev/kvm and userfaultfd; about 2.5 GiB of sparse files in a
//! temporary directory). The median of `RUNS` resumes is shown.

mod common;

use common::{median, run};
const RUNS: usize = 5;
/// Steps of the guest's program, and the step the save is at.
const STEPS: &str = "4";
const SAVE_AT: &str = "2";
/// The working set's window: longer than the guest's run, so it is all
/// the chunks the run touches.
const WINDOW_MS: &str = "10000";

/// The number before `word` on the `timings:` line containing `what`.
fn number(stderr: &str, what: &str, word: &str) -> Option<f64> {
    let line = stderr.lines().find(|l| l.contains(what))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].trim_end_matches(',') == word)
        .and_then(|w| w[0].parse().ok())
}

fn main() {
    if let Err(why) = example_vmm::kvm::open_kvm() {
        println!("lazy bench: not run: {why}");
        return;
    }
    if let Err(why) = snapshot_lazy::check_available() {
        println!("lazy bench: not run: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!(
        "| guest | resume | first KVM_RUN | guest run | faults served | pages loaded of total |"
    );
    println!("| ---: | :--- | ---: | ---: | ---: | ---: |");
    for mib in ["256", "1024"] {
        let image = dir.path().join(format!("{mib}.snap"));
        let image = image.to_str().expect("UTF-8 path");
        run(&[
            "run",
            "--memory",
            mib,
            "--steps",
            STEPS,
            "--save-at-step",
            SAVE_AT,
            "-o",
            image,
        ]);
        let modes: [(&str, &[&str]); 4] = [
            ("eager (read)", &["--memory-load", "read"]),
            ("map", &["--memory-load", "map"]),
            ("lazy", &["--lazy", "--no-prefetch"]),
            ("lazy + prefetch", &["--lazy"]),
        ];
        for (name, extra) in modes {
            if name == "lazy + prefetch" {
                run(&["resume", image, "--lazy", "--record-workingset", WINDOW_MS]);
            }
            let mut args = vec!["resume", image, "--timings"];
            args.extend_from_slice(extra);
            let runs: Vec<String> = (0..RUNS).map(|_| run(&args)).collect();
            let pick = |what: &str, word: &str| {
                median(
                    runs.iter()
                        .map(|r| number(r, what, word).unwrap_or(f64::NAN))
                        .collect(),
                )
            };
            let first = pick("first KVM_RUN", "ms");
            let guest = pick("the guest ran", "ms");
            let (faults, pages) = match name.starts_with("lazy") {
                true => (
                    format!("{}", pick("lazy memory", "faults")),
                    format!(
                        "{} of {}",
                        pick("lazy memory", "of"),
                        number(&runs[0], "lazy memory", "pages").unwrap_or(f64::NAN)
                    ),
                ),
                false => ("-".into(), "-".into()),
            };
            println!("| {mib} MiB | {name} | {first:.1} ms | {guest:.0} ms | {faults} | {pages} |");
        }
    }
}
