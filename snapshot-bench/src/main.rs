//! `snapshot-bench`: saves and restores one VM state through every
//! format of the comparison and writes the report, `comparison.md`, and
//! its chart into `--out`. Not run in CI: it writes gigabytes and takes
//! minutes. `--quick` is a smoke run of a few seconds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use snapshot_bench::compare::{self, report, Config};

/// Save and restore one VM state through bhyve's three files, the
/// snapshot image, JSON, SQLite, bincode and CBOR, and write the report.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Directory for comparison.md and comparison.svg.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
    /// Guest memory sizes in MiB, one comparison each.
    #[arg(long, value_delimiter = ',', default_values_t = [256, 1024])]
    memory_mib: Vec<u64>,
    /// Fraction of guest pages that are zero, 0 to 1.
    #[arg(long, default_value_t = 0.5)]
    zero_fraction: f64,
    /// Runs of every measurement.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Value reads and changes per run.
    #[arg(long, default_value_t = 20)]
    ops: usize,
    /// Bit flips per format in the device state, and again in memory.
    #[arg(long, default_value_t = 16)]
    flips: usize,
    /// Directory for the temporary files (default: the system's).
    #[arg(long)]
    work: Option<PathBuf>,
    /// A smoke run: 4 MiB of memory, 2 runs, few trials.
    #[arg(long)]
    quick: bool,
}

/// Validates the arguments into a configuration.
fn config(args: &Args) -> Result<Config> {
    let work = args.work.clone().unwrap_or_else(std::env::temp_dir);
    let command = std::iter::once("cargo run --release -p snapshot-bench --".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    if args.quick {
        return Ok(Config::quick(work, command));
    }
    if !(0.0..=1.0).contains(&args.zero_fraction) {
        bail!("--zero-fraction must be between 0 and 1");
    }
    if args.runs == 0 || args.ops == 0 || args.flips == 0 {
        bail!("--runs, --ops and --flips must be at least 1");
    }
    if args.memory_mib.is_empty() || args.memory_mib.contains(&0) {
        bail!("--memory-mib needs sizes of at least 1 MiB");
    }
    Ok(Config {
        sizes: args.memory_mib.iter().map(|m| m << 20).collect(),
        zero_fraction: args.zero_fraction,
        runs: args.runs,
        ops: args.ops,
        flips: args.flips,
        check_memory: 8 << 20,
        work,
        command,
    })
}

fn run(args: &Args) -> Result<()> {
    let config = config(args)?;
    let results = compare::run(&config, &mut |step| eprintln!("{step}"))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let md = args.out.join("comparison.md");
    std::fs::write(&md, report::markdown(&results, &today()))
        .with_context(|| format!("writing {}", md.display()))?;
    let svg = args.out.join(report::CHART);
    std::fs::write(&svg, report::chart(&results))
        .with_context(|| format!("writing {}", svg.display()))?;
    eprintln!("wrote {} and {}", md.display(), svg.display());
    Ok(())
}

/// Today's date in UTC, `YYYY-MM-DD`.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Days to civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snapshot-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
