//! The compatibility checker over the recorded history, and the bless
//! step that records new versions.

use std::collections::BTreeMap;
use std::path::Path;

use super::history;
use super::registry::{Entry, Registry, Release};
use crate::error::SchemaError;
use crate::schema::{diff, Compat, Recorded};

/// How to record history, for messages.
pub const BLESS_HINT: &str =
    "record it with `SNAPSHOT_BLESS=1 cargo test` (or the VMM tool's `schema bless`)";

/// Checks every type of `registry` against the schemas recorded in `dir`:
/// see [`check_type`].
pub fn check(registry: &Registry, dir: &Path) -> Result<(), SchemaError> {
    let mut problems = Vec::new();
    for name in registry.names() {
        problems.extend(check_type(registry, dir, name)?);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Check { problems })
    }
}

/// The problems of one type, each saying what to do:
/// - the current schema differs from the recorded one of the same version
///   (a change without a version bump);
/// - the current version is not recorded, or the bump lacks what a change
///   needs (a default, a removal, a migration);
/// - a recorded version can no longer be read by the current code;
/// - a recorded version is newer than the code.
pub fn check_type(registry: &Registry, dir: &Path, name: &str) -> Result<Vec<String>, SchemaError> {
    let Some(entry) = registry.current(name) else {
        return Ok(vec![format!("{name}: not a type of this program")]);
    };
    let current = Recorded::of(&(entry.schema)());
    let recorded = history::schemas(dir, name)?;
    let mut problems = Vec::new();
    let v = current.version;
    match recorded.iter().find(|r| r.version == v) {
        Some(same) if !same.same_shape(&current) => problems.push(unbumped(same, &current)),
        Some(_) => {}
        None => problems.push(format!("{name} v{v}: not recorded yet; {BLESS_HINT}")),
    }
    // Older generations the program keeps (to write fixtures, or to
    // resume as an older release) must still match what they recorded.
    for older in registry
        .entries()
        .iter()
        .filter(|e| e.name == name && e.version < v)
    {
        let schema = Recorded::of(&(older.schema)());
        match recorded.iter().find(|r| r.version == older.version) {
            Some(same) if !same.same_shape(&schema) => problems.push(unbumped(same, &schema)),
            Some(_) => {}
            None => problems.push(format!(
                "{name} v{}: not recorded yet; {BLESS_HINT}",
                older.version
            )),
        }
    }
    for old in recorded.iter().filter(|r| r.version < v) {
        for change in diff(old, &current) {
            if change.upgrade == Compat::Breaking {
                problems.push(format!(
                    "{name}: recorded v{} can no longer be read by v{v}: {change}",
                    old.version
                ));
            }
        }
    }
    if let Some(newer) = recorded.iter().find(|r| r.version > v) {
        problems.push(format!(
            "{name}: v{} is recorded but the code is at v{v}; a version number is never reused: set `#[snapshot(version = {})]` or higher",
            newer.version,
            newer.version.saturating_add(1)
        ));
    }
    Ok(problems)
}

/// The message for a type that changed without a version bump, naming
/// each change.
fn unbumped(recorded: &Recorded, current: &Recorded) -> String {
    let v = current.version;
    let mut what: Vec<String> = diff(recorded, current)
        .iter()
        .map(|c| format!("  {c}"))
        .collect();
    if what.is_empty() {
        what.push(
            "  its declared history (defaults, renames, removals, migrations) changed".into(),
        );
    }
    format!(
        "{} v{v} changed since it was recorded, without a version bump:\n{}\n  a released version never changes: set `#[snapshot(version = {})]`, declare the change (docs/guide.md), then {BLESS_HINT}; if v{v} was never released, delete its recorded files and record again",
        current.name,
        what.join("\n"),
        v + 1
    )
}

/// Records the schema of every entry whose version is not recorded yet in
/// `dir`. A recorded version is never rewritten: one that differs is a
/// change without a version bump, and is refused as [`check`] would.
/// Returns the files written.
pub fn bless(registry: &Registry, dir: &Path) -> Result<Vec<String>, SchemaError> {
    let mut written = Vec::new();
    for entry in registry.entries() {
        if let Some(path) = record_entry(entry, dir)? {
            written.push(path);
        }
    }
    written.extend(record_releases(registry, dir)?);
    Ok(written)
}

/// The problems of the releases the registry declares against those
/// recorded in `dir`: a release not recorded yet, or recorded with other
/// versions (a released release never changes).
pub fn check_releases(registry: &Registry, dir: &Path) -> Result<Vec<String>, SchemaError> {
    let recorded = history::releases(dir)?;
    let mut problems = Vec::new();
    for (release, map) in registry.releases() {
        match recorded.iter().find(|(r, _)| r == release) {
            None => problems.push(format!(
                "release {release}: not recorded yet in {}; {BLESS_HINT}",
                dir.join(history::RELEASES_FILE).display()
            )),
            Some((_, old)) if old != map => problems.push(format!(
                "release {release} changed since it was recorded: {}; a released \
                 release never changes: declare a new release instead",
                release_changes(old, map)
            )),
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// What differs between two maps of one release, for messages.
fn release_changes(old: &BTreeMap<String, u32>, new: &BTreeMap<String, u32>) -> String {
    let mut out = Vec::new();
    for (name, v) in old {
        match new.get(name) {
            None => out.push(format!("`{name}` v{v} dropped")),
            Some(n) if n != v => out.push(format!("`{name}` v{v} is now v{n}")),
            Some(_) => {}
        }
    }
    for (name, v) in new.iter().filter(|(n, _)| !old.contains_key(*n)) {
        out.push(format!("`{name}` v{v} added"));
    }
    out.join(", ")
}

/// Records the registry's releases not recorded yet; refuses, as
/// [`check_releases`] would, a recorded release that changed.
fn record_releases(registry: &Registry, dir: &Path) -> Result<Option<String>, SchemaError> {
    let problems: Vec<String> = check_releases(registry, dir)?
        .into_iter()
        .filter(|p| !p.contains("not recorded yet"))
        .collect();
    if !problems.is_empty() {
        return Err(SchemaError::Check { problems });
    }
    let mut all: BTreeMap<Release, BTreeMap<String, u32>> =
        history::releases(dir)?.into_iter().collect();
    let before = all.len();
    for (release, map) in registry.releases() {
        all.entry(*release).or_insert_with(|| map.clone());
    }
    if all.len() == before {
        return Ok(None);
    }
    let path = dir.join(history::RELEASES_FILE);
    history::write(&path, history::releases_text(&all).as_bytes())?;
    Ok(Some(path.display().to_string()))
}

fn record_entry(entry: &Entry, dir: &Path) -> Result<Option<String>, SchemaError> {
    let current = Recorded::of(&(entry.schema)());
    let path = history::file(dir, entry.name, entry.version, "schema");
    match history::read(&path)? {
        None => {
            history::write(&path, current.to_text().as_bytes())?;
            Ok(Some(path.display().to_string()))
        }
        Some(bytes) => {
            let old = String::from_utf8_lossy(&bytes);
            match Recorded::parse(&old) {
                // Docs reworded since: the recorded file stays as released.
                Ok(old) if old.same_shape(&current) => Ok(None),
                Ok(old) => Err(SchemaError::Check {
                    problems: vec![unbumped(&old, &current)],
                }),
                Err(e) => Err(SchemaError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }),
            }
        }
    }
}
