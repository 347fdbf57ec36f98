//! What a lazy restore is asked to do, and what it reports: the same on
//! every target.

use std::time::Duration;

#[cfg(doc)]
use crate::{LazyMemory, WorkingSet, PAGE};

/// How to run a lazy restore.
#[derive(Clone, Debug, Default)]
pub struct LazyOptions {
    /// Pages (numbers of [`PAGE`] bytes) to load ahead of the faults, in
    /// this order: a recorded [`WorkingSet`]'s. Their chunks are filled
    /// between faults, never ahead of one.
    pub prefetch: Option<Vec<u64>>,
    /// Record the pages that fault, in order of first fault, for this
    /// long after the first fault (see [`LazyMemory::recorded`]). Pages a
    /// prefetch has loaded do not fault, so record without prefetch.
    pub record_for: Option<Duration>,
}

/// What a lazy restore has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LazyStats {
    /// Page faults answered (a fault on a chunk another fault has just
    /// filled is counted too).
    pub faults_served: u64,
    /// Chunks filled because a fault touched them.
    pub chunks_faulted: u64,
    /// Chunks filled ahead of the faults by the prefetch.
    pub chunks_prefetched: u64,
    /// Pages placed, with their bytes or as zero.
    pub pages_loaded: u64,
    /// Pages of guest memory.
    pub pages_total: u64,
    /// Time the faulting threads waited for fills, summed.
    pub fault_fill_time: Duration,
    /// Whether the prefetch has been through its list (true when there
    /// is none).
    pub prefetch_done: bool,
}
