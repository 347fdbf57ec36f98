//! The messages users see when a record cannot be read.

use snapshot_core::nvlist::ValuePath;
use snapshot_core::{NvList, Snapshot};

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "timer", version = 1)]
struct Timer {
    compval: u64,
    enabled: bool,
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "vhpet", version = 2)]
struct Hpet {
    config: u32,
    timers: Vec<Timer>,
}

fn hpet() -> Hpet {
    Hpet {
        config: 1,
        timers: (0..4)
            .map(|i| Timer {
                compval: i,
                enabled: true,
            })
            .collect(),
    }
}

#[test]
fn wrong_type_names_the_path() {
    let mut nv = hpet().to_nvlist();
    nv.get_nvlist_array_mut("timers").unwrap()[3].insert("compval", "x");
    let err = Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vhpet.timers[3].compval: expected number, found string"
    );
    assert_eq!(err.path(), Some("vhpet.timers[3].compval"));
}

#[test]
fn unknown_field_names_the_path() {
    let mut nv = hpet().to_nvlist();
    nv.get_nvlist_array_mut("timers").unwrap()[1].insert("period", 5u64);
    let err = Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vhpet.timers[1].period: unknown field (neither current, former, nor declared removed)"
    );
}

#[test]
fn out_of_range_is_refused() {
    let mut nv = hpet().to_nvlist();
    nv.insert("config", 1u64 << 40);
    let err = Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vhpet.config: 1099511627776 does not fit u32"
    );
}

#[test]
fn missing_field() {
    let mut nv = hpet().to_nvlist();
    nv.remove("config");
    let err = Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(err.to_string(), "vhpet.config: missing");
}

#[test]
fn wrong_schema() {
    let nv = Timer {
        compval: 1,
        enabled: false,
    }
    .to_nvlist();
    let err = Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vhpet: record of schema `timer`, expected `vhpet`"
    );
}

#[test]
fn newer_version_is_refused_naming_both() {
    let mut nv = hpet().to_nvlist();
    nv.insert(".version", 5u64);
    nv.insert(".min_reader", 4u64);
    let err = Hpet::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vhpet: stored version 5 is newer than this build's version 2 \
         and needs a reader of version 4 or later"
    );
}

#[test]
fn newer_version_readable_when_min_reader_allows() {
    let mut nv = hpet().to_nvlist();
    nv.insert(".version", 5u64);
    assert_eq!(Hpet::from_nvlist(&nv).unwrap(), hpet());
}

#[test]
fn min_reader_newer_than_the_record_is_refused() {
    for (min_reader, message) in [
        (
            3u64,
            r#"vhpet.".min_reader": 3 is newer than the record's version 2"#,
        ),
        (0, r#"vhpet.".min_reader": version 0 does not exist"#),
    ] {
        let mut nv = hpet().to_nvlist();
        nv.insert(".min_reader", min_reader);
        let err = Hpet::from_nvlist(&nv).unwrap_err();
        assert_eq!(err.to_string(), message);
        // The path is written as value paths are: `snapshot get` takes it.
        let path = ValuePath::parse(&format!("devices.{}", err.path().unwrap())).unwrap();
        let names: Vec<_> = path.segments.iter().map(|s| s.name.to_string()).collect();
        assert_eq!(names, ["vhpet", ".min_reader"]);
        // The fast path gives up on it, and the checked path says why.
        let err = Hpet::from_bytes(&nv.pack()).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn min_reader_equal_to_the_version_is_accepted() {
    let mut nv = hpet().to_nvlist();
    nv.insert(".min_reader", 2u64);
    assert_eq!(Hpet::from_nvlist(&nv).unwrap(), hpet());
    assert_eq!(Hpet::from_bytes(&nv.pack()).unwrap(), hpet());
}

#[test]
fn unsupported_target_version() {
    let err = hpet().to_nvlist_for(3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vhpet: cannot write version 3: versions are 1..=2"
    );
    assert!(hpet().to_nvlist_for(0).is_err());
}

#[test]
fn not_a_record() {
    let nv = NvList::new();
    assert_eq!(
        Hpet::from_nvlist(&nv).unwrap_err().to_string(),
        "vhpet: not a record: no `.schema` pair"
    );
}

/// `.min_reader` where the writer never puts it, or twice: the fast path
/// reads what the checked path reads, or leaves the input to it.
#[test]
fn min_reader_out_of_place_or_twice() {
    use snapshot_core::nvlist::Writer;

    let write = |pairs: &[(&str, u64)]| {
        let mut w = Writer::new();
        w.string(".schema", b"timer");
        for &(name, value) in pairs {
            match name {
                "enabled" => w.bool(name, value == 1),
                _ => {
                    w.number(name, value);
                }
            }
        }
        w.finish()
    };
    let before = write(&[
        (".version", 1),
        (".min_reader", 1),
        ("compval", 7),
        ("enabled", 1),
    ]);
    let first = write(&[
        (".min_reader", 1),
        (".version", 1),
        ("compval", 7),
        ("enabled", 1),
    ]);
    let twice = write(&[
        (".version", 1),
        ("compval", 7),
        (".min_reader", 1),
        ("enabled", 1),
        (".min_reader", 1),
    ]);
    let expected = Timer {
        compval: 7,
        enabled: true,
    };
    for bytes in [&before, &first] {
        super::util::fast_agrees::<Timer>(bytes);
        assert_eq!(Timer::from_bytes(bytes).unwrap(), expected);
    }
    assert!(snapshot_core::__private::read_fast::<Timer>(&twice).is_none());
    let err = Timer::from_bytes(&twice).unwrap_err();
    assert!(err.to_string().contains(".min_reader"), "{err}");
}

#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "paired")]
struct Paired {
    pair: (u8, Timer),
    list: Vec<(u8, bool)>,
}

/// Inside tuples and positional lists the path names the pair (`.1`), as
/// a value path does, so `snapshot get` finds what the error names.
#[test]
fn paths_into_tuples_are_value_paths() {
    let good = Paired {
        pair: (1, hpet().timers.remove(0)),
        list: vec![(1, true), (2, false)],
    };
    let mut nv = good.to_nvlist();
    let pair = nv.get_nvlist_mut("pair").unwrap();
    pair.get_nvlist_mut("1").unwrap().insert("compval", "x");
    let err = Paired::from_nvlist(&nv).unwrap_err();
    assert_eq!(err.path(), Some("paired.pair.1.compval"));
    let found = ValuePath::parse(&format!("devices.{}", err.path().unwrap()))
        .unwrap()
        .get(&NvList::new().with("paired", nv))
        .unwrap();
    assert_eq!(found, snapshot_core::Value::from("x"));

    let mut nv = good.to_nvlist();
    let list = nv.get_nvlist_mut("list").unwrap();
    list.get_nvlist_mut("1").unwrap().insert("0", true);
    let err = Paired::from_nvlist(&nv).unwrap_err();
    assert_eq!(err.path(), Some("paired.list.1.0"));
}
