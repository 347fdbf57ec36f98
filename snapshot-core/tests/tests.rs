//! Integration tests of snapshot-core, as one binary.

/// The nvlist codec against the vectors made by FreeBSD's libnv.
mod nv {
    /// Buffers in big-endian byte order.
    mod big_endian;
    /// NVLIST datasizes against a transcription of libnv's size walk.
    mod libnv_size;
    /// Properties over arbitrary nvlists: pack, text and JSON round trips.
    mod properties;
    /// One test per rule the decoder enforces, on hand-corrupted buffers.
    mod rules;
    /// The text form: syntax, escapes, edits and parse errors.
    mod text;
    mod vectors;
}

/// Records through `#[derive(Snapshot)]`: the data model, evolution across
/// versions, and the errors users see.
mod records {
    mod errors;
    mod evolution;
    mod nested;
    mod roundtrip;
    mod util;
}

/// The image file: round trips, damage, crash safety, hostile input, edits.
mod image {
    /// Sample images, and stores that fail or record on purpose.
    mod util;

    /// Single-bit flips and truncations are detected, never silently read.
    mod corruption;
    /// An edit cut short after any write leaves the old or the new image.
    mod crash;
    /// In-place edits: replace, set, space reuse, unknown keys kept.
    mod edit;
    /// Images with lying headers are refused with typed errors.
    mod hostile;
    /// Every section kind written and read back byte for byte.
    mod roundtrip;
}

/// The schema history: recording, the checker and the golden fixtures,
/// with the mistakes they must catch.
mod compat;
