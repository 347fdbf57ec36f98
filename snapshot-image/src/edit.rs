//! In-place, crash-safe edits: replace a section or the memory, set one
//! value.
//!
//! An edit never writes over anything the header in force refers to. It
//! writes the new section into space the current generation does not use,
//! syncs, then writes the next generation's header into the other slot
//! and syncs. A crash before that header write is complete leaves the
//! current header (and everything it refers to) intact; after it, the new
//! one wins. Space the current generation does not use was at most used
//! by the previous one, whose header is the one being overwritten, so
//! repeated edits reuse the same few extents instead of growing the file.

use crate::checksum::crc32c;
use crate::digest::Digest;
use crate::error::{Error, ImageFault, ImagePart, Result};
use crate::header::{Encoded, Header};
use crate::memory::MemoryStats;
use crate::reader::Image;
use crate::section::{check_content, Codec, Extent, MemoryLayout, SectionEntry, SectionKind};
use crate::storage::Storage;
use crate::writer::{entry_end, MemoryOptions, MemoryWriter};
use crate::{align_up, HEADER_AREA, SLOT_SIZE};
use snapshot_nvlist::path::{parse_value, ValuePath};
use snapshot_nvlist::{Type, Value, View};
use std::io::Read;

impl<S: Storage> Image<S> {
    /// Replaces the bytes of the nvlist or raw section `name`. An nvlist
    /// section's bytes must unpack; they are stored as given.
    pub fn replace_section(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let kind = self.section(name)?.kind;
        self.commit_section(name, kind, bytes)
    }

    /// Adds the nvlist or raw section `name` with `bytes`, or replaces
    /// it when the image has it (it must then be of that kind): how a
    /// VMM records something it learns after the image was written, such
    /// as the pages a guest touched first.
    pub fn put_section(&mut self, name: &str, kind: SectionKind, bytes: &[u8]) -> Result<()> {
        if self.header.section(name).is_some() {
            self.typed_section(name, kind)?;
        } else if name.is_empty() {
            let part = ImagePart::Section(name.into());
            return Err(Error::image(part, 0, ImageFault::BadSectionName));
        }
        self.commit_section(name, kind, bytes)
    }

    /// Records `reference` as the parent of this child image, in place:
    /// for a parent that moved, or a copy of it elsewhere. The caller
    /// checks that the new parent is the same memory (see
    /// [`crate::Chain::open`], which refuses any other).
    pub fn set_parent(&mut self, reference: String) -> Result<()> {
        self.check_not_stale()?;
        if self.header.parent.is_none() {
            let fault = ImageFault::BadKey {
                key: "parent".into(),
                expected: "present (the image is not a child)",
            };
            return Err(Error::image(ImagePart::Index, 0, fault));
        }
        let (header, encoded) = self.next_header(|h| h.parent = Some(reference))?;
        self.commit(header, encoded, HEADER_AREA, true)
    }

    /// Sets the value at `path` (see [`ValuePath::set`]) and commits the
    /// section. Returns the old value.
    pub fn set_value(&mut self, path: &ValuePath, value: Value, retype: bool) -> Result<Value> {
        let bytes = self.read_nvlist_bytes(&path.section)?;
        self.set_packed(path, bytes, value, retype)
    }

    /// Parses `text` as the type of the value at `path` (or as `ty`,
    /// which may change the type) and sets it. Returns the old and new
    /// values.
    pub fn set_text(
        &mut self,
        path: &ValuePath,
        text: &str,
        ty: Option<Type>,
    ) -> Result<(Value, Value)> {
        let bytes = self.read_nvlist_bytes(&path.section)?;
        let target = match ty {
            Some(t) => t,
            None => {
                let view = View::parse(&bytes).map_err(|e| self.nvlist_fault(&path.section, e))?;
                path.get_view(view.root())?.ty()
            }
        };
        // Name the pair being set, not the text that was given for it.
        let value = parse_value(text, target).map_err(|e| e.at_path(&path.to_string()))?;
        let old = self.set_packed(path, bytes, value.clone(), ty.is_some())?;
        Ok((old, value))
    }

    /// Sets the value at `path` in `bytes`, the section's packed bytes,
    /// and commits them: in the bytes themselves when the value keeps its
    /// type and size (a register, a counter, a flag), else through the
    /// decoded list.
    fn set_packed(
        &mut self,
        path: &ValuePath,
        mut bytes: Vec<u8>,
        value: Value,
        retype: bool,
    ) -> Result<Value> {
        let name = &path.section;
        if let Some(old) = path.set_in_place(&mut bytes, &value) {
            self.commit_section(name, SectionKind::NvList, &bytes)?;
            return Ok(old);
        }
        let mut list = self.unpack_section(name, &bytes)?;
        let old = path.set(&mut list, value, retype)?;
        self.commit_section(name, SectionKind::NvList, &list.pack())?;
        Ok(old)
    }

    /// The first 4096-aligned offset with `len` bytes free of every extent
    /// of the current generation and of `also`.
    fn allocate(&self, len: u64, also: &[Extent]) -> Result<u64> {
        let overflow = || {
            Error::image(
                ImagePart::File,
                self.file_len,
                ImageFault::PastEnd {
                    size: len,
                    file_len: self.file_len,
                },
            )
        };
        let need = align_up(len).ok_or_else(overflow)?;
        let mut used: Vec<(u64, u64)> = self
            .header
            .extents()
            .iter()
            .chain(also)
            .map(|e| (e.start, align_up(e.start + e.len).unwrap_or(u64::MAX)))
            .collect();
        used.sort_unstable();
        let mut cursor = HEADER_AREA;
        for (start, end) in used {
            if start >= cursor && start - cursor >= need {
                return Ok(cursor);
            }
            cursor = cursor.max(end);
        }
        cursor.checked_add(need).ok_or_else(overflow)?;
        Ok(cursor)
    }

    /// Writes `bytes` as the new content of section `name`, of `kind`
    /// (added when the image has no such section), and commits a new
    /// generation. The bytes are checked first with the reader's own
    /// rules, and the new header encoded, so that an edit never commits a
    /// section the reader would refuse, and a refused edit writes nothing.
    fn commit_section(&mut self, name: &str, kind: SectionKind, bytes: &[u8]) -> Result<()> {
        self.check_not_stale()?;
        check_content(name, kind, bytes, 0)?;
        let offset = self.allocate(bytes.len() as u64, &[])?;
        let (header, encoded) = self.next_header(|h| {
            let (size, crc) = (bytes.len() as u64, crc32c(bytes));
            match h.sections.iter_mut().find(|s| s.name == name) {
                Some(entry) => {
                    entry.offset = offset;
                    entry.size = size;
                    entry.crc32c = crc;
                    entry.digest = Some(Digest::of(bytes));
                }
                None => {
                    let mut entry = SectionEntry::new(name, kind, offset, size, crc);
                    entry.digest = Some(Digest::of(bytes));
                    h.sections.push(entry);
                }
            }
            h.unsynced = vec![name.into()];
        })?;
        let part = ImagePart::Section(name.into());
        if let Err(e) = self.storage.write_at(bytes, offset) {
            // What a failed write appended past the end is given back.
            let _ = self.storage.set_len(self.file_len);
            return Err(Error::io(format!("writing {part} at byte {offset}"), e));
        }
        self.commit(header, encoded, offset + bytes.len() as u64, true)
    }

    /// Replaces the memory section `name` with the bytes of `source`,
    /// streamed one chunk at a time. The new memory goes after every
    /// extent of the current generation; the old one's space is reused by
    /// later edits, so a mapping of it is valid only until the next edit.
    pub fn replace_memory(
        &mut self,
        name: &str,
        source: &mut dyn Read,
        options: MemoryOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<MemoryStats> {
        self.check_not_stale()?;
        let old = self.typed_section(name, SectionKind::Memory)?.clone();
        let offset = self.after_current();
        // The header the edit will commit, tried before any data is
        // written: numbers pack to fixed widths, so an entry of the same
        // keys (zstd assumed when allowed, the larger header) encodes to
        // at least the final size. An index that no longer fits, or a
        // generation at its maximum, refuses the edit with the file as it
        // was.
        let mut trial = old.clone();
        trial.offset = offset;
        trial.memory = Some(MemoryLayout {
            chunk_size: options.chunk_size,
            table_offset: offset,
        });
        if options.zstd_level.is_some() {
            trial.codec = Codec::Zstd;
        }
        trial.digest = Some(Digest([0xff; crate::DIGEST_LEN]));
        trial.page_digests = Some(offset);
        trial.parent = None;
        self.next_header(|h| {
            if let Some(s) = h.sections.iter_mut().find(|s| s.name == name) {
                *s = trial;
            }
        })?;
        // Space this image's earlier generations used may still hold
        // their bytes: zero chunks and pages written there are punched.
        let written =
            MemoryWriter::new(options, offset, name, self.file_len).and_then(|mut writer| {
                writer.stream(&mut self.storage, source, progress)?;
                writer.finish(&mut self.storage)
            });
        let (mut entry, stats) = match written {
            Ok(done) => done,
            Err(e) => {
                // Nothing refers to what was appended: give it back.
                let _ = self.storage.set_len(self.file_len);
                return Err(e);
            }
        };
        entry.extra = old.extra;
        let end = entry_end(&entry);
        let (header, encoded) = self.next_header(|h| {
            let old = h
                .sections
                .iter_mut()
                .find(|s| s.name == name)
                .expect("looked up above");
            *old = entry;
            // New memory is whole: an image nothing else of which stands
            // on its parent is no longer a child.
            if !h.sections.iter().any(|s| s.parent.is_some()) {
                h.parent = None;
            }
        })?;
        self.commit(header, encoded, end, false)?;
        Ok(stats)
    }

    /// The first aligned offset after every extent of the current
    /// generation: room for data of a length not known in advance.
    fn after_current(&self) -> u64 {
        self.header
            .extents()
            .iter()
            .map(|e| align_up(e.start + e.len).unwrap_or(u64::MAX))
            .fold(HEADER_AREA, u64::max)
    }

    fn check_not_stale(&self) -> Result<()> {
        if self.stale {
            return Err(Error::image(ImagePart::File, 0, ImageFault::StaleHandle));
        }
        Ok(())
    }

    /// The next generation's header, changed by `update`, encoded. An
    /// index too large for the slot is placed clear of both generations'
    /// extents. Encoding before the commit writes anything means an index
    /// that no longer fits fails the edit with nothing committed.
    fn next_header(&self, update: impl FnOnce(&mut Header)) -> Result<(Header, Encoded)> {
        let mut header = self.header.clone();
        // What the last edit wrote unsynced was synced by its commit.
        header.unsynced.clear();
        update(&mut header);
        header.generation = header.generation.checked_add(1).ok_or_else(|| {
            Error::image(
                ImagePart::HeaderSlot(self.slot),
                u64::from(self.slot) * SLOT_SIZE,
                ImageFault::BadKey {
                    key: "generation".into(),
                    expected: "below 2^64-1",
                },
            )
        })?;
        let new_sections: Vec<Extent> = header.sections.iter().flat_map(|s| s.extents()).collect();
        let encoded = header.encode(|len| self.allocate(len, &new_sections))?;
        Ok((header, encoded))
    }

    /// Writes the index extent `encoded` may have, syncs it with the data
    /// written (which ends at `data_end`), writes `header`'s slot into the
    /// slot not in force, and syncs again.
    ///
    /// One sync is enough when `checked` (every byte written before the
    /// slot is in a section `header` lists as unsynced, or nothing was,
    /// for an edit of the header alone) and the index is in the slot: a
    /// reader then
    /// checks those sections and falls back to the slot in force, which
    /// the edit did not touch, when one did not reach the disk whole
    /// (docs/format.md, "Edits"). A memory section, too large to check on
    /// open, or an index extent is synced before the slot is written.
    fn commit(
        &mut self,
        header: Header,
        encoded: Encoded,
        data_end: u64,
        checked: bool,
    ) -> Result<()> {
        let io = |what: String| move |e: std::io::Error| Error::io(what, e);
        if let Some((extent, bytes)) = &encoded.index {
            if let Err(e) = self.storage.write_at(bytes, extent.offset) {
                let _ = self.storage.set_len(self.file_len);
                let at = extent.offset;
                return Err(Error::io(
                    format!("writing the index extent at byte {at}"),
                    e,
                ));
            }
        }
        let data_end = data_end.max(encoded.index_end());
        if !checked || encoded.index.is_some() {
            self.storage
                .sync()
                .map_err(io("syncing the new section data".into()))?;
        }
        let slot = 1 - self.slot;
        let slot_at = u64::from(slot) * SLOT_SIZE;
        // From here the file may hold the new generation even if a call
        // fails, so this handle must not edit again.
        self.stale = true;
        self.storage
            .write_at(&encoded.slot, slot_at)
            .map_err(io(format!("writing header slot {slot} at byte {slot_at}")))?;
        self.storage.sync().map_err(io(format!(
            "syncing header slot {slot} (the edit may or may not have been committed)"
        )))?;
        let previous = std::mem::replace(&mut self.header, header);
        self.slot = slot;
        self.other_slot_fault = None;
        self.stale = false;
        self.file_len = self.file_len.max(data_end);
        self.trim(&previous.extents())
    }

    /// Cuts the file after the last byte either generation refers to, so
    /// space freed at the end is given back.
    fn trim(&mut self, previous: &[Extent]) -> Result<()> {
        let end = self
            .header
            .extents()
            .into_iter()
            .chain(previous.iter().cloned())
            .map(|e| e.start + e.len)
            .fold(HEADER_AREA, u64::max);
        if end < self.file_len {
            self.storage
                .set_len(end)
                .map_err(|e| Error::io("trimming the image", e))?;
            self.file_len = end;
        }
        Ok(())
    }
}
