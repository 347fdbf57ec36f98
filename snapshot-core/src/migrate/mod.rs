//! The migration engine: moves a record's nvlist between versions, one
//! step at a time.
//!
//! Upgrading step `s -> s+1` runs the declared `up` migration from `s` on
//! the stored shape of `s` (so it still sees fields about to be renamed or
//! removed), then renames the fields renamed in `s+1` and drops the fields
//! removed in `s+1`. Fields added in `s+1` that are still missing take
//! their default when the record is decoded.
//!
//! Downgrading `s -> s-1` undoes that in reverse order: the renames of `s`
//! are undone, the `down` migration runs, each field widened in `s`, or
//! that the migration says it converts, must hold a value that reads as
//! its older type, and each field added in `s` must hold its default,
//! which is dropped; an enum must hold a variant the target has. Anything
//! else is an error, because the older reader would lose or misread it.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, MigrationError, Result, Step, ValueFault};
use crate::model::Field;
use crate::nvlist::{NvList, Value};
use crate::record::{Meta, RecordSchemas, MIN_READER, VARIANT, VERSION};
use crate::schema::{MigrateFn, Schema};

/// Checks, in a down migration, that the pair `name` fits the older type
/// `T`: a widened field (`u16` to `u32`) goes back only when its value fits,
/// never truncated.
///
/// ```
/// use snapshot_core::{migrate, NvList};
///
/// let nv = NvList::new().with("status", 70_000u64);
/// let err = migrate::check_fits::<u16>(&nv, "status").unwrap_err();
/// assert_eq!(err.to_string(), "status: 70000 does not fit u16");
/// ```
pub fn check_fits<T: Field>(nv: &NvList, name: &str) -> Result<(), MigrationError> {
    let value = nv
        .get(name)
        .ok_or_else(|| Error::value(ValueFault::Missing).in_field(name))?;
    T::from_value(value).map_err(|e| e.in_field(name))?;
    Ok(())
}

fn run(nv: &mut NvList, f: MigrateFn, step: Step) -> Result<()> {
    f(nv).map_err(|source| {
        ErrorKind::Migration {
            path: String::new(),
            step,
            source,
        }
        .into()
    })
}

fn rename(nv: &mut NvList, from: &str, to: &str, step: Step) -> Result<()> {
    if from == to {
        return Ok(());
    }
    match nv.rename(from, to) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::value(ValueFault::Duplicate)
            .in_field(to)
            .in_step(step)),
    }
}

/// Upgrades `nv`, stored in version `from`, to `schema.version`.
pub(crate) fn upgrade(nv: &mut NvList, schema: &Schema, from: u32) -> Result<()> {
    for s in from..schema.version {
        let step = Step { from: s, to: s + 1 };
        if let Some(m) = schema.migration(s) {
            run(nv, m.up, step)?;
        }
        for field in schema.fields() {
            rename(nv, field.name_at(s), field.name_at(s + 1), step)?;
        }
        for removed in schema.removed.iter().filter(|r| r.since == s + 1) {
            nv.remove(removed.name);
        }
    }
    Ok(())
}

/// Checks that `target` is a version a type of version `current` can be
/// written in.
pub(crate) fn check_target(target: u32, current: u32) -> Result<()> {
    if target == 0 || target > current {
        return Err(Error::value(ValueFault::UnsupportedVersion {
            target,
            current,
        }));
    }
    Ok(())
}

/// Downgrades `nv`, encoded in the current version, to version `to`.
/// Fields left out for holding their default are put back first: a down
/// migration may read them. With `targets`, records nested in the fields
/// the target keeps were stepped down already (`StepDown::step_down`), and
/// so are the defaults put back for those fields.
pub(crate) fn downgrade(
    nv: &mut NvList,
    schema: &Schema,
    to: u32,
    targets: Option<&StepDown<'_>>,
) -> Result<()> {
    let default_of = |field: &crate::schema::FieldSchema| -> Result<Option<Value>> {
        let Some(default) = &field.default else {
            return Ok(None);
        };
        let mut value = (default.value)();
        // A field the target keeps holds its value in the target's form; a
        // field it drops is compared in the current form (`step_down`).
        if let Some(targets) = targets.filter(|_| field.since <= to) {
            targets
                .step_down_value(&mut value)
                .map_err(|e| e.in_field(field.name))?;
        }
        Ok(Some(value))
    };
    for field in schema.fields() {
        if !nv.contains(field.name) {
            if let Some(value) = default_of(field)? {
                nv.insert(field.name, value);
            }
        }
    }
    for s in (to + 1..=schema.version).rev() {
        let step = Step { from: s, to: s - 1 };
        for field in schema.fields() {
            rename(nv, field.name_at(s), field.name_at(s - 1), step)?;
        }
        match schema.migration(s - 1) {
            Some(m) => {
                let down = m
                    .down
                    .ok_or_else(|| Error::value(ValueFault::NoDowngrade).in_step(step))?;
                run(nv, down, step)?;
                for c in &m.converts {
                    let Some(older) = &c.from else { continue };
                    if let Some(value) = nv.get(c.name) {
                        (older.fits)(value).map_err(|e| e.in_field(c.name).in_step(step))?;
                    }
                }
            }
            // A field removed in this step existed in the older version,
            // which expects it back: only a down migration can say what it
            // held, so without one the record would silently lack it.
            None => {
                if let Some(r) = schema.removed.iter().find(|r| r.since == s) {
                    return Err(Error::value(ValueFault::NotRestored)
                        .in_field(r.name)
                        .in_step(step));
                }
            }
        }
        for field in schema.fields() {
            let Some(widened) = field.widened.as_ref().filter(|w| w.widened_in == s) else {
                continue;
            };
            let name = field.name_at(s - 1);
            if let Some(value) = nv.get(name) {
                (widened.fits)(value).map_err(|e| e.in_field(name).in_step(step))?;
            }
        }
        for field in schema.fields().iter().filter(|f| f.since == s) {
            let name = field.name_at(s);
            let Some(value) = nv.get(name) else {
                continue;
            };
            if default_of(field)?.as_ref() != Some(value) {
                return Err(Error::value(ValueFault::NotDefault { since: s })
                    .in_field(name)
                    .in_step(step));
            }
            nv.remove(name);
        }
    }
    if let Ok(name) = nv.get_string(VARIANT) {
        if let Some(v) = schema
            .variants()
            .iter()
            .find(|v| v.name == name && v.since > to)
        {
            return Err(Error::value(ValueFault::VariantTooNew {
                variant: v.name.to_owned(),
                since: v.since,
            })
            .in_step(Step {
                from: schema.version,
                to,
            }));
        }
    }
    nv.insert(VERSION, u64::from(to));
    // Written for exactly that reader: the minimum is the version itself.
    nv.remove(MIN_READER);
    Ok(())
}

/// What becomes of a record nested in a value written for an older (or
/// the newest) build: the one rule that both the typed writer
/// ([`Snapshot::to_nvlist_for_versions`](crate::Snapshot::to_nvlist_for_versions))
/// and the rewrite of whole images follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedStep {
    /// Left as it is: the target reads it in its stored version.
    Keep,
    /// Stepped down to the target's version of its type.
    Down,
    /// Brought up to the newest version, which the target asks for.
    Up,
}

/// The step of a record nested in another, stored in `stored`, of a type
/// whose newest version is `newest`, for a target that asks for `wanted`
/// (`None`: the newest). A type unknown to the caller (`newest` is `None`)
/// steps down only when the target names an older version (the record
/// holding it may know the type). A record newer than `newest` is the
/// caller's to judge, as there is no way down from a version it does not
/// know: see `StepDown::step_down_list`.
pub fn nested_step(stored: u32, newest: Option<u32>, wanted: Option<u32>) -> NestedStep {
    let Some(newest) = newest else {
        return match wanted {
            Some(wanted) if stored > wanted => NestedStep::Down,
            _ => NestedStep::Keep,
        };
    };
    let wanted = wanted.unwrap_or(newest);
    if stored > wanted {
        NestedStep::Down
    } else if stored < wanted && wanted == newest {
        NestedStep::Up
    } else {
        NestedStep::Keep
    }
}

/// What nested records are written for: the schemas of the record types
/// a value holds, and the version to write each in (types not named keep
/// their current version).
pub(crate) struct StepDown<'a> {
    schemas: &'a RecordSchemas,
    versions: &'a BTreeMap<String, u32>,
}

impl<'a> StepDown<'a> {
    pub(crate) fn new(schemas: &'a RecordSchemas, versions: &'a BTreeMap<String, u32>) -> Self {
        StepDown { schemas, versions }
    }

    /// Steps `nv` down: first the records nested in it, at any depth and
    /// innermost first, each to its type's version; then `nv` itself, when
    /// `own` gives its schema and a target below the current version.
    /// Fields that the step drops (added after the target) are left as
    /// they are: they must hold their default, which is compared in the
    /// current form, and what they hold is not the older reader's concern.
    pub(crate) fn step_down(&self, nv: &mut NvList, own: Option<(Schema, u32)>) -> Result<()> {
        let own = own.filter(|(schema, target)| *target < schema.version);
        let dropped: Vec<&str> = match &own {
            Some((schema, target)) => schema
                .fields()
                .iter()
                .filter(|f| f.since > *target)
                .map(|f| f.name)
                .collect(),
            None => Vec::new(),
        };
        // In place, one pass: looking each list up again by name would be
        // quadratic in a long positional list.
        for (name, value) in nv.pairs_mut() {
            if dropped.iter().any(|d| d.as_bytes() == name.as_bytes()) {
                continue;
            }
            let path = || String::from_utf8_lossy(name.as_bytes()).into_owned();
            match value {
                Value::NvList(child) => {
                    self.step_down_list(child)
                        .map_err(|e| e.in_field(&path()))?;
                }
                Value::NvListArray(children) => {
                    for (i, child) in children.iter_mut().enumerate() {
                        self.step_down_list(child)
                            .map_err(|e| e.in_index(i).in_field(&path()))?;
                    }
                }
                _ => {}
            }
        }
        let Some((schema, target)) = own else {
            return Ok(());
        };
        downgrade(nv, &schema, target, Some(self))?;
        // A down migration may have moved records out of a dropped field
        // into one the target keeps: those are still in the current form.
        // Records stepped down above are at their target and stay as they
        // are.
        self.step_down(nv, None)
    }

    /// [`StepDown::step_down`] for a value that may be or hold records (a
    /// record-typed field's default).
    fn step_down_value(&self, value: &mut Value) -> Result<()> {
        match value {
            Value::NvList(nv) => self.step_down_list(nv),
            Value::NvListArray(lists) => {
                for (i, nv) in lists.iter_mut().enumerate() {
                    self.step_down_list(nv).map_err(|e| e.in_index(i))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// [`StepDown::step_down`] for a nested list, which steps down itself
    /// when it is a record whose type is asked for in an older version.
    ///
    /// Such a record is not always in the current version: a down
    /// migration may have written an older one, and a raw `NvList` field
    /// keeps what it was given. It is brought to the current version
    /// first, since the steps down start there.
    fn step_down_list(&self, nv: &mut NvList) -> Result<()> {
        let mut own = None;
        if let Some(meta) = Meta::read(nv) {
            let (name, stored) = (meta.name, meta.version);
            let target = self.versions.get(name).copied();
            let newest = self.schemas.version(name);
            let lowers = newest.is_some_and(|v| stored <= v)
                && nested_step(stored, newest, target) == NestedStep::Down;
            // Only a type being stepped down, or one newer than this
            // build, needs its schema; asking for it refuses an ambiguous
            // generic record.
            let schema = match newest {
                Some(v) if lowers || stored > v => {
                    self.schemas.check_unambiguous(name)?;
                    self.schemas.get(name)
                }
                _ => None,
            };
            if let Some(schema) = schema {
                if stored > schema.version {
                    // Newer than this build: left whole, insides included,
                    // unless the map names a version of its type that
                    // cannot read it: refused then, as there is no way down
                    // from a version this build does not know.
                    let Some(reader) = target else {
                        return Ok(());
                    };
                    if meta.min_reader <= reader {
                        return Ok(());
                    }
                    return Err(Error::value(ValueFault::TooNew {
                        stored,
                        min_reader: meta.min_reader,
                        reader: schema.version,
                    }));
                }
                if let Some(target) = target.filter(|_| lowers) {
                    check_target(target, schema.version)?;
                    if stored < schema.version {
                        upgrade(nv, &schema, stored)?;
                        nv.insert(VERSION, u64::from(schema.version));
                        nv.remove(MIN_READER);
                    }
                    own = Some((schema, target));
                }
            }
        }
        self.step_down(nv, own)
    }
}

#[cfg(test)]
mod tests {
    use super::{nested_step, NestedStep::*};

    #[test]
    fn nested_records_move_only_when_their_target_says_so() {
        // (stored, newest, wanted) -> step
        let cases = [
            ((2, Some(2), None), Keep),
            ((1, Some(2), None), Up),
            ((1, Some(3), Some(3)), Up),
            ((1, Some(3), Some(2)), Keep),
            ((3, Some(3), Some(2)), Down),
            ((2, Some(3), Some(2)), Keep),
            ((2, None, Some(1)), Down),
            ((2, None, Some(2)), Keep),
            ((2, None, None), Keep),
        ];
        for ((stored, newest, wanted), step) in cases {
            assert_eq!(
                nested_step(stored, newest, wanted),
                step,
                "{stored} {newest:?} {wanted:?}"
            );
        }
    }
}
