//! Integration tests of snapshot-image, as one binary.

/// The image file: round trips, damage, crash safety, hostile input, edits.
mod image {
    /// Sample images, and stores that fail or record on purpose.
    mod util;

    /// Child images on a parent: stored changes, reads through the
    /// chain, missing or changed parents, damage, crashes.
    mod chain;
    /// Single-bit flips and truncations are detected, never silently read.
    mod corruption;
    /// An edit cut short after any write leaves the old or the new image.
    mod crash;
    /// In-place edits: replace, set, space reuse, unknown keys kept.
    mod edit;
    /// Images with lying headers are refused with typed errors.
    mod hostile;
    /// An index too large for a header slot, kept in an extent.
    mod index;
    /// Every section kind written and read back byte for byte.
    mod roundtrip;
}
