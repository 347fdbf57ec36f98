//! One record type through three versions: fields added, removed,
//! reordered, renamed, widened, and a change of units, read forward from
//! every older version and written back for every older reader. The older
//! versions are modelled by the structs an older build would have.

use snapshot_core::{migrate, MigrationError, NvList, Snapshot};

use super::util::through_wire;

const NANOS: i64 = 1_000_000_000;

/// Status bit saying the periodic interrupt is on; v3 keeps it in a field.
const PIE: u64 = 0x40;

mod v1 {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "vrtc", version = 1)]
    pub struct Rtc {
        pub addr: u32,
        /// Seconds.
        pub base_rtctime: i32,
        pub century: u8,
        pub status: u16,
    }
}

mod v2 {
    use snapshot_core::Snapshot;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "vrtc", version = 2)]
    #[snapshot(migrate(from = 1, up = super::seconds_to_nanos, down = super::nanos_to_seconds))]
    pub struct Rtc {
        pub addr: u32,
        /// Nanoseconds since v2.
        pub base_rtctime: i64,
        pub century: u8,
        #[snapshot(widened_from = u16, widened_in = 2)]
        pub status: u32,
        #[snapshot(since = 2, default)]
        pub nvram: Vec<u8>,
    }
}

/// The current version: `century` removed, `base_rtctime` renamed,
/// `periodic` split out of `status`, `alarm` added, fields reordered.
#[derive(Snapshot, Debug, PartialEq)]
#[snapshot(name = "vrtc", version = 3)]
#[snapshot(removed(field = "century", since = 3))]
#[snapshot(migrate(from = 1, up = seconds_to_nanos, down = nanos_to_seconds))]
#[snapshot(migrate(from = 2, up = split_periodic, down = merge_periodic))]
struct Rtc {
    #[snapshot(since = 2, default)]
    nvram: Vec<u8>,
    #[snapshot(since = 3, default)]
    alarm: Option<u64>,
    #[snapshot(rename_from = "base_rtctime", renamed_in = 3)]
    base_time: i64,
    #[snapshot(widened_from = u16, widened_in = 2)]
    status: u32,
    #[snapshot(since = 3)]
    periodic: bool,
    addr: u32,
    #[snapshot(skip)]
    cached: Option<std::time::Instant>,
}

fn seconds_to_nanos(nv: &mut NvList) -> Result<(), MigrationError> {
    let seconds = nv.get_number("base_rtctime")? as i64;
    nv.insert("base_rtctime", (seconds * NANOS) as u64);
    Ok(())
}

fn nanos_to_seconds(nv: &mut NvList) -> Result<(), MigrationError> {
    let nanos = nv.get_number("base_rtctime")? as i64;
    if nanos % NANOS != 0 {
        return Err(MigrationError::invalid(
            "base_rtctime",
            "not a whole number of seconds, which version 1 stores",
        ));
    }
    nv.insert("base_rtctime", (nanos / NANOS) as u64);
    // v1 keeps the time as i32 seconds: the type changes with the unit, so
    // this migration checks the fit (`status` is declared widened instead).
    migrate::check_fits::<i32>(nv, "base_rtctime")?;
    Ok(())
}

fn split_periodic(nv: &mut NvList) -> Result<(), MigrationError> {
    let status = nv.get_number("status")?;
    nv.insert("status", status & !PIE);
    nv.insert("periodic", status & PIE != 0);
    Ok(())
}

fn merge_periodic(nv: &mut NvList) -> Result<(), MigrationError> {
    let status = nv.get_number("status")?;
    let periodic = match nv.remove("periodic") {
        Some(snapshot_core::Value::Bool(b)) => b,
        _ => return Err(MigrationError::invalid("periodic", "missing or not a bool")),
    };
    nv.insert("status", if periodic { status | PIE } else { status });
    // The field removed in v3: every RTC this host models is in the 2000s.
    nv.insert("century", 20u64);
    Ok(())
}

fn current() -> Rtc {
    Rtc {
        nvram: Vec::new(),
        alarm: None,
        base_time: 1_700_000_000 * NANOS,
        status: 0x26,
        periodic: true,
        addr: 0x70,
        cached: Some(std::time::Instant::now()),
    }
}

fn decoded(rtc: Rtc) -> Rtc {
    Rtc {
        cached: None,
        ..rtc
    }
}

#[test]
fn v1_upgrades_to_v3() {
    let old = v1::Rtc {
        addr: 0x70,
        base_rtctime: 1_700_000_000,
        century: 20,
        status: 0x26 | PIE as u16,
    };
    let nv = through_wire(&old.to_nvlist());
    assert_eq!(Rtc::from_nvlist(&nv).unwrap(), decoded(current()));
}

#[test]
fn v2_upgrades_to_v3() {
    let old = v2::Rtc {
        addr: 0x71,
        base_rtctime: 5 * NANOS + 3,
        century: 21,
        status: 0x1_0000,
        nvram: vec![1, 2, 3],
    };
    let nv = through_wire(&old.to_nvlist());
    let rtc = Rtc::from_nvlist(&nv).unwrap();
    assert_eq!(
        rtc,
        Rtc {
            nvram: vec![1, 2, 3],
            alarm: None,
            base_time: 5 * NANOS + 3,
            status: 0x1_0000,
            periodic: false,
            addr: 0x71,
            cached: None,
        }
    );
}

#[test]
fn v1_upgrades_to_v2() {
    let old = v1::Rtc {
        addr: 1,
        base_rtctime: -2,
        century: 19,
        status: 7,
    };
    let new = v2::Rtc::from_nvlist(&through_wire(&old.to_nvlist())).unwrap();
    assert_eq!(new.base_rtctime, -2 * NANOS);
    assert_eq!((new.status, new.century, new.nvram.len()), (7, 19, 0));
}

#[test]
fn current_round_trips() {
    let rtc = Rtc {
        nvram: vec![9; 128],
        alarm: Some(3),
        ..current()
    };
    let nv = through_wire(&rtc.to_nvlist());
    assert_eq!(Rtc::from_nvlist(&nv).unwrap(), decoded(rtc));
}

#[test]
fn downgrade_to_v2() {
    let nv = through_wire(&current().to_nvlist_for(2).unwrap());
    let old = v2::Rtc::from_nvlist(&nv).unwrap();
    assert_eq!(
        old,
        v2::Rtc {
            addr: 0x70,
            base_rtctime: 1_700_000_000 * NANOS,
            century: 20,
            status: 0x26 | PIE as u32,
            nvram: Vec::new(),
        }
    );
    // And the v2 record upgrades back to the same state.
    assert_eq!(Rtc::from_nvlist(&nv).unwrap(), decoded(current()));
}

#[test]
fn downgrade_to_v1() {
    let nv = through_wire(&current().to_nvlist_for(1).unwrap());
    assert_eq!(nv.get_number(".version").unwrap(), 1);
    let old = v1::Rtc::from_nvlist(&nv).unwrap();
    assert_eq!(
        old,
        v1::Rtc {
            addr: 0x70,
            base_rtctime: 1_700_000_000,
            century: 20,
            status: 0x26 | PIE as u16,
        }
    );
}

#[test]
fn downgrade_refuses_a_non_default_added_field() {
    let rtc = Rtc {
        alarm: Some(5),
        ..current()
    };
    let err = rtc.to_nvlist_for(2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vrtc.alarm: added in version 3 and holds a non-default value \
         that an older reader would lose (converting v3 -> v2)"
    );
    let rtc = Rtc {
        nvram: vec![1],
        ..current()
    };
    assert!(rtc.to_nvlist_for(2).is_ok());
    let err = rtc.to_nvlist_for(1).unwrap_err();
    assert_eq!(err.path(), Some("vrtc.nvram"));
}

#[test]
fn downgrade_refuses_a_value_that_does_not_fit() {
    let rtc = Rtc {
        status: 0x1_0000,
        ..current()
    };
    assert!(rtc.to_nvlist_for(2).is_ok());
    let err = rtc.to_nvlist_for(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vrtc.status: 65600 does not fit u16 (converting v2 -> v1)"
    );
    let rtc = Rtc {
        base_time: i64::from(i32::MAX) * NANOS + NANOS,
        ..current()
    };
    let err = rtc.to_nvlist_for(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vrtc: migration v2 -> v1 failed: base_rtctime: 2147483648 does not fit i32"
    );
    let rtc = Rtc {
        base_time: NANOS / 2,
        ..current()
    };
    let err = rtc.to_nvlist_for(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vrtc: migration v2 -> v1 failed: `base_rtctime`: \
         not a whole number of seconds, which version 1 stores"
    );
}

#[test]
fn older_build_refuses_a_newer_record() {
    let nv = current().to_nvlist();
    // No `.min_reader`: only a reader of the record's own version reads it.
    assert!(!nv.contains(".min_reader"));
    let err = v2::Rtc::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vrtc: stored version 3 is newer than this build's version 2 \
         and needs a reader of version 3 or later"
    );
}

#[test]
fn a_stored_field_of_the_wrong_version_is_unknown() {
    let mut nv = current().to_nvlist_for(2).unwrap();
    nv.insert("base_time", 1u64);
    let err = Rtc::from_nvlist(&nv).unwrap_err();
    assert_eq!(err.path(), Some("vrtc.base_time"));
}

#[test]
fn schema_lists_the_history() {
    let schema = Rtc::schema();
    assert_eq!((schema.name, schema.version), ("vrtc", 3));
    let names: Vec<_> = schema.fields().iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        ["nvram", "alarm", "base_time", "status", "periodic", "addr"]
    );
    let base_time = &schema.fields()[2];
    assert_eq!(base_time.former_names[0].name, "base_rtctime");
    assert_eq!(base_time.ty, "i64");
    assert_eq!(schema.fields()[1].ty, "Option<u64>");
    assert_eq!(schema.removed[0].name, "century");
    assert_eq!(schema.migrations.len(), 2);
}

/// Forward compatibility: a field added in v2 that holds its default is
/// omitted, so a v1 build reads the record; one that does not is refused.
mod forward {
    use super::*;

    mod old {
        use snapshot_core::Snapshot;

        #[derive(Snapshot, Debug, PartialEq)]
        #[snapshot(name = "pit", version = 1)]
        pub struct Pit {
            pub count: u16,
        }
    }

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "pit", version = 2)]
    struct Pit {
        #[snapshot(widened_from = u16, widened_in = 2)]
        count: u32,
        #[snapshot(since = 2, default = latch_default)]
        latch: u32,
    }

    fn latch_default() -> u32 {
        0xffff
    }

    #[test]
    fn older_build_reads_a_record_using_nothing_new() {
        let nv = through_wire(
            &Pit {
                count: 9,
                latch: 0xffff,
            }
            .to_nvlist(),
        );
        assert!(!nv.contains("latch"));
        assert_eq!(nv.get_number(".min_reader").unwrap(), 1);
        assert_eq!(old::Pit::from_nvlist(&nv).unwrap(), old::Pit { count: 9 });
        assert_eq!(
            Pit::from_nvlist(&nv).unwrap(),
            Pit {
                count: 9,
                latch: 0xffff
            }
        );
    }

    #[test]
    fn older_build_refuses_a_record_using_something_new() {
        let nv = Pit { count: 9, latch: 1 }.to_nvlist();
        assert!(!nv.contains(".min_reader"));
        assert!(old::Pit::from_nvlist(&nv).is_err());
        let err = Pit { count: 9, latch: 1 }.to_nvlist_for(1).unwrap_err();
        assert_eq!(err.path(), Some("pit.latch"));
    }

    #[test]
    fn a_value_beyond_the_older_type_needs_the_newer_reader() {
        let pit = Pit {
            count: 70_000,
            latch: 0xffff,
        };
        let nv = pit.to_nvlist();
        assert!(!nv.contains(".min_reader"));
        assert!(old::Pit::from_nvlist(&nv).is_err());
        let err = pit.to_nvlist_for(1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pit.count: 70000 does not fit u16 (converting v2 -> v1)"
        );
        let fits = Pit {
            count: 65_535,
            latch: 0xffff,
        };
        let nv = fits.to_nvlist_for(1).unwrap();
        assert_eq!(
            old::Pit::from_nvlist(&nv).unwrap(),
            old::Pit { count: 65_535 }
        );
    }
}
