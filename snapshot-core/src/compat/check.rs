//! The compatibility checker over the recorded history, and the bless
//! step that records new versions.

use std::collections::BTreeMap;
use std::path::Path;

use super::history;
use super::registry::{Entry, Registry, Release};
use crate::error::SchemaError;
use crate::schema::{diff, Recorded};

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
/// - the current version is not recorded yet;
/// - a change from a recorded version that breaks either direction, as
///   [`diff`] classifies it (an undeclared addition, removal, retype or
///   widening, a rename written as a removal and an addition, ...);
/// - a recorded version is newer than the code.
pub fn check_type(registry: &Registry, dir: &Path, name: &str) -> Result<Vec<String>, SchemaError> {
    let Problems {
        unrecorded,
        mut faults,
    } = type_problems(registry, dir, name)?;
    faults.extend(unrecorded);
    Ok(faults)
}

/// What [`check_type`] finds, split: versions not recorded yet (what
/// bless records), and everything else (what bless refuses).
struct Problems {
    unrecorded: Vec<String>,
    faults: Vec<String>,
}

fn type_problems(registry: &Registry, dir: &Path, name: &str) -> Result<Problems, SchemaError> {
    let mut out = Problems {
        unrecorded: Vec::new(),
        faults: Vec::new(),
    };
    let Some(entry) = registry.current(name) else {
        out.faults
            .push(format!("{name}: not a type of this program"));
        return Ok(out);
    };
    let current = Recorded::of(&(entry.schema)());
    let recorded = history::schemas(dir, name)?;
    let v = current.version;
    // Older generations the program keeps (to write fixtures, or to
    // resume as an older release) must still match what they recorded.
    let kept = registry
        .entries()
        .iter()
        .filter(|e| e.name == name && e.version < v)
        .map(|e| Recorded::of(&(e.schema)()));
    for schema in std::iter::once(current.clone()).chain(kept) {
        match recorded.iter().find(|r| r.version == schema.version) {
            Some(same) if !same.same_shape(&schema) => {
                out.faults.push(unbumped(same, &schema, dir))
            }
            Some(_) => {}
            None => out.unrecorded.push(format!(
                "{name} v{}: not recorded yet; {BLESS_HINT}",
                schema.version
            )),
        }
    }
    for old in recorded.iter().filter(|r| r.version < v) {
        for change in diff(old, &current).into_iter().filter(|c| c.is_breaking()) {
            out.faults
                .push(format!("{name} v{} -> v{v}: {change}", old.version));
        }
    }
    if let Some(newer) = recorded.iter().find(|r| r.version > v) {
        out.faults.push(format!(
            "{name}: v{} is recorded but the code is at v{v}; a version number is never reused: set `#[snapshot(version = {})]` or higher",
            newer.version,
            newer.version.saturating_add(1)
        ));
    }
    Ok(out)
}

/// The message for a type that changed without a version bump, naming
/// each change as the bump would see it, and the files involved.
fn unbumped(recorded: &Recorded, current: &Recorded, dir: &Path) -> String {
    let v = current.version;
    let next = v.saturating_add(1);
    // Classified as if bumped: the hints then name the right versions.
    let bumped = Recorded {
        version: next,
        ..current.clone()
    };
    let mut what: Vec<String> = diff(recorded, &bumped)
        .iter()
        .map(|c| format!("  {c}"))
        .collect();
    if what.is_empty() {
        what.push(
            "  its declared history (defaults, renames, removals, migrations) changed".into(),
        );
    }
    let file = history::file(dir, &current.name, v, "schema");
    format!(
        "{} v{v} changed since it was recorded, without a version bump:\n{}\n  a released version never changes: keep {} as it is, set `#[snapshot(version = {next})]`, declare each change as above (docs/guide.md), then {BLESS_HINT}\n  if v{v} was never released, delete {} and the golden fixture of v{v} (`{}/v{v}.nv` and `{}/v{v}.expected` in the fixtures directory), then record again",
        current.name,
        what.join("\n"),
        file.display(),
        file.display(),
        current.name,
        current.name,
    )
}

/// Records the schema of every entry whose version is not recorded yet in
/// `dir`, and the releases not recorded yet. Refuses, writing nothing,
/// when the checker finds anything else: a change that is not declared,
/// a recorded version that changed, a release that changed. Returns the
/// files written.
pub fn bless(registry: &Registry, dir: &Path) -> Result<Vec<String>, SchemaError> {
    let mut faults = Vec::new();
    for name in registry.names() {
        faults.extend(type_problems(registry, dir, name)?.faults);
    }
    faults.extend(release_problems(registry, dir)?.faults);
    if !faults.is_empty() {
        faults.push(format!(
            "nothing was recorded in {}: fix the above first",
            dir.display()
        ));
        return Err(SchemaError::Check { problems: faults });
    }
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
    let Problems {
        unrecorded,
        mut faults,
    } = release_problems(registry, dir)?;
    faults.extend(unrecorded);
    Ok(faults)
}

fn release_problems(registry: &Registry, dir: &Path) -> Result<Problems, SchemaError> {
    let recorded = history::releases(dir)?;
    let mut out = Problems {
        unrecorded: Vec::new(),
        faults: Vec::new(),
    };
    for (release, map) in registry.releases() {
        match recorded.iter().find(|(r, _)| r == release) {
            None => out.unrecorded.push(format!(
                "release {release}: not recorded yet in {}; {BLESS_HINT}",
                dir.join(history::RELEASES_FILE).display()
            )),
            Some((_, old)) if old != map => out.faults.push(format!(
                "release {release} changed since it was recorded: {}; a released \
                 release never changes: declare a new release instead",
                release_changes(old, map)
            )),
            Some(_) => {}
        }
    }
    Ok(out)
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

/// Records the registry's releases not recorded yet ([`bless`] refused
/// a recorded release that changed).
fn record_releases(registry: &Registry, dir: &Path) -> Result<Option<String>, SchemaError> {
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
                    problems: vec![unbumped(&old, &current, dir)],
                }),
                Err(e) => Err(SchemaError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }),
            }
        }
    }
}
