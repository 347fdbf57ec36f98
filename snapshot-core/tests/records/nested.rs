//! Records nested in records, written for an older build whose nested
//! types are older too: `to_nvlist_for_versions` steps every nested record
//! down to its type's version, innermost first, then the outer record.

use std::collections::BTreeMap;

use snapshot_core::{MigrationError, NvList, Snapshot};

use super::util::through_wire;

/// What the older build has: a timer whose mode was a number, in an HPET
/// that did not have `isr` yet.
mod old {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "timer", version = 1)]
    pub struct Timer {
        pub compval: u64,
        pub mode: u64,
    }

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "hpet", version = 1)]
    pub struct Hpet {
        pub config: u64,
        pub timers: Vec<Timer>,
        pub first: Option<Timer>,
        pub pair: (u8, Timer),
    }
}

/// Version 2 renames `mode` to `periodic`, makes it a bool, and adds
/// `enabled` (default true, so the migration down has to see it).
#[derive(Snapshot, Debug, PartialEq, Clone)]
#[snapshot(name = "timer", version = 2)]
#[snapshot(migrate(from = 1, up = mode_to_periodic, down = periodic_to_mode))]
struct Timer {
    compval: u64,
    #[snapshot(rename_from = "mode", renamed_in = 2)]
    periodic: bool,
    #[snapshot(since = 2, default = on)]
    enabled: bool,
}

fn on() -> bool {
    true
}

fn mode_to_periodic(nv: &mut NvList) -> Result<(), MigrationError> {
    let mode = nv.get_number("mode")?;
    nv.insert("mode", mode == 1);
    Ok(())
}

/// The older build has no `enabled`: a disabled timer cannot go back.
fn periodic_to_mode(nv: &mut NvList) -> Result<(), MigrationError> {
    if !nv.get_bool("enabled")? {
        return Err(MigrationError::invalid(
            "enabled",
            "a disabled timer has no version-1 form",
        ));
    }
    let periodic = nv.get_bool("mode")?;
    nv.insert("mode", u64::from(periodic));
    Ok(())
}

#[derive(Snapshot, Debug, PartialEq, Clone)]
#[snapshot(name = "hpet", version = 2)]
struct Hpet {
    config: u64,
    #[snapshot(since = 2, default)]
    isr: u64,
    timers: Vec<Timer>,
    first: Option<Timer>,
    pair: (u8, Timer),
}

fn timer(compval: u64, periodic: bool) -> Timer {
    Timer {
        compval,
        periodic,
        enabled: true,
    }
}

fn hpet() -> Hpet {
    Hpet {
        config: 7,
        isr: 0,
        timers: vec![timer(1, true), timer(2, false)],
        first: Some(timer(3, true)),
        pair: (9, timer(4, false)),
    }
}

fn release1() -> BTreeMap<String, u32> {
    BTreeMap::from([("hpet".to_owned(), 1), ("timer".to_owned(), 1)])
}

fn old_timer(compval: u64, mode: u64) -> old::Timer {
    old::Timer { compval, mode }
}

#[test]
fn older_build_reads_nested_records_written_for_it() {
    let nv = through_wire(&hpet().to_nvlist_for_versions(&release1()).unwrap());
    assert_eq!(nv.get_number(".version").unwrap(), 1);
    let first = nv.get_nvlist("first").unwrap();
    assert_eq!(first.get_number(".version").unwrap(), 1);
    assert!(!first.contains("enabled"));
    assert_eq!(
        old::Hpet::from_nvlist(&nv).unwrap(),
        old::Hpet {
            config: 7,
            timers: vec![old_timer(1, 1), old_timer(2, 0)],
            first: Some(old_timer(3, 1)),
            pair: (9, old_timer(4, 0)),
        }
    );
    // And the current build reads it back to the same state.
    assert_eq!(Hpet::from_nvlist(&nv).unwrap(), hpet());
}

#[test]
fn outer_only_downgrade_leaves_nested_records_too_new() {
    // `to_nvlist_for` steps the outer record down only: the older build
    // refuses the version-2 timers inside, by name.
    let nv = hpet().to_nvlist_for(1).unwrap();
    let err = old::Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "hpet.timers[0]: stored version 2 is newer than this build's version 1 \
         and needs a reader of version 2 or later"
    );
}

#[test]
fn a_nested_record_the_older_build_cannot_hold_is_named() {
    let mut state = hpet();
    state.timers[1].enabled = false;
    let err = state.to_nvlist_for_versions(&release1()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "hpet.timers[1]: migration v2 -> v1 failed: `enabled`: a disabled timer has no version-1 form"
    );
    let mut state = hpet();
    state.pair.1.enabled = false;
    let err = state.to_nvlist_for_versions(&release1()).unwrap_err();
    assert_eq!(err.path(), Some("hpet.pair.1"));
}

#[test]
fn the_outer_record_keeps_its_version_when_only_nested_types_step_down() {
    let versions = BTreeMap::from([("timer".to_owned(), 1)]);
    let mut state = hpet();
    state.isr = 5;
    let nv = through_wire(&state.to_nvlist_for_versions(&versions).unwrap());
    assert_eq!(nv.get_number(".version").unwrap(), 2);
    assert_eq!(nv.get_number("isr").unwrap(), 5);
    let timers = nv.get_nvlist_array("timers").unwrap();
    assert!(timers
        .iter()
        .all(|t| t.get_number(".version").unwrap() == 1));
    assert_eq!(Hpet::from_nvlist(&nv).unwrap(), state);
}

#[test]
fn current_versions_give_the_current_record() {
    let current = BTreeMap::from([("hpet".to_owned(), 2), ("timer".to_owned(), 2)]);
    let nv = hpet().to_nvlist_for_versions(&current).unwrap();
    assert_eq!(nv, hpet().to_nvlist());
    assert_eq!(
        hpet().to_nvlist_for_versions(&BTreeMap::new()).unwrap(),
        hpet().to_nvlist()
    );
}

#[test]
fn a_version_a_type_does_not_have_is_refused() {
    // Named by type, and whether or not the state holds such a record.
    let empty = Hpet {
        timers: vec![],
        first: None,
        ..hpet()
    };
    for (name, version, message) in [
        (
            "timer",
            3,
            "timer: cannot write version 3: versions are 1..=2",
        ),
        (
            "timer",
            0,
            "timer: cannot write version 0: versions are 1..=2",
        ),
        (
            "hpet",
            3,
            "hpet: cannot write version 3: versions are 1..=2",
        ),
    ] {
        let mut versions = release1();
        versions.insert(name.to_owned(), version);
        for state in [hpet(), empty.clone()] {
            let err = state.to_nvlist_for_versions(&versions).unwrap_err();
            assert_eq!(err.to_string(), message, "{name} v{version}");
        }
    }
}

#[test]
fn the_schemas_of_nested_types_are_collected_once() {
    let mut schemas = snapshot_core::record::RecordSchemas::new();
    <Hpet as snapshot_core::Field>::record_schemas(&mut schemas);
    let names: Vec<_> = schemas.names().collect();
    assert_eq!(names, ["hpet", "timer"]);
    assert_eq!(schemas.get("timer").unwrap().version, 2);
}

mod old_node {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "node", version = 1)]
    pub struct Node {
        pub v: u64,
        pub children: Vec<Node>,
    }
}

/// A type that holds itself, in its second version.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "node", version = 2)]
struct Node {
    v: u64,
    children: Vec<Node>,
    #[snapshot(since = 2, default)]
    extra: u64,
}

fn node(v: u64, children: Vec<Node>, extra: u64) -> Node {
    Node { v, children, extra }
}

#[test]
fn a_recursive_type_steps_down_at_every_depth() {
    let mut schemas = snapshot_core::record::RecordSchemas::new();
    <Node as snapshot_core::Field>::record_schemas(&mut schemas);
    assert_eq!(schemas.names().count(), 1);
    let v1 = BTreeMap::from([("node".to_owned(), 1)]);
    let tree = node(1, vec![node(2, vec![node(3, vec![], 0)], 0)], 0);
    let nv = through_wire(&tree.to_nvlist_for_versions(&v1).unwrap());
    let old = old_node::Node::from_nvlist(&nv).unwrap();
    assert_eq!(old.children[0].children[0].v, 3);
    assert_eq!(Node::from_nvlist(&nv).unwrap(), tree);
    // Something new deep inside cannot go.
    let tree = node(1, vec![node(2, vec![node(3, vec![], 5)], 0)], 0);
    let err = tree.to_nvlist_for_versions(&v1).unwrap_err();
    assert_eq!(err.path(), Some("node.children[0].children[0].extra"));
}

/// A record-typed field added with a default, whose own type steps down
/// too.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "top", version = 2)]
struct Top {
    a: u64,
    #[snapshot(since = 2, default = default_timer)]
    t: Timer,
}

fn default_timer() -> Timer {
    timer(0, false)
}

/// Version 3 of a record holding a record-typed field added in version 2.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "mid", version = 3)]
struct Mid {
    a: u64,
    #[snapshot(since = 2, default = default_timer)]
    t: Timer,
    #[snapshot(since = 3, default)]
    b: u64,
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "outer")]
struct Outer {
    m: Mid,
}

#[test]
fn record_typed_defaults_step_down_with_their_type() {
    // Holding its default, the added field is dropped for version 1.
    let versions = BTreeMap::from([("top".to_owned(), 1), ("timer".to_owned(), 1)]);
    let top = Top {
        a: 1,
        t: default_timer(),
    };
    let nv = top.to_nvlist_for_versions(&versions).unwrap();
    assert!(!nv.contains("t"));
    assert_eq!(nv.get_number(".version").unwrap(), 1);
    // Holding anything else, it is refused.
    let top = Top {
        a: 1,
        t: timer(5, false),
    };
    let err = top.to_nvlist_for_versions(&versions).unwrap_err();
    assert_eq!(err.path(), Some("top.t"));

    // A default put back to step its record down is stepped down with
    // its type: the timer is left out of the mid record, which is
    // written for version 2, where the timer exists.
    let outer = Outer {
        m: Mid {
            a: 1,
            t: default_timer(),
            b: 0,
        },
    };
    let versions = BTreeMap::from([
        ("outer".to_owned(), 1),
        ("mid".to_owned(), 2),
        ("timer".to_owned(), 1),
    ]);
    let nv = through_wire(&outer.to_nvlist_for_versions(&versions).unwrap());
    let m = nv.get_nvlist("m").unwrap();
    assert_eq!(m.get_number(".version").unwrap(), 2);
    let t = m.get_nvlist("t").unwrap();
    assert_eq!(t.get_number(".version").unwrap(), 1);
    assert_eq!(Outer::from_nvlist(&nv).unwrap(), outer);
}

/// A generic record: its instances share a schema name, and each holds
/// other records.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "gen")]
struct Gen<T> {
    inner: T,
}

#[test]
fn generic_records_are_searched_per_instance() {
    let mut schemas = snapshot_core::record::RecordSchemas::new();
    <Gen<Gen<Timer>> as snapshot_core::Field>::record_schemas(&mut schemas);
    let names: Vec<_> = schemas.names().collect();
    assert_eq!(names, ["gen", "timer"]);
    let value = Gen {
        inner: Gen {
            inner: timer(1, true),
        },
    };
    let versions = BTreeMap::from([("timer".to_owned(), 1)]);
    let nv = value.to_nvlist_for_versions(&versions).unwrap();
    let inner = nv.get_nvlist("inner").unwrap().get_nvlist("inner").unwrap();
    assert_eq!(inner.get_number(".version").unwrap(), 1);
    assert_eq!(inner.get_number("mode").unwrap(), 1);
}

/// A whole section rewritten for a release and back, as `snapshot
/// migrate` does: the outer record and the records inside it.
#[test]
fn sections_convert_nested_records_both_ways() {
    use snapshot_core::compat::{convert_section, Converter, Registry, Target};

    let mut registry = Registry::new();
    registry
        .add::<Hpet>()
        .add::<Timer>()
        .release("1.0.0", &[("hpet", 1), ("timer", 1)])
        .release("1.1.0", &[("hpet", 2), ("timer", 1)]);
    let mut section = NvList::new().with("hpet0", hpet().to_nvlist());

    let old = registry
        .target_versions(&Target::Release("1.1".into()))
        .unwrap();
    let done = convert_section(&registry, "devices", &mut section, &old).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 2, true));
    let hpet0 = section.get_nvlist("hpet0").unwrap();
    let timers = hpet0.get_nvlist_array("timers").unwrap();
    assert!(timers
        .iter()
        .all(|t| t.get_number(".version").unwrap() == 1));
    // Already there: nothing to do.
    assert!(convert_section(&registry, "devices", &mut section, &old)
        .unwrap()
        .is_empty());

    let latest = registry.target_versions(&Target::Latest).unwrap();
    let done = convert_section(&registry, "devices", &mut section, &latest).unwrap();
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 2, true));
    assert_eq!(section.get_nvlist("hpet0").unwrap(), &hpet().to_nvlist());

    let oldest = registry
        .target_versions(&Target::Release("1.0".into()))
        .unwrap();
    let done = convert_section(&registry, "devices", &mut section, &oldest).unwrap();
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 1, true));
    let hpet0 = through_wire(section.get_nvlist("hpet0").unwrap());
    assert_eq!(old::Hpet::from_nvlist(&hpet0).unwrap().timers.len(), 2);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_timer() -> impl Strategy<Value = Timer> {
        (any::<u64>(), any::<bool>(), prop::bool::weighted(0.9)).prop_map(
            |(compval, periodic, enabled)| Timer {
                compval,
                periodic,
                enabled,
            },
        )
    }

    fn any_hpet() -> impl Strategy<Value = Hpet> {
        (
            any::<u64>(),
            prop::bool::weighted(0.8),
            prop::collection::vec(any_timer(), 0..4),
            prop::option::of(any_timer()),
            (any::<u8>(), any_timer()),
        )
            .prop_map(|(config, isr_zero, timers, first, pair)| Hpet {
                config,
                isr: if isr_zero { 0 } else { config | 1 },
                timers,
                first,
                pair,
            })
    }

    fn old_of(t: &Timer) -> old::Timer {
        old::Timer {
            compval: t.compval,
            mode: u64::from(t.periodic),
        }
    }

    proptest! {
        /// Written for release 1, a state the older build can hold reads
        /// there as the same state, and back here unchanged; any other
        /// is refused, never written wrong.
        #[test]
        fn release1_gets_the_state_or_a_refusal(state in any_hpet()) {
            let timers = || state.timers.iter().chain(&state.first).chain([&state.pair.1]);
            let holdable = state.isr == 0 && timers().all(|t| t.enabled);
            match state.to_nvlist_for_versions(&release1()) {
                Ok(nv) => {
                    prop_assert!(holdable);
                    let nv = through_wire(&nv);
                    let old = old::Hpet::from_nvlist(&nv).unwrap();
                    prop_assert_eq!(old, old::Hpet {
                        config: state.config,
                        timers: state.timers.iter().map(old_of).collect(),
                        first: state.first.as_ref().map(old_of),
                        pair: (state.pair.0, old_of(&state.pair.1)),
                    });
                    prop_assert_eq!(Hpet::from_nvlist(&nv).unwrap(), state);
                }
                Err(e) => {
                    prop_assert!(!holdable, "refused a holdable state: {}", e);
                    prop_assert!(e.path().is_some_and(|p| p.starts_with("hpet")), "{}", e);
                }
            }
        }
    }
}

/// A generic record whose added field's default depends on its type
/// parameter: its instances cannot be told apart in a stored record.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "g", version = 2)]
struct G<T: Default> {
    a: u8,
    #[snapshot(since = 2, default)]
    x: T,
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "holder")]
struct Holder {
    b: G<Option<bool>>,
    a: G<bool>,
}

#[test]
fn generic_instances_with_different_defaults_are_refused_not_guessed() {
    let h = Holder {
        b: G {
            a: 1,
            x: Some(false),
        },
        a: G { a: 2, x: false },
    };
    let versions = BTreeMap::from([("g".to_owned(), 1)]);
    let err = h.to_nvlist_for_versions(&versions).unwrap_err();
    assert!(
        err.to_string()
            .contains("generic record `g` differ in their defaults"),
        "{err}"
    );
    // One instance alone steps down as usual.
    let one = Gen {
        inner: G { a: 3, x: 0u8 },
    };
    let nv = one.to_nvlist_for_versions(&versions).unwrap();
    assert_eq!(
        nv.get_nvlist("inner")
            .unwrap()
            .get_number(".version")
            .unwrap(),
        1
    );
}

/// Version 3 adds a timer whose default the older timer version cannot
/// hold; written for version 2, the field is dropped, never converted.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "m3", version = 3)]
struct M3 {
    a: u64,
    #[snapshot(since = 3, default = off)]
    late: Timer,
}

fn off() -> Timer {
    Timer {
        compval: 0,
        periodic: false,
        enabled: false,
    }
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "o3")]
struct O3 {
    ms: Vec<M3>,
}

#[test]
fn a_field_the_target_drops_is_not_converted() {
    let versions = BTreeMap::from([("m3".to_owned(), 2), ("timer".to_owned(), 1)]);
    let m = || M3 { a: 1, late: off() };
    let nv = m().to_nvlist_for_versions(&versions).unwrap();
    assert!(!nv.contains("late"));
    let nested = O3 { ms: vec![m(), m()] };
    let nv = through_wire(&nested.to_nvlist_for_versions(&versions).unwrap());
    let ms = nv.get_nvlist_array("ms").unwrap();
    assert!(ms.iter().all(|m| !m.contains("late")));
    assert_eq!(O3::from_nvlist(&nv).unwrap(), nested);
    // Holding anything else, it is refused, by name.
    let changed = O3 {
        ms: vec![M3 {
            a: 1,
            late: timer(1, true),
        }],
    };
    let err = changed.to_nvlist_for_versions(&versions).unwrap_err();
    assert_eq!(err.path(), Some("o3.ms[0].late"));
}

/// Version 2 turns one timer into a list of them; the down migration
/// moves the first back into the removed field.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "mv", version = 2)]
#[snapshot(removed(field = "t0", since = 2))]
#[snapshot(migrate(from = 1, up = one_to_list, down = list_to_one))]
struct Mv {
    #[snapshot(since = 2, default)]
    ts: Vec<Timer>,
}

fn one_to_list(nv: &mut NvList) -> Result<(), MigrationError> {
    let t0 = nv.get_nvlist("t0")?.clone();
    nv.insert("ts", vec![t0]);
    Ok(())
}

fn list_to_one(nv: &mut NvList) -> Result<(), MigrationError> {
    let ts = nv.get_nvlist_array("ts")?;
    if ts.len() != 1 {
        return Err(MigrationError::invalid("ts", "version 1 holds one timer"));
    }
    let t0 = ts[0].clone();
    nv.insert("t0", t0);
    nv.insert("ts", ());
    Ok(())
}

mod old_mv {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "mv", version = 1)]
    pub struct Mv {
        pub t0: super::old::Timer,
    }
}

#[test]
fn a_record_a_down_migration_moves_into_a_kept_field_is_stepped_down() {
    let versions = BTreeMap::from([("mv".to_owned(), 1), ("timer".to_owned(), 1)]);
    let mv = Mv {
        ts: vec![timer(7, true)],
    };
    let nv = through_wire(&mv.to_nvlist_for_versions(&versions).unwrap());
    assert_eq!(
        nv.get_nvlist("t0").unwrap().get_number(".version").unwrap(),
        1
    );
    assert_eq!(
        old_mv::Mv::from_nvlist(&nv).unwrap(),
        old_mv::Mv {
            t0: old_timer(7, 1)
        }
    );
    assert_eq!(Mv::from_nvlist(&nv).unwrap(), mv);
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "holder2")]
struct Holder2 {
    b: G<Option<bool>>,
    a: G<bool>,
    t: Timer,
}

#[test]
fn generic_instances_that_keep_their_version_are_not_refused() {
    let h = Holder2 {
        b: G {
            a: 1,
            x: Some(true),
        },
        a: G { a: 2, x: true },
        t: timer(3, true),
    };
    for versions in [
        BTreeMap::from([("timer".to_owned(), 1)]),
        BTreeMap::from([("timer".to_owned(), 1), ("g".to_owned(), 2)]),
    ] {
        let nv = through_wire(&h.to_nvlist_for_versions(&versions).unwrap());
        assert_eq!(
            nv.get_nvlist("t").unwrap().get_number(".version").unwrap(),
            1
        );
        assert_eq!(Holder2::from_nvlist(&nv).unwrap(), h);
    }
}

/// A count whose unit shrank twice: milliseconds (v1), microseconds (v2),
/// nanoseconds (v3).
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "rt", version = 3)]
#[snapshot(migrate(from = 1, up = times_1000, down = by_1000))]
#[snapshot(migrate(from = 2, up = times_1000, down = by_1000))]
struct Rt {
    n: u64,
}

fn times_1000(nv: &mut NvList) -> Result<(), MigrationError> {
    let n = nv.get_number("n")?;
    nv.insert("n", n * 1000);
    Ok(())
}

fn by_1000(nv: &mut NvList) -> Result<(), MigrationError> {
    let n = nv.get_number("n")?;
    nv.insert("n", n / 1000);
    Ok(())
}

/// Version 2 keeps `t` as nanoseconds in a number; its down migration,
/// written when `rt` was at version 2, puts back an `rt` record of that
/// version.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "ob", version = 2)]
#[snapshot(removed(field = "t", since = 2))]
#[snapshot(migrate(from = 1, up = rt_to_ns, down = ns_to_rt_v2))]
struct Ob {
    #[snapshot(since = 2)]
    t_ns: u64,
    other: Rt,
}

fn rt_to_ns(nv: &mut NvList) -> Result<(), MigrationError> {
    let ms = nv.get_nvlist("t")?.get_number("n")?;
    nv.insert("t_ns", ms * 1_000_000);
    Ok(())
}

fn ns_to_rt_v2(nv: &mut NvList) -> Result<(), MigrationError> {
    let us = nv.get_number("t_ns")? / 1000;
    nv.remove("t_ns");
    let t = NvList::new()
        .with(".schema", "rt")
        .with(".version", 2u64)
        .with("n", us);
    nv.insert("t", t);
    Ok(())
}

mod old_ob {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "rt", version = 1)]
    pub struct Rt {
        pub n: u64,
    }

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "ob", version = 1)]
    pub struct Ob {
        pub t: Rt,
        pub other: Rt,
    }
}

#[test]
fn an_older_record_a_down_migration_writes_steps_down_from_its_own_version() {
    let ob = Ob {
        t_ns: 5_000_000_000,
        other: Rt { n: 7_000_000_000 },
    };
    let versions = BTreeMap::from([("ob".to_owned(), 1), ("rt".to_owned(), 1)]);
    let nv = through_wire(&ob.to_nvlist_for_versions(&versions).unwrap());
    assert_eq!(
        old_ob::Ob::from_nvlist(&nv).unwrap(),
        old_ob::Ob {
            t: old_ob::Rt { n: 5000 },
            other: old_ob::Rt { n: 7000 },
        }
    );
}

/// A nested record older than a release's version of its type is read by
/// that release as it is: converting for the release leaves it, even
/// when the current type has no way down to the release's version.
#[test]
fn sections_leave_nested_records_the_target_reads() {
    use snapshot_core::compat::{convert_section, Converter, Registry, Target};

    let mut registry = Registry::new();
    registry
        .add::<Ob>()
        .add::<Rt>()
        .release("1.0.0", &[("ob", 2), ("rt", 1)])
        .release("2.0.0", &[("ob", 2), ("rt", 2)]);
    let rt_v1 = NvList::new()
        .with(".schema", "rt")
        .with(".version", 1u64)
        .with("n", 3u64);
    let mut ob = Ob {
        t_ns: 1,
        other: Rt { n: 0 },
    }
    .to_nvlist();
    ob.insert("other", rt_v1.clone());
    let mut section = NvList::new().with("ob0", ob);
    let v2 = registry
        .target_versions(&Target::Release("2.0".into()))
        .unwrap();
    assert!(convert_section(&registry, "devices", &mut section, &v2)
        .unwrap()
        .is_empty());
    // To the newest, it is upgraded.
    let latest = registry.target_versions(&Target::Latest).unwrap();
    let done = convert_section(&registry, "devices", &mut section, &latest).unwrap();
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 2, true));
    let other = section
        .get_nvlist("ob0")
        .unwrap()
        .get_nvlist("other")
        .unwrap();
    assert_eq!(other.get_number(".version").unwrap(), 3);
    assert_eq!(other.get_number("n").unwrap(), 3_000_000);
}

#[test]
fn sections_convert_nested_types_the_registry_lacks_and_report_what_changed() {
    use snapshot_core::compat::{convert_section, Converter, Registry, Target};

    // `rt` is named by the release but not registered.
    let mut registry = Registry::new();
    registry
        .add::<Ob>()
        .release("1.0.0", &[("ob", 2), ("rt", 1)]);
    let ob = Ob {
        t_ns: 1,
        other: Rt { n: 3_000_000 },
    };
    let mut section = NvList::new().with("ob0", ob.to_nvlist());
    let v1 = registry
        .target_versions(&Target::Release("1.0".into()))
        .unwrap();
    let done = convert_section(&registry, "devices", &mut section, &v1).unwrap();
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 2, true));
    let other = section
        .get_nvlist("ob0")
        .unwrap()
        .get_nvlist("other")
        .unwrap();
    assert_eq!(other.get_number(".version").unwrap(), 1);
    assert_eq!(other.get_number("n").unwrap(), 3);

    // Rewritten for its own version, the nested record changes too, and
    // the report says so.
    let mut registry = Registry::new();
    registry
        .add::<Ob>()
        .add::<Rt>()
        .release("1.0.0", &[("ob", 1), ("rt", 2)]);
    let mut ob = ob.to_nvlist();
    ob.insert(
        "other",
        NvList::new()
            .with(".schema", "rt")
            .with(".version", 1u64)
            .with("n", 3u64),
    );
    let mut section = NvList::new().with("ob0", ob);
    let v1 = registry
        .target_versions(&Target::Release("1.0".into()))
        .unwrap();
    let done = convert_section(&registry, "devices", &mut section, &v1).unwrap();
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 1, true));
    let other = section
        .get_nvlist("ob0")
        .unwrap()
        .get_nvlist("other")
        .unwrap();
    assert_eq!(other.get_number(".version").unwrap(), 2);
    assert_eq!(other.get_number("n").unwrap(), 3000);
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "rawh")]
struct RawH {
    rt: Rt,
    blob: NvList,
}

#[test]
fn a_record_newer_than_this_build_is_left_when_the_target_reads_it() {
    let newer = |min_reader: u64| {
        NvList::new()
            .with(".schema", "rt")
            .with(".version", 4u64)
            .with("n", 9u64)
            .with(".min_reader", min_reader)
    };
    let versions = BTreeMap::from([("rt".to_owned(), 2)]);
    let h = RawH {
        rt: Rt { n: 5_000 },
        blob: newer(2),
    };
    let nv = h.to_nvlist_for_versions(&versions).unwrap();
    assert_eq!(nv.get_nvlist("blob").unwrap(), &newer(2));
    assert_eq!(
        nv.get_nvlist("rt").unwrap().get_number(".version").unwrap(),
        2
    );
    let h = RawH {
        rt: Rt { n: 5_000 },
        blob: newer(4),
    };
    let err = h.to_nvlist_for_versions(&versions).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rawh.blob: stored version 4 is newer than this build's version 3 \
         and needs a reader of version 4 or later"
    );
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "rawh2")]
struct RawH2 {
    rt: Rt,
    t: Timer,
    blob: NvList,
}

/// A record newer than this build, which the target reads, is left whole:
/// what it holds is not this build's to convert.
#[test]
fn a_newer_record_left_as_it_is_keeps_what_it_holds() {
    let disabled = Timer {
        compval: 1,
        periodic: false,
        enabled: false,
    };
    let blob = NvList::new()
        .with(".schema", "rt")
        .with(".version", 4u64)
        .with(".min_reader", 2u64)
        .with("n", 9u64)
        .with("extra", disabled.to_nvlist());
    let h = RawH2 {
        rt: Rt { n: 5_000 },
        t: timer(1, true),
        blob: blob.clone(),
    };
    // Whether or not the map names its type.
    for versions in [
        BTreeMap::from([("rt".to_owned(), 2), ("timer".to_owned(), 1)]),
        BTreeMap::from([("timer".to_owned(), 1)]),
    ] {
        let nv = h.to_nvlist_for_versions(&versions).unwrap();
        assert_eq!(nv.get_nvlist("blob").unwrap(), &blob);
        let t = nv.get_nvlist("t").unwrap();
        assert_eq!(t.get_number(".version").unwrap(), 1);
    }
}

#[test]
fn sections_report_only_what_changed() {
    use snapshot_core::compat::{convert_section, Converter, Registry, Target};

    let mut registry = Registry::new();
    registry
        .add::<RawH>()
        .add::<Rt>()
        .add::<Ob>()
        .release("1.0.0", &[("ob", 1), ("rt", 3), ("rawh", 1)]);
    // A newer record the latest versions read: nothing to do, every run.
    let blob = NvList::new()
        .with(".schema", "rt")
        .with(".version", 4u64)
        .with(".min_reader", 2u64)
        .with("n", 9u64);
    let h = RawH {
        rt: Rt { n: 1 },
        blob,
    };
    let mut section = NvList::new().with("h", h.to_nvlist());
    let latest = registry.target_versions(&Target::Latest).unwrap();
    for _ in 0..2 {
        assert!(convert_section(&registry, "devices", &mut section, &latest)
            .unwrap()
            .is_empty());
    }
    // A down migration that adds a nested record changes the records
    // nested in it: the report says so.
    let ob = Ob {
        t_ns: 2_000_000,
        other: Rt { n: 3 },
    };
    let mut section = NvList::new().with("ob0", ob.to_nvlist());
    let v1 = registry
        .target_versions(&Target::Release("1.0".into()))
        .unwrap();
    let done = convert_section(&registry, "devices", &mut section, &v1).unwrap();
    assert_eq!((done[0].from, done[0].to, done[0].nested), (2, 1, true));
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "many")]
struct Many {
    ts: Vec<Option<Timer>>,
}

mod old_many {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "many")]
    pub struct Many {
        pub ts: Vec<Option<super::old::Timer>>,
    }
}

/// Records in a positional list (a `Vec` of a type without a libnv array
/// type) step down in one pass over the list.
#[test]
fn records_in_a_long_positional_list_step_down() {
    let many = Many {
        ts: (0..2000)
            .map(|i| (i % 3 != 0).then(|| timer(i, i % 2 == 0)))
            .collect(),
    };
    let versions = BTreeMap::from([("timer".to_owned(), 1)]);
    let nv = through_wire(&many.to_nvlist_for_versions(&versions).unwrap());
    let old = old_many::Many::from_nvlist(&nv).unwrap();
    assert_eq!(old.ts.len(), 2000);
    assert_eq!(old.ts[1], Some(old_timer(1, 0)));
    assert_eq!(old.ts[2], Some(old_timer(2, 1)));
    assert_eq!(old.ts[3], None);
    assert_eq!(Many::from_nvlist(&nv).unwrap(), many);
}

/// A record kept at its version whose nested records cannot be rewritten:
/// the error says it was the nested records.
#[test]
fn sections_name_nested_records_that_cannot_be_rewritten() {
    use snapshot_core::compat::{convert_section, Converter, Registry, Target};

    let mut registry = Registry::new();
    registry
        .add::<Holder>()
        .release("1.0.0", &[("holder", 1), ("g", 1)]);
    let h = Holder {
        b: G { a: 1, x: None },
        a: G { a: 2, x: false },
    };
    let mut section = NvList::new().with("h0", h.to_nvlist());
    let v1 = registry
        .target_versions(&Target::Release("1.0".into()))
        .unwrap();
    let err = convert_section(&registry, "devices", &mut section, &v1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("devices.h0"), "{err}");
    assert!(
        err.contains("cannot rewrite the records nested in it"),
        "{err}"
    );
    assert!(err.contains("differ in their defaults"), "{err}");
}
