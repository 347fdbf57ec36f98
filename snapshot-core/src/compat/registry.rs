//! A program's snapshot types, and its releases as maps from release name
//! to type versions: what the checker, the fixtures and the offline
//! migration of whole images work from, without knowing the Rust types.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::nvlist::NvList;
use crate::record::Snapshot;
use crate::schema::Schema;

/// One record type, erased to function pointers.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The stored schema name.
    pub name: &'static str,
    /// The type's version.
    pub version: u32,
    /// Its schema.
    pub schema: fn() -> Schema,
    /// Reads a record of any supported version and writes it in this
    /// type's version.
    pub upgrade: fn(&NvList) -> Result<NvList>,
    /// Reads a record of any supported version and writes it for a reader
    /// of the given (older or equal) version.
    pub write_for: fn(&NvList, u32) -> Result<NvList>,
    /// Reads a record of any supported version and writes it for a reader
    /// of the given type versions, nested records included
    /// ([`Snapshot::to_nvlist_for_versions`]).
    pub write_for_versions: fn(&NvList, &BTreeMap<String, u32>) -> Result<NvList>,
    /// A representative value, packed, for the golden fixtures.
    pub sample: Option<fn() -> NvList>,
}

/// The record types of a program, possibly several versions of one name
/// (older generations kept to write fixtures), and its releases.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    releases: Vec<(Release, BTreeMap<String, u32>)>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds the record type `T`, with no sample value.
    pub fn add<T: Snapshot>(&mut self) -> &mut Registry {
        self.entries.push(Entry {
            name: T::NAME,
            version: T::VERSION,
            schema: T::schema,
            upgrade: |nv| T::from_nvlist(nv).map(|v| v.to_nvlist()),
            write_for: |nv, version| T::from_nvlist(nv)?.to_nvlist_for(version),
            write_for_versions: |nv, versions| T::from_nvlist(nv)?.to_nvlist_for_versions(versions),
            sample: None,
        });
        self
    }

    /// Adds the record type `T` with a representative value, from which the
    /// golden fixture of its version is written.
    pub fn add_sample<T: Snapshot + Sample>(&mut self) -> &mut Registry {
        self.add::<T>();
        let last = self.entries.len() - 1;
        self.entries[last].sample = Some(|| T::sample().to_nvlist());
        self
    }

    /// Declares a release: its semver name and the version of each type
    /// it writes.
    ///
    /// # Panics
    ///
    /// If `name` is not `MAJOR.MINOR.PATCH`: release names are constants
    /// of the program, so a typo is a bug to find in its first test.
    pub fn release(&mut self, name: &str, versions: &[(&str, u32)]) -> &mut Registry {
        let release = Release::parse(name).expect("release names are semver: MAJOR.MINOR.PATCH");
        let map = versions
            .iter()
            .map(|(n, v)| ((*n).to_owned(), *v))
            .collect();
        self.releases.push((release, map));
        self.releases.sort_by_key(|r| r.0);
        self
    }

    /// Every entry, in the order added.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The schema names, sorted, each once.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.entries.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The newest version of the type stored as `name`: the one that reads
    /// every older record.
    pub fn current(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.name == name)
            .max_by_key(|e| e.version)
    }

    /// The entry of `name` at exactly `version`, if the program has it.
    pub fn at(&self, name: &str, version: u32) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name && e.version == version)
    }

    /// The declared releases, oldest first.
    pub fn releases(&self) -> impl DoubleEndedIterator<Item = (&Release, &BTreeMap<String, u32>)> {
        self.releases.iter().map(|(r, m)| (r, m))
    }

    /// The newest release matching `wanted`, a full or partial semver
    /// name: `1` is the newest 1.x.y, `1.0` the newest 1.0.y.
    pub fn find_release(&self, wanted: &str) -> Option<(&Release, &BTreeMap<String, u32>)> {
        newest_match(self.releases(), wanted)
    }
}

/// A value to write a golden fixture from: representative, so that the
/// fixture exercises every field (non-default values, full arrays).
pub trait Sample {
    /// The value.
    fn sample() -> Self;
}

/// A semver release name, `MAJOR.MINOR.PATCH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Patch version.
    pub patch: u64,
}

impl Release {
    /// Parses `MAJOR.MINOR.PATCH`.
    pub fn parse(text: &str) -> Option<Release> {
        match parse_prefix(text)?[..] {
            [major, minor, patch] => Some(Release {
                major,
                minor,
                patch,
            }),
            _ => None,
        }
    }

    fn parts(&self) -> [u64; 3] {
        [self.major, self.minor, self.patch]
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The newest of `releases` (oldest first) matching `wanted`, a full or
/// partial semver name.
pub(crate) fn newest_match<'a, T>(
    releases: impl DoubleEndedIterator<Item = (&'a Release, T)>,
    wanted: &str,
) -> Option<(&'a Release, T)> {
    let prefix = parse_prefix(wanted)?;
    releases
        .rev()
        .find(|(r, _)| r.parts()[..prefix.len()] == prefix[..])
}

/// One to three dot-separated numbers.
fn parse_prefix(text: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| (1..=3).contains(&p.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_release_names_pick_the_newest_match() {
        let mut reg = Registry::new();
        reg.release("1.0.0", &[("a", 1)])
            .release("2.0.0", &[("a", 3)])
            .release("1.1.0", &[("a", 2)]);
        let find = |w| reg.find_release(w).map(|(r, m)| (r.to_string(), m["a"]));
        assert_eq!(find("1"), Some(("1.1.0".into(), 2)));
        assert_eq!(find("1.0"), Some(("1.0.0".into(), 1)));
        assert_eq!(find("2.0.0"), Some(("2.0.0".into(), 3)));
        assert_eq!(find("3"), None);
        assert_eq!(find("x"), None);
        assert_eq!(find("1.2.3.4"), None);
    }
}
