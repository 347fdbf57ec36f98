//! Differences between two recorded versions of a type, each classified
//! for both directions, the way `buf breaking` classifies protobuf changes.
//!
//! *Upgrade* is an old snapshot read by the newer build; *downgrade* is the
//! newer build writing for the older reader. The history declared in the
//! newer schema (defaults, former names, removals, migrations) decides
//! whether a change is compatible as is, through a declared migration, or
//! breaking.

use std::fmt;

use crate::schema::text::{Recorded, RecordedField, RecordedMigration};

/// How one direction copes with a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compat {
    /// Compatible with no code: the engine handles it.
    AsIs,
    /// Compatible through a declared migration function.
    Migration,
    /// Not compatible: a snapshot would be refused or misread.
    Breaking,
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compat::AsIs => "compatible",
            Compat::Migration => "via migration",
            Compat::Breaking => "BREAKING",
        })
    }
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A field the older version did not have.
    Added,
    /// A field the newer version no longer has.
    Removed,
    /// A field stored under another name (`from` is the old name).
    Renamed {
        /// The old name.
        from: String,
    },
    /// A field whose Rust type changed.
    Retyped {
        /// The old type.
        from: String,
        /// The new type.
        to: String,
    },
    /// The fields kept their names but not their order.
    Reordered,
    /// An enum variant the older version did not have.
    VariantAdded,
    /// An enum variant the newer version no longer has.
    VariantRemoved,
    /// An enum variant whose fields (or declared `since`) changed.
    VariantChanged,
    /// A struct became an enum, or an enum a struct.
    KindChanged,
}

/// One classified change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The field or variant (its newer name when renamed).
    pub name: String,
    /// What changed.
    pub kind: ChangeKind,
    /// Reading an older snapshot with the newer build.
    pub upgrade: Compat,
    /// Writing from the newer build for the older reader.
    pub downgrade: Compat,
    /// What to do about a breaking direction, or why it works.
    pub note: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            ChangeKind::Added => "added".to_owned(),
            ChangeKind::Removed => "removed".to_owned(),
            ChangeKind::Renamed { from } => format!("renamed from `{from}`"),
            ChangeKind::Retyped { from, to } => format!("retyped {from} -> {to}"),
            ChangeKind::Reordered => "reordered".to_owned(),
            ChangeKind::VariantAdded => "variant added".to_owned(),
            ChangeKind::VariantRemoved => "variant removed".to_owned(),
            ChangeKind::VariantChanged => "variant fields changed".to_owned(),
            ChangeKind::KindChanged => "kind changed".to_owned(),
        };
        write!(
            f,
            "{}: {what}; upgrade {}, downgrade {}",
            self.name, self.upgrade, self.downgrade
        )?;
        if !self.note.is_empty() {
            write!(f, " ({})", self.note)?;
        }
        Ok(())
    }
}

impl Change {
    /// Whether either direction is broken: the one test of a change that
    /// the checker, bless, `schema diff` and the compat tests apply.
    pub fn is_breaking(&self) -> bool {
        self.upgrade == Compat::Breaking || self.downgrade == Compat::Breaking
    }
}

/// The changes from `old` to `new`, two recorded versions of one type,
/// `old` the older (callers refuse the arguments the other way round:
/// every change would be classified backwards).
///
/// This is the one classification of the project: the checker, bless,
/// `snapshot schema diff` and the compat tests all read it, and it says
/// what the engine does, so that "compatible" never hides a misread:
/// - upgrade is compatible as is when the engine needs no code (a
///   default, a declared removal or rename, a widening), via migration
///   when a declared migration of the steps between does it, and
///   breaking otherwise;
/// - downgrade is compatible as is when the engine writes for the older
///   reader or refuses the one value it cannot (an added field holding
///   its default, a declared widening, a variant with `since`), via
///   migration when a `down` migration does it, and breaking otherwise;
/// - a retype, and a reshaped or removed variant, count as via
///   migration only when the migration names them in `converts(...)`:
///   the engine then checks, writing for the older reader, that the
///   field reads as its older type.
pub fn diff(old: &Recorded, new: &Recorded) -> Vec<Change> {
    Differ { old, new }.run()
}

struct Differ<'a> {
    old: &'a Recorded,
    new: &'a Recorded,
}

impl Differ<'_> {
    /// The migrations of the steps between the two versions.
    fn steps(&self) -> impl Iterator<Item = &RecordedMigration> {
        let (lo, hi) = (self.old.version, self.new.version);
        self.new
            .migrations
            .iter()
            .filter(move |m| m.from >= lo && m.from < hi)
    }

    /// The migration of the step into version `v`.
    fn step_into(&self, v: u32) -> Option<&RecordedMigration> {
        self.new
            .migrations
            .iter()
            .find(|m| m.from.checked_add(1) == Some(v))
    }

    /// Both directions through migration `m`: up always, down when it has
    /// one.
    fn through(m: &RecordedMigration) -> (Compat, Compat) {
        let down = if m.down {
            Compat::Migration
        } else {
            Compat::Breaking
        };
        (Compat::Migration, down)
    }

    /// The name `field` had in the older version.
    fn old_name<'f>(&self, field: &'f RecordedField) -> &'f str {
        field.name_at(self.old.version)
    }

    fn run(&self) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.old.variants.is_some() != self.new.variants.is_some() {
            changes.push(Change {
                name: "(kind)".into(),
                kind: ChangeKind::KindChanged,
                upgrade: Compat::Breaking,
                downgrade: Compat::Breaking,
                note: "a struct became an enum or the other way round: give the record another \
                       schema name"
                    .into(),
            });
            return changes;
        }
        let mut kept = Vec::new();
        for nf in &self.new.fields {
            let old_name = self.old_name(nf);
            match self.old.field(old_name) {
                Some(of) => {
                    kept.push(old_name);
                    if old_name != nf.name {
                        changes.push(Change {
                            name: nf.name.clone(),
                            kind: ChangeKind::Renamed {
                                from: old_name.to_owned(),
                            },
                            upgrade: Compat::AsIs,
                            downgrade: Compat::AsIs,
                            note: String::new(),
                        });
                    }
                    if of.ty != nf.ty && stored_alike(&of.ty, &nf.ty) {
                        changes.push(Change {
                            name: nf.name.clone(),
                            kind: ChangeKind::Retyped {
                                from: of.ty.clone(),
                                to: nf.ty.clone(),
                            },
                            upgrade: Compat::AsIs,
                            downgrade: Compat::AsIs,
                            note: "stored alike: `Wrapping<T>` is stored as `T`".into(),
                        });
                    } else if of.ty != nf.ty {
                        changes.push(self.retyped(of, nf));
                    }
                }
                None => changes.push(self.added(nf)),
            }
        }
        for of in &self.old.fields {
            if !kept.contains(&of.name.as_str()) {
                changes.push(self.removed(of));
            }
        }
        let old_order: Vec<&str> = self
            .old
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| kept.contains(n))
            .collect();
        if old_order != kept {
            changes.push(Change {
                name: "(fields)".into(),
                kind: ChangeKind::Reordered,
                upgrade: Compat::AsIs,
                downgrade: Compat::AsIs,
                note: "fields are found by name".into(),
            });
        }
        self.variants(&mut changes);
        changes
    }

    /// An old field of `nf`'s type gone in the version that adds `nf`:
    /// perhaps a rename written as a removal and an addition.
    fn lookalike(&self, nf: &RecordedField) -> Option<&RecordedField> {
        self.old.fields.iter().find(|of| {
            of.ty == nf.ty
                && self.new.field(&of.name).is_none()
                && !self
                    .new
                    .fields
                    .iter()
                    .any(|f| f.name_at(self.old.version) == of.name)
                && self
                    .new
                    .removed
                    .iter()
                    .find(|(name, _)| *name == of.name)
                    .is_none_or(|(_, since)| *since == nf.since)
        })
    }

    fn added(&self, nf: &RecordedField) -> Change {
        let b = self.new.version;
        let change = |upgrade, downgrade, note| Change {
            name: nf.name.clone(),
            kind: ChangeKind::Added,
            upgrade,
            downgrade,
            note,
        };
        if nf.since <= self.old.version {
            let said = if nf.since == 1 {
                "has no `since`".to_owned()
            } else {
                format!("says `since = {}`", nf.since)
            };
            return change(
                Compat::Breaking,
                Compat::Breaking,
                format!(
                    "{said} but v{} does not have it: declare `#[snapshot(since = {b}, default)]` \
                     (or `default = path`)",
                    self.old.version
                ),
            );
        }
        let migration = self.step_into(nf.since);
        if let Some(of) = self.lookalike(nf) {
            let rename = format!(
                "did you mean `#[snapshot(rename_from = \"{}\", renamed_in = {})]`? `{}` ({}) is \
                 removed in the same version",
                of.name, nf.since, of.name, of.ty
            );
            return match migration {
                Some(m) => {
                    let (up, down) = Self::through(m);
                    change(up, down, rename)
                }
                None => change(
                    Compat::Breaking,
                    Compat::AsIs,
                    format!(
                        "{rename}, and its value would be lost on upgrade; if the two are \
                         unrelated, declare the `migrate(from = {}, ...)` that fills `{}`",
                        nf.since - 1,
                        nf.name
                    ),
                ),
            };
        }
        if nf.default.is_some() {
            return change(
                Compat::AsIs,
                Compat::AsIs,
                "old snapshots read the default; written for the older reader only while it holds the default".into(),
            );
        }
        match migration {
            Some(m) if m.down => change(Compat::Migration, Compat::Migration, String::new()),
            Some(_) => change(
                Compat::Migration,
                Compat::Breaking,
                format!(
                    "give `migrate(from = {})` a `down` that consumes it, to write for the older reader",
                    nf.since - 1
                ),
            ),
            None => change(
                Compat::Breaking,
                Compat::Breaking,
                format!(
                    "give it `#[snapshot(since = {}, default)]`, or a `migrate(from = {}, ...)` that stores it",
                    nf.since,
                    nf.since - 1
                ),
            ),
        }
    }

    fn removed(&self, of: &RecordedField) -> Change {
        let (a, b) = (self.old.version, self.new.version);
        let declared = self
            .new
            .removed
            .iter()
            .find(|(name, since)| *name == of.name && *since > a && *since <= b)
            .map(|(_, since)| *since);
        let change = |upgrade, downgrade, note| Change {
            name: of.name.clone(),
            kind: ChangeKind::Removed,
            upgrade,
            downgrade,
            note,
        };
        let Some(since) = declared else {
            return change(
                Compat::Breaking,
                Compat::Breaking,
                format!(
                    "declare `#[snapshot(removed(field = \"{}\", since = {b}))]`, and a \
                     `migrate(from = {}, up = ..., down = ...)` whose `down` restores it for the \
                     older reader",
                    of.name,
                    b - 1
                ),
            );
        };
        match self.step_into(since) {
            Some(m) if m.down => change(Compat::AsIs, Compat::Migration, String::new()),
            _ => change(
                Compat::AsIs,
                Compat::Breaking,
                format!(
                    "the v{} reader expects it: declare `#[snapshot(migrate(from = {}, up = ..., \
                     down = ...))]` whose `down` restores it (`up` is required too: one that \
                     leaves the record as it is will do)",
                    since - 1,
                    since - 1
                ),
            ),
        }
    }

    fn retyped(&self, of: &RecordedField, nf: &RecordedField) -> Change {
        let b = self.new.version;
        let change = |upgrade, downgrade, note| Change {
            name: nf.name.clone(),
            kind: ChangeKind::Retyped {
                from: of.ty.clone(),
                to: nf.ty.clone(),
            },
            upgrade,
            downgrade,
            note,
        };
        let declared_widening = widens(&of.ty, &nf.ty)
            && nf
                .widened_from
                .as_ref()
                .is_some_and(|(ty, v)| *ty == of.ty && *v > self.old.version && *v <= b);
        if declared_widening {
            return change(
                Compat::AsIs,
                Compat::AsIs,
                "a widening: written for the older reader while the value fits".into(),
            );
        }
        let converting = self
            .steps()
            .find(|m| m.converts(nf.name_at(m.from), Some(&of.ty)));
        if let Some(m) = converting {
            let (up, down) = Self::through(m);
            let note = if down == Compat::Breaking {
                format!(
                    "give `migrate(from = {})` a `down` that converts it back",
                    m.from
                )
            } else {
                String::new()
            };
            return change(up, down, note);
        }
        let before = nf.name_at(b - 1);
        let converts = format!("converts({before}: {})", of.ty);
        let existing = self.step_into(b).map(|m| m.from);
        if widens(&of.ty, &nf.ty) {
            return change(
                Compat::AsIs,
                Compat::Breaking,
                format!(
                    "a widening: declare `#[snapshot(widened_from = {}, widened_in = {b})]`; \
                     without it a value that does not fit {} would be written for the older reader",
                    of.ty, of.ty
                ),
            );
        }
        // A narrowing: the older type holds every newer value, but not
        // the other way round.
        let upgrade_only = widens(&nf.ty, &of.ty);
        let what = if upgrade_only {
            "a narrowing: older values may not fit"
        } else {
            "not a widening"
        };
        let note = match existing {
            Some(from) => format!(
                "{what}, and `migrate(from = {from})` does not say it converts the field: \
                 add `{converts}` to it"
            ),
            None => format!(
                "{what}: declare `#[snapshot(migrate(from = {}, up = ..., down = ..., \
                 {converts}))]` converting it",
                b - 1
            ),
        };
        let downgrade = if upgrade_only {
            Compat::AsIs
        } else {
            Compat::Breaking
        };
        change(Compat::Breaking, downgrade, note)
    }

    fn variants(&self, changes: &mut Vec<Change>) {
        let (Some(old), Some(new)) = (&self.old.variants, &self.new.variants) else {
            return;
        };
        let b = self.new.version;
        let converting = |name: &str| self.steps().find(|m| m.converts(name, None));
        let converts_hint = |name: &str| {
            format!(
                "declare a `migrate(from = {}, up = ..., down = ..., converts({name}))` that \
                 converts it",
                b - 1
            )
        };
        for nv in new {
            let change = |kind, upgrade, downgrade, note| Change {
                name: nv.name.clone(),
                kind,
                upgrade,
                downgrade,
                note,
            };
            match old.iter().find(|o| o.name == nv.name) {
                None if nv.since > self.old.version => changes.push(change(
                    ChangeKind::VariantAdded,
                    Compat::AsIs,
                    Compat::AsIs,
                    "a record holding it is refused when written for the older reader".into(),
                )),
                None => changes.push(change(
                    ChangeKind::VariantAdded,
                    Compat::AsIs,
                    Compat::Breaking,
                    format!(
                        "declare `#[snapshot(since = {b})]` on the variant, so that a record \
                         holding it is refused when written for the older reader"
                    ),
                )),
                Some(ov) if ov.fields != nv.fields => {
                    let (up, down, note) = match converting(&nv.name) {
                        Some(m) => {
                            let (up, down) = Self::through(m);
                            (up, down, String::new())
                        }
                        None => (Compat::Breaking, Compat::Breaking, converts_hint(&nv.name)),
                    };
                    changes.push(change(ChangeKind::VariantChanged, up, down, note));
                }
                Some(_) if nv.since > self.old.version => changes.push(change(
                    ChangeKind::VariantChanged,
                    Compat::AsIs,
                    Compat::Breaking,
                    format!(
                        "says `since = {}` but v{} has it already",
                        nv.since, self.old.version
                    ),
                )),
                Some(_) => {}
            }
        }
        for ov in old.iter().filter(|o| !new.iter().any(|n| n.name == o.name)) {
            let (upgrade, note) = match converting(&ov.name) {
                Some(_) => (Compat::Migration, String::new()),
                None => (
                    Compat::Breaking,
                    format!(
                        "old records holding it could not be read: {}",
                        converts_hint(&ov.name)
                    ),
                ),
            };
            changes.push(Change {
                name: ov.name.clone(),
                kind: ChangeKind::VariantRemoved,
                upgrade,
                downgrade: Compat::AsIs,
                note,
            });
        }
    }
}

/// Whether two type names are stored alike, whatever they are: one is the
/// other in `Wrapping<...>`, which is stored as what it wraps.
fn stored_alike(a: &str, b: &str) -> bool {
    crate::model::by_name::unwrapped(a) == crate::model::by_name::unwrapped(b)
}

/// Whether every value of type `from` reads as `to` with no help, as the
/// data model stores numbers (`docs/data-model.md`, section 3): within a
/// family (`u8` to `u64`, `i16` to `i64`, `f32` to `f64`), and from an
/// unsigned type to a wider signed one (`u8` to `i16`). Not `u64` to
/// `i128`: a 64-bit number reads as signed there.
pub fn widens(from: &str, to: &str) -> bool {
    use crate::model::by_name::unwrapped;
    let (from, to) = (unwrapped(from), unwrapped(to));
    if from == to {
        return false;
    }
    if (from, to) == ("f32", "f64") {
        return true;
    }
    if to == "i128" && matches!(from, "u64" | "usize") {
        return false;
    }
    match (range(from), range(to)) {
        (Some((min_a, max_a)), Some((min_b, max_b))) => min_b <= min_a && max_a <= max_b,
        _ => false,
    }
}

/// The values of an integer type: `(min, max)`.
fn range(ty: &str) -> Option<(i128, u128)> {
    let bits = |t: &str| -> Option<u32> {
        match t {
            "usize" | "isize" => Some(64),
            _ => t
                .get(1..)?
                .parse()
                .ok()
                .filter(|b| [8, 16, 32, 64, 128].contains(b)),
        }
    };
    match ty.as_bytes().first()? {
        b'u' => Some((0, u128::MAX >> (128 - bits(ty)?))),
        b'i' => {
            let b = bits(ty)?;
            Some((i128::MIN >> (128 - b), (u128::MAX >> (129 - b))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Recorded {
        Recorded::parse(text).unwrap()
    }

    const V1: &str = "schema vrtc 1\nkind struct\nfield addr: u32\nfield base_rtctime: i32\nfield century: u8\nfield status: u16\n";

    #[test]
    fn classifies_every_kind_of_change() {
        let v3 = rec("schema vrtc 3\nkind struct\nfield nvram: Vec<u8>\n  since 2\n  default Default::default()\nfield base_time: i64\n  renamed_from base_rtctime 3\nfield status: u32\n  widened_from u16 2\nfield addr: u32\nremoved century 3\nmigration 1 up down\n  converts base_rtctime: i32\nmigration 2 up down\n");
        let changes = diff(&rec(V1), &v3);
        let text: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(text[0], "nvram: added; upgrade compatible, downgrade compatible (old snapshots read the default; written for the older reader only while it holds the default)");
        assert_eq!(
            text[1],
            "base_time: renamed from `base_rtctime`; upgrade compatible, downgrade compatible"
        );
        assert_eq!(
            text[2],
            "base_time: retyped i32 -> i64; upgrade via migration, downgrade via migration"
        );
        assert_eq!(text[3], "status: retyped u16 -> u32; upgrade compatible, downgrade compatible (a widening: written for the older reader while the value fits)");
        assert_eq!(changes[4].kind, ChangeKind::Removed);
        assert_eq!(changes[4].upgrade, Compat::AsIs);
        assert_eq!(changes[4].downgrade, Compat::Migration);
        assert_eq!(changes[5].kind, ChangeKind::Reordered);
        assert_eq!(changes.len(), 6);
    }

    #[test]
    fn a_wrapper_stored_as_what_it_wraps_is_no_break() {
        let v1 = rec("schema virtq 1\nkind struct\nfield next_avail: u16\n");
        let v2 = rec("schema virtq 2\nkind struct\nfield next_avail: Wrapping<u16>\n");
        let changes = diff(&v1, &v2);
        assert_eq!(changes.len(), 1);
        assert!(!changes[0].is_breaking(), "{}", changes[0]);
        assert_eq!(changes[0].to_string(), "next_avail: retyped u16 -> Wrapping<u16>; upgrade compatible, downgrade compatible (stored alike: `Wrapping<T>` is stored as `T`)");
        let v3 = rec("schema virtq 3\nkind struct\nfield next_avail: Wrapping<u32>\n");
        assert!(
            diff(&v1, &v3)[0].is_breaking(),
            "u16 -> u32 undeclared stays a break"
        );
        assert!(widens("u16", "Wrapping<u32>") && widens("Wrapping<u8>", "u64"));
    }

    #[test]
    fn undeclared_changes_are_breaking_and_say_what_to_do() {
        let v2 = rec("schema vrtc 2\nkind struct\nfield addr: u64\nfield base_rtctime: String\nfield status: u16\nfield alarm: u64\n  since 2\n");
        let changes = diff(&rec(V1), &v2);
        let retyped = &changes[0];
        assert_eq!(retyped.downgrade, Compat::Breaking);
        assert!(retyped.note.contains("widened_from = u32, widened_in = 2"));
        let string = changes.iter().find(|c| c.name == "base_rtctime").unwrap();
        assert_eq!(string.upgrade, Compat::Breaking);
        assert!(string.note.contains("migrate(from = 1"), "{string}");
        let alarm = changes.iter().find(|c| c.name == "alarm").unwrap();
        assert_eq!(alarm.upgrade, Compat::Breaking);
        assert!(alarm.note.contains("since = 2, default"), "{alarm}");
        let century = changes.iter().find(|c| c.name == "century").unwrap();
        assert_eq!(century.upgrade, Compat::Breaking);
        assert!(century
            .note
            .contains("removed(field = \"century\", since = 2)"));
    }

    #[test]
    fn identical_versions_have_no_changes() {
        assert!(diff(&rec(V1), &rec(V1)).is_empty());
    }

    #[test]
    fn enum_variants() {
        let old = rec("schema m 1\nkind enum\nvariant Off\nvariant On(level: u8)\n");
        let new = rec("schema m 2\nkind enum\nvariant On(level: u16)\nvariant Burst\n");
        let kinds: Vec<_> = diff(&old, &new).into_iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::VariantChanged,
                ChangeKind::VariantAdded,
                ChangeKind::VariantRemoved
            ]
        );
    }

    #[test]
    fn widening_families() {
        assert!(widens("u16", "u32"));
        assert!(widens("i32", "i128"));
        assert!(widens("f32", "f64"));
        assert!(!widens("u32", "u16"));
        assert!(widens("u32", "i64"));
        assert!(widens("u8", "i16"));
        assert!(!widens("u8", "i8"));
        assert!(!widens("i8", "u64"));
        assert!(!widens("u64", "i128"));
        assert!(widens("u64", "u128"));
        assert!(!widens("u16", "u16"));
        assert!(!widens("Vec<u8>", "Vec<u16>"));
    }
}
