//! Records moved between versions with the recorded history alone: no
//! Rust type, no migration function. What a type declares is data in its
//! schema files (additions with their default values, removals, renames,
//! widenings, the version of every nested record), so a tool that has
//! none of the program's code can still upgrade or downgrade an image
//! whose changes are all declared. A step that declares a migration
//! function is refused, naming the type and the step: only the program's
//! own tool can run it.
//!
//! The rules are the engine's (`migrate`), applied to recorded schemas,
//! and a record comes out as the program's own types would write it: the
//! same pairs in the same order, the same `.min_reader`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use snapshot_nvlist::{NvList, Value};

use super::history::{self, ReleaseMap};
use super::image::read_schemas;
use crate::error::{prepend_field, prepend_index, SchemaError};
use crate::migrate::{nested_step, NestedStep};
use crate::model::by_name::reads_as;
use crate::record::{is_meta, Meta, MIN_READER, SCHEMA, VARIANT, VERSION};
use crate::schema::Recorded;

/// The schema history a tool without the program's code works from: the
/// files of a `schemas/` directory and the schemas an image carries.
#[derive(Clone, Debug, Default)]
pub struct History {
    schemas: BTreeMap<(String, u32), Recorded>,
    releases: Vec<ReleaseMap>,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Adds every schema file and the releases of the directory `dir`, in
    /// the `schemas/` layout. A file that does not parse is an error
    /// naming it.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), SchemaError> {
        if !dir.is_dir() {
            // Not "no history": a mistyped path must not pass for one.
            return Err(history::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            ));
        }
        for name in history::names(dir)? {
            for rec in history::schemas(dir, &name)? {
                self.schemas.insert((rec.name.clone(), rec.version), rec);
            }
        }
        self.releases = history::releases(dir)?;
        Ok(())
    }

    /// Adds the schemas of an image's `schemas` section, for the versions
    /// the directory does not hold (its files are the reference).
    pub fn add_image_section(&mut self, section: &NvList) {
        for (key, rec) in read_schemas(section) {
            self.schemas.entry(key).or_insert(rec);
        }
    }

    /// The recorded schema of `name` at `version`.
    pub fn get(&self, name: &str, version: u32) -> Option<&Recorded> {
        self.schemas.get(&(name.to_owned(), version))
    }

    /// Every recorded schema, by name and version.
    pub fn schemas(&self) -> impl Iterator<Item = &Recorded> {
        self.schemas.values()
    }

    /// The newest recorded version of `name`.
    pub fn latest(&self, name: &str) -> Option<u32> {
        self.schemas
            .range((name.to_owned(), 0)..=(name.to_owned(), u32::MAX))
            .next_back()
            .map(|((_, v), _)| *v)
    }

    /// The schema names, each once, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.schemas.keys().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        names
    }

    /// The recorded releases, oldest first.
    pub fn releases(&self) -> &[ReleaseMap] {
        &self.releases
    }

    /// Rewrites the record `nv` and every record nested in it for
    /// `versions` (types it does not name go to their newest recorded
    /// version). A record newer than its target that says the target can
    /// read it is left whole. Errors name the path inside `nv`.
    pub fn convert(
        &self,
        nv: &mut NvList,
        versions: &BTreeMap<String, u32>,
    ) -> Result<(), Refused> {
        Converter {
            history: self,
            versions,
        }
        .list(nv, true)
    }
}

/// Why a record cannot be rewritten from the history alone, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The value path inside the record converted (`timers[3].mode`;
    /// empty: the record itself), built as record errors build theirs.
    pub path: String,
    /// The record type, the step and what is missing.
    pub message: String,
}

impl Refused {
    fn new(message: String) -> Refused {
        Refused {
            path: String::new(),
            message,
        }
    }

    fn in_field(mut self, name: &str) -> Refused {
        prepend_field(&mut self.path, name);
        self
    }

    fn in_index(mut self, index: usize) -> Refused {
        prepend_index(&mut self.path, index);
        self
    }
}

/// What a record is converted from and to.
struct Plan<'h> {
    name: String,
    stored: u32,
    target: u32,
    /// The schema the record is stored in.
    schema: &'h Recorded,
}

struct Converter<'a> {
    history: &'a History,
    versions: &'a BTreeMap<String, u32>,
}

impl<'a> Converter<'a> {
    /// Converts the records nested in `nv`, innermost first, then `nv`
    /// itself when it is a record: to its target when `top`, else as
    /// [`nested_step`] rules for records nested in another.
    fn list(&self, nv: &mut NvList, top: bool) -> Result<(), Refused> {
        let plan = match Meta::read(nv) {
            Some(meta) if self.left_whole(&meta) => return Ok(()),
            Some(meta) => self.plan(meta.name, meta.version, top)?,
            None => None,
        };
        // Fields the step down drops hold their default in the stored
        // form: they are compared as they are, not converted.
        let dropped: Vec<&str> = match &plan {
            Some(p) if p.target < p.stored => p
                .schema
                .fields
                .iter()
                .filter(|f| f.since > p.target)
                .map(|f| f.name.as_str())
                .collect(),
            _ => Vec::new(),
        };
        for (name, value) in nv.pairs_mut() {
            if dropped.iter().any(|d| d.as_bytes() == name.as_bytes()) {
                continue;
            }
            let field = || String::from_utf8_lossy(name.as_bytes()).into_owned();
            match value {
                Value::NvList(child) => {
                    self.list(child, false).map_err(|e| e.in_field(&field()))?
                }
                Value::NvListArray(children) => {
                    for (i, child) in children.iter_mut().enumerate() {
                        self.list(child, false)
                            .map_err(|e| e.in_index(i).in_field(&field()))?;
                    }
                }
                _ => {}
            }
        }
        match plan {
            Some(plan) if plan.target > plan.stored => self.upgrade(nv, &plan),
            Some(plan) => self.downgrade(nv, &plan),
            None => Ok(()),
        }
    }

    /// The version a record of `name` is written in.
    fn target(&self, name: &str) -> Option<u32> {
        self.versions
            .get(name)
            .copied()
            .or_else(|| self.history.latest(name))
    }

    /// Whether a record is left whole, insides included: one newer than
    /// every recorded version of its type (so there is no way down from
    /// it) that says its target reads it as it is.
    fn left_whole(&self, meta: &Meta<'_>) -> bool {
        match self.target(meta.name) {
            Some(target) if meta.version > target => {
                self.history.get(meta.name, meta.version).is_none() && meta.min_reader <= target
            }
            _ => false,
        }
    }

    /// What the record needs, or `None` when it stays in its version (or
    /// is left whole).
    fn plan(&self, name: &str, stored: u32, top: bool) -> Result<Option<Plan<'a>>, Refused> {
        let Some(target) = self.target(name) else {
            // A type with no recorded schema anywhere: nothing says what
            // its versions are, so it is left as it is.
            return Ok(None);
        };
        let newest = self.history.latest(name);
        let target = match (
            top,
            nested_step(stored, newest, self.versions.get(name).copied()),
        ) {
            (true, _) => target,
            (false, NestedStep::Keep) => stored,
            (false, NestedStep::Down) => target,
            (false, NestedStep::Up) => newest.unwrap_or(target),
        };
        if stored == target {
            return Ok(None);
        }
        let schema = self.history.get(name, stored).ok_or_else(|| {
            Refused::new(format!(
                "`{name}` v{stored}: its schema is not in the history (neither in the image's \
                 `schemas` section nor in the schema directory)"
            ))
        })?;
        Ok(Some(Plan {
            name: name.to_owned(),
            stored,
            target,
            schema,
        }))
    }

    fn schema(&self, plan: &Plan<'_>, version: u32) -> Result<&'a Recorded, Refused> {
        self.history.get(&plan.name, version).ok_or_else(|| {
            Refused::new(format!(
                "`{}` v{} -> v{}: the history lacks v{version}",
                plan.name, plan.stored, plan.target
            ))
        })
    }

    fn needs_code(plan: &Plan<'_>, from: u32, to: u32) -> Refused {
        Refused::new(format!(
            "`{}` v{from} -> v{to} runs a migration function, which only the VMM's own \
             tool has (snapshot_cli::main_with): run the migration there",
            plan.name
        ))
    }

    fn upgrade(&self, nv: &mut NvList, plan: &Plan<'_>) -> Result<(), Refused> {
        for s in plan.stored..plan.target {
            let next = self.schema(plan, s + 1)?;
            if next.migrations.iter().any(|m| m.from == s) {
                return Err(Self::needs_code(plan, s, s + 1));
            }
            for field in &next.fields {
                rename(nv, field.name_at(s), field.name_at(s + 1), plan, s, s + 1)?;
            }
            for (removed, _) in next.removed.iter().filter(|(_, since)| *since == s + 1) {
                nv.remove(removed);
            }
        }
        let target = self.schema(plan, plan.target)?;
        check_fields(nv, target, plan)?;
        // Written as the type writes it: added fields holding their default
        // are left out, and the record says its oldest reader.
        for f in target.fields.iter().filter(|f| f.since > 1) {
            if let (Some(default), Some(value)) = (&f.default_value, nv.get(&f.name)) {
                if value == default {
                    nv.remove(&f.name);
                }
            }
        }
        let oldest = oldest_reader(nv, target);
        let order = field_order(target, nv, plan.target);
        finish(
            nv,
            plan.target,
            &order,
            (oldest < plan.target).then_some(oldest),
        );
        Ok(())
    }

    fn downgrade(&self, nv: &mut NvList, plan: &Plan<'_>) -> Result<(), Refused> {
        // Fields added after the target: dropped when they hold their
        // default, else the older reader would lose them.
        for f in plan.schema.fields.iter().filter(|f| f.since > plan.target) {
            let Some(value) = nv.get(&f.name) else {
                continue;
            };
            match &f.default_value {
                Some(default) if value == default => {
                    nv.remove(&f.name);
                }
                Some(_) => {
                    return Err(Refused::new(format!(
                        "`{}` v{} -> v{}: added in v{} and holds a non-default value that an \
                         older reader would lose",
                        plan.name, plan.stored, plan.target, f.since
                    ))
                    .in_field(&f.name))
                }
                None => {
                    return Err(Refused::new(format!(
                        "`{}` v{} -> v{}: added in v{}, and the history records no default \
                         value to compare it with",
                        plan.name, plan.stored, plan.target, f.since
                    ))
                    .in_field(&f.name))
                }
            }
        }
        for s in (plan.target + 1..=plan.stored).rev() {
            let schema = self.schema(plan, s)?;
            if schema.migrations.iter().any(|m| m.from == s - 1) {
                return Err(Self::needs_code(plan, s, s - 1));
            }
            for field in &schema.fields {
                rename(nv, field.name_at(s), field.name_at(s - 1), plan, s, s - 1)?;
            }
            if let Some((removed, _)) = schema.removed.iter().find(|(_, since)| *since == s) {
                return Err(Refused::new(format!(
                    "`{}` v{s} -> v{}: removed in v{s}, and the older reader expects it: only \
                     a down migration could restore it",
                    plan.name,
                    s - 1
                ))
                .in_field(removed));
            }
            for field in &schema.fields {
                let Some((older, _)) = field.widened_from.as_ref().filter(|(_, v)| *v == s) else {
                    continue;
                };
                let name = field.name_at(s - 1);
                let Some(value) = nv.get(name) else { continue };
                match fits(older, value) {
                    Some(true) => {}
                    Some(false) => {
                        return Err(Refused::new(format!(
                            "`{}` v{s} -> v{}: {} does not fit {older}, its type before v{s}",
                            plan.name,
                            s - 1,
                            show(value)
                        ))
                        .in_field(name))
                    }
                    None => {
                        return Err(Refused::new(format!(
                            "`{}` v{s} -> v{}: widened from `{older}` in v{s}, which only the \
                             VMM's own tool can check values against",
                            plan.name,
                            s - 1
                        ))
                        .in_field(name))
                    }
                }
            }
        }
        let target = self.schema(plan, plan.target)?;
        if let Some(variants) = &target.variants {
            if let Ok(variant) = nv.get_string(VARIANT) {
                if !variants.iter().any(|v| v.name == variant) {
                    return Err(Refused::new(format!(
                        "`{}` v{} -> v{}: variant `{variant}` is not one of v{}",
                        plan.name, plan.stored, plan.target, plan.target
                    )));
                }
            }
        }
        check_fields(nv, target, plan)?;
        // Written for exactly that reader, every field stored, in the
        // order of the version it comes from, as the type's own downgrade
        // writes it.
        for f in &target.fields {
            if !nv.contains(&f.name) {
                if let Some(default) = &f.default_value {
                    nv.insert(f.name.as_str(), default.clone());
                }
            }
        }
        let order = field_order(plan.schema, nv, plan.target);
        finish(nv, plan.target, &order, None);
        Ok(())
    }
}

fn rename(
    nv: &mut NvList,
    from: &str,
    to: &str,
    plan: &Plan<'_>,
    a: u32,
    b: u32,
) -> Result<(), Refused> {
    if from == to {
        return Ok(());
    }
    nv.rename(from, to).map(drop).map_err(|_| {
        Refused::new(format!(
            "`{}` v{a} -> v{b}: renaming `{from}` finds `{to}` stored already",
            plan.name
        ))
        .in_field(to)
    })
}

/// Refuses what the target's type would refuse to read: a pair that is
/// not one of its fields, a field stored twice, a field it needs that is
/// missing.
fn check_fields(nv: &NvList, target: &Recorded, plan: &Plan<'_>) -> Result<(), Refused> {
    let step = || format!("`{}` v{} -> v{}", plan.name, plan.stored, plan.target);
    // Sets, not scans: a record may hold any number of pairs.
    let fields: HashSet<&[u8]> = field_order(target, nv, target.version)
        .into_iter()
        .map(str::as_bytes)
        .collect();
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(nv.len());
    for (name, _) in nv.iter() {
        let name = name.as_bytes();
        if is_meta(name) {
            continue;
        }
        let text = String::from_utf8_lossy(name);
        if !fields.contains(name) {
            return Err(Refused::new(format!(
                "{}: unknown field (neither current, former, nor declared removed)",
                step()
            ))
            .in_field(&text));
        }
        if !seen.insert(name) {
            return Err(Refused::new(format!("{}: stored twice", step())).in_field(&text));
        }
    }
    for f in &target.fields {
        if !nv.contains(&f.name) && f.default.is_none() {
            return Err(Refused::new(format!("{}: missing", step())).in_field(&f.name));
        }
    }
    Ok(())
}

/// The oldest reader of a record of `target`'s version as the type's
/// writer computes it: any rename, removal or migration in the history
/// changes the shape an older reader expects, and so does a stored added
/// field or a value too wide for a widened field's older type.
pub(crate) fn oldest_reader(nv: &NvList, target: &Recorded) -> u32 {
    let mut oldest = 1;
    for f in &target.fields {
        for (_, renamed_in) in &f.renamed_from {
            oldest = oldest.max(*renamed_in);
        }
        let Some(value) = nv.get(&f.name) else {
            continue;
        };
        if f.since > 1 {
            oldest = oldest.max(f.since);
        }
        if let Some((older, widened_in)) = &f.widened_from {
            if fits(older, value) != Some(true) {
                oldest = oldest.max(*widened_in);
            }
        }
    }
    for (_, since) in &target.removed {
        oldest = oldest.max(*since);
    }
    if let (Some(variants), Ok(name)) = (&target.variants, nv.get_string(VARIANT)) {
        if let Some(v) = variants.iter().find(|v| v.name == name) {
            oldest = oldest.max(v.since);
        }
    }
    // Saturating: the numbers come from a file, maybe a hostile image's.
    for m in &target.migrations {
        oldest = oldest.max(m.from.saturating_add(1));
    }
    oldest
}

/// Puts the pairs in the order the type writes them: metadata, the fields
/// in `order`, `.min_reader` last.
fn finish(nv: &mut NvList, version: u32, order: &[&str], oldest: Option<u32>) {
    nv.insert(VERSION, u64::from(version));
    nv.remove(MIN_READER);
    let mut out = NvList::with_flags(nv.flags());
    for name in [SCHEMA, VERSION, VARIANT].iter().chain(order) {
        if let Some(value) = nv.remove(name) {
            out.push(*name, value);
        }
    }
    // Anything else (metadata of a later format) keeps its place after
    // the fields, name bytes as they are.
    for (name, value) in nv.iter() {
        out.push(name.clone(), value.clone());
    }
    if let Some(oldest) = oldest {
        out.push(MIN_READER, u64::from(oldest));
    }
    *nv = out;
}

/// The fields of `schema` (of the stored variant, for an enum) in
/// declaration order, each by its name at `version`, without those added
/// after it.
fn field_order<'s>(schema: &'s Recorded, nv: &NvList, version: u32) -> Vec<&'s str> {
    match &schema.variants {
        None => schema
            .fields
            .iter()
            .filter(|f| f.since <= version)
            .map(|f| f.name_at(version))
            .collect(),
        Some(variants) => {
            let variant = nv.get_string(VARIANT).unwrap_or_default();
            variants
                .iter()
                .find(|v| v.name == variant)
                .map(|v| v.fields.iter().map(|(n, _)| n.as_str()).collect())
                .unwrap_or_default()
        }
    }
}

/// Whether a stored value reads as the type named `ty`, by the data
/// model's own reading of it; `None` for a type the history cannot check
/// without the program's code.
fn fits(ty: &str, value: &Value) -> Option<bool> {
    reads_as(ty, value).map(|r| r.is_ok())
}

fn show(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        other => format!("a {}", other.ty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widenings_are_checked_as_the_data_model_reads_the_older_type() {
        let minus_128 = Value::Number((-128i64) as u64);
        assert_eq!(fits("i8", &minus_128), Some(true));
        assert_eq!(fits("i8", &Value::Number(128)), Some(false));
        assert_eq!(fits("u16", &Value::Number(65_535)), Some(true));
        assert_eq!(fits("u16", &Value::Number(65_536)), Some(false));
        assert_eq!(fits("u16", &Value::Bool(true)), Some(false));
        assert_eq!(fits("Wide", &Value::Number(1)), None);
    }

    #[test]
    fn a_hostile_migration_number_does_not_overflow() {
        let rec =
            Recorded::parse("schema d 2\nkind struct\nfield a: u32\nmigration 4294967295 up\n")
                .unwrap();
        assert_eq!(oldest_reader(&NvList::new(), &rec), u32::MAX);
    }
}
