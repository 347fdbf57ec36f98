//! The guest on KVM: a save at any point followed by a resume in a new
//! process prints what one uninterrupted run prints, byte for byte; and a
//! resume without one piece of the state does not. Where `/dev/kvm` is
//! not usable the tests say why and pass, so CI's log shows whether they
//! ran.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::BIN;

/// Small enough to be quick when every instruction is emulated.
const MEMORY: &str = "32";
const STEPS: u64 = 12;

/// Whether KVM is usable here; when not, says why on the test's output.
fn kvm_usable(test: &str) -> bool {
    match example_vmm::kvm::open_kvm() {
        Ok(_) => {
            println!("{test}: running on KVM");
            true
        }
        Err(why) => {
            println!("{test}: not run: {why}");
            false
        }
    }
}

/// The outcome of a run: its stdout, or `None` when it did not end
/// within the time limit (the guest stopped making progress).
fn example_vmm(args: &[&str], limit: Duration) -> Option<Vec<u8>> {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("example-vmm starts");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for example-vmm") {
            let out = child.wait_with_output().expect("example-vmm's output");
            assert!(
                status.success(),
                "example-vmm {args:?}: {status}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return Some(out.stdout);
        }
        if start.elapsed() > limit {
            child.kill().expect("killing a stalled example-vmm");
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

const LIMIT: Duration = Duration::from_secs(60);

fn run(extra: &[&str]) -> Vec<u8> {
    let steps = STEPS.to_string();
    let mut args = vec!["run", "--memory", MEMORY, "--steps", &steps];
    args.extend_from_slice(extra);
    example_vmm(&args, LIMIT).expect("a run ends")
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("UTF-8 temp path").to_owned()
}

#[test]
fn a_save_and_resume_anywhere_prints_what_one_run_prints() {
    if !kvm_usable("a_save_and_resume_anywhere_prints_what_one_run_prints") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = run(&[]);
    let text = String::from_utf8(whole.clone()).unwrap();
    assert_eq!(text.lines().count() as u64, STEPS + 1, "{text}");
    assert!(text.ends_with("done\n"), "{text}");

    let saves: Vec<Vec<String>> = [1, STEPS / 2, STEPS - 1]
        .iter()
        .map(|k| vec!["--save-at-step".to_owned(), k.to_string()])
        .chain(
            [15, 60, 150]
                .iter()
                .map(|ms| vec!["--save-after-ms".to_owned(), ms.to_string()]),
        )
        .collect();
    for (i, save) in saves.iter().enumerate() {
        let image = path(dir.path(), &format!("{i}.snap"));
        let mut args: Vec<&str> = save.iter().map(String::as_str).collect();
        args.extend(["-o", &image]);
        let before = run(&args);
        for attempt in 0..2 {
            // The same image twice: a resume does not change it.
            let after = example_vmm(&["resume", &image], LIMIT).expect("a resume ends");
            let joined = [before.clone(), after].concat();
            assert_eq!(
                String::from_utf8_lossy(&joined),
                text,
                "save {save:?}, resume {attempt}"
            );
        }
    }
}

#[test]
fn a_resume_without_a_piece_of_state_goes_wrong() {
    if !kvm_usable("a_resume_without_a_piece_of_state_goes_wrong") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = run(&[]);
    let image = path(dir.path(), "vm.snap");
    let before = run(&["--save-at-step", "5", "-o", &image]);
    for piece in ["msrs", "xsave", "lapic", "pit", "irqchip", "page"] {
        let after = example_vmm(
            &["resume", &image, "--leave-out", piece],
            Duration::from_secs(10),
        );
        match after {
            None => println!("without {piece}: the guest stopped making progress"),
            Some(after) => {
                let joined = [before.clone(), after].concat();
                assert_ne!(joined, whole, "resuming without {piece} went unnoticed");
                println!("without {piece}: the output differs");
            }
        }
    }
}

#[test]
fn without_kvm_run_and_resume_say_why_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-kvm");
    for args in [&["run"][..], &["resume", "any.snap"]] {
        let out = Command::new(BIN)
            .args(args)
            .env(example_vmm::kvm::KVM_DEVICE_VAR, &missing)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("no-kvm is not usable"), "{err}");
    }
}

#[test]
fn every_vcpu_is_saved_and_restored() {
    if !kvm_usable("every_vcpu_is_saved_and_restored") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = run(&["--vcpus", "3"]);
    let image = path(dir.path(), "smp.snap");
    let before = run(&["--vcpus", "3", "--save-at-step", "4", "-o", &image]);
    let after = example_vmm(&["resume", &image], LIMIT).expect("a resume ends");
    assert_eq!([before, after].concat(), whole);
    let out = Command::new(BIN)
        .args(["get", &image, "devices.machine.vcpus[2].id"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
}

#[test]
fn a_guest_moves_between_releases_both_ways() {
    if !kvm_usable("a_guest_moves_between_releases_both_ways") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = run(&[]);
    let first = path(dir.path(), "2.1.snap");
    let second = path(dir.path(), "3.0-for-2.1.snap");
    // Saved on 2.1.0, resumed on 3.0.0, which saves for a 2.1.0 reader;
    // resumed there.
    let a = run(&["--release", "2.1.0", "--save-at-step", "3", "-o", &first]);
    let b = example_vmm(
        &[
            "resume",
            &first,
            "--release",
            "3.0.0",
            "--save-at-step",
            "7",
            "--save-for",
            "2.1.0",
            "-o",
            &second,
        ],
        LIMIT,
    )
    .expect("resume on 3.0.0 ends");
    let c = example_vmm(&["resume", &second, "--release", "2.1.0"], LIMIT)
        .expect("resume on 2.1.0 ends");
    assert_eq!(
        String::from_utf8_lossy(&[a, b, c].concat()),
        String::from_utf8_lossy(&whole)
    );

    // A 3.0.0 image is refused by 2.1.0, naming the record and versions.
    let newer = path(dir.path(), "3.0.snap");
    run(&["--save-at-step", "2", "-o", &newer]);
    // A save point the guest never reaches saves nothing, and says so.
    let never = path(dir.path(), "never.snap");
    let out = Command::new(BIN)
        .args([
            "run",
            "--memory",
            MEMORY,
            "--steps",
            "2",
            "--save-at-step",
            "5",
            "-o",
            &never,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ended before the save point"));
    assert!(!Path::new(&never).exists());

    let out = Command::new(BIN)
        .args(["resume", &newer, "--release", "2.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kvm_machine: stored version 2 is newer than this build's version 1"),
        "{err}"
    );
}

#[test]
fn check_says_whether_this_host_can_resume_and_every_reason_not() {
    if !kvm_usable("check_says_whether_this_host_can_resume_and_every_reason_not") {
        return;
    }
    use snapshot_core::image::{Builder, DEFAULT_IDENT};
    use snapshot_core::Snapshot;
    use snapshot_kvm::{HostRequirements, HOST_SECTION};

    let dir = tempfile::tempdir().unwrap();
    let image = path(dir.path(), "vm.snap");
    run(&["--save-at-step", "2", "-o", &image]);
    let out = Command::new(BIN).args(["check", &image]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("can resume on this host (example-vmm 3.0.0: "),
        "{text}"
    );

    // A guest that needs what no host has: every reason is listed.
    let list = snapshot_core::image::Image::open(&image, &Default::default())
        .unwrap()
        .read_nvlist(HOST_SECTION)
        .unwrap();
    let mut needs = HostRequirements::from_nvlist(&list).unwrap();
    for e in &mut needs.cpuid {
        if e.function == 7 && e.index == 0 {
            e.ebx = u32::MAX;
        }
    }
    needs.capabilities.push("KVM_CAP_IMAGINARY".into());
    needs.msrs.push(0xdead_beef);
    let other = path(dir.path(), "other.snap");
    let file = std::fs::File::create(&other).unwrap();
    let mut b = Builder::new(file, DEFAULT_IDENT, None).unwrap();
    b.add_nvlist(HOST_SECTION, &needs.to_nvlist()).unwrap();
    b.finish().unwrap();
    let out = Command::new(BIN).args(["check", &other]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cannot resume on this host"), "{text}");
    assert!(
        text.contains("CPUID leaf 0x7.0 ebx: the guest has feature bits"),
        "{text}"
    );
    assert!(
        text.contains("KVM_CAP_IMAGINARY, a capability this build does not know"),
        "{text}"
    );
    assert!(
        text.contains("does not save or restore MSR 0xdeadbeef"),
        "{text}"
    );

    // An image without the section does not say: an error naming it.
    let none = path(dir.path(), "none.snap");
    let file = std::fs::File::create(&none).unwrap();
    let mut b = Builder::new(file, DEFAULT_IDENT, None).unwrap();
    b.add_nvlist("config", &snapshot_core::NvList::new().with("x", 1u64))
        .unwrap();
    b.finish().unwrap();
    let out = Command::new(BIN).args(["check", &none]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not say what a host needs to resume it"),
        "{err}"
    );
}

#[test]
fn the_demo_runs_the_guest_where_kvm_is_usable() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--memory-mib", "16", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if example_vmm::kvm::open_kvm().is_ok() {
        assert!(
            text.starts_with("KVM is usable here: the demo runs a real guest"),
            "{text}"
        );
        assert!(
            text.contains("The three processes printed, byte for byte, what one uninterrupted run"),
            "{text}"
        );
        assert!(dir.path().join("kvm-3.0.0-for-2.1.0.snap").exists());
    } else {
        assert!(
            text.contains("the demo runs the simulated devices instead"),
            "{text}"
        );
    }
}

/// The committed guest bytes are what `guest.S` assembles to (where GNU
/// binutils is installed; elsewhere the test says so).
#[test]
fn guest_bytes_match_the_source() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kvm");
    let dir = tempfile::tempdir().unwrap();
    let built = Command::new("sh")
        .arg(src.join("build-guest.sh"))
        .arg(dir.path())
        .output();
    match built {
        Ok(out) if out.status.success() => {
            let fresh = std::fs::read(dir.path().join("guest.bin")).unwrap();
            let committed = std::fs::read(src.join("guest.bin")).unwrap();
            assert!(
                fresh == committed,
                "guest.bin is stale: run src/kvm/build-guest.sh"
            );
            let listing = std::fs::read_to_string(dir.path().join("guest.lst")).unwrap();
            let committed = std::fs::read_to_string(src.join("guest.lst")).unwrap();
            assert_eq!(
                listing, committed,
                "guest.lst is stale: run src/kvm/build-guest.sh"
            );
        }
        Ok(out) => println!(
            "guest_bytes_match_the_source: not run: cannot assemble ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("guest_bytes_match_the_source: not run: no sh: {e}"),
    }
}

/// Whether a lazy resume can run here: KVM and userfaultfd both.
fn lazy_usable(test: &str) -> bool {
    if !kvm_usable(test) {
        return false;
    }
    match snapshot_lazy::check_available() {
        Ok(()) => true,
        Err(why) => {
            println!("{test}: not run: {why}");
            false
        }
    }
}

#[test]
fn a_lazy_resume_prints_what_an_eager_one_prints() {
    if !lazy_usable("a_lazy_resume_prints_what_an_eager_one_prints") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = run(&[]);
    let image = path(dir.path(), "vm.snap");
    let before = run(&["--save-at-step", "3", "-o", &image]);
    let eager = example_vmm(&["resume", &image, "--memory-load", "read"], LIMIT).expect("ends");
    assert_eq!([before.clone(), eager.clone()].concat(), whole);
    let lazy = example_vmm(&["resume", &image, "--lazy"], LIMIT).expect("a lazy resume ends");
    assert_eq!(lazy, eager, "lazy against eager");

    // Recorded, written into the image, then loaded ahead.
    let recorded = example_vmm(
        &["resume", &image, "--lazy", "--record-workingset", "10000"],
        LIMIT,
    )
    .expect("a recording resume ends");
    assert_eq!(recorded, eager);
    let out = Command::new(BIN)
        .args(["get", &image, "workingset.section"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"memory\"");
    let out = Command::new(BIN)
        .args(["resume", &image, "--lazy", "--timings"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, eager, "lazy with prefetch against eager");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" prefetched"), "{stderr}");
    assert!(
        !stderr.contains(", 0 prefetched"),
        "the working set was loaded: {stderr}"
    );
    let no_prefetch =
        example_vmm(&["resume", &image, "--lazy", "--no-prefetch"], LIMIT).expect("ends");
    assert_eq!(no_prefetch, eager);
}

#[test]
fn a_lazy_resume_of_a_damaged_chunk_fails_naming_it() {
    if !lazy_usable("a_lazy_resume_of_a_damaged_chunk_fails_naming_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = path(dir.path(), "vm.snap");
    run(&["--save-at-step", "3", "-o", &image]);
    // A byte of chunk 5 (the region the guest checksums starts at 4 MiB).
    let offset = {
        let img = snapshot_core::image::Image::open(&image, &Default::default()).unwrap();
        img.memory("memory").unwrap().chunk_offset(5) + 100
    };
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[offset as usize] ^= 0x40;
    std::fs::write(&image, bytes).unwrap();
    let mut child = Command::new(BIN)
        .args(["resume", &image, "--lazy"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("a lazy resume of a damaged chunk hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("chunk 5 of section `memory`"), "{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
}
