//! `example-vmm run` and `example-vmm resume`: the guest on KVM, its
//! serial output on stdout (and nothing else there), saved mid-run and
//! resumed in another process.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use example_vmm::kvm::{open_kvm, save_image, LeaveOut, Machine, MemoryLoad, Pause, Release, Stop};

/// Where to stop for a save.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Pause once the guest has printed this many lines (counted from its
    /// boot), save, and exit.
    #[arg(
        long,
        value_name = "K",
        conflicts_with = "save_after_ms",
        requires = "output"
    )]
    save_at_step: Option<u64>,
    /// Pause after this many milliseconds (mid-step is fine), save, and
    /// exit.
    #[arg(long, value_name = "MS", requires = "output")]
    save_after_ms: Option<u64>,
    /// The image to save to.
    #[arg(short, long, value_name = "IMAGE")]
    output: Option<PathBuf>,
    /// Write the records for a reader of this older release (default:
    /// the running release).
    #[arg(long, value_name = "R", requires = "output")]
    save_for: Option<Release>,
    /// Print on stderr how long the start (to the first KVM_RUN) and the
    /// save (pause to durable image) took.
    #[arg(long)]
    timings: bool,
}

/// The release whose records the process runs.
#[derive(Debug, Args)]
pub struct ReleaseArg {
    /// The example VMM's release to run as: 2.1.0 or 3.0.0 (the newest by
    /// default).
    #[arg(long, value_name = "R", default_value_t = Release::NEWEST)]
    release: Release,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Guest memory, in MiB (the guest writes and checksums a quarter).
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    memory: u64,
    /// vCPUs (the boot vCPU runs the program; the others wait for INIT).
    #[arg(long, default_value_t = 1, value_name = "N")]
    vcpus: u32,
    /// Steps of the guest program.
    #[arg(long, default_value_t = 40, value_name = "N")]
    steps: u32,
    #[command(flatten)]
    release: ReleaseArg,
    #[command(flatten)]
    save: SaveArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The image to resume.
    image: PathBuf,
    /// How guest memory comes back: mapped from the image (pages read when
    /// touched), or read in whole first.
    #[arg(long, value_name = "HOW", default_value = "map")]
    memory_load: MemoryLoad,
    /// Resume without one piece of the saved state (it keeps a new VM's
    /// value): the guest's output then differs or it stops, which shows
    /// that the state saved is the state it needs.
    #[arg(long, value_name = "PIECE")]
    leave_out: Option<LeaveOut>,
    #[command(flatten)]
    release: ReleaseArg,
    #[command(flatten)]
    save: SaveArgs,
}

/// Exit code when KVM is not usable here.
const NO_KVM: u8 = 2;

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let start = Instant::now();
    let kvm = match open_kvm() {
        Ok(kvm) => kvm,
        Err(why) => return Ok(no_kvm(&why)),
    };
    let machine = Machine::boot(kvm, args.memory, args.vcpus, args.steps)?;
    go(machine, args.release.release, &args.save, start)
}

pub fn resume(args: ResumeArgs) -> Result<ExitCode> {
    let start = Instant::now();
    let kvm = match open_kvm() {
        Ok(kvm) => kvm,
        Err(why) => return Ok(no_kvm(&why)),
    };
    let release = args.release.release;
    let machine = Machine::resume(kvm, &args.image, release, args.memory_load, args.leave_out)?;
    go(machine, release, &args.save, start)
}

fn no_kvm(why: &str) -> ExitCode {
    eprintln!("example-vmm: {why}");
    ExitCode::from(NO_KVM)
}

/// Runs the guest, then saves it if it paused.
fn go(mut machine: Machine, release: Release, save: &SaveArgs, start: Instant) -> Result<ExitCode> {
    let pause = match (save.save_at_step, save.save_after_ms) {
        (Some(k), _) => Pause::AtLine(k),
        (None, Some(ms)) => Pause::After(Duration::from_millis(ms)),
        (None, None) => Pause::Never,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stop = machine.run(&mut out, pause)?;
    out.flush().context("writing the guest's output")?;
    let paused = Instant::now();
    if let (true, Some(first)) = (save.timings, machine.first_run()) {
        eprintln!(
            "timings: first KVM_RUN {:.2} ms after the command started",
            ms(first - start)
        );
    }
    if stop == Stop::Done && pause_requested(save) {
        anyhow::bail!("the guest's program ended before the save point: nothing was saved");
    }
    if stop == Stop::Paused {
        let path = save.output.as_ref().context("a save needs -o IMAGE")?;
        let reader = save.save_for.unwrap_or(release);
        anyhow::ensure!(
            reader <= release,
            "release {release} cannot save for the newer release {reader}"
        );
        save_image(&machine, path, release, reader)?;
        if save.timings {
            eprintln!(
                "timings: saved {} MiB of guest memory in {:.1} ms (pause to durable image)",
                machine.memory().len() >> 20,
                ms(paused.elapsed())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pause_requested(save: &SaveArgs) -> bool {
    save.save_at_step.is_some() || save.save_after_ms.is_some()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
