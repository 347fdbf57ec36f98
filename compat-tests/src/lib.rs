//! The compatibility tests of the example VMM: its schema history in
//! `schemas/`, the golden fixtures in `compat-tests/fixtures/`, and the
//! tests `snapshot_core::compat_tests!` generates from them. Run with
//! `SNAPSHOT_BLESS=1` to record a new version (see `docs/guide.md`).

#[cfg(test)]
mod tests {
    snapshot_core::compat_tests! {
        registry: example_vmm::registry(),
        schemas: "../schemas",
        fixtures: "fixtures",
        types: [
            vcpu, vlapic, vioapic, vhpet, vhpet_timer, vrtc, vatpit, vatpit_channel,
            vpmtmr, virtio_net, virtio_blk, virtq, blk_cache,
        ],
    }
}
