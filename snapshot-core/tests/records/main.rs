//! Records through `#[derive(Snapshot)]`: the data model, evolution across
//! versions, and the errors users see.

mod errors;
mod evolution;
mod roundtrip;
mod util;
