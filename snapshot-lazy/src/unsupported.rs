//! Where there is no userfaultfd: the same API, and `start` says so.

use std::sync::Arc;
use std::time::Duration;

use snapshot_image::Chain;

use crate::error::{ErrorKind, Result};
use crate::workingset::WorkingSet;
use crate::Error;

/// How to run a lazy restore (see the Linux build's docs).
#[derive(Clone, Debug, Default)]
pub struct LazyOptions {
    /// Pages to load ahead of the faults.
    pub prefetch: Option<Vec<u64>>,
    /// Record the pages that fault for this long.
    pub record_for: Option<Duration>,
}

/// What a lazy restore has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LazyStats {
    /// Page faults answered.
    pub faults_served: u64,
    /// Chunks filled because a fault touched them.
    pub chunks_faulted: u64,
    /// Chunks filled ahead of the faults.
    pub chunks_prefetched: u64,
    /// Pages placed.
    pub pages_loaded: u64,
    /// Pages of guest memory.
    pub pages_total: u64,
    /// Time the faulting threads waited for fills.
    pub fault_fill_time: Duration,
    /// Whether the prefetch is through.
    pub prefetch_done: bool,
}

/// Fails: userfaultfd is Linux's.
pub fn check_available() -> Result<()> {
    Err(ErrorKind::Unsupported("lazy restore needs Linux's userfaultfd".into()).into())
}

/// Lazily restored guest memory: never made on this target.
#[derive(Debug)]
pub struct LazyMemory(std::convert::Infallible);

impl LazyMemory {
    /// Fails: userfaultfd is Linux's.
    pub fn start(_: Chain, _: &str, _: LazyOptions) -> Result<LazyMemory> {
        Err(ErrorKind::Unsupported("lazy restore needs Linux's userfaultfd".into()).into())
    }
    /// Unreachable.
    pub fn as_ptr(&self) -> *mut u8 {
        match self.0 {}
    }
    /// Unreachable.
    pub fn len(&self) -> usize {
        match self.0 {}
    }
    /// Unreachable.
    pub fn is_empty(&self) -> bool {
        match self.0 {}
    }
    /// Unreachable.
    pub fn stats(&self) -> LazyStats {
        match self.0 {}
    }
    /// Unreachable.
    pub fn error(&self) -> Option<Arc<Error>> {
        match self.0 {}
    }
    /// Unreachable.
    pub fn recorded(&self) -> Vec<u64> {
        match self.0 {}
    }
    /// Unreachable.
    pub fn working_set(&self) -> WorkingSet {
        match self.0 {}
    }
}
