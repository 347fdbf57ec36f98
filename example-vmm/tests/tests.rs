//! Integration tests of the `example-vmm` tool, as one test binary.

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_example-vmm");

/// The `snapshot` tool's test harness, shared.
#[path = "../../snapshot-cli/tests/util.rs"]
#[allow(dead_code)]
mod util;

/// The demo, `schema`, `migrate` and `dump --typed`, on the example VMM.
mod commands;

/// The guest on KVM: run, save, resume in another process.
mod kvm;
