//! The efficiency comparison: one VM state saved and restored through
//! bhyve's three files, this project's image, JSON, SQLite, bincode and
//! CBOR, with size, time, value access, corruption and schema-change
//! checks on each. `src/main.rs` runs it and writes `docs/comparison.md`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub mod chart;
pub mod files;
pub mod image;
pub mod integrity;
pub mod legacy;
pub mod machine;
pub mod measure;
pub mod report;
pub mod schema;
pub mod serde_formats;
pub mod sqlite;
pub mod state;
pub mod vmm;

use state::VmState;

/// Where a part of the saved state lies in a format's files.
#[derive(Clone, Debug)]
pub struct Spot {
    /// The file holding it.
    pub file: PathBuf,
    /// Its bytes in the file.
    pub range: Range<u64>,
}

/// A way to save and restore a VM.
pub trait Format {
    /// The name in the report.
    fn name(&self) -> &'static str;

    /// What goes where, for the report.
    fn description(&self) -> &'static str;

    /// Bytes the device state takes in the saved files (without memory).
    fn state_bytes(&self, dir: &Path) -> Result<u64>;

    /// Writes `state` into the empty directory `dir`; the files are
    /// durable (synced) when it returns.
    fn save(&self, state: &VmState, dir: &Path) -> Result<()>;

    /// Reads everything back: device state decoded, memory in one buffer.
    fn restore(&self, dir: &Path) -> Result<VmState>;

    /// Reads the probed value ([`state::probe`]) the cheapest way the
    /// format allows.
    fn read_probe(&self, dir: &Path) -> Result<u64>;

    /// Changes the probed value on disk, durably, the cheapest way the
    /// format allows.
    fn write_probe(&self, dir: &Path, value: u64) -> Result<()>;

    /// How [`Format::write_probe`] does it, for the report.
    fn write_method(&self) -> &'static str;

    /// Where the device state and the page [`VmState::probe_page`] lie in
    /// the saved files.
    fn locate(&self, dir: &Path, state: &VmState) -> Result<(Spot, Spot)>;

    /// What adding, removing and reordering a field does to loading.
    fn schema_changes(&self) -> schema::Outcomes;
}

/// Every format, in report order.
pub fn formats() -> Vec<Box<dyn Format>> {
    vec![
        Box::new(legacy::Legacy),
        Box::new(image::ImageFormat { zstd_level: None }),
        Box::new(image::ImageFormat {
            zstd_level: Some(image::ZSTD_LEVEL),
        }),
        Box::new(serde_formats::SerdeFormat(serde_formats::Codec::Json)),
        Box::new(sqlite::Sqlite),
        Box::new(serde_formats::SerdeFormat(serde_formats::Codec::Bincode)),
        Box::new(serde_formats::SerdeFormat(serde_formats::Codec::Cbor)),
    ]
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct Config {
    /// Guest memory sizes in bytes, one comparison each.
    pub sizes: Vec<u64>,
    /// Fraction of guest pages that are zero.
    pub zero_fraction: f64,
    /// Runs of every measurement.
    pub runs: usize,
    /// Value reads and changes per run.
    pub ops: usize,
    /// Bit flips per area (device state, memory) and format.
    pub flips: usize,
    /// Guest memory of the corruption and schema checks, which do not
    /// depend on it.
    pub check_memory: u64,
    /// Where the temporary files go.
    pub work: PathBuf,
    /// The command line that reproduces the run, for the report.
    pub command: String,
}

impl Config {
    /// A smoke run of a few seconds: tiny memory, two runs, few trials.
    pub fn quick(work: PathBuf, command: String) -> Config {
        Config {
            sizes: vec![4 << 20],
            zero_fraction: 0.5,
            runs: 2,
            ops: 3,
            flips: 4,
            check_memory: 4 << 20,
            work,
            command,
        }
    }
}

/// One memory size's measurements.
#[derive(Clone, Debug)]
pub struct SizeResult {
    /// Guest memory bytes.
    pub memory: u64,
    /// Fraction of its pages that are zero.
    pub zero_pages: f64,
    /// Load averages before and after.
    pub load: (String, String),
    /// One row per format.
    pub rows: Vec<measure::Row>,
}

/// One format's corruption and schema checks.
#[derive(Clone, Debug)]
pub struct Check {
    /// The format's name.
    pub name: &'static str,
    /// What it stores where.
    pub description: &'static str,
    /// Bytes of device state.
    pub state_bytes: u64,
    /// Bit flips.
    pub integrity: integrity::Integrity,
    /// Field changes.
    pub schema: schema::Outcomes,
}

/// Everything the report shows.
#[derive(Clone, Debug)]
pub struct Results {
    /// What was asked.
    pub config: Config,
    /// Where it ran.
    pub machine: machine::Machine,
    /// One per memory size.
    pub sizes: Vec<SizeResult>,
    /// One per format.
    pub checks: Vec<Check>,
}

/// Runs the whole comparison. Files go to a temporary directory under
/// `config.work`, removed at the end.
pub fn run(config: &Config, progress: &mut dyn FnMut(&str)) -> Result<Results> {
    let largest = config.sizes.iter().copied().max().unwrap_or(0);
    // One format's files exist at a time; SQLite's journal and the image's
    // free space can add to them.
    let need = largest.max(config.check_memory) * 2 + (64 << 20);
    let free = files::free_space(&config.work)?;
    if free < need {
        bail!(
            "{} has {} MiB free; the comparison needs {} MiB",
            config.work.display(),
            free >> 20,
            need >> 20
        );
    }
    let tmp = tempfile::Builder::new()
        .prefix("snapshot-bench")
        .tempdir_in(&config.work)
        .with_context(|| format!("creating a directory in {}", config.work.display()))?;
    let formats = formats();

    progress("corruption and schema checks");
    let small = VmState::build(config.check_memory, config.zero_fraction);
    let mut checks = Vec::new();
    for f in &formats {
        let dir = tmp.path().join("check");
        std::fs::create_dir_all(&dir)?;
        f.save(&small, &dir)?;
        let state_bytes = f.state_bytes(&dir)?;
        std::fs::remove_dir_all(&dir)?;
        checks.push(Check {
            name: f.name(),
            description: f.description(),
            state_bytes,
            integrity: integrity::check(f.as_ref(), &small, tmp.path(), config.flips)?,
            schema: f.schema_changes(),
        });
    }
    drop(small);

    let mut sizes = Vec::new();
    for &size in &config.sizes {
        progress(&format!("building {} MiB of guest memory", size >> 20));
        let state = VmState::build(size, config.zero_fraction);
        let before = machine::load_average();
        let rows = measure::run(
            &formats,
            &state,
            tmp.path(),
            config.runs,
            config.ops,
            progress,
        )?;
        sizes.push(SizeResult {
            memory: state.memory.len() as u64,
            zero_pages: state.zero_page_fraction(),
            load: (before, machine::load_average()),
            rows,
        });
    }
    Ok(Results {
        config: config.clone(),
        machine: machine::describe(&config.work),
        sizes,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format gives the state back exactly, reads and changes the
    /// value, and finds its spots.
    #[test]
    fn every_format_round_trips_and_edits() {
        let state = VmState::build(3 << 20, 0.5);
        for f in formats() {
            let dir = tempfile::tempdir().unwrap();
            f.save(&state, dir.path()).unwrap();
            assert_eq!(f.restore(dir.path()).unwrap(), state, "{}", f.name());
            let want = state::probe(&state.devices);
            assert_eq!(f.read_probe(dir.path()).unwrap(), want, "{}", f.name());
            f.write_probe(dir.path(), 4242).unwrap();
            assert_eq!(f.read_probe(dir.path()).unwrap(), 4242, "{}", f.name());
            let mut changed = state.clone();
            state::set_probe(&mut changed.devices, 4242);
            assert_eq!(f.restore(dir.path()).unwrap(), changed, "{}", f.name());
            assert!(f.state_bytes(dir.path()).unwrap() > 10_000, "{}", f.name());
        }
    }

    /// What each format is known to do with a changed struct: keyed
    /// formats load all three changes, positional ones misread them.
    #[test]
    fn schema_changes_give_the_known_outcomes() {
        use schema::Outcome::{Loads, Wrong};
        for f in formats() {
            let o = f.schema_changes();
            let got = [o.added, o.removed, o.reordered];
            let want = match f.name() {
                "bhyve 3 files" | "bincode + raw memory" => [Wrong, Wrong, Wrong],
                _ => [Loads, Loads, Loads],
            };
            assert_eq!(got, want, "{}", f.name());
        }
    }

    /// The quick run end to end, report included, and its checks give
    /// what each format is known to do.
    #[test]
    fn quick_run_reports_every_format() {
        let work = tempfile::tempdir().unwrap();
        let config = Config::quick(work.path().to_owned(), "cmd".into());
        let results = run(&config, &mut |_| {}).unwrap();
        let md = report::markdown(&results, "today");
        for f in formats() {
            assert!(md.matches(f.name()).count() >= 4, "{} missing", f.name());
        }
        assert!(report::chart(&results).contains("</svg>"));
        // Nothing left behind.
        assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);

        let check = |name: &str| results.checks.iter().find(|c| c.name == name).unwrap();
        for name in ["snapshot image", "snapshot image (zstd)"] {
            let i = check(name).integrity;
            assert_eq!(i.state.detected, config.flips, "{name}");
            assert_eq!(i.memory.detected, config.flips, "{name}");
        }
        // Raw memory files carry no checksum: every flip in a page is loaded.
        for name in ["bhyve 3 files", "JSON + raw memory", "bincode + raw memory"] {
            assert_eq!(check(name).integrity.memory.silent, config.flips, "{name}");
        }
    }
}
