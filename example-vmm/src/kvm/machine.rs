//! The VM: creation, the guest's boot, the run loop with its pause, and
//! the image it is saved to and resumed from.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use kvm_bindings::{
    kvm_pit_config, kvm_segment, kvm_userspace_memory_region, CpuId, KVM_MAX_CPUID_ENTRIES,
    KVM_PIT_SPEAKER_DUMMY,
};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};
use memmap2::MmapMut;
use snapshot_core::compat::{self, SCHEMAS_SECTION};
use snapshot_core::image::{Builder, Chain, MemoryOptions, OpenOptions, DEFAULT_IDENT};
use snapshot_core::NvList;
use snapshot_core::Snapshot;
use snapshot_kvm::{msrs_to_save, HostRequirements, VcpuState, VmState, HOST_SECTION};
use snapshot_lazy::{LazyMemory, LazyOptions, LazyStats, WorkingSet};

use super::release::Release;
use super::serial::{self, Serial};

/// The identity images of this backend are written with.
pub const IMAGE_IDENT: &str = DEFAULT_IDENT;

/// The program, assembled from `guest.S` (listing in `guest.lst`).
const GUEST: &[u8] = include_bytes!("guest.bin");
const GUEST_AT: u64 = 0x1000;
const PARAMS_AT: u64 = 0x0f00;
const REGION_AT: u64 = 4 << 20;
/// The port the guest writes when its program ends.
const EXIT_PORT: u16 = 0xf4;
/// Where KVM keeps the TSS of real-mode emulation: three pages below
/// 4 GiB, outside guest memory.
const TSS_AT: usize = 0xfffb_d000;

/// The whole machine as saved, whichever release's records store it
/// (`release.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub memory_bytes: u64,
    /// Lines the guest has printed.
    pub lines: u64,
    pub serial: Serial,
    pub vm: VmState,
    pub vcpus: Vec<VcpuState>,
}

/// Where the run loop stops for a save.
#[derive(Clone, Copy, Debug)]
pub enum Pause {
    /// Run to the end.
    Never,
    /// Once the guest has printed this many lines since boot.
    AtLine(u64),
    /// After this long.
    After(Duration),
}

/// Why the run loop returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The guest's program ended.
    Done,
    /// The vCPUs are paused for a save.
    Paused,
}

/// A VM on KVM.
pub struct Machine {
    kvm: Kvm,
    vm: VmFd,
    vcpus: Vec<VcpuFd>,
    /// Dropped after the VM (fields drop in order), so KVM's memory slot
    /// never outlives the memory it points to.
    memory: GuestMemory,
    /// The CPUID given to every vCPU.
    cpuid: CpuId,
    serial: Serial,
    lines: u64,
    /// When the first `KVM_RUN` of this process started.
    first_run: Option<Instant>,
}

/// How a resume brings guest memory back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryLoad {
    /// Map the image's memory section private (copy-on-write): pages are
    /// read when the guest first touches them.
    Map,
    /// Read the whole section into new memory first (zero chunks are
    /// skipped): for comparison.
    Read,
    /// Anonymous memory filled through userfaultfd, a chunk when the
    /// guest first touches it (checksums checked, zstd and parent images
    /// read): snapshot-lazy.
    Lazy,
}

/// What a lazy resume does besides filling on faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LazyPlan {
    /// Load the image's working set ahead of the faults, when it has one.
    pub prefetch: bool,
    /// Record the pages the guest touches first for this long.
    pub record_for: Option<Duration>,
}

/// Guest memory, however it came.
enum GuestMemory {
    Mapped(MmapMut),
    Lazy(LazyMemory),
}

impl GuestMemory {
    /// The error of a lazy restore's fill, if one failed: the guest's
    /// memory is not whole, whatever KVM said.
    fn failed(&self) -> Result<()> {
        if let GuestMemory::Lazy(lazy) = self {
            if let Some(e) = lazy.error() {
                return Err(anyhow::Error::new(e)).context(
                    "guest memory could not be restored from the image (a lazy restore's fill failed)",
                );
            }
        }
        Ok(())
    }
}

impl std::ops::Deref for GuestMemory {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            GuestMemory::Mapped(m) => m,
            GuestMemory::Lazy(m) => m,
        }
    }
}

impl std::ops::DerefMut for GuestMemory {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            GuestMemory::Mapped(m) => m,
            GuestMemory::Lazy(m) => m,
        }
    }
}

/// The environment variable naming the KVM device, `/dev/kvm` when unset.
pub const KVM_DEVICE_VAR: &str = "EXAMPLE_VMM_KVM_DEVICE";

/// Opens the KVM device (`/dev/kvm`, or the path in `EXAMPLE_VMM_KVM_DEVICE`)
/// and checks a VM can be created: the one-line reason when KVM is not
/// usable here.
pub fn open_kvm() -> std::result::Result<Kvm, String> {
    let path = std::env::var_os(KVM_DEVICE_VAR).unwrap_or_else(|| "/dev/kvm".into());
    let shown = Path::new(&path).display().to_string();
    let path = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
        .map_err(|_| format!("{KVM_DEVICE_VAR} holds a NUL"))?;
    let kvm = Kvm::new_with_path(&path).map_err(|e| format!("{shown} is not usable: {e}"))?;
    kvm.create_vm()
        .map_err(|e| format!("/dev/kvm opens but cannot create a VM: {e}"))?;
    Ok(kvm)
}

/// A real-mode segment at 0 with a 4 GiB limit ("big real mode"), so
/// the guest reaches all of memory with 32-bit addresses.
fn big_real(type_: u8) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector: 0,
        type_,
        present: 1,
        dpl: 0,
        db: 0,
        s: 1,
        l: 0,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

impl Machine {
    /// Creates the VM and its devices around `memory` (not yet started).
    fn create(kvm: Kvm, memory: GuestMemory, cpuid: CpuId, vcpus: u32) -> Result<Machine> {
        let vm = kvm.create_vm().context("KVM_CREATE_VM")?;
        vm.set_tss_address(TSS_AT).context("KVM_SET_TSS_ADDR")?;
        vm.create_irq_chip().context("KVM_CREATE_IRQCHIP")?;
        vm.create_pit2(kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        })
        .context("KVM_CREATE_PIT2")?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: memory.len() as u64,
            userspace_addr: memory.as_ptr() as u64,
        };
        // SAFETY: the mapping is page-aligned, `memory_size` long, and
        // lives in `Machine` as long as the VM does.
        unsafe { vm.set_user_memory_region(region) }.context("KVM_SET_USER_MEMORY_REGION")?;
        let vcpus = (0..vcpus)
            .map(|id| vm.create_vcpu(id.into()).context("KVM_CREATE_VCPU"))
            .collect::<Result<_>>()?;
        Ok(Machine {
            kvm,
            vm,
            vcpus,
            memory,
            cpuid,
            serial: Serial::default(),
            lines: 0,
            first_run: None,
        })
    }

    /// A new VM with the guest program loaded, to run `steps` steps.
    pub fn boot(kvm: Kvm, memory_mib: u64, vcpus: u32, steps: u32) -> Result<Machine> {
        ensure!(
            (16..=4096).contains(&memory_mib),
            "--memory must be 16 to 4096 MiB, not {memory_mib}"
        );
        ensure!(
            (1..=8).contains(&vcpus),
            "--vcpus must be 1 to 8, not {vcpus}"
        );
        let len = (memory_mib << 20) as usize;
        let memory = MmapMut::map_anon(len).context("cannot map guest memory")?;
        let cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .context("KVM_GET_SUPPORTED_CPUID")?;
        let mut m = Machine::create(kvm, GuestMemory::Mapped(memory), cpuid, vcpus)?;

        m.write(GUEST_AT, GUEST);
        let pages = ((memory_mib << 20) / 4) >> 12;
        m.write(PARAMS_AT, &steps.to_le_bytes());
        m.write(PARAMS_AT + 4, &(REGION_AT as u32).to_le_bytes());
        m.write(PARAMS_AT + 8, &(pages as u32).to_le_bytes());

        for vcpu in &m.vcpus {
            vcpu.set_cpuid2(&m.cpuid).context("KVM_SET_CPUID2")?;
        }
        let bsp = &m.vcpus[0];
        let mut sregs = bsp.get_sregs().context("KVM_GET_SREGS")?;
        sregs.cs = big_real(0xb);
        for seg in [
            &mut sregs.ds,
            &mut sregs.es,
            &mut sregs.fs,
            &mut sregs.gs,
            &mut sregs.ss,
        ] {
            *seg = big_real(0x3);
        }
        // OSFXSR and OSXMMEXCPT, so the SSE moves and FXSAVE run.
        sregs.cr4 |= 0x600;
        bsp.set_sregs(&sregs).context("KVM_SET_SREGS")?;
        let mut regs = bsp.get_regs().context("KVM_GET_REGS")?;
        regs.rip = GUEST_AT;
        regs.rflags = 0x2;
        bsp.set_regs(&regs).context("KVM_SET_REGS")?;
        Ok(m)
    }

    fn write(&mut self, at: u64, bytes: &[u8]) {
        let at = at as usize;
        self.memory[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Runs the boot vCPU until the program ends or `pause` says to stop,
    /// writing the guest's serial output to `out`. The other vCPUs wait
    /// for an INIT the program never sends; their state is saved and
    /// restored all the same.
    pub fn run(&mut self, out: &mut dyn Write, pause: Pause) -> Result<Stop> {
        let requested = Arc::new(AtomicBool::new(false));
        let _timer = match pause {
            Pause::After(after) => Some(Kicker::start(after, requested.clone())?),
            _ => None,
        };
        loop {
            if requested.load(Ordering::SeqCst) {
                break;
            }
            if let Pause::AtLine(k) = pause {
                if self.lines >= k {
                    break;
                }
            }
            self.first_run.get_or_insert_with(Instant::now);
            let vcpu = &mut self.vcpus[0];
            match vcpu.run() {
                Ok(VcpuExit::IoOut(port, data)) if serial::PORTS.contains(&port) => {
                    if let Some(byte) = self.serial.write(port, data[0]) {
                        out.write_all(&[byte])
                            .context("writing the guest's output")?;
                        if byte == b'\n' {
                            self.lines += 1;
                            out.flush().context("writing the guest's output")?;
                        }
                    }
                }
                Ok(VcpuExit::IoOut(EXIT_PORT, _)) => {
                    out.flush().context("writing the guest's output")?;
                    return Ok(Stop::Done);
                }
                Ok(VcpuExit::IoOut(..)) => {}
                Ok(VcpuExit::IoIn(port, data)) => {
                    let value = if serial::PORTS.contains(&port) {
                        self.serial.read(port)
                    } else {
                        0xff
                    };
                    data.fill(value);
                }
                Ok(VcpuExit::Hlt) => bail!("the guest halted without ending its program"),
                Ok(VcpuExit::Shutdown) => bail!("the guest shut down (a triple fault)"),
                Ok(exit) => {
                    let exit = format!("{exit:?}");
                    self.memory.failed()?;
                    let rip = vcpu.get_regs().map(|r| r.rip).unwrap_or_default();
                    bail!("unexpected exit from the guest at rip {rip:#x}: {exit}")
                }
                Err(e) if e.errno() == libc::EINTR => {}
                Err(e) => {
                    self.memory.failed()?;
                    return Err(e).context("KVM_RUN");
                }
            }
        }
        // Let KVM finish the instruction under way (an I/O the guest is
        // inside of) without running further, so the state is whole.
        let vcpu = &mut self.vcpus[0];
        vcpu.set_kvm_immediate_exit(1);
        match vcpu.run() {
            Err(e) if e.errno() == libc::EINTR => {}
            Ok(_) => {}
            Err(e) => return Err(e).context("KVM_RUN (completing the pending exit)"),
        }
        vcpu.set_kvm_immediate_exit(0);
        out.flush().context("writing the guest's output")?;
        Ok(Stop::Paused)
    }

    /// The state of the paused machine.
    pub fn state(&self) -> Result<Saved> {
        let msrs = msrs_to_save(&self.kvm, &self.vcpus[0])?;
        let vcpus = self
            .vcpus
            .iter()
            .enumerate()
            .map(|(id, vcpu)| VcpuState::capture(vcpu, id as u32, &msrs, &self.cpuid))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Saved {
            memory_bytes: self.memory.len() as u64,
            lines: self.lines,
            serial: self.serial.clone(),
            vm: VmState::capture(&self.vm)?,
            vcpus,
        })
    }

    /// What the lazy restore did, when memory is restored lazily.
    pub fn lazy_stats(&self) -> Option<LazyStats> {
        match &self.memory {
            GuestMemory::Lazy(lazy) => Some(lazy.stats()),
            GuestMemory::Mapped(_) => None,
        }
    }

    /// The pages recorded by a lazy restore asked to record them.
    pub fn working_set(&self) -> Option<WorkingSet> {
        match &self.memory {
            GuestMemory::Lazy(lazy) => Some(lazy.working_set()),
            GuestMemory::Mapped(_) => None,
        }
    }

    /// Fails if a lazy restore's fill failed (also where the guest
    /// never met that chunk: the image is damaged).
    pub fn check_memory(&self) -> Result<()> {
        self.memory.failed()
    }

    /// When this process first entered `KVM_RUN`.
    pub fn first_run(&self) -> Option<Instant> {
        self.first_run
    }

    /// Guest memory.
    pub fn memory(&self) -> &[u8] {
        &self.memory
    }

    /// A machine resumed from `image`: memory mapped from it, the state
    /// restored in the order KVM needs (docs/kvm.md). With `leave_out`,
    /// one piece of the state is not restored: it keeps the value of a
    /// new VM.
    pub fn resume(
        kvm: Kvm,
        image: &Path,
        release: Release,
        load: MemoryLoad,
        lazy: LazyPlan,
        leave_out: Option<LeaveOut>,
    ) -> Result<Machine> {
        let chain = Chain::open(image, &OpenOptions::default())
            .with_context(|| format!("cannot open {}", image.display()))?;
        let img = chain.top();
        let devices = img.read_nvlist("devices")?;
        let record = devices
            .get_nvlist("machine")
            .context("the image has no `devices.machine` record")?;
        let mut state = release
            .decode(record)
            .with_context(|| format!("reading `devices.machine` on release {release}"))?;
        let memory = match load {
            MemoryLoad::Map => GuestMemory::Mapped(img.map_memory_private("memory")?),
            MemoryLoad::Read => GuestMemory::Mapped(read_memory(&chain)?),
            MemoryLoad::Lazy => {
                let prefetch = match lazy.prefetch {
                    true => WorkingSet::read(img)?
                        .filter(|ws| ws.section == "memory")
                        .map(|ws| ws.pages),
                    false => None,
                };
                let options = LazyOptions {
                    prefetch,
                    record_for: lazy.record_for,
                };
                GuestMemory::Lazy(LazyMemory::start(chain, "memory", options).context(
                    "cannot restore guest memory lazily (--memory-load read restores it whole)",
                )?)
            }
        };
        ensure!(
            memory.len() as u64 == state.memory_bytes,
            "the memory section holds {} bytes, the machine record says {}",
            memory.len(),
            state.memory_bytes
        );
        let vcpus = state.vcpus.len() as u32;
        let first = state
            .vcpus
            .first()
            .context("the machine record has no vCPU")?;
        let cpuid = first.cpuid()?;
        let mut m = Machine::create(kvm, memory, cpuid, vcpus)?;
        if let Some(piece) = leave_out {
            m.leave_out(piece, &mut state)?;
        }
        state.vm.restore(&m.vm)?;
        for (vcpu, s) in m.vcpus.iter().zip(&state.vcpus) {
            s.restore(vcpu)?;
        }
        m.serial = state.serial;
        m.lines = state.lines;
        Ok(m)
    }

    /// Replaces `piece` of `state` with a new VM's (for memory: zeroes
    /// the first page of the region the guest wrote).
    fn leave_out(&mut self, piece: LeaveOut, state: &mut Saved) -> Result<()> {
        let fresh = self.state()?;
        match piece {
            LeaveOut::Msrs => {
                for (s, f) in state.vcpus.iter_mut().zip(fresh.vcpus) {
                    s.msrs = f.msrs;
                }
            }
            LeaveOut::Xsave => {
                for (s, f) in state.vcpus.iter_mut().zip(fresh.vcpus) {
                    s.xsave = f.xsave;
                    s.fpu = f.fpu;
                }
            }
            LeaveOut::Lapic => {
                for (s, f) in state.vcpus.iter_mut().zip(fresh.vcpus) {
                    s.lapic = f.lapic;
                }
            }
            LeaveOut::Pit => state.vm.pit = fresh.vm.pit,
            LeaveOut::Irqchip => {
                state.vm.pic_master = fresh.vm.pic_master;
                state.vm.pic_slave = fresh.vm.pic_slave;
                state.vm.ioapic = fresh.vm.ioapic;
            }
            LeaveOut::Page => {
                let start = REGION_AT as usize;
                let page = self.memory[start..]
                    .chunks(4096)
                    .position(|p| p.iter().any(|&b| b != 0))
                    .context("the guest has written no page yet")?;
                let at = start + page * 4096;
                self.memory[at..at + 4096].fill(0);
            }
        }
        Ok(())
    }
}

/// The image's memory section read into new anonymous memory, through
/// its parents, zero chunks skipped (the new memory is zero).
fn read_memory(chain: &Chain) -> Result<MmapMut> {
    let memory = chain.memory("memory")?;
    let len = usize::try_from(memory.size()).context("memory larger than the address space")?;
    let mut out = MmapMut::map_anon(len).context("cannot map guest memory")?;
    let mut scratch = Vec::new();
    let chunk = memory.chunk_size();
    for i in 0..memory.chunk_count() {
        if memory.is_zero(i) {
            continue;
        }
        let at = i * chunk;
        let end = at + memory.chunk_len(i);
        memory.read_chunk_into(i, &mut out[at as usize..end as usize], &mut scratch)?;
    }
    Ok(out)
}

/// A piece of state a resume can leave out, to show that the guest
/// notices: the check that the saved state is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LeaveOut {
    /// The MSRs.
    Msrs,
    /// The FPU and SSE state (xsave).
    Xsave,
    /// The local APIC.
    Lapic,
    /// The PIT.
    Pit,
    /// The PICs and the IOAPIC.
    Irqchip,
    /// One page of memory the guest wrote.
    Page,
}

/// Writes the paused machine to `path` with the records of `release`,
/// for a reader of release `reader`: the machine record in `devices`,
/// the schemas of its records, what a host needs to resume it (the
/// `host` section, for `snapshot check`), guest memory uncompressed (so
/// a resume maps it); durable before it returns.
pub fn save_image(machine: &Machine, path: &Path, release: Release, reader: Release) -> Result<()> {
    let registry = crate::registry();
    let state = machine.state()?;
    let devices = NvList::new().with("machine", release.encode(&state, reader, &registry)?);
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let producer = format!("example-vmm {release}");
    let mut b = Builder::new(file, IMAGE_IDENT, Some(producer.clone()))?;
    let config = NvList::new()
        .with("backend", "kvm")
        .with("release", reader.name())
        .with("memory", machine.memory.len() as u64);
    b.add_nvlist("config", &config)?;
    b.add_nvlist("devices", &devices)?;
    let host = HostRequirements::of(&producer, reader.name(), &state.vcpus[0]);
    b.add_nvlist(HOST_SECTION, &host.to_nvlist())?;
    b.add_nvlist(
        SCHEMAS_SECTION,
        &compat::schemas_section(&registry, [&devices]),
    )?;
    b.add_memory_slice("memory", machine.memory(), MemoryOptions::default())?;
    b.finish()?
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Interrupts the vCPU thread's `KVM_RUN` after a delay: sets the flag,
/// then signals the thread until the run loop has seen it.
struct Kicker {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The signal that interrupts `KVM_RUN`; its handler does nothing.
const KICK: libc::c_int = libc::SIGUSR1;

extern "C" fn on_kick(_: libc::c_int) {}

impl Kicker {
    fn start(after: Duration, requested: Arc<AtomicBool>) -> Result<Kicker> {
        // SAFETY: installs a handler that does nothing, without
        // SA_RESTART, so that an interrupted KVM_RUN returns EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_kick as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(KICK, &action, std::ptr::null_mut()) != 0 {
                bail!("cannot install the pause signal's handler");
            }
        }
        // SAFETY: pthread_self has no preconditions.
        let target = unsafe { libc::pthread_self() };
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(after);
            requested.store(true, Ordering::SeqCst);
            while !stop.load(Ordering::SeqCst) {
                // SAFETY: the vCPU thread outlives this one: `Kicker`
                // joins it on drop.
                unsafe { libc::pthread_kill(target, KICK) };
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Ok(Kicker {
            done,
            thread: Some(thread),
        })
    }
}

impl Drop for Kicker {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
