//! The committed history on disk: `DIR/NAME/vN.schema` for schemas, and
//! `DIR/NAME/vN.nv` (the packed record written by version N) with
//! `DIR/NAME/vN.expected` (its value as the current code reads it, in the
//! nvlist text form) for golden fixtures; `DIR/releases` for the
//! program's releases, so that tools without its code can migrate an
//! image to a release by name.

use std::collections::BTreeMap;
use std::path::Path;

use super::registry::Release;
use crate::error::SchemaError;
use crate::schema::Recorded;

pub use snapshot_layout::file;

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

/// The type names `dir` holds history for (its subdirectories), sorted;
/// none when `dir` does not exist.
pub fn names(dir: &Path) -> Result<Vec<String>, SchemaError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        if !entry.file_type().map_err(|e| io(dir, e))?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// The versions recorded for `name` in `dir` with extension `ext`, sorted.
pub fn versions(dir: &Path, name: &str, ext: &str) -> Result<Vec<u32>, SchemaError> {
    let found = snapshot_layout::versions(dir, name, ext).map_err(|e| io(&dir.join(name), e))?;
    Ok(found.into_iter().map(|(v, _)| v).collect())
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

/// The file of the history that lists the releases: `DIR/releases`.
pub const RELEASES_FILE: &str = "releases";

/// A release and the version of each record type it writes.
pub type ReleaseMap = (Release, BTreeMap<String, u32>);

/// The releases recorded in `dir`, oldest first; none when the file does
/// not exist. The form is one `release MAJOR.MINOR.PATCH` line per
/// release, then one indented `NAME VERSION` line per type.
pub fn releases(dir: &Path) -> Result<Vec<ReleaseMap>, SchemaError> {
    let path = dir.join(RELEASES_FILE);
    let Some(bytes) = read(&path)? else {
        return Ok(Vec::new());
    };
    let bad = |line: usize, message: String| SchemaError::File {
        path: path.display().to_string(),
        message: format!("line {line}: {message}"),
    };
    let text = String::from_utf8(bytes).map_err(|_| bad(1, "not UTF-8".into()))?;
    let mut out: Vec<ReleaseMap> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match (raw.starts_with(' '), words.as_slice()) {
            (false, &["release", name]) => {
                let release = Release::parse(name)
                    .ok_or_else(|| bad(i + 1, format!("`{name}` is not MAJOR.MINOR.PATCH")))?;
                if out.iter().any(|(r, _)| *r == release) {
                    return Err(bad(i + 1, format!("release {release} is listed twice")));
                }
                out.push((release, BTreeMap::new()));
            }
            (true, &[name, version]) => {
                let (_, map) = out
                    .last_mut()
                    .ok_or_else(|| bad(i + 1, "a type line belongs to a release".into()))?;
                let v = version
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| bad(i + 1, format!("`{version}` is not a version")))?;
                if map.insert((*name).to_owned(), v).is_some() {
                    return Err(bad(i + 1, format!("`{name}` is listed twice")));
                }
            }
            _ => {
                return Err(bad(
                    i + 1,
                    "expected `release MAJOR.MINOR.PATCH` or an indented `NAME VERSION`".into(),
                ))
            }
        }
    }
    out.sort_by_key(|(r, _)| *r);
    Ok(out)
}

/// The text of the releases file for `releases`.
pub fn releases_text<'a>(
    releases: impl IntoIterator<Item = (&'a Release, &'a BTreeMap<String, u32>)>,
) -> String {
    let mut out =
        String::from("# The program's releases and the version of each record type they write.\n");
    for (release, map) in releases {
        out.push_str(&format!("release {release}\n"));
        for (name, version) in map {
            out.push_str(&format!("  {name} {version}\n"));
        }
    }
    out
}
