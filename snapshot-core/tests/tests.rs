//! Integration tests of snapshot-core, as one binary.

/// Records through `#[derive(Snapshot)]`: the data model, evolution across
/// versions, and the errors users see.
mod records {
    mod conversions;
    mod errors;
    mod evolution;
    mod guide_example;
    mod maps;
    mod nested;
    mod roundtrip;
    mod serde_bridge;
    mod std_types;
    mod util;
}

/// The schema history: recording, the checker and the golden fixtures,
/// with the mistakes they must catch.
mod compat;

/// The compatibility guard: every unsafe change refused, every declared
/// change accepted, and the classification agreeing with the engine.
mod guard;

/// The classification of changes against what the engine does with
/// random values, in both directions.
mod classify;
