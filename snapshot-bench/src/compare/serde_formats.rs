//! Device state through a serde codec in one file, guest memory in a raw
//! file beside it: how JSON, bincode (Firecracker's choice, through
//! versionize) and CBOR (crosvm's) would be used. The three share all but
//! the codec call.

use std::path::Path;

use anyhow::{anyhow, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::compare::files::{self, write_synced};
use crate::compare::schema::{self, Outcomes, SchemaCodec, Shape};
use crate::compare::state::{self, VmState};
use crate::compare::vmm::Devices;
use crate::compare::{Format, Spot};

const MEM: &str = "memory.raw";

/// A serde codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// serde_json.
    Json,
    /// bincode 1.3, default options (fixed-width integers, little endian);
    /// byte buffers through `serde_bytes`.
    Bincode,
    /// ciborium.
    Cbor,
}

impl Codec {
    fn encode<T: Serialize>(self, value: &T) -> Result<Vec<u8>> {
        Ok(match self {
            Codec::Json => serde_json::to_vec(value)?,
            Codec::Bincode => bincode::serialize(value)?,
            Codec::Cbor => {
                let mut out = Vec::new();
                ciborium::into_writer(value, &mut out)?;
                out
            }
        })
    }

    fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T> {
        Ok(match self {
            Codec::Json => serde_json::from_slice(bytes)?,
            Codec::Bincode => bincode::deserialize(bytes)?,
            Codec::Cbor => ciborium::from_reader(bytes)?,
        })
    }

    fn state_file(self) -> &'static str {
        match self {
            Codec::Json => "state.json",
            Codec::Bincode => "state.bincode",
            Codec::Cbor => "state.cbor",
        }
    }
}

/// State in one serde-encoded file, memory in a raw file.
pub struct SerdeFormat(pub Codec);

impl SerdeFormat {
    fn read_devices(&self, dir: &Path) -> Result<Devices> {
        self.0.decode(&files::read(&dir.join(self.0.state_file()))?)
    }

    fn write_devices(&self, dir: &Path, devices: &Devices) -> Result<()> {
        write_synced(&dir.join(self.0.state_file()), &self.0.encode(devices)?)
    }
}

impl Format for SerdeFormat {
    fn name(&self) -> &'static str {
        match self.0 {
            Codec::Json => "JSON + raw memory",
            Codec::Bincode => "bincode + raw memory",
            Codec::Cbor => "CBOR + raw memory",
        }
    }

    fn description(&self) -> &'static str {
        match self.0 {
            Codec::Json => "`state.json` (serde_json of the device structs); `memory.raw`, zero pages written",
            Codec::Bincode => "`state.bincode` (bincode 1.3, serde_bytes on buffers); `memory.raw`, zero pages written",
            Codec::Cbor => "`state.cbor` (ciborium); `memory.raw`, zero pages written",
        }
    }

    fn state_bytes(&self, dir: &Path) -> Result<u64> {
        Ok(std::fs::metadata(dir.join(self.0.state_file()))?.len())
    }

    fn save(&self, state: &VmState, dir: &Path) -> Result<()> {
        self.write_devices(dir, &state.devices)?;
        write_synced(&dir.join(MEM), &state.memory)
    }

    fn restore(&self, dir: &Path) -> Result<VmState> {
        Ok(VmState {
            devices: self.read_devices(dir)?,
            memory: files::read(&dir.join(MEM))?,
        })
    }

    fn read_probe(&self, dir: &Path) -> Result<u64> {
        Ok(state::probe(&self.read_devices(dir)?))
    }

    fn write_probe(&self, dir: &Path, value: u64) -> Result<()> {
        let mut devices = self.read_devices(dir)?;
        state::set_probe(&mut devices, value);
        self.write_devices(dir, &devices)
    }

    fn write_method(&self) -> &'static str {
        "decode, rewrite the state file"
    }

    fn locate(&self, dir: &Path, state: &VmState) -> Result<(Spot, Spot)> {
        let file = dir.join(self.0.state_file());
        let len = std::fs::metadata(&file)?.len();
        let page = state.probe_page().ok_or_else(|| anyhow!("no probe page"))?;
        let at = (page * state::PAGE) as u64;
        Ok((
            Spot {
                file,
                range: 0..len,
            },
            Spot {
                file: dir.join(MEM),
                range: at..at + state::PAGE as u64,
            },
        ))
    }

    fn schema_changes(&self) -> Outcomes {
        match self.0 {
            Codec::Json => schema::run::<Typed<JSON>>(),
            Codec::Bincode => schema::run::<Typed<BINCODE>>(),
            Codec::Cbor => schema::run::<Typed<CBOR>>(),
        }
    }
}

const JSON: u8 = 0;
const BINCODE: u8 = 1;
const CBOR: u8 = 2;

/// A codec chosen at compile time, for the generic schema check.
pub struct Typed<const C: u8>;

impl<const C: u8> Typed<C> {
    const CODEC: Codec = match C {
        JSON => Codec::Json,
        BINCODE => Codec::Bincode,
        _ => Codec::Cbor,
    };
}

impl<const C: u8> SchemaCodec for Typed<C> {
    fn write<T: Shape>(value: &T) -> Result<Vec<u8>> {
        let mut out = Self::CODEC.encode(value)?;
        // bincode is positional: in a whole snapshot the stream goes on.
        if Self::CODEC == Codec::Bincode {
            out.extend_from_slice(&schema::STREAM_REST);
        }
        Ok(out)
    }

    fn read<T: Shape>(bytes: &[u8]) -> Result<T> {
        Self::CODEC.decode(bytes)
    }
}
