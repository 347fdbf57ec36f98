//! Differences between two recorded versions of a type, each classified
//! for both directions, the way `buf breaking` classifies protobuf changes.
//!
//! *Upgrade* is an old snapshot read by the newer build; *downgrade* is the
//! newer build writing for the older reader. The history declared in the
//! newer schema (defaults, former names, removals, migrations) decides
//! whether a change is compatible as is, through a declared migration, or
//! breaking.

use std::fmt;

use crate::schema::text::{Recorded, RecordedField};

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
    /// An enum variant whose fields changed.
    VariantChanged,
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

/// The changes from `old` to `new`, two recorded versions of one type.
pub fn diff(old: &Recorded, new: &Recorded) -> Vec<Change> {
    Differ { old, new }.run()
}

struct Differ<'a> {
    old: &'a Recorded,
    new: &'a Recorded,
}

impl Differ<'_> {
    /// Whether a migration is declared for a step between the two
    /// versions: `(any up, any down)`.
    fn migrations(&self) -> (bool, bool) {
        let (lo, hi) = (self.old.version, self.new.version);
        let steps = self
            .new
            .migrations
            .iter()
            .filter(|(from, _)| *from >= lo && *from < hi);
        steps.fold((false, false), |(_, down), (_, d)| (true, down || *d))
    }

    fn via(&self, up: bool) -> Compat {
        let (has_up, has_down) = self.migrations();
        if (up && has_up) || (!up && has_down) {
            Compat::Migration
        } else {
            Compat::Breaking
        }
    }

    /// The name `field` had in the older version.
    fn old_name<'f>(&self, field: &'f RecordedField) -> &'f str {
        field
            .renamed_from
            .iter()
            .find(|(_, renamed_in)| *renamed_in > self.old.version)
            .map_or(&field.name, |(name, _)| name)
    }

    fn run(&self) -> Vec<Change> {
        let mut changes = Vec::new();
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
                    if of.ty != nf.ty {
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

    fn added(&self, nf: &RecordedField) -> Change {
        let b = self.new.version;
        let (upgrade, downgrade, note) = if nf.since <= self.old.version {
            (
                Compat::Breaking,
                Compat::Breaking,
                format!(
                    "says `since {}` but v{} does not have it: set `since = {b}`",
                    nf.since, self.old.version
                ),
            )
        } else if nf.default.is_some() {
            (
                Compat::AsIs,
                Compat::AsIs,
                "old snapshots read the default; written for the older reader only while it holds the default".into(),
            )
        } else {
            let up = self.via(true);
            let down = self.via(false);
            let note = if up == Compat::Breaking {
                format!("give it `#[snapshot(since = {b}, default)]`, or a migration from {} that stores it", b - 1)
            } else if down == Compat::Breaking {
                "add a `down` migration that consumes it to write for the older reader".into()
            } else {
                String::new()
            };
            (up, down, note)
        };
        Change {
            name: nf.name.clone(),
            kind: ChangeKind::Added,
            upgrade,
            downgrade,
            note,
        }
    }

    fn removed(&self, of: &RecordedField) -> Change {
        let (a, b) = (self.old.version, self.new.version);
        let declared = self
            .new
            .removed
            .iter()
            .any(|(name, since)| *name == of.name && *since > a && *since <= b);
        let upgrade = if declared {
            Compat::AsIs
        } else {
            self.via(true)
        };
        let downgrade = if of.default.is_some() && of.since > 1 {
            Compat::AsIs
        } else {
            self.via(false)
        };
        let note = if upgrade == Compat::Breaking {
            format!(
                "declare `#[snapshot(removed(field = \"{}\", since = {b}))]`",
                of.name
            )
        } else if downgrade == Compat::Breaking {
            "the older reader needs it: add a `down` migration that restores it".into()
        } else {
            String::new()
        };
        Change {
            name: of.name.clone(),
            kind: ChangeKind::Removed,
            upgrade,
            downgrade,
            note,
        }
    }

    fn retyped(&self, of: &RecordedField, nf: &RecordedField) -> Change {
        let kind = ChangeKind::Retyped {
            from: of.ty.clone(),
            to: nf.ty.clone(),
        };
        let b = self.new.version;
        if widens(&of.ty, &nf.ty) {
            let declared = nf
                .widened_from
                .as_ref()
                .is_some_and(|(ty, v)| *ty == of.ty && *v > self.old.version);
            let (downgrade, note) = if declared {
                (
                    Compat::AsIs,
                    "a widening: written for the older reader while the value fits".to_owned(),
                )
            } else if self.migrations().1 {
                (Compat::Migration, String::new())
            } else {
                (
                    Compat::Breaking,
                    format!("a widening: declare `#[snapshot(widened_from = {}, widened_in = {b})]` so values that do not fit are refused when writing for the older reader", of.ty),
                )
            };
            return Change {
                name: nf.name.clone(),
                kind,
                upgrade: Compat::AsIs,
                downgrade,
                note,
            };
        }
        let upgrade = self.via(true);
        let downgrade = self.via(false);
        let note = if upgrade == Compat::Breaking {
            format!(
                "not a widening: declare `#[snapshot(migrate(from = {}, up = ..., down = ...))]` converting it",
                b - 1
            )
        } else {
            String::new()
        };
        Change {
            name: nf.name.clone(),
            kind,
            upgrade,
            downgrade,
            note,
        }
    }

    fn variants(&self, changes: &mut Vec<Change>) {
        let (Some(old), Some(new)) = (&self.old.variants, &self.new.variants) else {
            return;
        };
        for nv in new {
            let (kind, upgrade, downgrade) = match old.iter().find(|o| o.name == nv.name) {
                None => (ChangeKind::VariantAdded, Compat::AsIs, self.via(false)),
                Some(ov) if ov.fields != nv.fields => {
                    (ChangeKind::VariantChanged, self.via(true), self.via(false))
                }
                Some(_) => continue,
            };
            changes.push(Change {
                name: nv.name.clone(),
                kind,
                upgrade,
                downgrade,
                note: String::new(),
            });
        }
        for ov in old.iter().filter(|o| !new.iter().any(|n| n.name == o.name)) {
            changes.push(Change {
                name: ov.name.clone(),
                kind: ChangeKind::VariantRemoved,
                upgrade: self.via(true),
                downgrade: Compat::AsIs,
                note: String::new(),
            });
        }
    }
}

/// Whether values of type `from` read as `to` with no help (the data
/// model stores each family in one representation; see
/// `docs/data-model.md`, section 3).
pub fn widens(from: &str, to: &str) -> bool {
    const FAMILIES: [&[&str]; 3] = [
        &["u8", "u16", "u32", "u64", "u128"],
        &["i8", "i16", "i32", "i64", "i128"],
        &["f32", "f64"],
    ];
    FAMILIES.iter().any(|family| {
        let pos = |t| family.iter().position(|x| *x == t);
        matches!((pos(from), pos(to)), (Some(a), Some(b)) if a < b)
    })
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
        let v3 = rec("schema vrtc 3\nkind struct\nfield nvram: Vec<u8>\n  since 2\n  default Default::default()\nfield base_time: i64\n  renamed_from base_rtctime 3\nfield status: u32\n  widened_from u16 2\nfield addr: u32\nremoved century 3\nmigration 1 up down\n");
        let changes = diff(&rec(V1), &v3);
        let text: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(text[0], "nvram: added; upgrade compatible, downgrade compatible (old snapshots read the default; written for the older reader only while it holds the default)");
        assert_eq!(
            text[1],
            "base_time: renamed from `base_rtctime`; upgrade compatible, downgrade compatible"
        );
        assert_eq!(
            text[2],
            "base_time: retyped i32 -> i64; upgrade compatible, downgrade via migration"
        );
        assert_eq!(text[3], "status: retyped u16 -> u32; upgrade compatible, downgrade compatible (a widening: written for the older reader while the value fits)");
        assert_eq!(changes[4].kind, ChangeKind::Removed);
        assert_eq!(changes[4].upgrade, Compat::AsIs);
        assert_eq!(changes[4].downgrade, Compat::Migration);
        assert_eq!(changes[5].kind, ChangeKind::Reordered);
        assert_eq!(changes.len(), 6);
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
        assert!(!widens("u32", "i64"));
        assert!(!widens("Vec<u8>", "Vec<u16>"));
    }
}
