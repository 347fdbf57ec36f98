//! One type through the mistakes the history must catch: a change without
//! a version bump, a bump without what the change needs, a tampered
//! fixture, a recorded version rewritten.

use snapshot_core::compat::{self, Registry, Sample};
use snapshot_core::{MigrationError, NvList, SchemaError, Snapshot};

mod v1 {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 1)]
    pub struct Dev {
        pub a: u32,
        pub b: u16,
    }

    impl Sample for Dev {
        fn sample() -> Self {
            Dev { a: 7, b: 9 }
        }
    }
}

/// Version 1 with a doc comment added: nothing stored changed.
mod reworded {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 1)]
    pub struct Dev {
        /// The A register.
        pub a: u32,
        pub b: u16,
    }
}

/// Version 1 changed in place: a field added, another widened.
mod unbumped {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 1)]
    pub struct Dev {
        pub a: u32,
        pub b: u32,
        pub c: u8,
    }
}

/// Version 2, but the added field does not say since when, and the
/// retyped one has no migration. (An added field without a default is
/// refused by the derive already.)
mod incomplete {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 2)]
    pub struct Dev {
        pub a: u32,
        pub b: String,
        pub c: u8,
    }
}

/// Version 2 with `b` gone and not declared removed.
mod undeclared_removal {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 2)]
    pub struct Dev {
        pub a: u32,
    }
}

/// Version 2 that declares the removal but cannot write for version 1.
mod removal_without_down {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 2)]
    #[snapshot(removed(field = "b", since = 2))]
    pub struct Dev {
        pub a: u32,
    }
}

/// Version 2 done right.
mod v2 {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 2)]
    #[snapshot(removed(field = "b", since = 2))]
    #[snapshot(migrate(from = 1, up = keep, down = restore_b))]
    pub struct Dev {
        pub a: u32,
        #[snapshot(since = 2, default)]
        pub c: u8,
    }

    impl Sample for Dev {
        fn sample() -> Self {
            Dev { a: 7, c: 1 }
        }
    }

    fn keep(_: &mut NvList) -> Result<(), MigrationError> {
        Ok(())
    }

    /// Version 1 readers need `b`; version 2 no longer tracks it.
    fn restore_b(nv: &mut NvList) -> Result<(), MigrationError> {
        nv.insert("b", 0u64);
        Ok(())
    }
}

fn registry<T: Snapshot>() -> Registry {
    let mut reg = Registry::new();
    reg.add::<T>();
    reg
}

fn problems(err: SchemaError) -> String {
    match err {
        SchemaError::Check { problems } => problems.join("\n"),
        other => panic!("not a check failure: {other}"),
    }
}

/// A directory with version 1 recorded, schema and fixture.
fn recorded_v1() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::new();
    reg.add_sample::<v1::Dev>();
    compat::bless_schemas(&reg, dir.path()).unwrap();
    compat::bless_fixtures(&reg, dir.path()).unwrap();
    compat::check(&reg, dir.path()).unwrap();
    dir
}

#[test]
fn a_change_without_a_bump_fails_and_says_what_changed() {
    let dir = recorded_v1();
    let err = compat::check(&registry::<unbumped::Dev>(), dir.path()).unwrap_err();
    let text = problems(err);
    assert!(
        text.starts_with("dev v1 changed since it was recorded, without a version bump:\n"),
        "{text}"
    );
    assert!(
        text.contains("  b: retyped u16 -> u32; upgrade compatible"),
        "{text}"
    );
    assert!(text.contains("  c: added; upgrade BREAKING"), "{text}");
    assert!(text.contains("set `#[snapshot(version = 2)]`"), "{text}");
    assert!(text.contains("SNAPSHOT_BLESS=1"), "{text}");
    // Recording refuses to overwrite the released version too.
    let err = compat::bless_schemas(&registry::<unbumped::Dev>(), dir.path()).unwrap_err();
    assert!(problems(err).contains("without a version bump"));
}

#[test]
fn a_reworded_doc_is_not_a_change() {
    let dir = recorded_v1();
    let reg = registry::<reworded::Dev>();
    compat::check(&reg, dir.path()).unwrap();
    assert!(compat::bless_schemas(&reg, dir.path()).unwrap().is_empty());
    let schema = snapshot_core::schema::Recorded::of(&reworded::Dev::schema());
    assert!(schema
        .to_text()
        .contains("field a: u32\n  doc The A register.\n"));
}

#[test]
fn a_bump_without_what_the_change_needs_fails() {
    let dir = recorded_v1();
    let text = problems(compat::check(&registry::<incomplete::Dev>(), dir.path()).unwrap_err());
    assert!(text.contains("dev v2: not recorded yet"), "{text}");
    assert!(
        text.contains("dev v1 -> v2: b: retyped u16 -> String; upgrade BREAKING"),
        "{text}"
    );
    assert!(
        text.contains(
            "declare `#[snapshot(migrate(from = 1, up = ..., down = ..., converts(b: u16)))]`"
        ),
        "{text}"
    );
    assert!(text.contains("c: added; upgrade BREAKING, downgrade BREAKING (has no `since` but v1 does not have it: declare `#[snapshot(since = 2, default)]`"), "{text}");
    let text =
        problems(compat::check(&registry::<undeclared_removal::Dev>(), dir.path()).unwrap_err());
    assert!(text.contains("b: removed; upgrade BREAKING"), "{text}");
    assert!(
        text.contains("declare `#[snapshot(removed(field = \"b\", since = 2))]`"),
        "{text}"
    );
}

#[test]
fn a_complete_bump_records_and_passes() {
    let dir = recorded_v1();
    let mut reg = Registry::new();
    reg.add_sample::<v2::Dev>();
    let written = compat::bless_schemas(&reg, dir.path()).unwrap();
    assert_eq!(written.len(), 1);
    assert!(written[0].ends_with("v2.schema"));
    compat::bless_fixtures(&reg, dir.path()).unwrap();
    compat::check(&reg, dir.path()).unwrap();
    assert!(compat::check_decode(&reg, dir.path(), "dev")
        .unwrap()
        .is_empty());
    let down = compat::check_downgrade(&reg, dir.path(), dir.path(), "dev").unwrap();
    assert!(down.is_empty(), "{down:?}");
    // The v1 fixture read by v2: `b` dropped, `c` its default.
    let expected = std::fs::read_to_string(dir.path().join("dev/v1.expected")).unwrap();
    assert!(expected.contains("a: number = 7"), "{expected}");
    assert!(!expected.contains("b:"), "{expected}");
}

#[test]
fn a_removal_without_a_down_migration_is_caught_when_writing_for_v1() {
    let dir = recorded_v1();
    let mut reg = Registry::new();
    reg.add::<removal_without_down::Dev>();
    let down = compat::check_downgrade(&reg, dir.path(), dir.path(), "dev").unwrap();
    assert_eq!(
        down,
        [
            "dev fixture v1 written for v1: dev.b: removed in this step, and no down migration \
          restores it for the older reader (converting v2 -> v1)"
        ]
    );
}

#[test]
fn a_tampered_fixture_fails() {
    let dir = recorded_v1();
    let reg = registry::<v1::Dev>();
    let path = dir.path().join("dev/v1.nv");
    let mut bytes = std::fs::read(&path).unwrap();

    // Another valid value: decodes, to the wrong value.
    let mut nv = snapshot_core::NvList::unpack(&bytes).unwrap();
    nv.insert("a", 8u64);
    std::fs::write(&path, nv.pack()).unwrap();
    let problems = compat::check_decode(&reg, dir.path(), "dev").unwrap();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("dev fixture v1: decodes to another value than"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("expected `a: number = 7`"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("found    `a: number = 8`"),
        "{problems:?}"
    );

    // Broken bytes.
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    bytes.truncate(last);
    std::fs::write(&path, &bytes).unwrap();
    let problems = compat::check_decode(&reg, dir.path(), "dev").unwrap();
    assert!(
        problems[0].contains("is not a packed nvlist"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("restore it from version control"),
        "{problems:?}"
    );
}

#[test]
fn a_schema_file_that_lies_about_its_version_fails() {
    let dir = recorded_v1();
    let path = dir.path().join("dev/v1.schema");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("schema dev 1", "schema dev 2")).unwrap();
    let err = compat::check(&registry::<v1::Dev>(), dir.path()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("records dev v2, not dev v1 as its path says"),
        "{err}"
    );
}

#[test]
fn an_older_generation_kept_in_the_program_is_checked_too() {
    let dir = recorded_v1();
    let mut reg = Registry::new();
    reg.add_sample::<v2::Dev>();
    compat::bless_schemas(&reg, dir.path()).unwrap();
    // The program keeps a version-1 type, but not the one recorded.
    reg.add::<unbumped::Dev>();
    let text = problems(compat::check(&reg, dir.path()).unwrap_err());
    assert!(
        text.starts_with("dev v1 changed since it was recorded"),
        "{text}"
    );
}

#[test]
fn releases_are_blessed_once_and_never_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::new();
    reg.add_sample::<v1::Dev>().release("1.0.0", &[("dev", 1)]);
    let problems_before = compat::check_releases(&reg, dir.path()).unwrap();
    assert!(
        problems_before[0].starts_with("release 1.0.0: not recorded yet"),
        "{problems_before:?}"
    );
    let written = compat::bless_schemas(&reg, dir.path()).unwrap();
    assert!(
        written.iter().any(|w| w.ends_with("releases")),
        "{written:?}"
    );
    assert!(compat::check_releases(&reg, dir.path()).unwrap().is_empty());
    let history = compat::History::default();
    assert!(history.releases().is_empty());

    // The same release with another version of a type: refused, by check
    // and by bless, naming the change.
    let mut changed = Registry::new();
    changed
        .add_sample::<v1::Dev>()
        .release("1.0.0", &[("dev", 2)]);
    let text = compat::check_releases(&changed, dir.path())
        .unwrap()
        .join("\n");
    assert!(
        text.contains("release 1.0.0 changed since it was recorded: `dev` v1 is now v2"),
        "{text}"
    );
    assert!(
        problems(compat::bless_schemas(&changed, dir.path()).unwrap_err())
            .contains("release 1.0.0 changed")
    );

    // A new release is added beside the recorded ones.
    let mut more = Registry::new();
    more.add_sample::<v1::Dev>()
        .release("1.0.0", &[("dev", 1)])
        .release("1.1.0", &[("dev", 1)]);
    compat::bless_schemas(&more, dir.path()).unwrap();
    let mut history = compat::History::new();
    history.add_dir(dir.path()).unwrap();
    let names: Vec<String> = history
        .releases()
        .iter()
        .map(|(r, _)| r.to_string())
        .collect();
    assert_eq!(names, ["1.0.0", "1.1.0"]);
}
