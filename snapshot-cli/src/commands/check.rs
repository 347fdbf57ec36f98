//! `snapshot check`: can this host resume the image's guest? Reads only
//! the image's `host` section (what the guest needs, recorded at save),
//! never the device state, and lists every reason it cannot.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::Snapshot;
use snapshot_kvm::{HostRequirements, HOST_SECTION};

use crate::commands::common::{open, IdentArgs};
use crate::exit::FAILED;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    #[command(flatten)]
    ident: IdentArgs,
}

/// Exit 0 when the guest can resume here; 1 with every reason otherwise.
pub fn run(args: Args) -> Result<ExitCode> {
    let name = args.image.display().to_string();
    let image = open(&args.image, &args.ident)?;
    let list = image.read_nvlist(HOST_SECTION).with_context(|| {
        format!(
            "{name} does not say what a host needs to resume it (no `{HOST_SECTION}` section \
             of a KVM guest)"
        )
    })?;
    let needs = HostRequirements::from_nvlist(&list)
        .with_context(|| format!("{name}: section `{HOST_SECTION}`"))?;
    let reasons = match kvm_ioctls::Kvm::new() {
        Ok(kvm) => needs.check(&kvm),
        Err(e) => vec![format!("/dev/kvm is not usable here: {e}")],
    };
    if reasons.is_empty() {
        println!(
            "{name}: can resume on this host ({}: {} CPUID leaves, {} KVM capabilities, {} MSRs, \
             TSC {} kHz)",
            needs.producer,
            needs.cpuid.len(),
            needs.capabilities.len(),
            needs.msrs.len(),
            needs.tsc_khz
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{name}: cannot resume on this host ({}):", needs.producer);
    for reason in &reasons {
        println!("  {reason}");
    }
    Ok(ExitCode::from(FAILED))
}
