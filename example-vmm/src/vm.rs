//! `example-vmm run` and `example-vmm resume`: the guest on KVM, its
//! serial output on stdout (and nothing else there), saved mid-run and
//! resumed in another process.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use example_vmm::kvm::{
    open_kvm, save_image, LazyPlan, LeaveOut, Machine, MemoryLoad, Pause, Release, Stop,
};
use snapshot_core::image::{Image, OpenOptions};

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
    /// Print on stderr how long the start (to the first KVM_RUN), the
    /// guest's run and the save (pause to durable image) took, and what a
    /// lazy restore did.
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
    /// touched), read in whole first, or filled through userfaultfd as
    /// the guest touches it (lazy).
    #[arg(long, value_name = "HOW", default_value = "map")]
    memory_load: MemoryLoad,
    /// Restore guest memory lazily: `--memory-load lazy`. Loads the
    /// image's working set ahead of the faults when it has one.
    #[arg(long, conflicts_with = "memory_load")]
    lazy: bool,
    /// With a lazy restore, do not load the image's working set ahead of
    /// the faults.
    #[arg(long)]
    no_prefetch: bool,
    /// With a lazy restore, record the pages the guest touches first in
    /// this many milliseconds after its first fault, and write them into
    /// the image as its `workingset` section when the run ends (for the
    /// next lazy resume to load ahead). Records without prefetch.
    #[arg(long, value_name = "MS")]
    record_workingset: Option<u64>,
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
    go(machine, args.release.release, &args.save, start, None)
}

pub fn resume(args: ResumeArgs) -> Result<ExitCode> {
    let start = Instant::now();
    let kvm = match open_kvm() {
        Ok(kvm) => kvm,
        Err(why) => return Ok(no_kvm(&why)),
    };
    let release = args.release.release;
    let load = match args.lazy {
        true => MemoryLoad::Lazy,
        false => args.memory_load,
    };
    anyhow::ensure!(
        load == MemoryLoad::Lazy || (args.record_workingset.is_none() && !args.no_prefetch),
        "--record-workingset and --no-prefetch go with a lazy resume (--lazy)"
    );
    let plan = LazyPlan {
        prefetch: !args.no_prefetch && args.record_workingset.is_none(),
        record_for: args.record_workingset.map(Duration::from_millis),
    };
    let machine = Machine::resume(kvm, &args.image, release, load, plan, args.leave_out)?;
    let record = args.record_workingset.map(|_| args.image.as_path());
    go(machine, release, &args.save, start, record)
}

fn no_kvm(why: &str) -> ExitCode {
    eprintln!("example-vmm: {why}");
    ExitCode::from(NO_KVM)
}

/// Runs the guest, then writes the working set recorded into
/// `record_into`, then saves the guest if it paused.
fn go(
    mut machine: Machine,
    release: Release,
    save: &SaveArgs,
    start: Instant,
    record_into: Option<&std::path::Path>,
) -> Result<ExitCode> {
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
        eprintln!(
            "timings: the guest ran {:.1} ms (first KVM_RUN to {})",
            ms(paused - first),
            if stop == Stop::Done {
                "its end"
            } else {
                "the pause"
            }
        );
    }
    if let (true, Some(s)) = (save.timings, machine.lazy_stats()) {
        eprintln!(
            "timings: lazy memory: {} faults served, {} of {} pages loaded ({} chunks on faults, {} prefetched{}), faults waited {:.1} ms for fills",
            s.faults_served,
            s.pages_loaded,
            s.pages_total,
            s.chunks_faulted,
            s.chunks_prefetched,
            if s.prefetch_done { "" } else { ", prefetch not through" },
            ms(s.fault_fill_time)
        );
    }
    machine.check_memory()?;
    if let (Some(path), Some(ws)) = (record_into, machine.working_set()) {
        let mut image = Image::open_rw(path, &OpenOptions::default())
            .with_context(|| format!("cannot open {} to record the working set", path.display()))?;
        ws.write(&mut image)
            .with_context(|| format!("cannot write the working set into {}", path.display()))?;
        if save.timings {
            eprintln!(
                "timings: recorded a working set of {} pages in {} ms",
                ws.pages.len(),
                ws.window_ms
            );
        }
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
