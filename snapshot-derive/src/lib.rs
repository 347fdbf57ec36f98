//! `#[derive(Snapshot)]`: versioned records for `snapshot-core`.
//!
//! Use it through `snapshot_core::Snapshot`, which re-exports it next to
//! the trait of the same name.

mod ast;
mod attr;
mod check;
mod compat;
mod ctxt;
mod expand;
mod symbol;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `snapshot_core::Snapshot` (and `snapshot_core::Field`, so the
/// type can be a field of other records) for a struct or an enum.
///
/// A record is stored as an nvlist of its fields by name, with its schema
/// name, version and oldest possible reader. Fields may be reordered
/// freely. Every mistake in the attributes below fails the build with an
/// error at the attribute.
///
/// # Type attributes
///
/// `name = "..."` is the stored schema name (default: the type's name) and
/// `version = N` the current version (default 1):
///
/// ```
/// use snapshot_core::Snapshot;
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "vatpit", version = 1)]
/// struct Pit {
///     count: u16,
/// }
///
/// let nv = Pit { count: 7 }.to_nvlist();
/// assert_eq!(nv.get_string(".schema").unwrap(), "vatpit");
/// assert_eq!(Pit::from_nvlist(&nv).unwrap(), Pit { count: 7 });
/// ```
///
/// `removed(field = "...", since = N)` declares a field dropped in version
/// `N`: older records holding it still decode, the pair is dropped. The
/// field is not kept in the struct.
///
/// ```
/// use snapshot_core::{NvList, Snapshot};
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "pit", version = 2)]
/// #[snapshot(removed(field = "bcd", since = 2))]
/// struct Pit {
///     count: u16,
/// }
///
/// let v1 = NvList::new()
///     .with(".schema", "pit").with(".version", 1u64)
///     .with("count", 7u64).with("bcd", false);
/// assert_eq!(Pit::from_nvlist(&v1).unwrap(), Pit { count: 7 });
/// ```
///
/// `migrate(from = N, up = path, down = path)` declares the functions
/// that turn a record of version `N` into `N + 1` and back (`down` is
/// optional; without it, writing for a version before `N + 1` fails).
/// They edit the record's nvlist; `?` works on its getters.
///
/// ```
/// use snapshot_core::{MigrationError, NvList, Snapshot};
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "rtc", version = 2)]
/// #[snapshot(migrate(from = 1, up = seconds_to_ms, down = ms_to_seconds))]
/// struct Rtc {
///     /// Milliseconds since version 2; seconds before.
///     base: u64,
/// }
///
/// fn seconds_to_ms(nv: &mut NvList) -> Result<(), MigrationError> {
///     let s = nv.get_number("base")?;
///     nv.insert("base", s * 1000);
///     Ok(())
/// }
///
/// fn ms_to_seconds(nv: &mut NvList) -> Result<(), MigrationError> {
///     let ms = nv.get_number("base")?;
///     nv.insert("base", ms / 1000);
///     Ok(())
/// }
///
/// let v1 = Rtc { base: 5000 }.to_nvlist_for(1).unwrap();
/// assert_eq!(v1.get_number("base").unwrap(), 5);
/// assert_eq!(Rtc::from_nvlist(&v1).unwrap(), Rtc { base: 5000 });
/// ```
///
/// `converts(field: OldType, Variant, ...)` in a `migrate` names what the
/// migration does that the engine cannot see: each field it retypes (by
/// its stored name before the step, with its type then) and each enum
/// variant it reshapes or removes. The checker accepts a retype only so,
/// and writing for an older reader checks, after `down`, that the field
/// reads as `OldType`:
///
/// ```
/// use snapshot_core::{MigrationError, NvList, Snapshot};
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "timer", version = 2)]
/// #[snapshot(migrate(from = 1, up = keep, down = keep, converts(timeout_ms: u32)))]
/// struct Timer {
///     timeout_ms: u64,
/// }
///
/// fn keep(_: &mut NvList) -> Result<(), MigrationError> {
///     Ok(())
/// }
///
/// let err = Timer { timeout_ms: 1 << 40 }.to_nvlist_for(1).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "timer.timeout_ms: 1099511627776 does not fit u32 (converting v2 -> v1)"
/// );
/// ```
///
/// # Field attributes
///
/// `since = N` marks a field added in version `N`. It needs `default`
/// (`Default::default()`), `default = path` (a function returning the
/// value), or a migration from `N - 1` that stores it. Records of older
/// versions get the default; a record whose added fields hold their
/// default omits them, so an older build can still read it.
///
/// ```
/// use snapshot_core::Snapshot;
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "pit", version = 2)]
/// struct Pit {
///     count: u16,
///     #[snapshot(since = 2, default)]
///     gate: bool,
///     #[snapshot(since = 2, default = full_latch)]
///     latch: u32,
/// }
///
/// fn full_latch() -> u32 {
///     0xffff
/// }
///
/// let pit = Pit { count: 1, gate: false, latch: 0xffff };
/// assert_eq!(pit.to_nvlist().get_number(".min_reader").unwrap(), 1);
/// let pit = Pit { count: 1, gate: true, latch: 0xffff };
/// // Version 2 is needed: no `.min_reader`, which means the record's own.
/// assert!(!pit.to_nvlist().contains(".min_reader"));
/// // An older reader would lose `gate`: writing for it fails.
/// assert!(pit.to_nvlist_for(1).is_err());
/// ```
///
/// `rename_from = "old", renamed_in = N` keeps reading records stored
/// before version `N` under the old name (and writes it for them).
///
/// ```
/// use snapshot_core::Snapshot;
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "rtc", version = 3)]
/// struct Rtc {
///     #[snapshot(rename_from = "base_rtctime", renamed_in = 3)]
///     base_time: i64,
/// }
///
/// let v2 = Rtc { base_time: -1 }.to_nvlist_for(2).unwrap();
/// assert_eq!(v2.get_number("base_rtctime").unwrap(), u64::MAX);
/// assert_eq!(Rtc::from_nvlist(&v2).unwrap(), Rtc { base_time: -1 });
/// ```
///
/// `widened_from = type, widened_in = N` records that the field had the
/// narrower `type` before version `N` (`u16` before `u32`, `i32` before
/// `i64`, `f32` before `f64`). Reading older records needs nothing, since
/// they share one stored form; the attribute lets writing for an older
/// reader refuse a value that does not fit the older type instead of
/// leaving the older reader to fail, and raises the record's minimum
/// reader when the value does not fit.
///
/// ```
/// use snapshot_core::Snapshot;
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "pit", version = 2)]
/// struct Pit {
///     #[snapshot(widened_from = u16, widened_in = 2)]
///     count: u32,
/// }
///
/// assert!(Pit { count: 65_535 }.to_nvlist_for(1).is_ok());
/// let err = Pit { count: 65_536 }.to_nvlist_for(1).unwrap_err();
/// assert_eq!(err.to_string(), "pit.count: 65536 does not fit u16 (converting v2 -> v1)");
/// assert!(!Pit { count: 65_536 }.to_nvlist().contains(".min_reader"));
/// assert_eq!(Pit { count: 65_535 }.to_nvlist().get_number(".min_reader").unwrap(), 1);
/// ```
///
/// `skip` leaves a runtime-only field out; it is `Default::default()`
/// after decoding.
///
/// ```
/// use snapshot_core::Snapshot;
///
/// #[derive(Snapshot)]
/// #[snapshot(name = "rtc")]
/// struct Rtc {
///     addr: u32,
///     #[snapshot(skip)]
///     cached: Option<std::time::Instant>,
/// }
///
/// let rtc = Rtc { addr: 1, cached: Some(std::time::Instant::now()) };
/// assert!(!rtc.to_nvlist().contains("cached"));
/// assert!(Rtc::from_nvlist(&rtc.to_nvlist()).unwrap().cached.is_none());
/// ```
///
/// # Enums
///
/// Variants are stored by name in a `.variant` pair, their fields beside
/// it, so reordering variants is harmless. A variant added after the first
/// version says so with `#[snapshot(since = N)]`: a record holding it needs
/// a reader of version `N`, and writing it for an older one fails. Variant
/// fields take only `skip`; the enum's migrations carry their history.
///
/// ```
/// use snapshot_core::Snapshot;
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "mode")]
/// enum Mode {
///     Off,
///     Periodic { period: u32 },
///     OneShot(u64),
/// }
///
/// let nv = Mode::Periodic { period: 10 }.to_nvlist();
/// assert_eq!(nv.get_string(".variant").unwrap(), "Periodic");
/// assert_eq!(Mode::from_nvlist(&nv).unwrap(), Mode::Periodic { period: 10 });
/// ```
#[proc_macro_derive(Snapshot, attributes(snapshot))]
pub fn derive_snapshot(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand::derive(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(expand::fallback(&input));
            out.into()
        }
    }
}

/// Generates the compatibility tests of a program's record types: for
/// each listed schema name, a module with a `schema` test (the current
/// schema is recorded, and every recorded version still reads), one test
/// per recorded version `vN` (its golden fixture decodes to the expected
/// value; values written for version N have its recorded shape and read
/// back), and `all_versions` (the same for every version on disk, so a
/// version recorded since the last build is checked too); plus a test
/// that the list names every type of the registry. Paths are relative to
/// the crate using the macro. Run the tests with `SNAPSHOT_BLESS=1` to
/// record new versions (see `docs/guide.md`).
///
/// ```ignore
/// snapshot_core::compat_tests! {
///     registry: example_vmm::registry(),
///     schemas: "../schemas",
///     fixtures: "fixtures",
///     types: [vhpet, vrtc],
/// }
/// ```
#[proc_macro]
pub fn compat_tests(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as compat::Input);
    compat::expand(input).into()
}
