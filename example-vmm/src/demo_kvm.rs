//! The demo on KVM: the guest program runs on release 2.1.0 and is saved
//! mid-run, resumed in a new process on release 3.0.0, saved there for a
//! 2.1.0 reader, and resumed once more on 2.1.0; its lines are shown on
//! both sides of each save, and the three processes' output is compared
//! with one uninterrupted run.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{ensure, Context, Result};

macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

/// Steps of the demo's guest, and the lines after which it is saved.
const STEPS: u32 = 9;
const FIRST_SAVE: u32 = 3;
const SECOND_SAVE: u32 = 6;

/// Runs this program with `args`: its stdout (the guest's lines) and the
/// `timings:` lines of its stderr.
fn phase(args: &[&str]) -> Result<(String, Vec<String>)> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .context("cannot start example-vmm")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "example-vmm {}: {stderr}",
        args.join(" ")
    );
    let timings = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("timings: "))
        .map(str::to_owned)
        .collect();
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), timings))
}

fn show(lines: &str) -> Result<()> {
    for line in lines.lines() {
        say!("     | {line}");
    }
    Ok(())
}

fn show_timings(timings: &[String]) -> Result<()> {
    for t in timings {
        say!("     ({t})");
    }
    Ok(())
}

pub fn run(dir: &Path, memory_mib: u64) -> Result<ExitCode> {
    let first = dir.join("kvm-2.1.0.snap");
    let second = dir.join("kvm-3.0.0-for-2.1.0.snap");
    let (first_s, second_s) = (
        first.to_str().context("non-UTF-8 directory")?,
        second.to_str().context("non-UTF-8 directory")?,
    );
    let memory = memory_mib.to_string();
    let steps = STEPS.to_string();
    say!(
        "Running the guest program on KVM ({memory} MiB, {STEPS} steps; each line depends on the \
         timer, FPU/SSE, MSR, LAPIC and memory state):"
    );
    say!("1. Release 2.1.0 boots it and saves after line {FIRST_SAVE}: {first_s}");
    let (a, t) = phase(&[
        "run",
        "--release",
        "2.1.0",
        "--memory",
        &memory,
        "--steps",
        &steps,
        "--save-at-step",
        &FIRST_SAVE.to_string(),
        "-o",
        first_s,
        "--timings",
    ])?;
    show(&a)?;
    show_timings(&t)?;
    say!(
        "2. A new process on release 3.0.0 resumes it (serial v1 -> v2, kvm_machine v1 -> v2: \
         memory in bytes), and saves after line {SECOND_SAVE} for a 2.1.0 reader: {second_s}"
    );
    let (b, t) = phase(&[
        "resume",
        first_s,
        "--release",
        "3.0.0",
        "--save-at-step",
        &SECOND_SAVE.to_string(),
        "--save-for",
        "2.1.0",
        "-o",
        second_s,
        "--timings",
    ])?;
    show(&b)?;
    show_timings(&t)?;
    say!("3. A new process on release 2.1.0 resumes that to the end:");
    let (c, t) = phase(&["resume", second_s, "--release", "2.1.0", "--timings"])?;
    show(&c)?;
    show_timings(&t)?;
    let (whole, _) = phase(&["run", "--memory", &memory, "--steps", &steps])?;
    let joined = format!("{a}{b}{c}");
    ensure!(
        joined == whole,
        "the three processes printed something else than one run does:\n{joined}\nvs\n{whole}"
    );
    say!("4. The three processes printed, byte for byte, what one uninterrupted run prints.");
    say!("");
    say!("Try next (with example-vmm on your PATH):");
    say!("   snapshot check {second_s}   # can this host resume it?");
    say!("   snapshot dump --typed {second_s} devices");
    say!("   example-vmm resume {first_s} --release 3.0.0");
    say!("   example-vmm resume {first_s} --leave-out xsave   # the guest notices");
    Ok(ExitCode::SUCCESS)
}
