//! The layout of a schema history on disk: `DIR/NAME/vN.EXT`, one file per
//! record type per version (`schemas/vrtc/v3.schema`,
//! `compat-tests/fixtures/vrtc/v3.nv`). Its own crate because two crates
//! read it that cannot depend on each other: `compat_tests!` in the
//! derive, when it expands, and `snapshot-core`'s history, checker and
//! bless step.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// The path of the file of `name` at `version` with extension `ext`.
pub fn file(dir: &Path, name: &str, version: u32, ext: &str) -> PathBuf {
    dir.join(name).join(format!("v{version}.{ext}"))
}

/// The version a file name records, for extension `ext` (`v3.schema` is
/// version 3 of `schema`).
pub fn version_of(file_name: &str, ext: &str) -> Option<u32> {
    file_name
        .strip_prefix('v')?
        .strip_suffix(ext)?
        .strip_suffix('.')?
        .parse()
        .ok()
}

/// The versions recorded for `name` in `dir` with extension `ext`, sorted,
/// with their paths; none when `DIR/NAME` does not exist.
pub fn versions(dir: &Path, name: &str, ext: &str) -> std::io::Result<Vec<(u32, PathBuf)>> {
    let entries = match std::fs::read_dir(dir.join(name)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(file) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Some(v) = version_of(&file, ext) {
            out.push((v, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_agree() {
        let dir = tempfile::tempdir().unwrap();
        for v in [3, 1, 12] {
            let path = file(dir.path(), "vrtc", v, "schema");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "").unwrap();
        }
        std::fs::write(dir.path().join("vrtc/v2.nv"), "").unwrap();
        std::fs::write(dir.path().join("vrtc/vx.schema"), "").unwrap();
        let found: Vec<u32> = versions(dir.path(), "vrtc", "schema")
            .unwrap()
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert_eq!(found, [1, 3, 12]);
        assert!(versions(dir.path(), "none", "schema").unwrap().is_empty());
        assert_eq!(version_of("v7.schema", "schema"), Some(7));
        assert_eq!(version_of("v7schema", "schema"), None);
    }
}
