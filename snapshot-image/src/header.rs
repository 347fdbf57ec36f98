//! The header slots: IDENT, packed-nvlist size, the header nvlist (format
//! version, generation, producer, feature flags, section index), a magic
//! and a CRC32C.
//!
//! Two slots exist so an edit can commit by writing the slot not in use:
//! a reader takes the valid slot with the higher generation, so a torn
//! header write leaves the previous one in force.

use std::fmt;

use crate::checksum::crc32c;
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::section::{Codec, SectionEntry};
use crate::{FEATURE_ZSTD, FORMAT_VERSION, IDENT_LEN, KNOWN_FEATURES, SLOT_SIZE};
use snapshot_nvlist::{NvList, NvString, Value};

/// The slot's magic, just before its checksum.
pub(crate) const MAGIC: &[u8; 8] = b"SNAPIMG\0";
/// Offset of the packed nvlist's size.
const SIZE_AT: usize = IDENT_LEN;
/// Offset of the packed nvlist.
const NV_AT: usize = SIZE_AT + 8;
/// Offset of the magic.
const MAGIC_AT: usize = SLOT_SIZE as usize - 12;
/// Offset of the CRC32C over everything before it.
const CRC_AT: usize = SLOT_SIZE as usize - 4;
/// Room for the packed nvlist.
pub(crate) const NV_ROOM: usize = MAGIC_AT - NV_AT;

/// Header nvlist keys.
const VERSION: &str = "version";
const GENERATION: &str = "generation";
const PRODUCER: &str = "producer";
const CREATED: &str = "created";
const INCOMPATIBLE: &str = "incompatible";
const SECTIONS: &str = "sections";

/// A container format version: readers refuse another major version and
/// accept any minor one (minor versions only add optional keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatVersion {
    /// Changes that older readers cannot follow.
    pub major: u64,
    /// Additions older readers may ignore.
    pub minor: u64,
}

impl FormatVersion {
    /// Parses `MAJOR.MINOR` (decimal, no leading zeros, no sign).
    pub fn parse(text: &str) -> Option<FormatVersion> {
        let (major, minor) = text.split_once('.')?;
        let canonical = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'))
        };
        if !canonical(major) || !canonical(minor) {
            return None;
        }
        // Any minor version is accepted, however long: one past `u64`
        // reads as the largest (a reader treats every minor alike).
        Some(FormatVersion {
            major: major.parse().ok()?,
            minor: minor.parse().unwrap_or(u64::MAX),
        })
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The header in force: what the index says, plus keys this version does
/// not know (kept for the next edit).
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The producer's IDENT (`bhyve`, `snapshot`).
    pub ident: String,
    /// The format version the image was written with.
    pub version: FormatVersion,
    /// Incremented by every committed edit; the newer slot wins.
    pub generation: u64,
    /// Free-form name and version of the program that wrote the image.
    pub producer: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created: Option<u64>,
    /// Incompatible features in use: a reader lacking one must refuse.
    pub incompatible: Vec<String>,
    /// The section index, in file order of writing.
    pub sections: Vec<SectionEntry>,
    /// The header nvlist as read, so unknown keys survive an edit.
    extra: NvList,
}

/// A slot whose checksum and structure hold, not yet interpreted.
pub(crate) struct RawSlot {
    pub ident: String,
    pub generation: u64,
    pub nv: NvList,
}

fn slot_offset(slot: u8) -> u64 {
    u64::from(slot) * SLOT_SIZE
}

impl Header {
    /// A first-generation header with no sections.
    pub(crate) fn new(ident: &str, producer: Option<String>, created: Option<u64>) -> Header {
        Header {
            ident: ident.to_owned(),
            version: FORMAT_VERSION,
            generation: 1,
            producer,
            created,
            incompatible: Vec::new(),
            sections: Vec::new(),
            extra: NvList::new(),
        }
    }

    /// Names the `zstd` feature exactly when a memory section uses it, so
    /// that older readers refuse only images they cannot read.
    pub(crate) fn update_features(&mut self) {
        let uses_zstd = self.sections.iter().any(|s| s.codec == Codec::Zstd);
        self.incompatible.retain(|f| f != FEATURE_ZSTD);
        if uses_zstd {
            self.incompatible.push(FEATURE_ZSTD.into());
        }
    }

    /// Takes `from`'s version, creation time, producer, and the keys this
    /// version does not know, of the header and of the entries of the
    /// sections both have (known keys are written from the fields,
    /// whatever `extra` holds).
    pub(crate) fn keep_from(&mut self, from: &Header) {
        self.version = from.version;
        self.created = from.created;
        self.producer = from.producer.clone();
        self.extra = from.extra.clone();
        for entry in &mut self.sections {
            if let Some(old) = from.section(&entry.name) {
                entry.extra = old.extra.clone();
            }
        }
    }

    /// The section called `name`.
    pub fn section(&self, name: &str) -> Option<&SectionEntry> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The header nvlist, unknown keys kept in place.
    pub(crate) fn to_nvlist(&self) -> NvList {
        let mut nv = self.extra.clone();
        nv.insert(VERSION, self.version.to_string());
        nv.insert(GENERATION, self.generation);
        if let Some(p) = &self.producer {
            nv.insert(PRODUCER, p.as_str());
        }
        if let Some(t) = self.created {
            nv.insert(CREATED, t);
        }
        // nvlist has no empty arrays: no features, no key.
        nv.remove(INCOMPATIBLE);
        if !self.incompatible.is_empty() {
            let names: Vec<NvString> = self.incompatible.iter().map(NvString::from).collect();
            nv.insert(INCOMPATIBLE, names);
        }
        nv.remove(SECTIONS);
        if !self.sections.is_empty() {
            let list: Vec<NvList> = self.sections.iter().map(|s| s.to_nvlist()).collect();
            nv.insert(SECTIONS, list);
        }
        nv
    }

    /// The 4096 bytes of a slot holding this header.
    pub(crate) fn encode_slot(&self) -> Result<Vec<u8>> {
        let packed = self.to_nvlist().pack();
        if packed.len() > NV_ROOM {
            return Err(Error::image(
                ImagePart::Index,
                0,
                ImageFault::IndexTooLarge {
                    size: packed.len() as u64,
                    room: NV_ROOM as u64,
                },
            ));
        }
        let mut slot = vec![0u8; SLOT_SIZE as usize];
        slot[..self.ident.len()].copy_from_slice(self.ident.as_bytes());
        slot[SIZE_AT..NV_AT].copy_from_slice(&(packed.len() as u64).to_le_bytes());
        slot[NV_AT..NV_AT + packed.len()].copy_from_slice(&packed);
        slot[MAGIC_AT..CRC_AT].copy_from_slice(MAGIC);
        let crc = crc32c(&slot[..CRC_AT]);
        slot[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        Ok(slot)
    }

    /// Checks a slot's magic, checksum and structure. `None` for a slot
    /// never written (all zero).
    pub(crate) fn decode_slot(bytes: &[u8], slot: u8) -> Result<Option<RawSlot>> {
        let at = slot_offset(slot);
        let fail = |fault| Err(Error::image(ImagePart::HeaderSlot(slot), at, fault));
        if bytes.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        if &bytes[MAGIC_AT..CRC_AT] != MAGIC {
            return fail(ImageFault::BadMagic);
        }
        let stored = u32::from_le_bytes(bytes[CRC_AT..].try_into().expect("4 bytes"));
        let computed = crc32c(&bytes[..CRC_AT]);
        if stored != computed {
            return fail(ImageFault::Checksum { stored, computed });
        }
        let size = u64::from_le_bytes(bytes[SIZE_AT..NV_AT].try_into().expect("8 bytes"));
        if size > NV_ROOM as u64 {
            return fail(ImageFault::IndexTooLarge {
                size,
                room: NV_ROOM as u64,
            });
        }
        let nv_end = NV_AT + size as usize;
        if bytes[nv_end..MAGIC_AT].iter().any(|&b| b != 0) {
            return fail(ImageFault::BadKey {
                key: "padding".into(),
                expected: "zero bytes",
            });
        }
        let ident = decode_ident(&bytes[..IDENT_LEN]).ok_or(ImageFault::BadIdent);
        let ident = match ident {
            Ok(i) => i,
            Err(f) => return fail(f),
        };
        let nv = match NvList::unpack(&bytes[NV_AT..nv_end]) {
            Ok(nv) => nv,
            Err(e) => return fail(ImageFault::IndexDecode(e)),
        };
        if let Some(key) = duplicate_key(&nv) {
            return fail(ImageFault::DuplicateKey(key));
        }
        let generation = match nv.get(GENERATION) {
            Some(Value::Number(g)) => *g,
            _ => {
                return fail(ImageFault::BadKey {
                    key: GENERATION.into(),
                    expected: "a number",
                })
            }
        };
        Ok(Some(RawSlot {
            ident,
            generation,
            nv,
        }))
    }

    /// Interprets the slot in force: version, features, index.
    pub(crate) fn from_raw(raw: RawSlot, slot: u8) -> Result<Header> {
        let at = slot_offset(slot);
        let nv = raw.nv;
        let bad = |key: &str, expected| {
            Error::image(
                ImagePart::Index,
                at,
                ImageFault::BadKey {
                    key: key.into(),
                    expected,
                },
            )
        };
        let fail = |fault| Error::image(ImagePart::HeaderSlot(slot), at, fault);
        let version_text = match nv.get(VERSION) {
            Some(Value::String(s)) => s.to_string_lossy().into_owned(),
            _ => return Err(bad(VERSION, "a string")),
        };
        let version = FormatVersion::parse(&version_text)
            .ok_or_else(|| fail(ImageFault::BadVersion(version_text.clone())))?;
        if version.major != FORMAT_VERSION.major {
            return Err(fail(ImageFault::UnsupportedVersion {
                found: version.to_string(),
                supported: format!("{}.x", FORMAT_VERSION.major),
            }));
        }
        let incompatible: Vec<String> = match nv.get(INCOMPATIBLE) {
            None => Vec::new(),
            Some(Value::StringArray(names)) => names
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect(),
            Some(_) => return Err(bad(INCOMPATIBLE, "a string array")),
        };
        let unknown: Vec<String> = incompatible
            .iter()
            .filter(|f| !KNOWN_FEATURES.contains(&f.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(fail(ImageFault::UnknownFeatures(unknown)));
        }
        let producer = match nv.get(PRODUCER) {
            None => None,
            Some(Value::String(s)) => Some(s.to_string_lossy().into_owned()),
            Some(_) => return Err(bad(PRODUCER, "a string")),
        };
        let created = match nv.get(CREATED) {
            None => None,
            Some(Value::Number(t)) => Some(*t),
            Some(_) => return Err(bad(CREATED, "a number")),
        };
        let sections = match nv.get(SECTIONS) {
            None => Vec::new(),
            Some(Value::NvListArray(list)) => list
                .iter()
                .enumerate()
                .map(|(i, s)| SectionEntry::from_nvlist(s, i, at))
                .collect::<Result<_>>()?,
            Some(_) => return Err(bad(SECTIONS, "an nvlist array")),
        };
        if sections.iter().any(|s| s.codec == Codec::Zstd)
            && !incompatible.iter().any(|f| f == FEATURE_ZSTD)
        {
            return Err(fail(ImageFault::FeatureNotNamed(FEATURE_ZSTD)));
        }
        Ok(Header {
            ident: raw.ident,
            version,
            generation: raw.generation,
            producer,
            created,
            incompatible,
            sections,
            extra: nv,
        })
    }
}

/// The first name that appears twice among `nv`'s pairs, if any. A key
/// of the header or of an entry read twice could mean either value.
pub(crate) fn duplicate_key(nv: &NvList) -> Option<String> {
    let mut seen = std::collections::HashSet::with_capacity(nv.len());
    nv.iter()
        .map(|(name, _)| name)
        .find(|name| !seen.insert(name.as_bytes()))
        .map(|name| name.to_string_lossy().into_owned())
}

/// The IDENT field: UTF-8, then NUL padding to 64 bytes.
fn decode_ident(field: &[u8]) -> Option<String> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    if end == 0 || field[end..].iter().any(|&b| b != 0) {
        return None;
    }
    std::str::from_utf8(&field[..end]).ok().map(str::to_owned)
}

/// Whether `ident` can be written: 1..=63 bytes of UTF-8 without NUL (one
/// NUL always follows, for C readers).
pub(crate) fn valid_ident(ident: &str) -> bool {
    !ident.is_empty() && ident.len() < IDENT_LEN && !ident.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::new("bhyve", Some("test".into()), Some(7))
    }

    #[test]
    fn slot_round_trip_keeps_unknown_keys() {
        let mut h = header();
        h.extra.insert("future_key", 42u64);
        let bytes = h.encode_slot().unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[..6], b"bhyve\0");
        let raw = Header::decode_slot(&bytes, 1).unwrap().unwrap();
        let back = Header::from_raw(raw, 1).unwrap();
        assert_eq!(back.to_nvlist().get_number("future_key").unwrap(), 42);
        assert_eq!(back.generation, 1);
        assert_eq!(back.ident, "bhyve");
    }

    #[test]
    fn blank_slot_is_none() {
        assert!(Header::decode_slot(&[0; 4096], 0).unwrap().is_none());
    }

    #[test]
    fn versions() {
        assert_eq!(
            FormatVersion::parse("1.0"),
            Some(FormatVersion { major: 1, minor: 0 })
        );
        for bad in ["1", "1.", ".1", "01.0", "1.0.0", "-1.0", "1.x", "+1.0"] {
            assert_eq!(FormatVersion::parse(bad), None, "{bad}");
        }
    }

    fn refuse(edit: impl Fn(&mut NvList)) -> ImageFault {
        let mut nv = header().to_nvlist();
        edit(&mut nv);
        let raw = RawSlot {
            ident: "bhyve".into(),
            generation: 1,
            nv,
        };
        match Header::from_raw(raw, 0).unwrap_err().kind() {
            crate::ErrorKind::Format { fault, .. } => fault.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_other_major_and_unknown_features() {
        assert!(matches!(
            refuse(|nv| {
                nv.insert(VERSION, "2.0");
            }),
            ImageFault::UnsupportedVersion { .. }
        ));
        let names: Vec<NvString> = vec!["zstd".into(), "encrypted".into()];
        assert_eq!(
            refuse(|nv| {
                nv.insert(INCOMPATIBLE, names.clone());
            }),
            ImageFault::UnknownFeatures(vec!["encrypted".into()])
        );
    }

    #[test]
    fn newer_minor_is_read() {
        let mut h = header();
        h.version.minor = 9;
        let raw = Header::decode_slot(&h.encode_slot().unwrap(), 0)
            .unwrap()
            .unwrap();
        assert_eq!(Header::from_raw(raw, 0).unwrap().version.minor, 9);
    }

    #[test]
    fn checksum_and_padding_checked() {
        let mut bytes = header().encode_slot().unwrap();
        bytes[100] ^= 1;
        assert!(Header::decode_slot(&bytes, 0).is_err());
        let mut bytes = header().encode_slot().unwrap();
        bytes[4000] = 1;
        let crc = crc32c(&bytes[..CRC_AT]);
        bytes[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        assert!(
            Header::decode_slot(&bytes, 0).is_err(),
            "padding must be zero"
        );
    }

    #[test]
    fn idents() {
        assert!(valid_ident("bhyve"));
        assert!(!valid_ident(""));
        assert!(!valid_ident(&"x".repeat(64)));
        assert_eq!(decode_ident(b"ab\0\0"), Some("ab".into()));
        assert_eq!(decode_ident(b"ab\0c"), None);
        assert_eq!(decode_ident(b"\0\0"), None);
    }
}
