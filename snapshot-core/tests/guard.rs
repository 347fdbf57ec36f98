//! The compatibility guard, change by change: each unsafe change made to a
//! copy of a model is refused by bless (which then writes nothing), fails
//! the checker with a message naming the field and the attribute that
//! declares it, and fails the compat tests; each declared change passes
//! all three. docs/guide.md, "Changes the guard catches", lists them.

use std::collections::BTreeSet;
use std::path::Path;

use snapshot_core::compat::{self, Registry, Sample, Suite};
use snapshot_core::{MigrationError, NvList, SchemaError, Snapshot};

/// The recorded version 1 of both models.
mod v1 {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 1)]
    pub struct Dev {
        pub level: u8,
        pub count: u32,
        pub timeout_ms: u32,
    }

    impl Sample for Dev {
        fn sample() -> Self {
            Dev {
                level: 3,
                count: 9,
                timeout_ms: 250,
            }
        }
    }

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "mode", version = 1)]
    pub enum Mode {
        Off,
        On { level: u8 },
    }

    impl Sample for Mode {
        fn sample() -> Self {
            Mode::On { level: 2 }
        }
    }
}

fn keep(_: &mut NvList) -> Result<(), MigrationError> {
    Ok(())
}

/// Defines `mod $m { pub struct Dev { ... } }` at version 2 with the given
/// attributes and fields, and a sample.
macro_rules! dev_v2 {
    ($m:ident, [$(#[$attr:meta])*], { $($field:tt)* }, $sample:expr) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;

            #[derive(Snapshot, Debug, PartialEq)]
            #[snapshot(name = "dev", version = 2)]
            $(#[$attr])*
            pub struct Dev { $($field)* }

            impl Sample for Dev {
                fn sample() -> Self {
                    $sample
                }
            }
        }
    };
}

// Unsafe changes.
dev_v2!(added_without_since, [], { pub level: u8, pub count: u32, pub timeout_ms: u32, pub extra: u8 },
    Dev { level: 3, count: 9, timeout_ms: 250, extra: 1 });
dev_v2!(removed_undeclared, [], { pub level: u8, pub count: u32 },
    Dev { level: 3, count: 9 });
dev_v2!(removed_without_down, [#[snapshot(removed(field = "timeout_ms", since = 2))]],
    { pub level: u8, pub count: u32 }, Dev { level: 3, count: 9 });
dev_v2!(widened_undeclared, [], { pub level: u16, pub count: u32, pub timeout_ms: u32 },
    Dev { level: 3, count: 9, timeout_ms: 250 });
dev_v2!(narrowed, [], { pub level: u8, pub count: u16, pub timeout_ms: u32 },
    Dev { level: 3, count: 9, timeout_ms: 250 });
dev_v2!(sign_changed, [], { pub level: u8, pub count: i32, pub timeout_ms: u32 },
    Dev { level: 3, count: 9, timeout_ms: 250 });
// A migration of the step that does not say it converts `timeout_ms`.
dev_v2!(retyped_beside_a_migration, [#[snapshot(migrate(from = 1, up = keep, down = keep))]],
    { pub level: u8, pub count: u32, pub timeout_ms: u64 },
    Dev { level: 3, count: 9, timeout_ms: 250 });
dev_v2!(rename_as_remove_and_add, [#[snapshot(removed(field = "count", since = 2))]],
    { pub level: u8, pub timeout_ms: u32, #[snapshot(since = 2, default)] pub events: u32 },
    Dev { level: 3, timeout_ms: 250, events: 9 });

// Declared changes.
dev_v2!(added, [], { pub level: u8, pub count: u32, pub timeout_ms: u32,
    #[snapshot(since = 2, default)] pub extra: u8 },
    Dev { level: 3, count: 9, timeout_ms: 250, extra: 1 });
dev_v2!(removed, [#[snapshot(removed(field = "timeout_ms", since = 2))]
    #[snapshot(migrate(from = 1, up = keep, down = restore_timeout))]],
    { pub level: u8, pub count: u32 }, Dev { level: 3, count: 9 });
dev_v2!(renamed, [], { pub level: u8, #[snapshot(rename_from = "count", renamed_in = 2)] pub events: u32,
    pub timeout_ms: u32 }, Dev { level: 3, events: 9, timeout_ms: 250 });
dev_v2!(widened, [], { #[snapshot(widened_from = u8, widened_in = 2)] pub level: u16,
    pub count: u32, pub timeout_ms: u32 }, Dev { level: 300, count: 9, timeout_ms: 250 });
dev_v2!(retyped_by_migration,
    [#[snapshot(migrate(from = 1, up = keep, down = keep, converts(timeout_ms: u32)))]],
    { pub level: u8, pub count: u32, pub timeout_ms: u64 },
    Dev { level: 3, count: 9, timeout_ms: 250 });

fn restore_timeout(nv: &mut NvList) -> Result<(), MigrationError> {
    nv.insert("timeout_ms", 0u64);
    Ok(())
}

mod variant_added_undeclared {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "mode", version = 2)]
    pub enum Mode {
        Off,
        On { level: u8 },
        Burst,
    }

    impl Sample for Mode {
        fn sample() -> Self {
            Mode::Burst
        }
    }
}

mod variant_added {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "mode", version = 2)]
    pub enum Mode {
        Off,
        On {
            level: u8,
        },
        #[snapshot(since = 2)]
        Burst,
    }

    impl Sample for Mode {
        fn sample() -> Self {
            Mode::On { level: 2 }
        }
    }
}

fn registry<T: Snapshot + Sample>() -> Registry {
    let mut reg = Registry::new();
    reg.add_sample::<T>();
    reg
}

fn problems(err: SchemaError) -> String {
    match err {
        SchemaError::Check { problems } => problems.join("\n"),
        other => panic!("not a check failure: {other}"),
    }
}

/// A directory with version 1 of `T` recorded, schema and fixture.
fn recorded_v1<T: Snapshot + Sample>() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry::<T>();
    compat::bless_schemas(&reg, dir.path()).unwrap();
    compat::bless_fixtures(&reg, dir.path()).unwrap();
    compat::check(&reg, dir.path()).unwrap();
    dir
}

/// Every file under `dir`, with its contents.
fn files(dir: &Path) -> BTreeSet<(String, Vec<u8>)> {
    let mut out = BTreeSet::new();
    for entry in walk(dir) {
        out.insert((entry.display().to_string(), std::fs::read(&entry).unwrap()));
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// What a generated compat test of `name` panics with, if it does.
fn compat_test_failure(reg: Registry, dir: &Path, name: &str) -> Option<String> {
    let suite = Suite {
        registry: reg,
        schemas: dir.to_path_buf(),
        fixtures: dir.to_path_buf(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        suite.test_schema(name);
        suite.test_all_versions(name);
    }));
    let payload = result.err()?;
    Some(
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

/// `T` (version 2 of a model recorded at version 1 as `V1`) is refused
/// by bless, which writes nothing; fails the checker; and fails the
/// compat tests; each message holding every one of `needles`.
fn guarded<V1: Snapshot + Sample, T: Snapshot + Sample>(needles: &[&str]) {
    let dir = recorded_v1::<V1>();
    let before = files(dir.path());
    let reg = registry::<T>();
    let text = problems(compat::bless_schemas(&reg, dir.path()).unwrap_err());
    for needle in needles {
        assert!(text.contains(needle), "bless: `{needle}` not in:\n{text}");
    }
    assert!(text.contains("nothing was recorded"), "{text}");
    assert_eq!(files(dir.path()), before, "bless wrote files");
    let text = problems(compat::check(&reg, dir.path()).unwrap_err());
    for needle in needles {
        assert!(text.contains(needle), "check: `{needle}` not in:\n{text}");
    }
    let failure = compat_test_failure(reg, dir.path(), T::NAME).expect("compat tests passed");
    for needle in needles {
        assert!(
            failure.contains(needle),
            "compat test: `{needle}` not in:\n{failure}"
        );
    }
}

/// `T` is recorded by bless (its schema and fixture), and passes the
/// checker and the compat tests.
fn accepted<V1: Snapshot + Sample, T: Snapshot + Sample>() {
    let dir = recorded_v1::<V1>();
    let reg = registry::<T>();
    let written = compat::bless_schemas(&reg, dir.path()).unwrap();
    assert!(
        written
            .iter()
            .any(|w| w.ends_with(&format!("{}/v2.schema", T::NAME))),
        "{written:?}"
    );
    compat::bless_fixtures(&reg, dir.path()).unwrap();
    compat::check(&reg, dir.path()).unwrap();
    if let Some(failure) = compat_test_failure(reg, dir.path(), T::NAME) {
        panic!("compat tests failed:\n{failure}");
    }
}

#[test]
fn an_added_field_without_since_is_refused() {
    guarded::<v1::Dev, added_without_since::Dev>(&[
        "extra: added",
        "declare `#[snapshot(since = 2, default)]`",
    ]);
}

#[test]
fn an_undeclared_removal_is_refused() {
    guarded::<v1::Dev, removed_undeclared::Dev>(&[
        "timeout_ms: removed",
        "`#[snapshot(removed(field = \"timeout_ms\", since = 2))]`",
    ]);
}

#[test]
fn a_removal_without_a_down_migration_is_refused() {
    guarded::<v1::Dev, removed_without_down::Dev>(&[
        "timeout_ms: removed; upgrade compatible, downgrade BREAKING",
        "`#[snapshot(migrate(from = 1, up = ..., down = ...))]` whose `down` restores it (`up` is required too",
    ]);
}

#[test]
fn an_undeclared_widening_is_refused() {
    guarded::<v1::Dev, widened_undeclared::Dev>(&[
        "level: retyped u8 -> u16; upgrade compatible, downgrade BREAKING",
        "`#[snapshot(widened_from = u8, widened_in = 2)]`",
    ]);
}

#[test]
fn a_narrowing_and_a_sign_change_are_refused() {
    for guard in [
        guarded::<v1::Dev, narrowed::Dev> as fn(&[&str]),
        guarded::<v1::Dev, sign_changed::Dev>,
    ] {
        guard(&[
            "count: retyped u32 -> ",
            "upgrade BREAKING",
            "converts(count: u32)",
        ]);
    }
}

#[test]
fn a_retype_a_migration_does_not_name_is_refused() {
    guarded::<v1::Dev, retyped_beside_a_migration::Dev>(&[
        "timeout_ms: retyped u32 -> u64; upgrade compatible, downgrade BREAKING",
        "`#[snapshot(widened_from = u32, widened_in = 2)]`",
    ]);
}

#[test]
fn a_rename_written_as_removal_and_addition_is_refused() {
    guarded::<v1::Dev, rename_as_remove_and_add::Dev>(&[
        "events: added; upgrade BREAKING",
        "did you mean `#[snapshot(rename_from = \"count\", renamed_in = 2)]`?",
    ]);
}

#[test]
fn an_undeclared_variant_is_refused() {
    guarded::<v1::Mode, variant_added_undeclared::Mode>(&[
        "Burst: variant added; upgrade compatible, downgrade BREAKING",
        "`#[snapshot(since = 2)]` on the variant",
    ]);
}

#[test]
fn declared_changes_are_recorded_and_pass() {
    accepted::<v1::Dev, added::Dev>();
    accepted::<v1::Dev, removed::Dev>();
    accepted::<v1::Dev, renamed::Dev>();
    accepted::<v1::Dev, widened::Dev>();
    accepted::<v1::Dev, retyped_by_migration::Dev>();
    accepted::<v1::Mode, variant_added::Mode>();
}

#[test]
fn writing_for_an_older_reader_fails_before_it_writes_what_it_cannot_read() {
    // A retype through a migration: the value is checked against the type
    // the migration says the field had.
    let dev = retyped_by_migration::Dev {
        level: 3,
        count: 9,
        timeout_ms: 1 << 40,
    };
    let err = dev.to_nvlist_for(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dev.timeout_ms: 1099511627776 does not fit u32 (converting v2 -> v1)"
    );
    let fits = retyped_by_migration::Dev {
        timeout_ms: 250,
        ..dev
    };
    let v1 = fits.to_nvlist_for(1).unwrap();
    assert_eq!(v1::Dev::from_nvlist(&v1).unwrap().timeout_ms, 250);

    // A declared widening.
    let wide = widened::Dev {
        level: 300,
        count: 9,
        timeout_ms: 1,
    };
    assert!(wide
        .to_nvlist_for(1)
        .unwrap_err()
        .to_string()
        .contains("level: 300 does not fit u8"));

    // A variant the older reader does not know; one it knows goes.
    let err = variant_added::Mode::Burst.to_nvlist_for(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mode: variant `Burst` was added in version 2: an older reader does not know it \
         (converting v2 -> v1)"
    );
    let on = variant_added::Mode::On { level: 2 }
        .to_nvlist_for(1)
        .unwrap();
    assert_eq!(
        v1::Mode::from_nvlist(&on).unwrap(),
        v1::Mode::On { level: 2 }
    );
    // And a record says which reader it needs: any, or one that knows
    // the variant (no `.min_reader`: its own version).
    let on = variant_added::Mode::On { level: 2 }.to_nvlist();
    assert_eq!(on.get_number(".min_reader").unwrap(), 1);
    let burst = variant_added::Mode::Burst.to_nvlist();
    assert!(!burst.contains(".min_reader"), "{burst:?}");
}

mod unbumped {
    use super::*;

    #[derive(Snapshot, Debug, PartialEq)]
    #[snapshot(name = "dev", version = 1)]
    pub struct Dev {
        pub level: u8,
        pub count: u32,
        pub timeout_ms: u32,
        pub extra: u8,
    }

    impl Sample for Dev {
        fn sample() -> Self {
            Dev {
                level: 3,
                count: 9,
                timeout_ms: 250,
                extra: 1,
            }
        }
    }
}

#[test]
fn a_change_without_a_bump_gives_the_versions_of_the_bump_and_names_the_files() {
    guarded::<v1::Dev, unbumped::Dev>(&[
        "dev v1 changed since it was recorded, without a version bump",
        "set `#[snapshot(version = 2)]`",
        "extra: added; upgrade BREAKING, downgrade BREAKING (has no `since` but v1 does not have \
         it: declare `#[snapshot(since = 2, default)]`",
        "dev/v1.schema as it is",
        "if v1 was never released, delete ",
        "`dev/v1.nv` and `dev/v1.expected`",
    ]);
}

#[test]
fn history_of_a_type_the_program_lacks_fails_the_compat_tests() {
    let dir = recorded_v1::<v1::Dev>();
    let other = recorded_v1::<v1::Mode>();
    std::fs::rename(other.path().join("mode"), dir.path().join("mode")).unwrap();
    let reg = registry::<v1::Dev>();
    let text = problems(compat::check_all(&reg, dir.path(), dir.path()).unwrap_err());
    assert!(
        text.contains("mode: history of `mode`, which is not a type of this program"),
        "{text}"
    );
    let suite = Suite {
        registry: reg,
        schemas: dir.path().to_path_buf(),
        fixtures: dir.path().to_path_buf(),
    };
    let failure =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| suite.test_listed(&["dev"])))
            .unwrap_err();
    let failure = failure.downcast_ref::<String>().unwrap();
    assert!(failure.contains("history of `mode`"), "{failure}");
}
