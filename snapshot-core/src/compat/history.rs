//! The committed history on disk: `DIR/NAME/vN.schema` for schemas, and
//! `DIR/NAME/vN.nv` (the packed record written by version N) with
//! `DIR/NAME/vN.expected` (its value as the current code reads it, in the
//! nvlist text form) for golden fixtures.

use std::path::{Path, PathBuf};

use crate::error::SchemaError;
use crate::schema::Recorded;

/// The path of a history file.
pub fn file(dir: &Path, name: &str, version: u32, ext: &str) -> PathBuf {
    dir.join(name).join(format!("v{version}.{ext}"))
}

/// Reads a file, `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, SchemaError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(io(path, source)),
    }
}

/// Writes a file, creating its directory.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), SchemaError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| io(path, e))
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> SchemaError {
    SchemaError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The versions recorded for `name` in `dir` with extension `ext`, sorted.
pub fn versions(dir: &Path, name: &str, ext: &str) -> Result<Vec<u32>, SchemaError> {
    let sub = dir.join(name);
    let entries = match std::fs::read_dir(&sub) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&sub, e)),
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io(&sub, e))?;
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let version = file
            .strip_prefix('v')
            .and_then(|f| f.strip_suffix(ext))
            .and_then(|f| f.strip_suffix('.'))
            .and_then(|v| v.parse().ok());
        if let Some(v) = version {
            versions.push(v);
        }
    }
    versions.sort_unstable();
    Ok(versions)
}

/// The recorded schemas of `name`, oldest first; each file must record
/// the name and version its path says.
pub fn schemas(dir: &Path, name: &str) -> Result<Vec<Recorded>, SchemaError> {
    versions(dir, name, "schema")?
        .into_iter()
        .map(|v| {
            let path = file(dir, name, v, "schema");
            let bytes = read(&path)?.unwrap_or_default();
            let bad = |message: String| SchemaError::File {
                path: path.display().to_string(),
                message,
            };
            let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
            let rec = Recorded::parse(&text).map_err(|e| bad(e.to_string()))?;
            if rec.name != name || rec.version != v {
                return Err(bad(format!(
                    "records {} v{}, not {name} v{v} as its path says",
                    rec.name, rec.version
                )));
            }
            Ok(rec)
        })
        .collect()
}
