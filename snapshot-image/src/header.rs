//! The header slots: IDENT, packed-nvlist size, the header nvlist (format
//! version, generation, producer, feature flags, section index), a magic
//! and a CRC32C.
//!
//! Two slots exist so an edit can commit by writing the slot not in use:
//! a reader takes the valid slot with the higher generation, so a torn
//! header write leaves the previous one in force.
//!
//! An index too large for a slot (about fifteen sections fit) is packed
//! into an extent of its own, written with the sections before the slot
//! that points to it; the slot then names the `index-extent` feature, so
//! a reader that predates it refuses the image by name. Images whose
//! index fits keep it in the slot, byte for byte as before.

use std::fmt;

use crate::checksum::{crc32c, is_zero};
use crate::digest::{self, Digest, DIGEST_LEN};
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::section::{Codec, Extent, SectionEntry, SectionKind};
use crate::storage::Storage;
use crate::{
    FEATURE_INDEX_EXTENT, FEATURE_PARENT, FEATURE_ZSTD, FORMAT_VERSION, IDENT_LEN, KNOWN_FEATURES,
    MAX_LOADED_SECTION, SLOT_SIZE,
};
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
const INDEX: &str = "index";
const PARENT: &str = "parent";
const ROOT: &str = "root_blake3";
const UNSYNCED: &str = "unsynced";
const INDEX_OFFSET: &str = "offset";
const INDEX_SIZE: &str = "size";
const INDEX_CRC32C: &str = "crc32c";

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
    /// Where the index is kept when it does not fit in the slot.
    pub index: Option<IndexExtent>,
    /// A child image: the path of its parent image, relative to the
    /// child's directory unless absolute.
    pub parent: Option<String>,
    /// The root digest as stored: over every section's digest (see
    /// [`Header::computed_root`]); absent when a section has none.
    pub root: Option<Digest>,
    /// The nvlist and raw sections an edit wrote with this header under
    /// one sync, so that either may have reached the disk without the
    /// other: a reader checks their bytes before it trusts this header,
    /// and takes the other slot's generation when one fails.
    pub unsynced: Vec<String>,
    /// The header nvlist as read, so unknown keys survive an edit.
    extra: NvList,
}

/// The extent holding a section index too large for a header slot: a
/// packed nvlist whose one pair, `sections`, is the array a slot would
/// hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexExtent {
    /// File offset (4096-aligned, after the header area).
    pub offset: u64,
    /// Length of the packed nvlist.
    pub size: u64,
    /// CRC32C of the packed nvlist.
    pub crc32c: u32,
}

impl IndexExtent {
    pub(crate) fn extent(&self) -> Extent {
        Extent {
            part: ImagePart::IndexExtent,
            start: self.offset,
            len: self.size,
        }
    }
}

/// A header ready to commit: its slot, and the index extent to write
/// (before the slot) when the index does not fit in it.
pub(crate) struct Encoded {
    pub slot: Vec<u8>,
    pub index: Option<(IndexExtent, Vec<u8>)>,
}

impl Encoded {
    /// The end of the index extent, or 0 without one.
    pub(crate) fn index_end(&self) -> u64 {
        self.index.as_ref().map_or(0, |(e, _)| e.offset + e.size)
    }
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
            index: None,
            parent: None,
            root: None,
            unsynced: Vec::new(),
            extra: NvList::new(),
        }
    }

    /// The root digest of the sections as they are: BLAKE3 over each
    /// one's name, kind and digest, in index order; `None` when a section
    /// has no digest (or a stale one). Equal for a child image and its
    /// flattened copy, whose memory digests are of the same pages.
    pub fn computed_root(&self) -> Option<Digest> {
        let parts: Option<Vec<(&str, &str, Digest)>> = self
            .sections
            .iter()
            .map(|s| Some((s.name.as_str(), s.kind.keyword(), s.digest?)))
            .collect();
        Some(digest::root(parts?.into_iter()))
    }

    /// The file ranges this header's index refers to: every section's,
    /// and the index extent's.
    pub(crate) fn extents(&self) -> Vec<Extent> {
        let sections = self.sections.iter().flat_map(|s| s.extents());
        sections.chain(self.index.map(|i| i.extent())).collect()
    }

    /// Takes `from`'s version, creation time, producer, and the keys this
    /// version does not know, of the header and of the entries of the
    /// sections both have (known keys are written from the fields,
    /// whatever `extra` holds).
    pub(crate) fn keep_from(&mut self, from: &Header) {
        self.version = from.version;
        self.created = from.created;
        self.producer = from.producer.clone();
        if self.parent.is_none() {
            self.parent = from.parent.clone();
        }
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

    /// The slot's nvlist, unknown keys kept in place: the sections
    /// inline, or a pointer to `index`.
    fn slot_nvlist(&self, index: Option<IndexExtent>) -> NvList {
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
        let features = self.features(index.is_some());
        if !features.is_empty() {
            let names: Vec<NvString> = features.iter().map(NvString::from).collect();
            nv.insert(INCOMPATIBLE, names);
        }
        nv.remove(PARENT);
        if let Some(p) = &self.parent {
            nv.insert(PARENT, p.as_str());
        }
        nv.remove(ROOT);
        if let Some(root) = self.computed_root() {
            nv.insert(ROOT, Value::Binary(root.0.to_vec()));
        }
        nv.remove(UNSYNCED);
        if !self.unsynced.is_empty() {
            let names: Vec<NvString> = self.unsynced.iter().map(NvString::from).collect();
            nv.insert(UNSYNCED, names);
        }
        nv.remove(SECTIONS);
        nv.remove(INDEX);
        match index {
            Some(i) => {
                let pointer = NvList::new()
                    .with(INDEX_OFFSET, i.offset)
                    .with(INDEX_SIZE, i.size)
                    .with(INDEX_CRC32C, u64::from(i.crc32c));
                nv.insert(INDEX, pointer);
            }
            None => {
                if let Some(list) = self.sections_nvlist() {
                    nv.insert(SECTIONS, list);
                }
            }
        }
        nv
    }

    fn sections_nvlist(&self) -> Option<Vec<NvList>> {
        (!self.sections.is_empty()).then(|| self.sections.iter().map(|s| s.to_nvlist()).collect())
    }

    /// The incompatible features to write, the one place they are
    /// decided: `zstd` exactly when a memory section uses it,
    /// `index-extent` exactly when the index is kept outside the slot,
    /// and `parent` exactly when the image is a child, so that older
    /// readers refuse only images they cannot read.
    fn features(&self, external: bool) -> Vec<String> {
        let zstd = self.sections.iter().any(|s| s.codec == Codec::Zstd);
        let parent = self.parent.is_some();
        [
            (zstd, FEATURE_ZSTD),
            (external, FEATURE_INDEX_EXTENT),
            (parent, FEATURE_PARENT),
        ]
        .into_iter()
        .filter(|(used, _)| *used)
        .map(|(_, name)| name.to_owned())
        .collect()
    }

    /// Encodes the header for committing. An index that does not fit in
    /// the slot is packed on its own and placed where `place` says for
    /// its length (space no generation in force uses); the header then
    /// records that extent and the feature, as a reader will see them.
    pub(crate) fn encode(&mut self, place: impl FnOnce(u64) -> Result<u64>) -> Result<Encoded> {
        let inline = self.slot_nvlist(None).pack();
        self.root = self.computed_root();
        if inline.len() <= NV_ROOM {
            self.index = None;
            self.incompatible = self.features(false);
            return Ok(Encoded {
                slot: self.slot_bytes(&inline),
                index: None,
            });
        }
        let mut list = NvList::new();
        if let Some(sections) = self.sections_nvlist() {
            list.insert(SECTIONS, sections);
        }
        let packed = list.pack();
        let extent = IndexExtent {
            offset: place(packed.len() as u64)?,
            size: packed.len() as u64,
            crc32c: crc32c(&packed),
        };
        let slot = self.slot_nvlist(Some(extent)).pack();
        if slot.len() > NV_ROOM {
            return Err(Error::image(
                ImagePart::Index,
                0,
                ImageFault::IndexTooLarge {
                    size: slot.len() as u64,
                    room: NV_ROOM as u64,
                },
            ));
        }
        self.index = Some(extent);
        self.incompatible = self.features(true);
        Ok(Encoded {
            slot: self.slot_bytes(&slot),
            index: Some((extent, packed)),
        })
    }

    /// The 4096 bytes of a slot holding `packed` (which fits).
    fn slot_bytes(&self, packed: &[u8]) -> Vec<u8> {
        let mut slot = vec![0u8; SLOT_SIZE as usize];
        slot[..self.ident.len()].copy_from_slice(self.ident.as_bytes());
        slot[SIZE_AT..NV_AT].copy_from_slice(&(packed.len() as u64).to_le_bytes());
        slot[NV_AT..NV_AT + packed.len()].copy_from_slice(packed);
        slot[MAGIC_AT..CRC_AT].copy_from_slice(MAGIC);
        let crc = crc32c(&slot[..CRC_AT]);
        slot[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        slot
    }

    /// Checks a slot's magic, checksum and structure. `None` for a slot
    /// never written (all zero).
    pub(crate) fn decode_slot(bytes: &[u8], slot: u8) -> Result<Option<RawSlot>> {
        let at = slot_offset(slot);
        let fail = |fault| Err(Error::image(ImagePart::HeaderSlot(slot), at, fault));
        if is_zero(bytes) {
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
        if !is_zero(&bytes[nv_end..MAGIC_AT]) {
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
    /// `storage` (of `file_len` bytes) holds an index kept in an extent.
    pub(crate) fn from_raw(
        raw: RawSlot,
        slot: u8,
        storage: &dyn Storage,
        file_len: u64,
    ) -> Result<Header> {
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
        let index = match nv.get(INDEX) {
            None => None,
            Some(Value::NvList(pointer)) => Some(IndexExtent::from_nvlist(pointer, at)?),
            Some(_) => return Err(bad(INDEX, "an nvlist")),
        };
        let external = incompatible.iter().any(|f| f == FEATURE_INDEX_EXTENT);
        if index.is_some() != external {
            return Err(match index {
                Some(_) => fail(ImageFault::FeatureNotNamed(FEATURE_INDEX_EXTENT)),
                None => bad(INDEX, "an nvlist (the header names `index-extent`)"),
            });
        }
        let sections = match index {
            Some(extent) => {
                if nv.get(SECTIONS).is_some() {
                    return Err(bad(SECTIONS, "absent (the index is in an extent)"));
                }
                extent.read(storage, file_len)?
            }
            None => sections_of(&nv, at, ImagePart::Index)?,
        };
        if sections.iter().any(|s| s.codec == Codec::Zstd)
            && !incompatible.iter().any(|f| f == FEATURE_ZSTD)
        {
            return Err(fail(ImageFault::FeatureNotNamed(FEATURE_ZSTD)));
        }
        let parent = match nv.get(PARENT) {
            None => None,
            Some(Value::String(s)) => match s.to_str() {
                Some(p) if !p.is_empty() => Some(p.to_owned()),
                _ => return Err(bad(PARENT, "a non-empty UTF-8 string")),
            },
            Some(_) => return Err(bad(PARENT, "a string")),
        };
        let child = incompatible.iter().any(|f| f == FEATURE_PARENT);
        if parent.is_some() != child {
            return Err(match parent {
                Some(_) => fail(ImageFault::FeatureNotNamed(FEATURE_PARENT)),
                None => bad(PARENT, "a string (the header names `parent`)"),
            });
        }
        if parent.is_none() && sections.iter().any(|s| s.parent.is_some()) {
            return Err(bad(PARENT, "a string (a section has a parent)"));
        }
        let root = match nv.get(ROOT) {
            None => None,
            Some(Value::Binary(b)) if b.len() == DIGEST_LEN => Digest::from_slice(b),
            Some(_) => return Err(bad(ROOT, "a 32-byte binary")),
        };
        let unsynced = match nv.get(UNSYNCED) {
            None => Vec::new(),
            Some(Value::StringArray(names)) => {
                let names: Option<Vec<String>> = names
                    .iter()
                    .map(|n| n.to_str().map(str::to_owned))
                    .collect();
                let checkable = |name: &String| {
                    sections.iter().any(|s| {
                        &s.name == name && matches!(s.kind, SectionKind::NvList | SectionKind::Raw)
                    })
                };
                match names {
                    Some(names) if names.iter().all(checkable) => names,
                    _ => return Err(bad(UNSYNCED, "names of the index's nvlist or raw sections")),
                }
            }
            Some(_) => return Err(bad(UNSYNCED, "a string array")),
        };
        Ok(Header {
            ident: raw.ident,
            version,
            generation: raw.generation,
            producer,
            created,
            incompatible,
            sections,
            index,
            parent,
            root,
            unsynced,
            extra: nv,
        })
    }
}

impl IndexExtent {
    fn from_nvlist(nv: &NvList, at: u64) -> Result<IndexExtent> {
        let number = |k: &str| match nv.get(k) {
            Some(Value::Number(n)) => Ok(*n),
            _ => Err(Error::image(
                ImagePart::Index,
                at,
                ImageFault::BadKey {
                    key: format!("{INDEX}.{k}"),
                    expected: "a number",
                },
            )),
        };
        let crc = number(INDEX_CRC32C)?;
        Ok(IndexExtent {
            offset: number(INDEX_OFFSET)?,
            size: number(INDEX_SIZE)?,
            crc32c: u32::try_from(crc).map_err(|_| {
                Error::image(
                    ImagePart::Index,
                    at,
                    ImageFault::BadKey {
                        key: format!("{INDEX}.{INDEX_CRC32C}"),
                        expected: "a 32-bit number",
                    },
                )
            })?,
        })
    }

    /// Reads and checks the extent and the sections it lists. Its length
    /// is bounded by the file's (checked first) and by the largest
    /// section a reader loads, so a hostile size allocates nothing.
    fn read(&self, storage: &dyn Storage, file_len: u64) -> Result<Vec<SectionEntry>> {
        let fail = |fault| Error::image(ImagePart::IndexExtent, self.offset, fault);
        crate::section::check_extent(&self.extent(), file_len)?;
        if self.size > MAX_LOADED_SECTION {
            let (size, limit) = (self.size, MAX_LOADED_SECTION);
            return Err(fail(ImageFault::SectionTooLarge { size, limit }));
        }
        let mut bytes = vec![0u8; self.size as usize];
        storage.read_at(&mut bytes, self.offset).map_err(|e| {
            let at = self.offset;
            Error::io(format!("reading the index extent at byte {at}"), e)
        })?;
        let computed = crc32c(&bytes);
        if computed != self.crc32c {
            let stored = self.crc32c;
            return Err(fail(ImageFault::Checksum { stored, computed }));
        }
        let nv = NvList::unpack(&bytes).map_err(|e| fail(ImageFault::IndexDecode(e)))?;
        if let Some(key) = duplicate_key(&nv) {
            return Err(fail(ImageFault::DuplicateKey(key)));
        }
        sections_of(&nv, self.offset, ImagePart::IndexExtent)
    }
}

/// The entries of the `sections` array of `nv` (a slot's nvlist or an
/// index extent's, named by `part` at offset `at`).
fn sections_of(nv: &NvList, at: u64, part: ImagePart) -> Result<Vec<SectionEntry>> {
    match nv.get(SECTIONS) {
        None => Ok(Vec::new()),
        Some(Value::NvListArray(list)) => list
            .iter()
            .enumerate()
            .map(|(i, s)| SectionEntry::from_nvlist(s, i, at))
            .collect(),
        Some(_) => Err(Error::image(
            part,
            at,
            ImageFault::BadKey {
                key: SECTIONS.into(),
                expected: "an nvlist array",
            },
        )),
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

    /// A file holding `bytes` at `at`, zeros before.
    fn file(at: u64, bytes: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; at as usize];
        f.extend_from_slice(bytes);
        f
    }

    /// Reads `raw` with no index extent to read.
    fn from_raw(raw: RawSlot, slot: u8) -> Result<Header> {
        Header::from_raw(raw, slot, &Vec::new(), 0)
    }

    /// Reads `raw` whose index is in `f`.
    fn from_file(raw: RawSlot, f: &Vec<u8>) -> Result<Header> {
        Header::from_raw(raw, 0, f, f.len() as u64)
    }

    fn slot_of(h: &mut Header) -> Vec<u8> {
        h.encode(|_| panic!("the index fits")).unwrap().slot
    }

    #[test]
    fn slot_round_trip_keeps_unknown_keys() {
        let mut h = header();
        h.extra.insert("future_key", 42u64);
        let bytes = slot_of(&mut h);
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[..6], b"bhyve\0");
        let raw = Header::decode_slot(&bytes, 1).unwrap().unwrap();
        let back = from_raw(raw, 1).unwrap();
        assert_eq!(back.slot_nvlist(None).get_number("future_key").unwrap(), 42);
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
        let mut nv = header().slot_nvlist(None);
        edit(&mut nv);
        let raw = RawSlot {
            ident: "bhyve".into(),
            generation: 1,
            nv,
        };
        match from_raw(raw, 0).unwrap_err().kind() {
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
        let raw = Header::decode_slot(&slot_of(&mut h), 0).unwrap().unwrap();
        assert_eq!(from_raw(raw, 0).unwrap().version.minor, 9);
    }

    #[test]
    fn checksum_and_padding_checked() {
        let mut bytes = slot_of(&mut header());
        bytes[100] ^= 1;
        assert!(Header::decode_slot(&bytes, 0).is_err());
        let mut bytes = slot_of(&mut header());
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

    fn with_sections(n: usize) -> Header {
        let mut h = header();
        for i in 0..n {
            let name = format!("section-{i:04}");
            let entry =
                SectionEntry::new(&name, crate::SectionKind::Raw, 8192 + 4096 * i as u64, 1, 0);
            h.sections.push(entry);
        }
        h
    }

    #[test]
    fn an_index_too_large_for_the_slot_goes_to_an_extent() {
        let mut small = with_sections(3);
        assert!(small.encode(|_| panic!("fits")).unwrap().index.is_none());
        assert!(small.index.is_none() && small.incompatible.is_empty());

        let mut big = with_sections(1000);
        let at = 8192 + 4096 * 1000;
        let encoded = big.encode(|_| Ok(at)).unwrap();
        let (extent, bytes) = encoded.index.expect("an index extent");
        assert_eq!((extent.offset, extent.size), (at, bytes.len() as u64));
        assert_eq!(big.incompatible, [FEATURE_INDEX_EXTENT]);
        let raw = Header::decode_slot(&encoded.slot, 0).unwrap().unwrap();
        assert!(raw.nv.get(SECTIONS).is_none());
        let back = from_file(raw, &file(at, &bytes)).unwrap();
        let entries = |h: &Header| h.sections.iter().map(|s| s.to_nvlist()).collect::<Vec<_>>();
        assert!(
            entries(&back) == entries(&big),
            "the sections read back differ"
        );
        assert_eq!(back.index, Some(extent));

        // Fewer sections again: back into the slot, the feature dropped.
        big.sections.truncate(2);
        assert!(big.encode(|_| panic!("fits")).unwrap().index.is_none());
        assert!(big.index.is_none() && big.incompatible.is_empty());
    }

    #[test]
    fn an_index_extent_is_checked() {
        let mut big = with_sections(100);
        let at = 8192 + 4096 * 100;
        let encoded = big.encode(|_| Ok(at)).unwrap();
        let (_, bytes) = encoded.index.unwrap();
        let fault = |raw: RawSlot, f: &Vec<u8>| match from_file(raw, f).unwrap_err().kind() {
            crate::ErrorKind::Format { part, fault, .. } => (part.clone(), fault.clone()),
            other => panic!("{other:?}"),
        };
        let raw = || Header::decode_slot(&encoded.slot, 0).unwrap().unwrap();
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        let (part, f) = fault(raw(), &file(at, &flipped));
        assert_eq!(part, ImagePart::IndexExtent);
        assert!(matches!(f, ImageFault::Checksum { .. }), "{f:?}");
        let short = file(at, &bytes[..100]);
        assert!(matches!(fault(raw(), &short).1, ImageFault::PastEnd { .. }));
        // The pointer without the feature, the feature without the pointer.
        let mut unnamed = raw();
        unnamed.nv.remove(INCOMPATIBLE);
        let whole = file(at, &bytes);
        assert_eq!(
            fault(unnamed, &whole).1,
            ImageFault::FeatureNotNamed(FEATURE_INDEX_EXTENT)
        );
        let mut pointless = raw();
        pointless.nv.remove(INDEX);
        assert!(matches!(
            fault(pointless, &whole).1,
            ImageFault::BadKey { .. }
        ));
    }
}
