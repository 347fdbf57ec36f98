//! `#[derive(Snapshot)]` for `snapshot-core`. The derive itself arrives with
//! the data model; this crate only reserves its place in the workspace.
