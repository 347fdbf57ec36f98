#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod error;
#[cfg(target_os = "linux")]
mod lazy;
mod options;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(not(target_os = "linux"))]
mod unsupported;
mod workingset;

pub use error::{Error, ErrorKind, Result};
#[cfg(target_os = "linux")]
pub use lazy::{check_available, LazyMemory};
pub use options::{LazyOptions, LazyStats};
#[cfg(not(target_os = "linux"))]
pub use unsupported::{check_available, LazyMemory};
pub use workingset::{WorkingSet, WORKINGSET_SECTION};

/// The page the working set counts in: the x86 guest's and host's.
pub const PAGE: u64 = 4096;
