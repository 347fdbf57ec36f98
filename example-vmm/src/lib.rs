//! bhyve-like device models with a version history, saved through
//! `#[derive(Snapshot)]`: the project's own first user.
//!
//! Five releases wrote snapshots, and each release's models are kept as
//! a module so that one binary can resume across them:
//!
//! | release | module | what changed |
//! | --- | --- | --- |
//! | 1.0.0 | [`release1_0`] (the two types that changed in 1.1.0) | first release |
//! | 1.1.0 | [`release1_1`] | `vrtc` v2: time in nanoseconds (a change of units), renamed, extended NVRAM added; `vlapic` v2: TSC deadline added |
//! | 2.0.0 | [`release2_0`] | `vrtc` v3: century removed; `vcpu` v2: `xcr0` added, fields reordered, `cr8` renamed `tpr`; `vhpet` v2: counter widened; `vioapic` v2: reordered; `virtio_net` v2: `mtu` widened, `features` renamed; `virtio_blk` v2: cache mode added (the `blk_cache` enum) |
//! | 2.1.0 | [`kvm`] | 2.0.0's models, and the KVM backend: `serial` v1, `kvm_machine` v1 and the records of `snapshot_kvm` |
//! | 3.0.0 | [`kvm::release`] | `serial` v2: renamed, extended; `kvm_machine` v2: memory in bytes (a change of units) |
//!
//! Nested record types (`virtq`, `vhpet_timer`, `vatpit_channel`), `vatpit`
//! and `vpmtmr` never changed (they live in [`shared`]): every record evolves on its own version.
//!
//! [`registry`] lists every type and the three releases, for the compat
//! tests and the offline migration of images.

pub mod guest;
pub mod kvm;
pub mod release1_0;
pub mod release1_1;
pub mod release2_0;
pub mod shared;

use snapshot_core::compat::Registry;

/// The registry of every model type of every release, with sample values
/// for the golden fixtures, and the releases as maps from release name to
/// type versions.
pub fn registry() -> Registry {
    let mut reg = Registry::new();
    reg.add_sample::<shared::VirtQueue>()
        .add_sample::<shared::HpetTimer>()
        .add_sample::<shared::PitChannel>()
        .add_sample::<shared::PmTimer>()
        .add_sample::<shared::Pit>()
        .add_sample::<release1_0::Rtc>()
        .add_sample::<release1_0::Lapic>()
        .add_sample::<release1_1::Rtc>()
        .add_sample::<release1_1::Lapic>()
        .add_sample::<release1_1::Vcpu>()
        .add_sample::<release1_1::Ioapic>()
        .add_sample::<release1_1::Hpet>()
        .add_sample::<release1_1::VirtioNet>()
        .add_sample::<release1_1::VirtioBlk>()
        .add_sample::<release2_0::Rtc>()
        .add_sample::<release2_0::Vcpu>()
        .add_sample::<release2_0::Ioapic>()
        .add_sample::<release2_0::Hpet>()
        .add_sample::<release2_0::VirtioNet>()
        .add_sample::<release2_0::VirtioBlk>()
        .add_sample::<release2_0::CacheMode>();
    kvm::release::register(&mut reg);
    let unchanged = [
        ("virtq", 1),
        ("vhpet_timer", 1),
        ("vatpit_channel", 1),
        ("vpmtmr", 1),
        ("vatpit", 1),
    ];
    let with = |more: &[(&'static str, u32)]| -> Vec<(&'static str, u32)> {
        unchanged.iter().chain(more).copied().collect()
    };
    // The device models of 2.0.0, which the releases after it keep.
    let release2 = [
        ("vcpu", 2),
        ("vlapic", 2),
        ("vioapic", 2),
        ("vhpet", 2),
        ("vrtc", 3),
        ("virtio_net", 2),
        ("virtio_blk", 2),
        ("blk_cache", 1),
    ];
    // The releases that run guests on KVM write the backend's records too.
    let with_kvm = |release| -> Vec<(&'static str, u32)> {
        let mut all = with(&release2);
        all.extend(kvm::release::versions_of(release));
        all
    };
    reg.release(
        "1.0.0",
        &with(&[
            ("vcpu", 1),
            ("vlapic", 1),
            ("vioapic", 1),
            ("vhpet", 1),
            ("vrtc", 1),
            ("virtio_net", 1),
            ("virtio_blk", 1),
        ]),
    )
    .release(
        "1.1.0",
        &with(&[
            ("vcpu", 1),
            ("vlapic", 2),
            ("vioapic", 1),
            ("vhpet", 1),
            ("vrtc", 2),
            ("virtio_net", 1),
            ("virtio_blk", 1),
        ]),
    )
    .release("2.0.0", &with(&release2))
    .release("2.1.0", &with_kvm(kvm::Release::V2_1))
    .release("3.0.0", &with_kvm(kvm::Release::V3_0));
    reg
}

use std::collections::BTreeMap;

use snapshot_core::{NvList, Result, Snapshot};

/// The type versions a snapshot is written for (a release's map), or
/// `None` for the current versions.
pub type Target<'a> = Option<&'a BTreeMap<String, u32>>;

/// Adds `value` to the device list as the record `key`, written for the
/// target's versions of its type and of the record types nested in it.
pub fn put<T: Snapshot>(devices: &mut NvList, key: &str, value: &T, target: Target) -> Result<()> {
    let record = match target {
        Some(versions) => value
            .to_nvlist_for_versions(versions)
            .map_err(|e| e.stored_as(T::NAME, key))?,
        None => value.to_nvlist(),
    };
    devices.insert(key, record);
    Ok(())
}

/// Reads the record `key` of the device list, of any version this build
/// reads; errors name the key.
pub fn get<T: Snapshot>(devices: &NvList, key: &str) -> Result<T> {
    let record = devices.get_nvlist(key)?;
    T::from_nvlist(record).map_err(|e| e.stored_as(T::NAME, key))
}
