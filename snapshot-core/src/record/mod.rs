//! Records: the [`Snapshot`] trait, implemented by `#[derive(Snapshot)]`.
//!
//! A record is a struct or enum stored as an nvlist of its own, which
//! carries its schema name, its version and, when older than that
//! version, the oldest reader version able to decode it, in pairs whose
//! names start with a dot (no field name can).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod meta;

pub use meta::{is_meta, Meta, MIN_READER, SCHEMA, VARIANT, VERSION};

use crate::error::{Error, Result, Step, ValueFault};
use crate::migrate;
use crate::model::Field;
use crate::nvlist::{NvList, Reader, Value, Writer};
use crate::schema::Schema;

/// A type's `Snapshot::schema`.
type SchemaFn = fn() -> Schema;

/// The schemas of the record types a value holds, by schema name,
/// collected by [`Field::record_schemas`] to write nested records for an
/// older reader.
#[derive(Default)]
pub struct RecordSchemas {
    /// Each name's current version, and its schema (built on demand).
    by_name: BTreeMap<&'static str, (u32, SchemaFn)>,
    /// The Rust types visited: the instances of a generic record share a
    /// schema name but may hold different records.
    visited: BTreeSet<&'static str>,
    /// Schema names whose instances differ in their fields' defaults (a
    /// generic record with a `T`-typed default): a stored record does not
    /// say which instance wrote it, so it cannot be stepped down by name.
    ambiguous: BTreeSet<&'static str>,
}

impl RecordSchemas {
    /// None yet.
    pub fn new() -> RecordSchemas {
        RecordSchemas::default()
    }

    /// Adds the schema of `T`. Returns whether `T` was not visited yet, so
    /// that the types of its fields are still to add: a type that holds
    /// itself ends here.
    pub fn add<T: Snapshot>(&mut self) -> bool {
        let new_type = self.visited.insert(std::any::type_name::<T>());
        match self.by_name.get(T::NAME) {
            None => {
                self.by_name.insert(T::NAME, (T::VERSION, T::schema));
            }
            Some((_, other)) if new_type && !same_defaults(&other(), &T::schema()) => {
                self.ambiguous.insert(T::NAME);
            }
            Some(_) => {}
        }
        new_type
    }

    /// The schema named `name`, if a type of that name was added.
    pub fn get(&self, name: &str) -> Option<Schema> {
        self.by_name.get(name).map(|(_, schema)| schema())
    }

    /// The current version of the type named `name`, without building
    /// its schema.
    pub(crate) fn version(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).map(|&(version, _)| version)
    }

    /// Refuses a name whose instances differ in their defaults, before a
    /// record of it is stepped down by that name.
    pub(crate) fn check_unambiguous(&self, name: &str) -> Result<()> {
        if self.ambiguous.contains(name) {
            return Err(Error::value(ValueFault::AmbiguousRecord(name.to_owned())));
        }
        Ok(())
    }

    /// The schema names added, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_name.keys().copied()
    }
}

/// Whether two schemas of one name have the same fields with the same
/// defaults, as the instances of a generic record do unless a default
/// depends on the type parameter.
fn same_defaults(a: &Schema, b: &Schema) -> bool {
    let fields = |s: &Schema| -> Vec<(&'static str, u32, Option<Value>)> {
        s.fields()
            .iter()
            .map(|f| (f.name, f.since, f.default.as_ref().map(|d| (d.value)())))
            .collect()
    };
    fields(a) == fields(b)
}

/// A versioned record type. Derive it: see the `Snapshot` derive for the
/// attributes, and `docs/data-model.md` for what is stored.
///
/// ```
/// use snapshot_core::{MigrationError, NvList, Snapshot};
///
/// #[derive(Snapshot, Debug, PartialEq)]
/// #[snapshot(name = "vrtc", version = 3)]
/// #[snapshot(removed(field = "century", since = 3))]
/// #[snapshot(migrate(from = 2, up = rtc_v2_to_v3, down = rtc_v3_to_v2))]
/// pub struct Rtc {
///     pub addr: u32,
///     #[snapshot(rename_from = "base_rtctime", renamed_in = 3)]
///     pub base_time: i64,
///     #[snapshot(since = 2, default)]
///     pub nvram: Vec<u8>,
///     #[snapshot(skip)]
///     pub cached: Option<u64>,
/// }
///
/// /// Version 3 counts the century in `base_rtctime` instead of a field.
/// fn rtc_v2_to_v3(nv: &mut NvList) -> Result<(), MigrationError> {
///     let century = nv.get_number("century")?;
///     let time = nv.get_number("base_rtctime")? as i64;
///     nv.insert("base_rtctime", (time + century as i64 * 100) as u64);
///     Ok(())
/// }
///
/// fn rtc_v3_to_v2(nv: &mut NvList) -> Result<(), MigrationError> {
///     let time = nv.get_number("base_rtctime")? as i64;
///     nv.insert("century", (time / 100) as u64);
///     nv.insert("base_rtctime", (time % 100) as u64);
///     Ok(())
/// }
///
/// let rtc = Rtc { addr: 0x70, base_time: 2024, nvram: vec![], cached: Some(1) };
/// let bytes = rtc.to_bytes();
/// let back = Rtc::from_bytes(&bytes).unwrap();
/// assert_eq!(back, Rtc { cached: None, ..rtc });
///
/// // Written for a version-2 reader, and read back from it.
/// let v2 = back.to_nvlist_for(2).unwrap();
/// assert_eq!(v2.get_number("century").unwrap(), 20);
/// assert_eq!(v2.get_number("base_rtctime").unwrap(), 24);
/// assert_eq!(Rtc::from_nvlist(&v2).unwrap(), back);
/// ```
pub trait Snapshot: Field {
    /// The stored schema name (`#[snapshot(name = "...")]`).
    const NAME: &'static str;
    /// The current version (`#[snapshot(version = N)]`).
    const VERSION: u32;

    /// The schema: fields with their types, since-versions, defaults and
    /// former names; removed fields; declared migrations.
    fn schema() -> Schema;

    /// The record in the current version. Fields added after version 1
    /// that hold their default are omitted, and the record says which
    /// oldest reader can decode it, so that an older build can resume it
    /// when nothing new was used.
    fn to_nvlist(&self) -> NvList {
        unpack_own(self.to_bytes())
    }

    /// [`Snapshot::to_nvlist`], packed: the same bytes as
    /// `to_nvlist().pack()`, written directly without building the tree.
    fn to_bytes(&self) -> Vec<u8> {
        // The last size of this type is the best guess for the next: one
        // allocation instead of a doubling series for large states.
        let hint = Self::last_size();
        let mut w = Writer::with_capacity(hint.load(Ordering::Relaxed).max(256));
        self.write_record(&mut w, true);
        let bytes = w.finish();
        hint.store(bytes.len(), Ordering::Relaxed);
        bytes
    }

    /// Unpacks a packed nvlist (strictly) and reads the record in it, as
    /// [`Snapshot::from_nvlist`] does.
    ///
    /// A record in the current version, with nothing unusual in it, is
    /// read straight from the bytes without building the nvlist; anything
    /// else (older or newer versions, errors, big-endian input, list
    /// flags) takes the path through [`NvList::unpack`], with the same
    /// result.
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match read_fast(bytes) {
            Some(value) => Ok(value),
            None => Self::from_nvlist(&NvList::unpack(bytes)?),
        }
    }

    /// The record for a reader of `version`, applying the down steps in
    /// order. Fails when a field added after `version` holds a non-default
    /// value (the older reader would lose it), when a step has no down
    /// migration, or when a migration refuses a value.
    ///
    /// Records nested in this one keep their current version: when their
    /// types changed too, use [`Snapshot::to_nvlist_for_versions`].
    fn to_nvlist_for(&self, version: u32) -> Result<NvList> {
        if version == Self::VERSION {
            return Ok(self.to_nvlist());
        }
        migrate::check_target(version, Self::VERSION).map_err(|e| e.in_field(Self::NAME))?;
        let mut nv = written(self, false);
        migrate::downgrade(&mut nv, &Self::schema(), version, None)
            .map_err(|e| e.in_field(Self::NAME))?;
        Ok(nv)
    }

    /// The record for an older build, given the version of each record
    /// type it reads, by schema name (a release's versions, as
    /// `compat::Registry::release` declares them). Every record nested in
    /// this one is written for its type's version too, innermost first,
    /// so this record's own down migrations see its nested records as the
    /// older build will; then this record steps down to its version. A
    /// type the map does not name is written in its current version.
    ///
    /// Fails as [`Snapshot::to_nvlist_for`] does, naming the path of the
    /// nested record (`vhpet.timers[3].mode`), or when the map asks a type
    /// for a version it does not have.
    fn to_nvlist_for_versions(&self, versions: &BTreeMap<String, u32>) -> Result<NvList> {
        let mut schemas = RecordSchemas::new();
        Self::record_schemas(&mut schemas);
        let mut changes = false;
        for name in schemas.names() {
            let current = schemas.version(name).expect("a name of the set");
            if let Some(&target) = versions.get(name) {
                migrate::check_target(target, current).map_err(|e| e.in_field(name))?;
                changes |= target != current;
            }
        }
        if !changes {
            return Ok(self.to_nvlist());
        }
        let target = versions.get(Self::NAME).copied().unwrap_or(Self::VERSION);
        // Left as it is, the record is written as `to_nvlist` writes it;
        // to step down, with every field.
        let mut nv = written(self, target == Self::VERSION);
        migrate::StepDown::new(&schemas, versions)
            .step_down(&mut nv, Some((Self::schema(), target)))
            .map_err(|e| e.in_field(Self::NAME))?;
        Ok(nv)
    }

    /// The value of a record of any supported version: older ones are
    /// upgraded step by step, newer ones read when they say this version
    /// can read them. Errors name the path of the value, from this record's
    /// schema name.
    fn from_nvlist(nv: &NvList) -> Result<Self> {
        read(nv).map_err(|e| e.in_field(Self::NAME))
    }

    /// The packed size of the last record of this type written by
    /// [`Snapshot::to_bytes`], used as the next one's buffer size.
    #[doc(hidden)]
    fn last_size() -> &'static AtomicUsize;

    /// Writes the metadata and fields into the list open in `w`, in the
    /// current version; with `omit_defaults`, added fields holding their
    /// default are left out and the minimum reader version is computed.
    #[doc(hidden)]
    fn write_record(&self, w: &mut Writer, omit_defaults: bool);

    /// Reads the metadata and fields of the list open in `r`, up to its
    /// end, when the record is in the current version and every pair is
    /// one the fast path reads; `None` otherwise.
    #[doc(hidden)]
    fn read_record(r: &mut Reader<'_>) -> Option<Self>;

    /// The value of an nvlist in the current shape, metadata pairs
    /// ignored: every other pair must be a field.
    #[doc(hidden)]
    fn decode_current(nv: &NvList) -> Result<Self>;
}

/// The fast path of [`Snapshot::from_bytes`].
pub(crate) fn read_fast<T: Snapshot>(bytes: &[u8]) -> Option<T> {
    let mut r = Reader::new(bytes)?;
    T::read_record(&mut r)
}

/// `value`'s record as an nvlist, to convert: with `omit_defaults` as
/// [`Snapshot::to_nvlist`] writes it, without it with every field.
fn written<T: Snapshot>(value: &T, omit_defaults: bool) -> NvList {
    let mut w = Writer::with_capacity(1024);
    value.write_record(&mut w, omit_defaults);
    unpack_own(w.finish())
}

/// Unpacks what the record writer packed, which is valid by construction.
fn unpack_own(bytes: Vec<u8>) -> NvList {
    NvList::unpack(&bytes).expect("the record writer packs valid nvlists")
}

/// Reads a record of any supported version; the caller prepends the path.
pub(crate) fn read<T: Snapshot>(nv: &NvList) -> Result<T> {
    let (stored, min_reader) = meta::checked(nv, T::NAME)?;
    let step = Step {
        from: stored,
        to: T::VERSION,
    };
    if stored == T::VERSION {
        T::decode_current(nv)
    } else if stored > T::VERSION {
        if min_reader > T::VERSION {
            return Err(Error::value(ValueFault::TooNew {
                stored,
                min_reader,
                reader: T::VERSION,
            }));
        }
        T::decode_current(nv).map_err(|e| e.in_step(step))
    } else {
        let mut nv = nv.clone();
        migrate::upgrade(&mut nv, &T::schema(), stored)?;
        T::decode_current(&nv).map_err(|e| e.in_step(step))
    }
}
