//! The backend's own records in each release of the example VMM. The
//! records KVM's state is in (`snapshot_kvm`) are the same in both; the
//! VMM's change:
//!
//! | release | `serial` | `kvm_machine` |
//! | --- | --- | --- |
//! | 2.1.0 (the backend's first) | v1 | v1: memory in MiB |
//! | 3.0.0 | v2: `tx_bytes` renamed `bytes_sent`, `loopback_bytes` added | v2: memory in bytes (a change of units, migrated both ways) |
//!
//! A process runs one release's records (`--release`); an image of
//! either release resumes on either (`--save-for` writes for an older
//! reader).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result};
use snapshot_core::compat::Registry;
use snapshot_core::{NvList, Snapshot};

use super::machine::Saved;
use super::serial::Serial;

/// A release of the example VMM that runs guests on KVM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Release {
    V2_1,
    V3_0,
}

impl Release {
    /// The newest release: this build's default.
    pub const NEWEST: Release = Release::V3_0;

    /// The release's name in the registry.
    pub fn name(self) -> &'static str {
        match self {
            Release::V2_1 => "2.1.0",
            Release::V3_0 => "3.0.0",
        }
    }

    /// The machine record of `saved`, as this release writes it, for a
    /// reader of release `reader` (this one or an older one).
    pub fn encode(self, saved: &Saved, reader: Release, registry: &Registry) -> Result<NvList> {
        let versions = versions(registry, reader)?;
        Ok(match self {
            Release::V2_1 => v2_1::Machine::from(saved).to_nvlist_for_versions(versions)?,
            Release::V3_0 => v3_0::Machine::from(saved).to_nvlist_for_versions(versions)?,
        })
    }

    /// The machine in `record`, read by this release's types (which read
    /// the versions of every release up to this one).
    pub fn decode(self, record: &NvList) -> Result<Saved> {
        Ok(match self {
            Release::V2_1 => v2_1::Machine::from_nvlist(record)?.into(),
            Release::V3_0 => v3_0::Machine::from_nvlist(record)?.into(),
        })
    }
}

fn versions(registry: &Registry, release: Release) -> Result<&BTreeMap<String, u32>> {
    registry
        .find_release(release.name())
        .map(|(_, versions)| versions)
        .with_context(|| format!("the registry has no release {}", release.name()))
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Release {
    type Err = String;

    /// `2.1.0` or `3.0.0`, or a prefix of one (`2.1`, `3`).
    fn from_str(s: &str) -> std::result::Result<Release, String> {
        [Release::V2_1, Release::V3_0]
            .into_iter()
            .find(|r| r.name() == s || r.name().starts_with(&format!("{s}.")))
            .ok_or_else(|| format!("no release `{s}` (known: 2.1.0, 3.0.0)"))
    }
}

/// Release 2.1.0.
pub mod v2_1 {
    use snapshot_core::Snapshot;
    use snapshot_kvm::{VcpuState, VmState};

    use super::{Saved, Serial};

    /// The 16550's registers.
    #[derive(Snapshot, Debug, Clone, PartialEq)]
    #[snapshot(name = "serial", version = 1)]
    pub struct SerialState {
        pub ier: u8,
        pub lcr: u8,
        pub mcr: u8,
        pub scr: u8,
        pub dll: u8,
        pub dlm: u8,
        /// Bytes the guest has sent.
        pub tx_bytes: u64,
    }

    /// The whole machine.
    #[derive(Snapshot, Debug, Clone, PartialEq)]
    #[snapshot(name = "kvm_machine", version = 1)]
    pub struct Machine {
        /// Guest memory, in MiB.
        pub memory_mib: u64,
        /// Lines the guest has printed.
        pub lines: u64,
        pub serial: SerialState,
        pub vm: VmState,
        pub vcpus: Vec<VcpuState>,
    }

    impl From<&Saved> for Machine {
        fn from(s: &Saved) -> Machine {
            let r = &s.serial;
            Machine {
                memory_mib: s.memory_bytes >> 20,
                lines: s.lines,
                serial: SerialState {
                    ier: r.ier,
                    lcr: r.lcr,
                    mcr: r.mcr,
                    scr: r.scr,
                    dll: r.dll,
                    dlm: r.dlm,
                    tx_bytes: r.bytes_sent,
                },
                vm: s.vm.clone(),
                vcpus: s.vcpus.clone(),
            }
        }
    }

    impl From<Machine> for Saved {
        fn from(m: Machine) -> Saved {
            let r = m.serial;
            Saved {
                memory_bytes: m.memory_mib << 20,
                lines: m.lines,
                serial: Serial {
                    ier: r.ier,
                    lcr: r.lcr,
                    mcr: r.mcr,
                    scr: r.scr,
                    dll: r.dll,
                    dlm: r.dlm,
                    bytes_sent: r.tx_bytes,
                    loopback_bytes: 0,
                },
                vm: m.vm,
                vcpus: m.vcpus,
            }
        }
    }
}

/// Release 3.0.0.
pub mod v3_0 {
    use snapshot_core::{MigrationError, NvList, Snapshot};
    use snapshot_kvm::{VcpuState, VmState};

    use super::{Saved, Serial};

    /// The 16550's registers.
    #[derive(Snapshot, Debug, Clone, PartialEq)]
    #[snapshot(name = "serial", version = 2)]
    pub struct SerialState {
        pub ier: u8,
        pub lcr: u8,
        pub mcr: u8,
        pub scr: u8,
        pub dll: u8,
        pub dlm: u8,
        /// Bytes the guest has sent.
        #[snapshot(rename_from = "tx_bytes", renamed_in = 2)]
        pub bytes_sent: u64,
        /// Bytes sent in loopback mode (MCR bit 4), which go nowhere.
        #[snapshot(since = 2, default)]
        pub loopback_bytes: u64,
    }

    /// The whole machine.
    #[derive(Snapshot, Debug, Clone, PartialEq)]
    #[snapshot(name = "kvm_machine", version = 2)]
    #[snapshot(removed(field = "memory_mib", since = 2))]
    #[snapshot(migrate(from = 1, up = mib_to_bytes, down = bytes_to_mib))]
    pub struct Machine {
        /// Guest memory, in bytes.
        #[snapshot(since = 2)]
        pub memory_bytes: u64,
        /// Lines the guest has printed.
        pub lines: u64,
        pub serial: SerialState,
        pub vm: VmState,
        pub vcpus: Vec<VcpuState>,
    }

    fn mib_to_bytes(nv: &mut NvList) -> Result<(), MigrationError> {
        let mib = nv.get_number("memory_mib")?;
        let bytes = mib.checked_mul(1 << 20).ok_or_else(|| {
            MigrationError::invalid("memory_mib", format!("{mib} MiB is too large"))
        })?;
        nv.remove("memory_mib");
        nv.insert("memory_bytes", bytes);
        Ok(())
    }

    fn bytes_to_mib(nv: &mut NvList) -> Result<(), MigrationError> {
        let bytes = nv.get_number("memory_bytes")?;
        if bytes % (1 << 20) != 0 {
            return Err(MigrationError::invalid(
                "memory_bytes",
                format!("{bytes} bytes is not a whole number of MiB, which release 2.1.0 needs"),
            ));
        }
        nv.remove("memory_bytes");
        nv.insert("memory_mib", bytes >> 20);
        Ok(())
    }

    impl From<&Saved> for Machine {
        fn from(s: &Saved) -> Machine {
            let r = &s.serial;
            Machine {
                memory_bytes: s.memory_bytes,
                lines: s.lines,
                serial: SerialState {
                    ier: r.ier,
                    lcr: r.lcr,
                    mcr: r.mcr,
                    scr: r.scr,
                    dll: r.dll,
                    dlm: r.dlm,
                    bytes_sent: r.bytes_sent,
                    loopback_bytes: r.loopback_bytes,
                },
                vm: s.vm.clone(),
                vcpus: s.vcpus.clone(),
            }
        }
    }

    impl From<Machine> for Saved {
        fn from(m: Machine) -> Saved {
            let r = m.serial;
            Saved {
                memory_bytes: m.memory_bytes,
                lines: m.lines,
                serial: Serial {
                    ier: r.ier,
                    lcr: r.lcr,
                    mcr: r.mcr,
                    scr: r.scr,
                    dll: r.dll,
                    dlm: r.dlm,
                    bytes_sent: r.bytes_sent,
                    loopback_bytes: r.loopback_bytes,
                },
                vm: m.vm,
                vcpus: m.vcpus,
            }
        }
    }
}

/// Adds the backend's records of both releases to the registry.
pub fn register(registry: &mut Registry) {
    snapshot_kvm::register(registry);
    registry
        .add_sample::<v2_1::SerialState>()
        .add_sample::<v2_1::Machine>()
        .add_sample::<v3_0::SerialState>()
        .add_sample::<v3_0::Machine>();
}

/// The versions of the backend's records in `release`.
pub fn versions_of(release: Release) -> Vec<(&'static str, u32)> {
    let own: &[(&str, u32)] = match release {
        Release::V2_1 => &[("serial", 1), ("kvm_machine", 1)],
        Release::V3_0 => &[("serial", 2), ("kvm_machine", 2)],
    };
    snapshot_kvm::VERSIONS.iter().chain(own).copied().collect()
}

mod samples {
    use snapshot_core::compat::Sample;
    use snapshot_kvm::{VcpuState, VmState};

    use super::{v2_1, v3_0};

    impl Sample for v2_1::SerialState {
        fn sample() -> Self {
            v2_1::SerialState {
                ier: 0x05,
                lcr: 0x03,
                mcr: 0x0b,
                scr: 0x5a,
                dll: 0x01,
                dlm: 0x00,
                tx_bytes: 12_345,
            }
        }
    }

    impl Sample for v2_1::Machine {
        fn sample() -> Self {
            v2_1::Machine {
                memory_mib: 256,
                lines: 7,
                serial: v2_1::SerialState::sample(),
                vm: VmState::sample(),
                vcpus: vec![VcpuState::sample()],
            }
        }
    }

    impl Sample for v3_0::SerialState {
        fn sample() -> Self {
            v3_0::SerialState {
                ier: 0x05,
                lcr: 0x03,
                mcr: 0x1b,
                scr: 0x5a,
                dll: 0x01,
                dlm: 0x00,
                bytes_sent: 12_345,
                loopback_bytes: 17,
            }
        }
    }

    impl Sample for v3_0::Machine {
        fn sample() -> Self {
            v3_0::Machine {
                memory_bytes: 256 << 20,
                lines: 7,
                serial: v3_0::SerialState::sample(),
                vm: VmState::sample(),
                vcpus: vec![VcpuState::sample()],
            }
        }
    }
}
