//! Integration tests of snapshot-lazy, as one binary. The tests that
//! need userfaultfd say on their output whether they ran, and pass
//! without running where it cannot be had.

/// Sample images, the eager read to compare with, touching pages.
mod util;

/// A chunk that does not check fails its access, never reads as zeros,
/// never hangs; bad arguments are refused at start.
mod errors;
/// Every page touched reads as the eager restore reads it: raw, zstd,
/// zero and short chunks, random order, two threads.
mod restore;
/// The working set: recorded on faults, written to the image, loaded
/// ahead of the faults.
mod workingset;
