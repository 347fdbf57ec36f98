//! The `workingset` section: the pages a guest touched first after a
//! resume, in the order it touched them, so the next lazy restore of the
//! same image can load them ahead of the faults.
//!
//! It is an nvlist section of four pairs:
//!
//! | key | type | value |
//! | --- | --- | --- |
//! | `section` | string | the memory section the pages are of |
//! | `page_size` | number | bytes per page: 4096 |
//! | `window_ms` | number | how long after the first fault pages were recorded |
//! | `pages` | number array | page numbers, first touched first, each once |
//!
//! A working set of no page has no `pages` pair (libnv has no empty
//! array). This module is the one place that reads and writes it.

use snapshot_image::{Image, SectionKind, Storage};
use snapshot_nvlist::NvList;

use crate::error::{Error, Result};
use crate::PAGE;

/// The section's name.
pub const WORKINGSET_SECTION: &str = "workingset";

const SECTION: &str = "section";
const PAGE_SIZE: &str = "page_size";
const WINDOW_MS: &str = "window_ms";
const PAGES: &str = "pages";

/// A recorded working set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingSet {
    /// The memory section the pages are of.
    pub section: String,
    /// How long after the first fault the pages were recorded.
    pub window_ms: u64,
    /// Page numbers (of [`PAGE`] bytes), first touched first.
    pub pages: Vec<u64>,
}

impl WorkingSet {
    /// The section's nvlist.
    pub fn to_nvlist(&self) -> NvList {
        let list = NvList::new()
            .with(SECTION, self.section.as_str())
            .with(PAGE_SIZE, PAGE)
            .with(WINDOW_MS, self.window_ms);
        match self.pages.is_empty() {
            true => list,
            false => list.with(PAGES, self.pages.clone()),
        }
    }

    /// Decodes the section's nvlist, checking its page size.
    pub fn from_nvlist(list: &NvList) -> Result<WorkingSet> {
        let bad = |why: &str, e| Error::bad_working_set(WORKINGSET_SECTION, why, Some(e));
        let page_size = list
            .get_number(PAGE_SIZE)
            .map_err(|e| bad("no page size", e))?;
        if page_size != PAGE {
            return Err(Error::bad_working_set(
                WORKINGSET_SECTION,
                format!("pages of {page_size} bytes, where this reader knows {PAGE}"),
                None,
            ));
        }
        Ok(WorkingSet {
            section: list
                .get_string(SECTION)
                .map_err(|e| bad("no memory section named", e))?
                .to_owned(),
            window_ms: list
                .get_number(WINDOW_MS)
                .map_err(|e| bad("no window", e))?,
            pages: match list.contains(PAGES) {
                true => list
                    .get_number_array(PAGES)
                    .map_err(|e| bad("pages are not a number array", e))?
                    .to_vec(),
                false => Vec::new(),
            },
        })
    }

    /// The image's working set, or `None` when it has none.
    pub fn read<S: Storage>(image: &Image<S>) -> Result<Option<WorkingSet>> {
        if image.header().section(WORKINGSET_SECTION).is_none() {
            return Ok(None);
        }
        let list = image.read_nvlist(WORKINGSET_SECTION)?;
        WorkingSet::from_nvlist(&list).map(Some)
    }

    /// Writes it into `image` in place (crash-safe), replacing the one
    /// there.
    pub fn write<S: Storage>(&self, image: &mut Image<S>) -> Result<()> {
        let packed = self.to_nvlist().pack();
        image.put_section(WORKINGSET_SECTION, SectionKind::NvList, &packed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ws = WorkingSet {
            section: "memory".into(),
            window_ms: 250,
            pages: vec![7, 3, 1 << 40],
        };
        assert_eq!(WorkingSet::from_nvlist(&ws.to_nvlist()).unwrap(), ws);
    }

    #[test]
    fn no_page_is_no_pages_pair() {
        let ws = WorkingSet {
            section: "memory".into(),
            window_ms: 5,
            pages: Vec::new(),
        };
        assert!(!ws.to_nvlist().contains(PAGES));
        assert_eq!(WorkingSet::from_nvlist(&ws.to_nvlist()).unwrap(), ws);
    }

    #[test]
    fn another_page_size_is_refused() {
        let list = WorkingSet {
            section: "memory".into(),
            window_ms: 1,
            pages: vec![1],
        }
        .to_nvlist()
        .with(PAGE_SIZE, 65536u64);
        let err = WorkingSet::from_nvlist(&list).unwrap_err();
        assert!(err.to_string().contains("65536"), "{err}");
    }

    #[test]
    fn a_missing_or_mistyped_key_is_named() {
        let list = NvList::new()
            .with(PAGE_SIZE, PAGE)
            .with(SECTION, "memory")
            .with(WINDOW_MS, 1u64)
            .with(PAGES, 3u64);
        let err = WorkingSet::from_nvlist(&list).unwrap_err();
        assert!(err.to_string().contains("not a number array"), "{err}");
        let err = WorkingSet::from_nvlist(&NvList::new().with(PAGE_SIZE, PAGE)).unwrap_err();
        assert!(err.to_string().contains("no memory section"), "{err}");
    }
}
