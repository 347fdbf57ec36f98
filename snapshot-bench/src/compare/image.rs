//! This project's image: one file, the device state as a packed nvlist
//! section, guest memory in checksummed 1 MiB chunks with zero chunks
//! left as holes, stored raw (mappable) or zstd-compressed.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use snapshot_core::image::{
    Builder, ChunkKind, Image, MemoryOptions, OpenOptions, DEFAULT_CHUNK_SIZE,
};
use snapshot_core::nvlist::{ValuePath, ValueView, View};
use snapshot_core::{Snapshot, Value};

use crate::compare::schema::{self, Outcomes, SchemaCodec, Shape};
use crate::compare::state::{self, VmState};
use crate::compare::vmm::Devices;
use crate::compare::{Format, Spot};

/// The zstd level of `snapshot build --compress zstd`'s default.
pub const ZSTD_LEVEL: i32 = 3;

const FILE: &str = "vm.img";
const DEVICES: &str = "devices";
const MEMORY: &str = "memory";

/// The image, memory chunks raw or compressed at a zstd level.
pub struct ImageFormat {
    /// `None`: chunks stored raw.
    pub zstd_level: Option<i32>,
}

impl Format for ImageFormat {
    fn name(&self) -> &'static str {
        match self.zstd_level {
            None => "snapshot image",
            Some(_) => "snapshot image (zstd)",
        }
    }

    fn description(&self) -> &'static str {
        match self.zstd_level {
            None => "`vm.img`: header, `devices` nvlist section, memory in checksummed 1 MiB chunks (zero chunks are holes)",
            Some(_) => "as above, non-zero chunks zstd-compressed (level 3, `snapshot build --compress zstd`)",
        }
    }

    fn state_bytes(&self, dir: &Path) -> Result<u64> {
        let image = Image::open(dir.join(FILE), &OpenOptions::default())?;
        Ok(image.section(DEVICES)?.size)
    }

    fn save(&self, state: &VmState, dir: &Path) -> Result<()> {
        let path = dir.join(FILE);
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        let mut b = Builder::new(file, snapshot_core::image::DEFAULT_IDENT, None)?;
        b.add_packed(DEVICES, &state.devices.to_bytes())?;
        b.add_memory_slice(
            MEMORY,
            &state.memory,
            MemoryOptions {
                chunk_size: DEFAULT_CHUNK_SIZE,
                zstd_level: self.zstd_level,
            },
        )?;
        // finish() syncs the sections, writes the header, syncs again.
        b.finish()?;
        Ok(())
    }

    fn restore(&self, dir: &Path) -> Result<VmState> {
        let image = Image::open(dir.join(FILE), &OpenOptions::default())?;
        let devices = Devices::from_bytes(&image.read_section(DEVICES)?)?;
        let mem = image.memory(MEMORY)?;
        let size = usize::try_from(mem.entry().size)?;
        let chunk = usize::try_from(mem.chunk_size())?;
        // Zero chunks are holes: the zeroed buffer already holds them.
        let mut memory = vec![0u8; size];
        let mut scratch = Vec::new();
        for (i, entry) in mem.table().iter().enumerate() {
            if entry.kind == ChunkKind::Zero {
                continue;
            }
            let at = i * chunk;
            let len = usize::try_from(mem.chunk_len(i as u64))?;
            mem.read_chunk_into(i as u64, &mut memory[at..at + len], &mut scratch)?;
        }
        Ok(VmState { devices, memory })
    }

    fn read_probe(&self, dir: &Path) -> Result<u64> {
        // The value looked up in the section's packed bytes, checked
        // whole as `unpack` checks them, with no tree built.
        let image = Image::open(dir.join(FILE), &OpenOptions::default())?;
        let path = ValuePath::parse(state::PROBE_PATH)?;
        let bytes = image.read_section(DEVICES)?;
        let view = View::parse(&bytes)?;
        match path.get_view(view.root())? {
            ValueView::Number(n) => Ok(n),
            other => bail!("{} is {:?}, not a number", state::PROBE_PATH, other.ty()),
        }
    }

    fn write_probe(&self, dir: &Path, value: u64) -> Result<()> {
        let mut image = Image::open_rw(dir.join(FILE), &OpenOptions::default())?;
        let path = ValuePath::parse(state::PROBE_PATH)?;
        image.set_value(&path, Value::Number(value), false)?;
        Ok(())
    }

    fn write_method(&self) -> &'static str {
        "`set_value` in place, as `snapshot set` does"
    }

    fn locate(&self, dir: &Path, state: &VmState) -> Result<(Spot, Spot)> {
        let file = dir.join(FILE);
        let image = Image::open(&file, &OpenOptions::default())?;
        let devices = image.section(DEVICES)?;
        let mem = image.memory(MEMORY)?;
        let page = state.probe_page().ok_or_else(|| anyhow!("no probe page"))?;
        let byte = (page * state::PAGE) as u64;
        let index = byte / mem.chunk_size();
        let entry = mem.table()[index as usize];
        // A raw chunk holds the page at its place; a compressed one has no
        // page boundaries, so the flips spread over the whole frame.
        let range = if entry.kind == ChunkKind::Raw {
            let at = mem.chunk_offset(index) + byte % mem.chunk_size();
            at..at + state::PAGE as u64
        } else {
            let at = mem.chunk_offset(index);
            at..at + u64::from(entry.stored_len)
        };
        Ok((
            Spot {
                file: file.clone(),
                range: devices.offset..devices.offset + devices.size,
            },
            Spot { file, range },
        ))
    }

    fn schema_changes(&self) -> Outcomes {
        schema::run::<ImageCodec>()
    }
}

/// The record as a `devices` section of an image held in memory.
pub struct ImageCodec;

impl SchemaCodec for ImageCodec {
    fn write<T: Shape>(value: &T) -> Result<Vec<u8>> {
        let mut b = Builder::new(Vec::new(), snapshot_core::image::DEFAULT_IDENT, None)?;
        b.add_packed(DEVICES, &value.to_bytes())?;
        Ok(b.finish()?)
    }

    fn read<T: Shape>(bytes: &[u8]) -> Result<T> {
        let image = Image::from_storage(bytes.to_vec(), &OpenOptions::default())?;
        Ok(T::from_bytes(&image.read_section(DEVICES)?)?)
    }
}
