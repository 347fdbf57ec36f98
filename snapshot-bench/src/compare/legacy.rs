//! Today's bhyve snapshot: three files. `vm.kern` holds the device state
//! as a positional stream of native fields ([`vmm::Raw`]), `vm.meta` is
//! JSON naming the memory size and where each part of `vm.kern` lies, and
//! `vm.mem` is guest memory written whole, zero pages included.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::compare::files::{self, write_synced};
use crate::compare::schema::{self, Outcomes, SchemaCodec, Shape};
use crate::compare::state::{self, VmState};
use crate::compare::vmm::{self, Devices};
use crate::compare::{Format, Spot};

const META: &str = "vm.meta";
const KERN: &str = "vm.kern";
const MEM: &str = "vm.mem";

/// The `.meta` file, after bhyve's: sizes and offsets, no types.
#[derive(Serialize, Deserialize)]
struct Meta {
    memsize: u64,
    devices: Vec<MetaEntry>,
}

#[derive(Serialize, Deserialize)]
struct MetaEntry {
    device: String,
    file_offset: u64,
    size: u64,
}

/// The three-file format.
pub struct Legacy;

impl Legacy {
    fn read_devices(dir: &Path) -> Result<Devices> {
        let meta: Meta =
            serde_json::from_slice(&files::read(&dir.join(META))?).context("parsing vm.meta")?;
        let entry = meta
            .devices
            .iter()
            .find(|e| e.device == "devices")
            .ok_or_else(|| anyhow!("vm.meta names no device state"))?;
        let kern = files::read(&dir.join(KERN))?;
        let bytes = usize::try_from(entry.file_offset)
            .ok()
            .zip(usize::try_from(entry.size).ok())
            .and_then(|(at, n)| kern.get(at..at.checked_add(n)?))
            .ok_or_else(|| anyhow!("vm.meta points past the end of vm.kern"))?;
        vmm::raw_decode(bytes).ok_or_else(|| anyhow!("vm.kern does not match the device structs"))
    }

    fn write_devices(dir: &Path, devices: &Devices, memsize: u64) -> Result<()> {
        let kern = vmm::raw_encode(devices);
        let meta = Meta {
            memsize,
            devices: vec![MetaEntry {
                device: "devices".into(),
                file_offset: 0,
                size: kern.len() as u64,
            }],
        };
        write_synced(&dir.join(KERN), &kern)?;
        write_synced(&dir.join(META), &serde_json::to_vec_pretty(&meta)?)
    }
}

impl Format for Legacy {
    fn name(&self) -> &'static str {
        "bhyve 3 files"
    }

    fn description(&self) -> &'static str {
        "`vm.kern`: positional native fields; `vm.meta`: JSON sizes and offsets; `vm.mem`: raw memory, zero pages written"
    }

    fn state_bytes(&self, dir: &Path) -> Result<u64> {
        Ok(std::fs::metadata(dir.join(KERN))?.len() + std::fs::metadata(dir.join(META))?.len())
    }

    fn save(&self, state: &VmState, dir: &Path) -> Result<()> {
        Self::write_devices(dir, &state.devices, state.memory.len() as u64)?;
        write_synced(&dir.join(MEM), &state.memory)
    }

    fn restore(&self, dir: &Path) -> Result<VmState> {
        let devices = Self::read_devices(dir)?;
        let memory = files::read(&dir.join(MEM))?;
        Ok(VmState { devices, memory })
    }

    fn read_probe(&self, dir: &Path) -> Result<u64> {
        Ok(state::probe(&Self::read_devices(dir)?))
    }

    fn write_probe(&self, dir: &Path, value: u64) -> Result<()> {
        let mut devices = Self::read_devices(dir)?;
        state::set_probe(&mut devices, value);
        let memsize = std::fs::metadata(dir.join(MEM))?.len();
        Self::write_devices(dir, &devices, memsize)
    }

    fn write_method(&self) -> &'static str {
        "decode, rewrite vm.kern and vm.meta"
    }

    fn locate(&self, dir: &Path, state: &VmState) -> Result<(Spot, Spot)> {
        let kern = dir.join(KERN);
        let len = std::fs::metadata(&kern)?.len();
        let page = state.probe_page().ok_or_else(|| anyhow!("no probe page"))?;
        let at = (page * state::PAGE) as u64;
        Ok((
            Spot {
                file: kern,
                range: 0..len,
            },
            Spot {
                file: dir.join(MEM),
                range: at..at + state::PAGE as u64,
            },
        ))
    }

    fn schema_changes(&self) -> Outcomes {
        schema::run::<RawCodec>()
    }
}

/// The positional stream for the schema-change check: fields in
/// declaration order, then the rest of the stream.
pub struct RawCodec;

impl SchemaCodec for RawCodec {
    fn write<T: Shape>(value: &T) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        value.put(&mut out);
        out.extend_from_slice(&schema::STREAM_REST);
        Ok(out)
    }

    fn read<T: Shape>(bytes: &[u8]) -> Result<T> {
        T::take(&mut &bytes[..]).ok_or_else(|| anyhow!("the stream ends early"))
    }
}
