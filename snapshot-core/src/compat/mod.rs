//! Keeping versions right over time: the program's [`Registry`] of record
//! types and releases, the committed history (schemas and golden
//! fixtures), the checker, and [`compat_tests!`](crate::compat_tests)
//! which turns them into tests.
//!
//! Use it in a test crate of the program: one `compat_tests!` line gives
//! every record type its tests, and `SNAPSHOT_BLESS=1 cargo test` records
//! new versions. See `docs/guide.md`.

mod check;
mod declared;
pub mod edit;
mod fixtures;
pub mod history;
mod image;
mod registry;

pub use check::{bless as bless_schemas, check, check_releases, check_type, BLESS_HINT};
pub use declared::{History, Refused};
pub use fixtures::{
    bless as bless_fixtures, check_decode, check_decode_version, check_downgrade,
    check_downgrade_version, conforms,
};
pub use image::{
    convert_section, migrate_image, read_schemas, schemas_section, Converted, Converter, Target,
    SCHEMAS_SECTION,
};
pub use registry::{Entry, Registry, Release, Sample};

use std::path::PathBuf;
use std::sync::OnceLock;

/// Everything the generated tests check, for every type of `registry`,
/// as one call: the schemas against their history ([`check`]), and the
/// golden fixtures in `fixtures` ([`check_decode`], [`check_downgrade`]).
/// Fails with every problem found.
pub fn check_all(
    registry: &Registry,
    schemas: &std::path::Path,
    fixtures: &std::path::Path,
) -> Result<(), crate::SchemaError> {
    let mut problems = check_releases(registry, schemas)?;
    problems.extend(unknown_history(registry, schemas, fixtures)?);
    for name in registry.names() {
        problems.extend(check_type(registry, schemas, name)?);
        problems.extend(check_decode(registry, fixtures, name)?);
        problems.extend(check_downgrade(registry, schemas, fixtures, name)?);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(crate::SchemaError::Check { problems })
    }
}

/// The history on disk of types `registry` does not have: schema and
/// fixture folders of other names. Either the tool was built before the
/// type was added (a stale build checks nothing of it), or the type was
/// dropped from the program, and images holding it can no longer be
/// resumed: both must be said, not passed over.
pub fn unknown_history(
    registry: &Registry,
    schemas: &std::path::Path,
    fixtures: &std::path::Path,
) -> Result<Vec<String>, crate::SchemaError> {
    let known = registry.names();
    let mut problems = Vec::new();
    for dir in [schemas, fixtures] {
        for name in history::names(dir)? {
            if !known.contains(&name.as_str()) {
                problems.push(format!(
                    "{}: history of `{name}`, which is not a type of this program: a build \
                     older than the type, or a type dropped from the registry (images holding \
                     it could no longer be resumed); rebuild the tool, or add the type back",
                    dir.join(&name).display()
                ));
            }
        }
    }
    Ok(problems)
}

/// Says what bless recorded (each file is `DIR/NAME/vN.EXT`: the type and
/// version), on the process's standard error itself: the test harness
/// captures what tests print, and this must be seen.
fn report_blessed(written: &[String]) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    if written.is_empty() {
        let _ = writeln!(err, "{BLESS_VAR}: nothing new to record");
    }
    for path in written {
        let _ = writeln!(err, "{BLESS_VAR}: recorded {path}");
    }
}

/// The environment variable that makes the generated tests record new
/// versions and expected values before checking.
pub const BLESS_VAR: &str = "SNAPSHOT_BLESS";

/// What the generated tests run on: a registry, the schema directory and
/// the fixture directory.
#[derive(Debug)]
pub struct Suite {
    /// The program's record types.
    pub registry: Registry,
    /// Where the schemas are recorded (`schemas/`).
    pub schemas: PathBuf,
    /// Where the golden fixtures are (`compat-tests/fixtures/`).
    pub fixtures: PathBuf,
}

impl Suite {
    /// Whether the run records (bless) before checking.
    pub fn blessing() -> bool {
        std::env::var_os(BLESS_VAR).is_some_and(|v| v != "0" && !v.is_empty())
    }

    /// Records (blesses) what is new: schemas, fixtures, expected values.
    pub fn bless(&self) -> Result<Vec<String>, crate::SchemaError> {
        let mut written = check::bless(&self.registry, &self.schemas)?;
        written.extend(fixtures::bless(&self.registry, &self.fixtures)?);
        Ok(written)
    }

    /// Panics with every problem of `name` found by `f`.
    fn assert(
        &self,
        name: &str,
        f: impl FnOnce(&Suite) -> Result<Vec<String>, crate::SchemaError>,
    ) {
        if Suite::blessing() {
            // Tests run in parallel threads: record once per process, so
            // that no test reads a file another is writing.
            static RECORDED: OnceLock<Result<(), String>> = OnceLock::new();
            let recorded = RECORDED.get_or_init(|| {
                let written = self.bless().map_err(|e| e.to_string())?;
                report_blessed(&written);
                Ok(())
            });
            if let Err(e) = recorded {
                panic!("{e}");
            }
        }
        match f(self) {
            Ok(problems) if problems.is_empty() => {}
            Ok(problems) => panic!("{name}:\n{}", problems.join("\n")),
            Err(e) => panic!("{name}: {e}"),
        }
    }

    /// The test that the current schema of `name` is recorded and every
    /// recorded version is still readable.
    pub fn test_schema(&self, name: &str) {
        self.assert(name, |s| check_type(&s.registry, &s.schemas, name));
    }

    /// The test of recorded version `v` of `name`: its golden fixture
    /// decodes to its expected value, and values written for version `v`
    /// have its recorded shape and read back unchanged.
    pub fn test_version(&self, name: &str, v: u32) {
        self.assert(name, |s| {
            let mut problems = check_decode_version(&s.registry, &s.fixtures, name, v)?;
            let current = s.registry.current(name).map_or(0, |e| e.version);
            if v < current {
                problems.extend(check_downgrade_version(
                    &s.registry,
                    &s.schemas,
                    &s.fixtures,
                    name,
                    v,
                )?);
            }
            Ok(problems)
        });
    }

    /// [`Suite::test_version`] for every version recorded on disk.
    pub fn test_all_versions(&self, name: &str) {
        self.assert(name, |s| {
            let mut problems = check_decode(&s.registry, &s.fixtures, name)?;
            problems.extend(check_downgrade(&s.registry, &s.schemas, &s.fixtures, name)?);
            Ok(problems)
        });
    }

    /// The test that the listed names are exactly the registry's, so that
    /// a new type cannot go untested, and that the history on disk holds
    /// no type the registry lacks.
    pub fn test_listed(&self, listed: &[&str]) {
        let mut listed = listed.to_vec();
        listed.sort_unstable();
        let names = self.registry.names();
        assert_eq!(
            listed, names,
            "compat_tests! must list every type of the registry"
        );
        self.assert("the history", |s| {
            unknown_history(&s.registry, &s.schemas, &s.fixtures)
        });
    }
}
