//! Timing: every format saves, restores, reads and changes a value on
//! the same state, run after run, formats interleaved within a run (in a
//! rotating order) so that a change of load on the machine spreads over
//! all of them.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::compare::files;
use crate::compare::state::{self, VmState};
use crate::compare::Format;

/// Median and spread of timings, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The fastest.
    pub min: f64,
    /// The slowest.
    pub max: f64,
}

impl Stats {
    /// The statistics of `samples` (not empty).
    pub fn of(samples: &[f64]) -> Stats {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Stats {
            median,
            min: s[0],
            max: s[n - 1],
        }
    }
}

/// One format's measurements at one memory size.
#[derive(Clone, Debug)]
pub struct Row {
    /// The format's name.
    pub name: &'static str,
    /// Files it writes.
    pub files: usize,
    /// Their total length.
    pub len: u64,
    /// Their disk use.
    pub disk: u64,
    /// Save, sync included.
    pub save: Stats,
    /// Full restore: device state decoded, memory in a buffer.
    pub restore: Stats,
    /// Reading the probed value from the files: the median of each run's
    /// operations, one sample per run.
    pub read_value: Stats,
    /// Changing the probed value durably, sampled as `read_value`.
    pub write_value: Stats,
    /// How the value is changed.
    pub write_method: &'static str,
}

#[derive(Default)]
struct Samples {
    files: usize,
    len: u64,
    disk: u64,
    save: Vec<f64>,
    restore: Vec<f64>,
    read_value: Vec<f64>,
    write_value: Vec<f64>,
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, T)> {
    let start = Instant::now();
    let out = f()?;
    Ok((start.elapsed().as_secs_f64(), out))
}

/// Runs every format `runs` times on `state` in directories under
/// `work`, `ops` value reads and changes per run. The first run checks
/// that the restore gives the state back and that a changed value reads
/// back; a failure stops the comparison. `progress` gets a line per step.
pub fn run(
    formats: &[Box<dyn Format>],
    state: &VmState,
    work: &Path,
    runs: usize,
    ops: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Row>> {
    let mut samples: Vec<Samples> = formats.iter().map(|_| Samples::default()).collect();
    let n = formats.len();
    for r in 0..runs {
        // Each run starts with another format, so that what the first
        // format of a run pays (a cold allocator, the previous run's
        // writeback) is not always paid by the same one.
        for i in (0..n).map(|i| (i + r) % n) {
            let (format, s) = (&formats[i], &mut samples[i]);
            progress(&format!("run {}/{runs}: {}", r + 1, format.name()));
            let dir = work.join("measure");
            std::fs::create_dir_all(&dir)?;
            let (t, ()) = timed(|| format.save(state, &dir))?;
            s.save.push(t);
            (s.len, s.disk) = files::usage(&dir)?;
            s.files = files::count(&dir)?;
            let (t, back) = timed(|| format.restore(&dir))?;
            s.restore.push(t);
            if r == 0 && back != *state {
                bail!(
                    "{}: the restored state differs from the saved one",
                    format.name()
                );
            }
            drop(back);
            let mut reads = Vec::with_capacity(ops);
            for _ in 0..ops {
                let (t, v) = timed(|| format.read_probe(&dir))?;
                reads.push(t);
                if v != state::probe(&state.devices) {
                    bail!("{}: read {v} instead of the saved value", format.name());
                }
            }
            let mut writes = Vec::with_capacity(ops);
            for i in 0..ops as u64 {
                let value = 1000 + i;
                let (t, ()) = timed(|| format.write_probe(&dir, value))?;
                writes.push(t);
                if r == 0 && format.read_probe(&dir)? != value {
                    bail!("{}: a changed value does not read back", format.name());
                }
            }
            // One sample per run, as for save and restore, so that the
            // spread compares runs.
            s.read_value.push(Stats::of(&reads).median);
            s.write_value.push(Stats::of(&writes).median);
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(formats
        .iter()
        .zip(samples)
        .map(|(f, s)| Row {
            name: f.name(),
            files: s.files,
            len: s.len,
            disk: s.disk,
            save: Stats::of(&s.save),
            restore: Stats::of(&s.restore),
            read_value: Stats::of(&s.read_value),
            write_value: Stats::of(&s.write_value),
            write_method: f.write_method(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let s = Stats::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Stats::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }
}
