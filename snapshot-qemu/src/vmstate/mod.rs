//! The VMState descriptions a QEMU build knows, as
//! `qemu-system-x86_64 -M MACHINE -dump-vmstate FILE` writes them: for
//! each device type its VMStateDescription (version, minimum version,
//! fields with the version that added them and their sizes, nested
//! structs, subsections).
//!
//! [`Dump::from_json`] reads a dump, [`text`] writes it as one file per
//! device type and reads those back (`snapshot schema import qemu`), and
//! [`diff()`] classifies what changed between two builds by the rules QEMU
//! loads a stream with, as QEMU's `scripts/vmstate-static-checker.py`
//! does.

use std::collections::BTreeMap;

use serde::Deserialize;

pub mod diff;
pub mod text;

pub use diff::{diff, Change, ChangeKind, Effect};

/// The error of reading a dump or its text files.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The dump is not the JSON QEMU writes.
    #[error("not a QEMU -dump-vmstate file: {0}")]
    Json(#[from] serde_json::Error),
    /// A text file breaks the format, at a line.
    #[error("line {line}: {message}")]
    Text {
        /// The line, from 1.
        line: usize,
        /// What is wrong there.
        message: String,
    },
}

/// Everything one build dumped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    /// The machine type the dump was made for (`pc-i440fx-7.2`).
    pub machine: Option<String>,
    /// Each device type's description, by type name (`mc146818rtc`,
    /// `e1000`).
    pub devices: BTreeMap<String, Vmsd>,
}

/// A VMStateDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmsd {
    /// Its name (`PCIDevice`, `e1000/mit_state`).
    pub name: String,
    /// `version_id`: the version it writes.
    pub version: u32,
    /// `minimum_version_id`: the oldest version it loads.
    pub minimum: u32,
    /// Its fields in stream order.
    pub fields: Vec<Field>,
    /// Its subsections (each sent only when the device needs it).
    pub subsections: Vec<Vmsd>,
}

/// One field of a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name; names repeat (`unused`).
    pub name: String,
    /// Bytes of one element.
    pub size: u64,
    /// `version_id`: the version that added it (0: always there).
    pub since: u32,
    /// `field_exists`: sent only when a test of the device says so.
    pub conditional: bool,
    /// The description of a struct field.
    pub nested: Option<Vmsd>,
}

impl Field {
    /// Whether a stream of `version` holds the field.
    pub fn in_version(&self, version: u32) -> bool {
        self.since <= version
    }
}

#[derive(Deserialize)]
struct JsonEntry {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(default)]
    version_id: u32,
    #[serde(default)]
    minimum_version_id: u32,
    #[serde(rename = "Description")]
    description: Option<JsonVmsd>,
}

#[derive(Deserialize)]
struct JsonVmsd {
    name: String,
    version_id: u32,
    #[serde(default)]
    minimum_version_id: u32,
    #[serde(rename = "Fields", default)]
    fields: Vec<JsonField>,
    #[serde(rename = "Subsections", default)]
    subsections: Vec<JsonVmsd>,
}

#[derive(Deserialize)]
struct JsonField {
    field: String,
    #[serde(default)]
    version_id: u32,
    #[serde(default)]
    field_exists: bool,
    #[serde(default)]
    size: u64,
    #[serde(rename = "Description")]
    description: Option<JsonVmsd>,
}

impl From<JsonVmsd> for Vmsd {
    fn from(j: JsonVmsd) -> Vmsd {
        Vmsd {
            name: j.name,
            version: j.version_id,
            minimum: j.minimum_version_id,
            fields: j
                .fields
                .into_iter()
                .map(|f| Field {
                    name: f.field,
                    size: f.size,
                    since: f.version_id,
                    conditional: f.field_exists,
                    nested: f.description.map(Vmsd::from),
                })
                .collect(),
            subsections: j.subsections.into_iter().map(Vmsd::from).collect(),
        }
    }
}

/// The entry QEMU writes for the machine rather than a device.
const MACHINE_ENTRY: &str = "vmschkmachine";

impl Dump {
    /// Reads the JSON of `-dump-vmstate`. serde_json nests at most 128
    /// levels, so a hostile dump cannot exhaust the stack.
    pub fn from_json(bytes: &[u8]) -> Result<Dump, DumpError> {
        let entries: BTreeMap<String, JsonEntry> = serde_json::from_slice(bytes)?;
        let mut dump = Dump::default();
        for (key, entry) in entries {
            match entry.description {
                Some(d) => {
                    dump.devices.insert(key, Vmsd::from(d));
                }
                None if key == MACHINE_ENTRY => dump.machine = entry.name,
                // Versions alone: kept, so their changes are seen.
                None => {
                    let vmsd = Vmsd {
                        name: entry.name.unwrap_or_else(|| key.clone()),
                        version: entry.version_id,
                        minimum: entry.minimum_version_id,
                        fields: Vec::new(),
                        subsections: Vec::new(),
                    };
                    dump.devices.insert(key, vmsd);
                }
            }
        }
        Ok(dump)
    }
}
