//! `snapshot demo`: a VM saved on the release-1 models of the example VMM,
//! resumed on release 2 (upgrade), saved again by release 2 for a
//! release-1 reader (downgrade) and resumed there, every value checked on
//! the way; it leaves the images behind for the commands it suggests.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use clap::Args as ClapArgs;
use example_vmm::{guest, release1_1, release2_0};
use snapshot_core::compat::{self, Registry, SCHEMAS_SECTION};
use snapshot_core::image::{Builder, Image, MemoryOptions, OpenOptions, DEFAULT_IDENT};
use snapshot_core::record::Meta;
use snapshot_core::NvList;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory for the images and schemas the demo leaves behind.
    #[arg(long, default_value = "snapshot-demo")]
    dir: PathBuf,
    /// Guest memory size, in MiB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    memory_mib: u64,
    /// Number of vCPUs.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    cpus: u32,
    /// Run the simulated devices even where KVM is usable.
    #[arg(long)]
    simulated: bool,
}

/// `println!` that returns the write's error instead of panicking on it:
/// `example-vmm demo | head` ends quietly (a closed pipe exits 0).
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

/// The release the VM boots on, and the one it resumes on.
const OLD: &str = "1";
const NEW: &str = "2.0";

/// The KVM guest where `/dev/kvm` is usable, else the simulated devices;
/// the first line says which.
pub fn run(args: Args) -> Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if !args.simulated {
        match example_vmm::kvm::open_kvm() {
            Ok(_) => {
                say!("KVM is usable here: the demo runs a real guest (--simulated for the simulated devices).");
                return crate::demo_kvm::run(dir, args.memory_mib.clamp(16, 4096));
            }
            Err(why) => say!("{why}: the demo runs the simulated devices instead."),
        }
    }
    simulated(&args)
}

/// The simulated devices across releases 1.1.0 and 2.0.0.
fn simulated(args: &Args) -> Result<ExitCode> {
    let dir = &args.dir;
    let registry = example_vmm::registry();
    let (old_name, old_versions) = release(&registry, OLD)?;
    let (new_name, _) = release(&registry, NEW)?;
    let mut timings = Vec::new();

    let t = Instant::now();
    let vm1 = release1_1::Vm::boot(args.cpus);
    let mut memory = vec![0u8; (args.memory_mib << 20) as usize];
    guest::fill_memory(&mut memory);
    let checksum = guest::checksum(&memory);
    timings.push(("boot (fill guest memory)", t.elapsed()));
    let zero_pages = memory
        .chunks(guest::PAGE)
        .filter(|p| p.iter().all(|b| *b == 0))
        .count();
    say!(
        "1. Booted a VM on the release-{old_name} models: {} vCPUs, {} MiB of guest memory ({}% zero pages, the rest code and data).",
        args.cpus,
        args.memory_mib,
        zero_pages * 100 / (memory.len() / guest::PAGE)
    );

    let image1 = dir.join("vm.snap");
    let t = Instant::now();
    let devices1 = vm1.save(None)?;
    let state_bytes = devices1.packed_size();
    write_image(&registry, &image1, &old_name, &devices1, &memory)?;
    timings.push(("save", t.elapsed()));
    drop(memory);
    say!(
        "2. Saved {}: {} records, {} bytes of device state.",
        image1.display(),
        devices1.len(),
        state_bytes
    );

    let t = Instant::now();
    let image = Image::open(&image1, &OpenOptions::default())
        .with_context(|| image1.display().to_string())?;
    let report = image.verify(2, &|_| {});
    ensure!(
        report.is_sound(),
        "{}: {:?}",
        image1.display(),
        report.problems
    );
    timings.push(("verify", t.elapsed()));
    say!(
        "3. Verified every checksum: header, index, sections, memory chunks ({} bytes checked).",
        report.checked_bytes
    );

    let t = Instant::now();
    let stored = image.read_nvlist("devices")?;
    let vm2 = release2_0::Vm::restore(&stored).context("resuming on release 2")?;
    let mapped = image.map_memory("memory")?;
    let resumed_sum = guest::checksum(&mapped);
    timings.push(("resume on release 2 (upgrade)", t.elapsed()));
    ensure!(
        vm2 == release2_0::Vm::from_release1(&vm1),
        "the upgraded devices differ from the release-2 models' own conversion"
    );
    ensure!(
        resumed_sum == checksum,
        "memory checksum differs after resume"
    );
    let upgraded = versions(&vm2.save(None)?);
    say!(
        "4. Resumed it on the release-{new_name} models (memory mapped from the image): every device equals its hand-written release-2 conversion, memory checksum {checksum:#018x} matches. Upgraded on the way:"
    );
    let before = versions(&devices1);
    print_steps(&before, &upgraded)?;

    let image2 = dir.join(format!("vm-for-{old_name}.snap"));
    let t = Instant::now();
    let devices2 = vm2.save(Some(old_versions))?;
    write_image(&registry, &image2, &old_name, &devices2, &mapped)?;
    timings.push(("save from release 2 for release 1 (downgrade)", t.elapsed()));
    drop(mapped);
    say!(
        "5. Saved from release {new_name} for a release-{old_name} reader: {}.",
        image2.display()
    );

    let t = Instant::now();
    let image = Image::open(&image2, &OpenOptions::default())
        .with_context(|| image2.display().to_string())?;
    ensure!(
        image.verify(2, &|_| {}).is_sound(),
        "{} is damaged",
        image2.display()
    );
    let back =
        release1_1::Vm::restore(&image.read_nvlist("devices")?).context("resuming on release 1")?;
    let back_sum = guest::checksum(&image.map_memory("memory")?);
    timings.push(("verify and resume on release 1", t.elapsed()));
    ensure!(
        back == vm1,
        "the devices resumed on release 1 differ from the original"
    );
    ensure!(
        back_sum == checksum,
        "memory checksum differs after the downgrade"
    );
    say!(
        "6. Resumed that on release {old_name}: every device value and the memory equal the VM booted in step 1."
    );

    let schemas = dir.join("schemas");
    compat::bless_schemas(&registry, &schemas)?;

    say!("\nReport");
    let size = std::fs::metadata(&image1)?.len();
    say!(
        "  image {}: {} bytes, {} on disk (all-zero chunks are holes)",
        image1.display(),
        size,
        on_disk(&image1).map_or("?".into(), |b| format!("{b} bytes"))
    );
    say!(
        "  device state: {state_bytes} bytes in {} records",
        devices1.len()
    );
    for (what, time) in &timings {
        say!("  {what:<48} {}", ms(*time));
    }

    let img = image1.display();
    say!("\nNext, try:");
    say!("  snapshot info {img}");
    say!("  snapshot dump --typed {img} devices   # typed by the image's `schemas` section");
    say!("  snapshot get {img} devices.vrtc.base_time_ns");
    say!("  snapshot set {img} devices.vhpet.config=0x1");
    say!("  snapshot verify {img}");
    say!(
        "  snapshot schema diff {0}/vrtc/v1.schema {0}/vrtc/v3.schema",
        schemas.display()
    );
    say!(
        "  example-vmm migrate {img} -o {}   # every record to release {new_name}, migrations in code",
        dir.join("vm-latest.snap").display()
    );
    let nv = dir.join("devices.nv");
    say!(
        "  snapshot extract {img} devices -o {0} && snapshot nv dump {0}   # one section as a bare nvlist",
        nv.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn release<'r>(
    registry: &'r Registry,
    wanted: &str,
) -> Result<(String, &'r BTreeMap<String, u32>)> {
    let (name, versions) = registry
        .find_release(wanted)
        .with_context(|| format!("the example VMM has no release {wanted}"))?;
    Ok((name.to_string(), versions))
}

/// Writes an image: config, devices, their schemas, memory.
fn write_image(
    registry: &Registry,
    path: &Path,
    release: &str,
    devices: &NvList,
    memory: &[u8],
) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let producer = format!("example-vmm {release}");
    let mut b = Builder::new(file, DEFAULT_IDENT, Some(producer))?;
    let config = NvList::new()
        .with("release", release)
        .with("memory", memory.len() as u64);
    b.add_nvlist("config", &config)?;
    b.add_nvlist("devices", devices)?;
    b.add_nvlist(
        SCHEMAS_SECTION,
        &compat::schemas_section(registry, [devices]),
    )?;
    b.add_memory_slice("memory", memory, MemoryOptions::default())?;
    b.finish()?
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The schema name and version of each device record, by key.
fn versions(devices: &NvList) -> BTreeMap<String, (String, u32)> {
    devices
        .iter()
        .filter_map(|(k, v)| match v {
            snapshot_core::Value::NvList(r) => {
                Meta::read(r).map(|m| (k.to_string(), (m.name.to_owned(), m.version)))
            }
            _ => None,
        })
        .collect()
}

/// One line per type whose version changed.
fn print_steps(
    before: &BTreeMap<String, (String, u32)>,
    after: &BTreeMap<String, (String, u32)>,
) -> Result<()> {
    let mut steps = BTreeMap::new();
    for (key, (name, from)) in before {
        if let Some((_, to)) = after.get(key).filter(|(_, to)| to != from) {
            steps.entry((name.clone(), *from, *to)).or_insert(0u32);
            *steps
                .get_mut(&(name.clone(), *from, *to))
                .expect("inserted") += 1;
        }
    }
    for ((name, from, to), count) in steps {
        let times = if count > 1 {
            format!(" (x{count})")
        } else {
            String::new()
        };
        say!("     {name:<11} v{from} -> v{to}{times}");
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Bytes the file occupies on disk.
#[cfg(unix)]
fn on_disk(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(std::fs::metadata(path).ok()?.blocks() * 512)
}

#[cfg(not(unix))]
fn on_disk(_: &Path) -> Option<u64> {
    None
}
