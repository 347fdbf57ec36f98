//! What changed between two builds' descriptions, and whether a stream
//! still loads: upgrade is a stream of the old build loaded by the new
//! one, downgrade a stream of the new build loaded by the old one.
//!
//! The rules are QEMU's own, as `vmstate_load_state` applies them and
//! `scripts/vmstate-static-checker.py` checks them: a section or
//! subsection of a version above the loader's, or below its minimum, is
//! refused; fields carry no names or lengths in the stream, so the loader
//! reads, in order, the fields its description has for the stream's
//! version (those whose `since` is at most it), and every difference in
//! that sequence (a field more or less, another size) misreads the
//! stream. A struct field is read at the loader's own version of the
//! struct, which the stream does not carry. An unknown section or
//! subsection is refused, but only when it is sent.

use std::collections::HashMap;
use std::fmt;

use super::{Dump, Field, Vmsd};

/// Whether a stream still loads in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// It loads as before.
    Compatible,
    /// It is refused or misread.
    Breaking,
    /// It is refused when the section or subsection is sent (the VM has
    /// the device; the subsection's test says it is needed).
    WhenSent,
    /// It misreads when the field's test sends it on one side only.
    DependsOnTest,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Compatible => "compatible",
            Effect::Breaking => "BREAKING",
            Effect::WhenSent => "BREAKING when sent",
            Effect::DependsOnTest => "breaking if the field's test differs",
        })
    }
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A device type only the new build has.
    SectionAdded,
    /// A device type only the old build has.
    SectionRemoved,
    /// `version_id` of a section or subsection.
    VersionChanged { from: u32, to: u32 },
    /// `minimum_version_id` of a section or subsection.
    MinimumChanged { from: u32, to: u32 },
    /// The version of a struct's description (the stream does not carry
    /// it: its fields decide).
    StructVersionChanged { from: u32, to: u32 },
    /// A struct field described by another VMState.
    StructRenamed { from: String },
    /// A field only the new build has, added in version `since`.
    FieldAdded { since: u32 },
    /// A field only the old build has.
    FieldRemoved { since: u32 },
    /// A field of the same size at the same place under another name.
    FieldRenamed { from: String },
    /// The size of a field.
    SizeChanged { from: u64, to: u64 },
    /// The version that added a field.
    SinceChanged { from: u32, to: u32 },
    /// Whether a test decides if the field is sent.
    ConditionalChanged { now: bool },
    /// A subsection only the new build has.
    SubsectionAdded,
    /// A subsection only the old build has.
    SubsectionRemoved,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeKind::SectionAdded => write!(f, "section added"),
            ChangeKind::SectionRemoved => write!(f, "section removed"),
            ChangeKind::VersionChanged { from, to } if to > from => {
                write!(f, "version bumped {from} -> {to}")
            }
            ChangeKind::VersionChanged { from, to } => write!(f, "version lowered {from} -> {to}"),
            ChangeKind::MinimumChanged { from, to } if to > from => {
                write!(f, "minimum version raised {from} -> {to}")
            }
            ChangeKind::MinimumChanged { from, to } => {
                write!(f, "minimum version lowered {from} -> {to}")
            }
            ChangeKind::StructVersionChanged { from, to } => {
                write!(f, "struct version {from} -> {to}")
            }
            ChangeKind::StructRenamed { from } => write!(f, "struct was `{from}`"),
            ChangeKind::FieldAdded { since: 0 } => write!(f, "field added"),
            ChangeKind::FieldAdded { since } => write!(f, "field added in version {since}"),
            ChangeKind::FieldRemoved { .. } => write!(f, "field removed"),
            ChangeKind::FieldRenamed { from } => write!(f, "field renamed from `{from}`"),
            ChangeKind::SizeChanged { from, to } => write!(f, "size changed {from} -> {to}"),
            ChangeKind::SinceChanged { from, to } => {
                write!(f, "added in version {to}, was {from}")
            }
            ChangeKind::ConditionalChanged { now: true } => write!(f, "now sent only when tested"),
            ChangeKind::ConditionalChanged { now: false } => write!(f, "now always sent"),
            ChangeKind::SubsectionAdded => write!(f, "subsection added"),
            ChangeKind::SubsectionRemoved => write!(f, "subsection removed"),
        }
    }
}

/// One change, where it is and what it does to a stream each way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `e1000`, `e1000.parent_obj.config`, `e1000.e1000/mit_state`.
    pub path: String,
    pub kind: ChangeKind,
    /// A stream of the old build, loaded by the new one.
    pub upgrade: Effect,
    /// A stream of the new build, loaded by the old one.
    pub downgrade: Effect,
}

impl Change {
    /// Whether the change fails the comparison: anything that can break
    /// an upgrade (what `vmstate-static-checker.py` reports), and what
    /// always breaks a downgrade. A section or subsection that only the
    /// new build has breaks a downgrade only when sent, which is how
    /// QEMU adds state: it is listed, not failed.
    pub fn is_breaking(&self) -> bool {
        matches!(self.upgrade, Effect::Breaking | Effect::WhenSent)
            || self.downgrade == Effect::Breaking
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; upgrade {}, downgrade {}",
            self.path, self.kind, self.upgrade, self.downgrade
        )
    }
}

/// The versions each side reads and writes a description at, in each
/// direction.
#[derive(Clone, Copy)]
struct Versions {
    /// Upgrade: the old build writes at `up.0`, the new reads at `up.1`.
    up: (u32, u32),
    /// Downgrade: the new build writes at `down.0`, the old reads at
    /// `down.1`.
    down: (u32, u32),
}

/// The changes from `old` to `new`, device types in name order.
pub fn diff(old: &Dump, new: &Dump) -> Vec<Change> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> =
        old.devices.keys().chain(new.devices.keys()).collect();
    for name in names {
        match (old.devices.get(name), new.devices.get(name)) {
            (Some(o), Some(n)) => sent(&mut out, name, o, n),
            (None, Some(_)) => out.push(Change {
                path: name.clone(),
                kind: ChangeKind::SectionAdded,
                upgrade: Effect::Compatible,
                downgrade: Effect::WhenSent,
            }),
            (Some(_), None) => out.push(Change {
                path: name.clone(),
                kind: ChangeKind::SectionRemoved,
                upgrade: Effect::WhenSent,
                downgrade: Effect::Compatible,
            }),
            (None, None) => unreachable!("the name came from one of them"),
        }
    }
    out
}

fn breaks(broken: bool) -> Effect {
    if broken {
        Effect::Breaking
    } else {
        Effect::Compatible
    }
}

/// A section or subsection: its version travels in the stream and is
/// checked against the loader's version and minimum.
fn sent(out: &mut Vec<Change>, path: &str, o: &Vmsd, n: &Vmsd) {
    let change = |kind, upgrade, downgrade| Change {
        path: path.to_owned(),
        kind,
        upgrade,
        downgrade,
    };
    if o.version != n.version {
        out.push(change(
            ChangeKind::VersionChanged {
                from: o.version,
                to: n.version,
            },
            breaks(o.version > n.version),
            breaks(n.version > o.version),
        ));
    }
    if o.minimum != n.minimum {
        out.push(change(
            ChangeKind::MinimumChanged {
                from: o.minimum,
                to: n.minimum,
            },
            breaks(o.version < n.minimum),
            breaks(n.version < o.minimum),
        ));
    }
    let versions = Versions {
        up: (o.version, o.version),
        down: (n.version, n.version),
    };
    body(out, path, o, n, versions);
}

/// The fields and subsections of two descriptions of one thing.
fn body(out: &mut Vec<Change>, path: &str, o: &Vmsd, n: &Vmsd, v: Versions) {
    fields(out, path, &o.fields, &n.fields, v);
    for sub in &o.subsections {
        let sub_path = format!("{path}.{}", sub.name);
        match n.subsections.iter().find(|s| s.name == sub.name) {
            Some(new_sub) => sent(out, &sub_path, sub, new_sub),
            None => out.push(Change {
                path: sub_path,
                kind: ChangeKind::SubsectionRemoved,
                upgrade: Effect::WhenSent,
                downgrade: Effect::Compatible,
            }),
        }
    }
    for sub in &n.subsections {
        if !o.subsections.iter().any(|s| s.name == sub.name) {
            out.push(Change {
                path: format!("{path}.{}", sub.name),
                kind: ChangeKind::SubsectionAdded,
                upgrade: Effect::Compatible,
                downgrade: Effect::WhenSent,
            });
        }
    }
}

/// How two field lists line up.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Both(usize, usize),
    Old(usize),
    New(usize),
}

/// The largest product of field counts aligned by name; longer lists
/// (never seen in QEMU, whose largest descriptions have a few hundred
/// fields) are compared by position.
const MAX_ALIGNED: usize = 1 << 22;

/// The fields of `o` and `n` lined up by name, in order (a longest common
/// subsequence), the rest as removed or added where they stand.
fn align(o: &[Field], n: &[Field]) -> Vec<Step> {
    if o.len().saturating_mul(n.len()) > MAX_ALIGNED {
        let both = o.len().min(n.len());
        let mut steps: Vec<Step> = (0..both).map(|i| Step::Both(i, i)).collect();
        steps.extend((both..o.len()).map(Step::Old));
        steps.extend((both..n.len()).map(Step::New));
        return steps;
    }
    // lcs[i][j]: the longest common run of o[i..] and n[j..].
    let w = n.len() + 1;
    let mut lcs = vec![0u32; (o.len() + 1) * w];
    for i in (0..o.len()).rev() {
        for j in (0..n.len()).rev() {
            lcs[i * w + j] = if o[i].name == n[j].name {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j, mut steps) = (0, 0, Vec::new());
    while i < o.len() || j < n.len() {
        if i < o.len() && j < n.len() && o[i].name == n[j].name {
            steps.push(Step::Both(i, j));
            (i, j) = (i + 1, j + 1);
        } else if j == n.len() || (i < o.len() && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            steps.push(Step::Old(i));
            i += 1;
        } else {
            steps.push(Step::New(j));
            j += 1;
        }
    }
    steps
}

/// Field paths, with `#K` on names a list repeats (`unused#2`).
fn field_paths(path: &str, fields: &[Field]) -> Vec<String> {
    let mut total: HashMap<&str, usize> = HashMap::new();
    for f in fields {
        *total.entry(&f.name).or_default() += 1;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    fields
        .iter()
        .map(|f| {
            let k = seen.entry(&f.name).or_default();
            *k += 1;
            if total[f.name.as_str()] > 1 {
                format!("{path}.{}#{k}", f.name)
            } else {
                format!("{path}.{}", f.name)
            }
        })
        .collect()
}

/// The effect of a field that one side has and the other lacks: the side
/// that has it writes (or expects) it when `present`.
fn one_sided(f: &Field, present: bool) -> Effect {
    match (present, f.conditional) {
        (false, _) => Effect::Compatible,
        (true, true) => Effect::DependsOnTest,
        (true, false) => Effect::Breaking,
    }
}

fn fields(out: &mut Vec<Change>, path: &str, o: &[Field], n: &[Field], v: Versions) {
    let (old_paths, new_paths) = (field_paths(path, o), field_paths(path, n));
    let steps = align(o, n);
    let mut k = 0;
    while k < steps.len() {
        // A field gone and one come at the same place, of one size: a
        // rename, which the stream does not see.
        let renamed = steps
            .get(k + 1)
            .and_then(|&next| rename_pair(o, n, steps[k], next));
        if let Some((i, j)) = renamed {
            out.push(Change {
                path: new_paths[j].clone(),
                kind: ChangeKind::FieldRenamed {
                    from: o[i].name.clone(),
                },
                upgrade: Effect::Compatible,
                downgrade: Effect::Compatible,
            });
            same(out, &new_paths[j], &o[i], &n[j], v);
            k += 2;
            continue;
        }
        match steps[k] {
            Step::Both(i, j) => same(out, &new_paths[j], &o[i], &n[j], v),
            Step::Old(i) => out.push(Change {
                path: old_paths[i].clone(),
                kind: ChangeKind::FieldRemoved { since: o[i].since },
                upgrade: one_sided(&o[i], o[i].in_version(v.up.0)),
                downgrade: one_sided(&o[i], o[i].in_version(v.down.1)),
            }),
            Step::New(j) => out.push(Change {
                path: new_paths[j].clone(),
                kind: ChangeKind::FieldAdded { since: n[j].since },
                upgrade: one_sided(&n[j], n[j].in_version(v.up.1)),
                downgrade: one_sided(&n[j], n[j].in_version(v.down.0)),
            }),
        }
        k += 1;
    }
}

/// The old and new index of two adjacent steps that are a rename: one
/// field removed and one added, of one size, both sent the same way.
fn rename_pair(o: &[Field], n: &[Field], a: Step, b: Step) -> Option<(usize, usize)> {
    let (oi, ni) = match (a, b) {
        (Step::Old(i), Step::New(j)) | (Step::New(j), Step::Old(i)) => (i, j),
        _ => return None,
    };
    let (f, g) = (&o[oi], &n[ni]);
    (f.size == g.size && f.since == g.since && f.conditional == g.conditional).then_some((oi, ni))
}

/// One field both builds have.
fn same(out: &mut Vec<Change>, path: &str, o: &Field, n: &Field, v: Versions) {
    let change = |kind, upgrade, downgrade| Change {
        path: path.to_owned(),
        kind,
        upgrade,
        downgrade,
    };
    // Whether each side has the field in each direction's stream.
    let up = (o.in_version(v.up.0), n.in_version(v.up.1));
    let down = (n.in_version(v.down.0), o.in_version(v.down.1));
    if o.since != n.since {
        out.push(change(
            ChangeKind::SinceChanged {
                from: o.since,
                to: n.since,
            },
            breaks(up.0 != up.1),
            breaks(down.0 != down.1),
        ));
    }
    if o.size != n.size {
        out.push(change(
            ChangeKind::SizeChanged {
                from: o.size,
                to: n.size,
            },
            breaks(up.0 || up.1),
            breaks(down.0 || down.1),
        ));
    }
    if o.conditional != n.conditional {
        let effect = |(a, b): (bool, bool)| {
            if a || b {
                Effect::DependsOnTest
            } else {
                Effect::Compatible
            }
        };
        out.push(change(
            ChangeKind::ConditionalChanged { now: n.conditional },
            effect(up),
            effect(down),
        ));
    }
    if let (Some(os), Some(ns)) = (&o.nested, &n.nested) {
        if os.name != ns.name {
            out.push(change(
                ChangeKind::StructRenamed {
                    from: os.name.clone(),
                },
                Effect::Compatible,
                Effect::Compatible,
            ));
        }
        if os.version != ns.version {
            out.push(change(
                ChangeKind::StructVersionChanged {
                    from: os.version,
                    to: ns.version,
                },
                Effect::Compatible,
                Effect::Compatible,
            ));
        }
        // Each side reads and writes a struct at its own version.
        let versions = Versions {
            up: (os.version, ns.version),
            down: (ns.version, os.version),
        };
        body(out, path, os, ns, versions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, size: u64, since: u32) -> Field {
        Field {
            name: name.into(),
            size,
            since,
            conditional: false,
            nested: None,
        }
    }

    fn rtc() -> Vmsd {
        Vmsd {
            name: "mc146818rtc".into(),
            version: 3,
            minimum: 1,
            fields: vec![
                field("cmos_data", 128, 0),
                field("cmos_index", 1, 0),
                field("irq_coalesced", 4, 2),
                field("base_rtc", 8, 3),
            ],
            subsections: vec![Vmsd {
                name: "mc146818rtc/irq_reinject_on_ack_count".into(),
                version: 1,
                minimum: 1,
                fields: vec![field("irq_reinject_on_ack_count", 2, 0)],
                subsections: Vec::new(),
            }],
        }
    }

    fn dump(v: Vmsd) -> Dump {
        let mut d = Dump::default();
        d.devices.insert("mc146818rtc".into(), v);
        d
    }

    /// The one change from `rtc()` to `edit(rtc())`.
    fn only(edit: impl FnOnce(&mut Vmsd)) -> Change {
        let mut new = rtc();
        edit(&mut new);
        let changes = diff(&dump(rtc()), &dump(new));
        assert_eq!(changes.len(), 1, "{changes:#?}");
        changes.into_iter().next().unwrap()
    }

    use Effect::{Breaking, Compatible, DependsOnTest, WhenSent};

    #[test]
    fn the_same_dump_has_no_changes() {
        assert!(diff(&dump(rtc()), &dump(rtc())).is_empty());
    }

    #[test]
    fn a_field_added_with_a_version_bump_loads_old_streams() {
        let mut new = rtc();
        new.version = 4;
        new.fields.push(field("next_alarm_time", 8, 4));
        let changes = diff(&dump(rtc()), &dump(new));
        let kinds: Vec<_> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind.clone(), c.upgrade, c.downgrade))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "mc146818rtc",
                    ChangeKind::VersionChanged { from: 3, to: 4 },
                    Compatible,
                    Breaking
                ),
                (
                    "mc146818rtc.next_alarm_time",
                    ChangeKind::FieldAdded { since: 4 },
                    Compatible,
                    Breaking
                ),
            ]
        );
        assert!(changes
            .iter()
            .all(|c| !c.is_breaking() || c.downgrade == Breaking));
    }

    #[test]
    fn a_field_added_without_a_bump_misreads() {
        let c = only(|v| v.fields.push(field("next_alarm_time", 8, 0)));
        assert_eq!(c.kind, ChangeKind::FieldAdded { since: 0 });
        assert_eq!((c.upgrade, c.downgrade), (Breaking, Breaking));
        assert!(c.is_breaking());
        let c = only(|v| {
            let mut f = field("next_alarm_time", 8, 0);
            f.conditional = true;
            v.fields.push(f);
        });
        assert_eq!((c.upgrade, c.downgrade), (DependsOnTest, DependsOnTest));
        assert!(!c.is_breaking());
    }

    #[test]
    fn sizes_removals_and_renames() {
        let c = only(|v| v.fields[1].size = 2);
        assert_eq!(c.path, "mc146818rtc.cmos_index");
        assert_eq!(c.kind, ChangeKind::SizeChanged { from: 1, to: 2 });
        assert_eq!((c.upgrade, c.downgrade), (Breaking, Breaking));
        let c = only(|v| {
            v.fields.remove(2);
        });
        assert_eq!(c.kind, ChangeKind::FieldRemoved { since: 2 });
        assert_eq!((c.upgrade, c.downgrade), (Breaking, Breaking));
        let c = only(|v| v.fields[1].name = "index".into());
        assert_eq!(c.path, "mc146818rtc.index");
        assert_eq!(
            c.kind,
            ChangeKind::FieldRenamed {
                from: "cmos_index".into()
            }
        );
        assert_eq!((c.upgrade, c.downgrade), (Compatible, Compatible));
    }

    #[test]
    fn versions_and_minimums() {
        let c = only(|v| v.minimum = 3);
        assert_eq!(c.kind, ChangeKind::MinimumChanged { from: 1, to: 3 });
        assert_eq!((c.upgrade, c.downgrade), (Compatible, Compatible));
        let mut new = rtc();
        new.version = 5;
        new.minimum = 4;
        let changes = diff(&dump(rtc()), &dump(new));
        let min = changes
            .iter()
            .find(|c| matches!(c.kind, ChangeKind::MinimumChanged { .. }))
            .unwrap();
        assert_eq!(min.upgrade, Breaking, "a v3 stream is below minimum 4");
        assert!(min.is_breaking());
        assert_eq!(
            min.to_string(),
            "mc146818rtc: minimum version raised 1 -> 4; upgrade BREAKING, downgrade compatible"
        );
    }

    #[test]
    fn sections_and_subsections() {
        let c = only(|v| {
            v.subsections.push(Vmsd {
                name: "mc146818rtc/extra".into(),
                version: 1,
                minimum: 1,
                fields: vec![field("x", 4, 0)],
                subsections: Vec::new(),
            })
        });
        assert_eq!(c.path, "mc146818rtc.mc146818rtc/extra");
        assert_eq!(c.kind, ChangeKind::SubsectionAdded);
        assert_eq!((c.upgrade, c.downgrade), (Compatible, WhenSent));
        assert!(!c.is_breaking());
        let c = only(|v| v.subsections.clear());
        assert_eq!((c.upgrade, c.downgrade), (WhenSent, Compatible));
        assert!(c.is_breaking());
        let c = only(|v| v.subsections[0].version = 2);
        assert_eq!(c.path, "mc146818rtc.mc146818rtc/irq_reinject_on_ack_count");
        assert_eq!((c.upgrade, c.downgrade), (Compatible, Breaking));

        let mut more = dump(rtc());
        more.devices.insert("hpet".into(), rtc());
        let changes = diff(&dump(rtc()), &more);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::SectionAdded);
        let changes = diff(&more, &dump(rtc()));
        assert_eq!(changes[0].kind, ChangeKind::SectionRemoved);
        assert!(changes[0].is_breaking());
    }

    #[test]
    fn a_struct_is_read_at_the_loaders_version() {
        let pci = |version, fields| Vmsd {
            name: "PCIDevice".into(),
            version,
            minimum: 1,
            fields,
            subsections: Vec::new(),
        };
        let with = |s: Vmsd| {
            let mut v = rtc();
            v.fields.insert(
                0,
                Field {
                    nested: Some(s),
                    ..field("parent_obj", 2608, 0)
                },
            );
            v
        };
        let old = with(pci(1, vec![field("config", 256, 0)]));
        let new = with(pci(
            2,
            vec![field("config", 256, 0), field("irq_state", 16, 2)],
        ));
        let changes = diff(&dump(old), &dump(new));
        let added = changes
            .iter()
            .find(|c| c.path == "mc146818rtc.parent_obj.irq_state")
            .unwrap();
        // The new build reads its struct at version 2, expecting the field
        // the old one never wrote: the section's own version did not move.
        assert_eq!((added.upgrade, added.downgrade), (Breaking, Breaking));
    }

    #[test]
    fn repeated_names_are_numbered() {
        let mut old = rtc();
        old.fields.push(field("unused", 4, 0));
        let mut new = old.clone();
        new.fields.push(field("unused", 2, 0));
        let changes = diff(&dump(old), &dump(new));
        assert_eq!(changes.len(), 1, "{changes:#?}");
        assert_eq!(changes[0].kind, ChangeKind::FieldAdded { since: 0 });
        assert_eq!(changes[0].path, "mc146818rtc.unused#2");

        // A hostile list of one name repeated: numbered in one pass, and
        // lined up by position past the aligned size.
        let many = |n: usize| {
            let mut v = rtc();
            v.fields = vec![field("unused", 4, 0); n];
            v
        };
        let changes = diff(&dump(many(100_000)), &dump(many(100_001)));
        assert_eq!(changes.len(), 1, "{:?}", changes.first());
        assert_eq!(changes[0].path, "mc146818rtc.unused#100001");
    }
}
