//! Where there is no userfaultfd: the same API, and `start` says so.

use std::sync::Arc;

use snapshot_image::Chain;

use crate::error::{ErrorKind, Result};
use crate::options::{LazyOptions, LazyStats};
use crate::workingset::WorkingSet;
use crate::Error;

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
