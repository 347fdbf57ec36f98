//! Is a flipped bit noticed? Each trial copies a saved VM, flips one bit
//! in the device state or in a page of guest memory, and restores the
//! copy: an error is a detection, a state equal to the saved one means
//! the bit was in bytes that carry nothing, anything else is corruption
//! loaded silently.

use std::path::Path;

use anyhow::{Context, Result};

use crate::compare::files;
use crate::compare::state::VmState;
use crate::compare::{Format, Spot};

/// What the trials in one area gave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flips {
    /// Restore failed with an error.
    pub detected: usize,
    /// Restore succeeded with a different state.
    pub silent: usize,
    /// Restore gave the saved state back.
    pub harmless: usize,
}

impl Flips {
    /// The number of trials.
    pub fn trials(&self) -> usize {
        self.detected + self.silent + self.harmless
    }
}

/// Bit flips in the device state and in guest memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Integrity {
    /// Flips spread evenly over the stored device state.
    pub state: Flips,
    /// Flips spread evenly over one stored page of random memory.
    pub memory: Flips,
}

/// Saves `state` under `work` and runs `trials` flips in each area.
pub fn check(
    format: &dyn Format,
    state: &VmState,
    work: &Path,
    trials: usize,
) -> Result<Integrity> {
    let pristine = work.join("pristine");
    let trial = work.join("trial");
    std::fs::create_dir_all(&pristine)?;
    format.save(state, &pristine)?;
    let (state_spot, memory_spot) = format.locate(&pristine, state)?;
    let run = |spot: &Spot| -> Result<Flips> {
        let mut flips = Flips::default();
        let len = spot.range.end - spot.range.start;
        for k in 0..trials as u64 {
            copy_dir(&pristine, &trial)?;
            let target = trial.join(spot.file.file_name().context("spot without a file name")?);
            // The middle of the k-th of `trials` equal parts.
            let at = spot.range.start + (2 * k + 1) * len / (2 * trials as u64);
            files::flip_bit(&target, at)?;
            match format.restore(&trial) {
                Err(_) => flips.detected += 1,
                Ok(back) if back == *state => flips.harmless += 1,
                Ok(_) => flips.silent += 1,
            }
            std::fs::remove_dir_all(&trial)?;
        }
        Ok(flips)
    };
    let result = Integrity {
        state: run(&state_spot)?,
        memory: run(&memory_spot)?,
    };
    std::fs::remove_dir_all(&pristine)?;
    Ok(result)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))
            .with_context(|| format!("copying {}", entry.path().display()))?;
    }
    Ok(())
}
