//! Whole images across versions: the `schemas` section that lets a reader
//! without the program show typed values, and the offline rewrite of
//! every record of an image for a target (the current versions, or a
//! release's), so a VMM gets a `migrate` command in a few lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::Path;

use super::declared::History;
use super::history::io;
use super::registry::{newest_match, Registry, Release};
use crate::error::SchemaError;
use crate::image::{replace_file, Builder, Image, OpenOptions, SectionKind};
use crate::migrate::{nested_step, NestedStep};
use crate::nvlist::{pair_path, quote_str, NvList, NvString, Value};
use crate::record::Meta;
use crate::schema::Recorded;
use crate::text::shown;

/// The name of the section holding the schemas of the records an image
/// stores.
pub const SCHEMAS_SECTION: &str = "schemas";

/// The schema name and version of a record, if `nv` is one.
fn record_meta(nv: &NvList) -> Option<(String, u32)> {
    Meta::read(nv).map(|m| (m.name.to_owned(), m.version))
}

/// The type and version of every record nested in the record `nv`, at
/// any depth, sorted: what the report compares before and after.
fn nested_records(nv: &NvList) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for (_, value) in nv.iter() {
        match value {
            Value::NvList(inner) => each_record(inner, &mut |n, v| out.push((n, v))),
            Value::NvListArray(items) => {
                for item in items {
                    each_record(item, &mut |n, v| out.push((n, v)));
                }
            }
            _ => {}
        }
    }
    out.sort_unstable();
    out
}

/// Calls `f` with the name and version of every record in `nv`, nested
/// ones included.
fn each_record(nv: &NvList, f: &mut dyn FnMut(String, u32)) {
    if let Some((name, version)) = record_meta(nv) {
        f(name, version);
    }
    for (_, value) in nv.iter() {
        match value {
            Value::NvList(inner) => each_record(inner, f),
            Value::NvListArray(items) => items.iter().for_each(|i| each_record(i, f)),
            _ => {}
        }
    }
}

/// The `schemas` section for nvlist sections: `{ NAME = { vN = "schema
/// text" } }` for every record version they hold whose schema the
/// program has (a version it has no type for is left out, and shows
/// untyped).
pub fn schemas_section<'a>(
    converter: &impl Converter,
    sections: impl IntoIterator<Item = &'a NvList>,
) -> NvList {
    let mut seen = BTreeSet::new();
    for nv in sections {
        record_types(nv, &mut seen);
    }
    schemas_of(converter, seen)
}

/// Adds the type and version of every record in `nv`, at any depth.
fn record_types(nv: &NvList, seen: &mut BTreeSet<(String, u32)>) {
    each_record(nv, &mut |name, version| {
        seen.insert((name, version));
    });
}

/// The `schemas` section for records of the types and versions `seen`.
fn schemas_of(converter: &impl Converter, seen: BTreeSet<(String, u32)>) -> NvList {
    let mut out = NvList::new();
    for (name, version) in seen {
        let Some(text) = converter.schema_text(&name, version) else {
            continue;
        };
        if !out.contains(&name) {
            out.insert(name.as_str(), NvList::new());
        }
        if let Ok(versions) = out.get_nvlist_mut(&name) {
            versions.insert(format!("v{version}"), text.as_str());
        }
    }
    out
}

/// The schemas an image's `schemas` section holds, by name and version.
pub fn read_schemas(section: &NvList) -> BTreeMap<(String, u32), Recorded> {
    let mut out = BTreeMap::new();
    for (name, versions) in section.iter() {
        let Value::NvList(versions) = versions else {
            continue;
        };
        for (_, text) in versions.iter() {
            let Value::String(text) = text else { continue };
            if let Ok(rec) = Recorded::parse(&text.to_string()) {
                if rec.name == name.to_string() {
                    out.insert((rec.name.clone(), rec.version), rec);
                }
            }
        }
    }
    out
}

/// What to rewrite an image's records for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The newest version of every type the program has.
    Latest,
    /// The versions of the newest release matching this (partial) semver
    /// name.
    Release(String),
}

/// One record rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// Where it is: `section.key`.
    pub path: String,
    /// Its schema name.
    pub name: String,
    /// The version it was stored in.
    pub from: u32,
    /// The version it is stored in now.
    pub to: u32,
    /// Whether the types and versions of the records nested in it changed
    /// (records stepped down, or added or dropped by a migration); when
    /// `from == to`, only they did.
    pub nested: bool,
}

/// What rewrites an image's records: the program's own types (a
/// [`Registry`], which runs migration functions) or the recorded history
/// alone ([`History`], for a tool without the program's code).
pub trait Converter {
    /// The schema names the converter knows.
    fn type_names(&self) -> Vec<&str>;

    /// The version a record of `name` goes to when `versions` does not
    /// name it; `None` for a type the converter does not know.
    fn current(&self, name: &str) -> Option<u32>;

    /// The declared releases, oldest first.
    fn release_maps(&self) -> Vec<(&Release, &BTreeMap<String, u32>)>;

    /// The versions `target` stands for, by schema name.
    fn target_versions(&self, target: &Target) -> Result<BTreeMap<String, u32>, SchemaError> {
        match target {
            Target::Latest => Ok(self
                .type_names()
                .into_iter()
                .filter_map(|n| self.current(n).map(|v| (n.to_owned(), v)))
                .collect()),
            Target::Release(wanted) => {
                let releases = self.release_maps();
                match newest_match(releases.iter().copied(), wanted) {
                    Some((_, versions)) => Ok(versions.clone()),
                    None => Err(SchemaError::UnknownRelease {
                        wanted: wanted.clone(),
                        known: releases.iter().map(|(r, _)| r.to_string()).collect(),
                    }),
                }
            }
        }
    }

    /// The record `record` (of `name`, stored in `from`) rewritten for
    /// `versions`, with the records nested in it; `None` when it stays as
    /// it is. The error says why; the caller names the record and step.
    fn rewrite(
        &self,
        record: &NvList,
        name: &str,
        from: u32,
        versions: &BTreeMap<String, u32>,
    ) -> Result<Option<NvList>, String>;

    /// The recorded text of the schema `name` at `version`, for the
    /// image's `schemas` section.
    fn schema_text(&self, name: &str, version: u32) -> Option<String>;
}

impl Converter for Registry {
    fn type_names(&self) -> Vec<&str> {
        self.names()
    }

    fn current(&self, name: &str) -> Option<u32> {
        Registry::current(self, name).map(|e| e.version)
    }

    fn release_maps(&self) -> Vec<(&Release, &BTreeMap<String, u32>)> {
        self.releases().collect()
    }

    fn rewrite(
        &self,
        record: &NvList,
        name: &str,
        from: u32,
        versions: &BTreeMap<String, u32>,
    ) -> Result<Option<NvList>, String> {
        let entry = Registry::current(self, name).expect("the caller checked `current`");
        let to = versions.get(name).copied().unwrap_or(entry.version);
        // A rewrite goes through the current types, whose way down to an
        // older target may not exist: only when a nested record moves.
        let stale = nested_records(record).iter().any(|(inner, version)| {
            let newest = Registry::current(self, inner).map(|e| e.version);
            nested_step(*version, newest, versions.get(inner).copied()) != NestedStep::Keep
        });
        if from == to && !stale {
            return Ok(None);
        }
        let mut full = versions.clone();
        full.entry(name.to_owned()).or_insert(to);
        let rewritten = (entry.write_for_versions)(record, &full).map_err(|e| e.to_string())?;
        Ok(Some(rewritten))
    }

    fn schema_text(&self, name: &str, version: u32) -> Option<String> {
        self.at(name, version)
            .map(|entry| Recorded::of(&(entry.schema)()).to_text())
    }
}

impl Converter for History {
    fn type_names(&self) -> Vec<&str> {
        self.names()
    }

    fn current(&self, name: &str) -> Option<u32> {
        self.latest(name)
    }

    fn release_maps(&self) -> Vec<(&Release, &BTreeMap<String, u32>)> {
        self.releases().iter().map(|(r, m)| (r, m)).collect()
    }

    fn rewrite(
        &self,
        record: &NvList,
        _name: &str,
        _from: u32,
        versions: &BTreeMap<String, u32>,
    ) -> Result<Option<NvList>, String> {
        let mut out = record.clone();
        self.convert(&mut out, versions)
            .map_err(|refused| match refused.path.as_str() {
                "" => refused.message,
                path => format!("{path}: {}", refused.message),
            })?;
        Ok(Some(out))
    }

    fn schema_text(&self, name: &str, version: u32) -> Option<String> {
        self.get(name, version).map(Recorded::to_text)
    }
}

/// Rewrites the top-level records of an nvlist section (its pairs that
/// are records) for `versions`, with the records nested in them. A type
/// `versions` does not name goes to its current version. Returns what
/// changed.
pub fn convert_section(
    converter: &impl Converter,
    section: &str,
    nv: &mut NvList,
    versions: &BTreeMap<String, u32>,
) -> Result<Vec<Converted>, SchemaError> {
    let mut done = Vec::new();
    // By position: each of several pairs of one name (a NO_UNIQUE list)
    // is its own record, and no lookup by name makes this quadratic.
    let mut seen: HashMap<NvString, usize> = HashMap::new();
    let section = quote_str(section);
    for (key, value) in nv.pairs_mut() {
        let nth = seen.entry(key.clone()).or_default();
        *nth += 1;
        let Value::NvList(record) = value else {
            continue;
        };
        let Some((name, from)) = record_meta(record) else {
            continue;
        };
        let path = pair_path(&section, key, *nth);
        let current = converter
            .current(&name)
            .ok_or_else(|| SchemaError::Migrate {
                path: path.clone(),
                message: format!("`{}` is not a record type this program knows", shown(&name)),
            })?;
        let to = versions.get(&name).copied().unwrap_or(current);
        let before = nested_records(record);
        let rewritten = converter
            .rewrite(record, &name, from, versions)
            .map_err(|why| SchemaError::Migrate {
                path: path.clone(),
                message: if from == to {
                    format!("cannot rewrite the records nested in it: {why}")
                } else {
                    format!("cannot go from v{from} to v{to}: {why}")
                },
            })?;
        // A record left as it is (one newer than the target that the
        // target reads) is not reported.
        let Some(rewritten) = rewritten.filter(|r| r != &*record) else {
            continue;
        };
        let nested = nested_records(&rewritten) != before;
        let to = record_meta(&rewritten).map_or(to, |(_, v)| v);
        *record = rewritten;
        done.push(Converted {
            path,
            name,
            from,
            to,
            nested,
        });
    }
    Ok(done)
}

/// Rewrites every record of the image `src` for `target` into `dst`
/// (which may be `src`; opened with `options`, which say the IDENT to
/// expect): nvlist sections converted, the `schemas` section
/// remade, raw and memory sections copied. The new image is written
/// beside `dst`, synced, and renamed over it, so a crash leaves the old
/// file or the new one. Nothing is written when a record cannot be
/// converted; the error names it and the version step.
pub fn migrate_image(
    converter: &impl Converter,
    src: &Path,
    dst: &Path,
    target: &Target,
    options: &OpenOptions,
) -> Result<Vec<Converted>, SchemaError> {
    let versions = converter.target_versions(target)?;
    let image = Image::open(src, options)?;
    let header = image.header().clone();
    // One section decoded at a time: each is converted, its record types
    // noted for the `schemas` section, and kept packed until written.
    let mut lists = Vec::new();
    let mut done = Vec::new();
    let mut seen = BTreeSet::new();
    for s in &header.sections {
        if s.kind == SectionKind::NvList && s.name != SCHEMAS_SECTION {
            let mut nv = image.read_nvlist(&s.name)?;
            done.extend(convert_section(converter, &s.name, &mut nv, &versions)?);
            record_types(&nv, &mut seen);
            lists.push((s.name.clone(), nv.pack()));
        }
    }
    let schemas = schemas_of(converter, seen);

    let write = |tmp: &Path| -> Result<(), SchemaError> {
        let file = File::create(tmp).map_err(|e| io(tmp, e))?;
        let mut b = Builder::new(file, &header.ident, header.producer.clone())?;
        b.keep_header(&header);
        for s in &header.sections {
            match s.kind {
                SectionKind::NvList if s.name == SCHEMAS_SECTION => {
                    b.add_nvlist(SCHEMAS_SECTION, &schemas)?
                }
                SectionKind::NvList => {
                    let packed = &lists
                        .iter()
                        .find(|(n, _)| *n == s.name)
                        .expect("read above")
                        .1;
                    b.add_packed(&s.name, packed)?
                }
                SectionKind::Raw => b.add_raw(&s.name, &image.read_section(&s.name)?)?,
                SectionKind::Memory => {
                    let memory = image.memory(&s.name)?;
                    b.add_memory_copy(&s.name, &memory, &mut |_| {})?;
                }
            }
        }
        if !header.sections.iter().any(|s| s.name == SCHEMAS_SECTION) && !schemas.is_empty() {
            b.add_nvlist(SCHEMAS_SECTION, &schemas)?;
        }
        b.finish()?;
        Ok(())
    };
    replace_file(dst, "migrate", write, io)?;
    Ok(done)
}
