//! QEMU's streams through the tool, with a real QEMU: import, verify,
//! export to the same bytes, an edit that QEMU loads and shows, and a
//! damaged stream refused. Without QEMU installed the tests say so (CI
//! installs it: `.ci/run`).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::util::Env;

const QEMU: &str = "qemu-system-x86_64";

fn qemu_installed(test: &str) -> bool {
    let ok = Command::new(QEMU).arg("--version").output().is_ok();
    if !ok {
        println!("{test}: not run: {QEMU} is not installed");
    }
    ok
}

/// Whether `/dev/kvm` can be opened.
fn kvm_usable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// Runs QEMU on `machine` (plus `extra` arguments) and feeds its monitor
/// `commands`, each after its delay; returns what the monitor printed.
/// TCG unless `machine` names an accelerator: the tests compare guest
/// memory and registers across a save, which an emulated CPU keeps
/// exactly.
fn qemu(machine: &str, extra: &[&str], commands: &[(u64, &str)]) -> String {
    let machine = if machine.contains("accel=") {
        machine.to_owned()
    } else {
        format!("{machine},accel=tcg")
    };
    let mut child = Command::new(QEMU)
        .args(["-machine", &machine])
        .args(["-m", "64", "-smp", "2", "-display", "none"])
        .args(["-serial", "none", "-parallel", "none", "-monitor", "stdio"])
        .args(["-drive", "if=none,id=d0,file=null-co://,format=raw"])
        .args(["-device", "e1000", "-device", "virtio-net-pci"])
        .args([
            "-device",
            "virtio-blk-pci,drive=d0",
            "-device",
            "virtio-balloon-pci",
        ])
        .args(["-device", "virtio-scsi-pci", "-device", "qemu-xhci"])
        .args(["-device", "ahci"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("QEMU starts");
    let mut stdin = child.stdin.take().unwrap();
    for (delay, command) in commands {
        std::thread::sleep(Duration::from_millis(*delay));
        writeln!(stdin, "{command}").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    writeln!(stdin, "quit").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `info registers` block of the monitor's output: the lines from
/// `EAX=` or `RAX=` to `EFER=`.
fn registers(monitor: &str) -> String {
    let start = monitor
        .find("RAX=")
        .or_else(|| monitor.find("EAX="))
        .expect("info registers printed");
    let end = monitor[start..]
        .find("EFER=")
        .map_or(monitor.len(), |e| start + e);
    monitor[start..end].to_owned()
}

#[test]
fn a_qemu_stream_imports_exports_and_loads_back_edited() {
    if !qemu_installed("a_qemu_stream_imports_exports_and_loads_back_edited") {
        return;
    }
    let env = Env::new();
    for machine in ["pc", "q35"] {
        let src = env.path(&format!("{machine}.mig"));
        let src_ram = env.path(&format!("{machine}-src.ram"));
        let later = env.path(&format!("{machine}-later.mig"));
        let monitor = qemu(
            machine,
            &[],
            &[
                (700, "stop"),
                (100, "info registers"),
                (
                    100,
                    &format!("pmemsave 0 0x4000000 \"{}\"", src_ram.display()),
                ),
                (300, &format!("migrate \"exec:cat > {}\"", src.display())),
                (1500, "info status"),
                // The same VM a second later, to diff.
                (0, "cont"),
                (1000, "stop"),
                (100, &format!("migrate \"exec:cat > {}\"", later.display())),
                (1500, "info status"),
            ],
        );
        let before = registers(&monitor);
        let image = format!("{machine}.snap");
        let src = src.to_str().unwrap();
        let out = env.run(&["import", "qemu", src, "-o", &image]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout_text().contains(" devices, "),
            "{}",
            out.stdout_text()
        );
        assert_eq!(env.run(&["verify", &image]).code, 0);

        // Each RAM block is a section: guest RAM extracts as QEMU had it
        // (outside the legacy VGA and BIOS window, which the physical
        // address space maps to other blocks).
        let out = env.run(&["extract", &image, "ram:pc.ram", "-o", "pc.ram"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let (ram, physical) = (
            std::fs::read(env.path("pc.ram")).unwrap(),
            std::fs::read(&src_ram).unwrap(),
        );
        assert_eq!(ram.len(), 64 << 20);
        assert!(ram[..0xa0000] == physical[..0xa0000], "{machine}: low RAM");
        assert!(ram[0x100000..] == physical[0x100000..], "{machine}: RAM");

        // The same VM a second later: the clocks and a few pages differ.
        let later_image = format!("{machine}-later.snap");
        let later = later.to_str().unwrap();
        assert_eq!(
            env.run(&["import", "qemu", later, "-o", &later_image]).code,
            0
        );
        let out = env.run(&["diff", &image, &later_image]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let diff = out.stdout_text();
        assert!(
            diff.contains("~ devices.timer#0.cpu_clock_offset: "),
            "{diff}"
        );
        assert!(diff.contains("~ ram:pc.ram: chunks "), "{diff}");
        assert!(!diff.contains("ram:pc.bios"), "{diff}");
        // One QEMU build: the schemas the imports carry are the same.
        let out = env.run(&["schema", "diff", &image, &later_image]);
        assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr);
        assert!(
            out.stdout_text().contains(" 0 changed\n"),
            "{}",
            out.stdout_text()
        );

        // Unedited: the same bytes, and QEMU loads it to the same memory.
        let again = env.path(&format!("{machine}-again.mig"));
        let again_s = again.to_str().unwrap();
        assert_eq!(env.run(&["export", "qemu", &image, "-o", again_s]).code, 0);
        assert!(
            std::fs::read(&again).unwrap() == std::fs::read(src).unwrap(),
            "{machine}: the export differs from the stream"
        );
        let dst_ram = env.path(&format!("{machine}-dst.ram"));
        let incoming = format!("exec:cat {again_s}");
        qemu(
            machine,
            &["-incoming", &incoming],
            &[(
                2500,
                &format!("pmemsave 0 0x4000000 \"{}\"", dst_ram.display()),
            )],
        );
        assert!(
            std::fs::read(&dst_ram).unwrap() == std::fs::read(&src_ram).unwrap(),
            "{machine}: the guest memory QEMU loaded differs from the source's"
        );

        // Edited: the vCPU's first general register, then loaded by QEMU.
        let out = env.run(&["set", &image, r#"devices."cpu#0"."env.regs"[0]=0x1234abcd"#]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let edited = env.path(&format!("{machine}-edited.mig"));
        let edited_s = edited.to_str().unwrap();
        assert_eq!(env.run(&["export", "qemu", &image, "-o", edited_s]).code, 0);
        let incoming = format!("exec:cat {edited_s}");
        let monitor = qemu(
            machine,
            &["-incoming", &incoming],
            &[
                (2500, "info status"),
                (100, "info registers"),
                (100, "cont"),
                (500, "info status"),
            ],
        );
        assert!(monitor.contains("VM status: paused"), "{monitor}");
        assert!(monitor.contains("VM status: running"), "{monitor}");
        let after = registers(&monitor);
        let rax = before
            .split_whitespace()
            .find(|w| w.starts_with("RAX=") || w.starts_with("EAX="))
            .unwrap();
        let wanted = if rax.starts_with("RAX=") {
            "RAX=000000001234abcd"
        } else {
            "EAX=1234abcd"
        };
        assert!(after.contains(wanted), "{machine}: {after}");
        // Every other register is as the source had it.
        assert_eq!(after.replacen(wanted, rax, 1), before, "{machine}");

        // A CMOS byte of the RTC, read back through its I/O ports.
        let cmos = r#"devices."mc146818rtc#0".cmos_data[64]=0x5a"#;
        let out = env.run(&["set", &image, cmos]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(env.run(&["export", "qemu", &image, "-o", edited_s]).code, 0);
        let monitor = qemu(
            machine,
            &["-incoming", &incoming],
            &[
                (2500, "o /b 0x70 0x40"),
                (100, "i /b 0x71"),
                (100, "o /b 0x70 0x41"),
                (100, "i /b 0x71"),
            ],
        );
        let reads: Vec<&str> = monitor
            .lines()
            .filter(|l| l.starts_with("portb[0x0071]"))
            .collect();
        assert_eq!(reads.len(), 2, "{monitor}");
        assert_eq!(reads[0], "portb[0x0071] = 0x5a", "{machine}: {monitor}");

        // The image's schemas type the records: a value the field cannot
        // hold is refused by `set`, and (forced in) by the export, by path.
        let out = env.run(&["dump", "--typed", &image, "devices"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout_text().contains("cmos_index: u8 = "),
            "{}",
            out.stdout_text()
        );
        let set = r#"devices."mc146818rtc#0".cmos_index=300"#;
        let out = env.run(&["set", &image, set]);
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains("300 does not fit u8"), "{}", out.stderr);
        assert_eq!(env.run(&["set", "--unchecked", &image, set]).code, 0);
        let out = env.run(&["export", "qemu", &image, "-o", "bad.mig"]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains("cmos_index: 300 does not fit uint8"),
            "{}",
            out.stderr
        );
        assert!(!env.path("bad.mig").exists());

        // A stream cut short is refused, naming the byte, and writes nothing.
        let bytes = std::fs::read(src).unwrap();
        env.write("cut.mig", &bytes[..bytes.len() / 2]);
        let out = env.run(&["import", "qemu", "cut.mig", "-o", "cut.snap"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("byte "), "{}", out.stderr);
        assert!(!env.path("cut.snap").exists());
    }
}

/// The descriptions of this QEMU, imported, and compared with copies
/// edited the ways a new release changes them: each change named and
/// classified as QEMU would load a stream across the two.
#[test]
fn qemu_descriptions_import_and_compare_as_qemu_loads() {
    if !qemu_installed("qemu_descriptions_import_and_compare_as_qemu_loads") {
        return;
    }
    let env = Env::new();
    for machine in ["pc", "q35"] {
        let dump = env.path(&format!("{machine}.json"));
        let out = Command::new(QEMU)
            .args(["-M", machine, "-dump-vmstate"])
            .arg(&dump)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = format!("{machine}-7.2");
        let dump_s = dump.to_str().unwrap();
        let out = env.run(&["schema", "import", "qemu", dump_s, "-o", &dir]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout_text().contains(" device types of machine "),
            "{}",
            out.stdout_text()
        );
        let rtc = std::fs::read_to_string(env.path(&format!("{dir}/mc146818rtc.vmstate"))).unwrap();
        assert!(
            rtc.starts_with("device \"mc146818rtc\"\nvmsd \"mc146818rtc\" version 3 minimum 1\n"),
            "{rtc}"
        );
        assert!(
            rtc.contains("field \"irq_coalesced\" size 4 since 2\n"),
            "{rtc}"
        );
        // Read back, the files are the dump.
        let out = env.run(&["schema", "diff", &dir, dump_s]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout_text().contains(" 0 changes"),
            "{}",
            out.stdout_text()
        );
        // A second import into the same directory is refused.
        assert_eq!(
            env.run(&["schema", "import", "qemu", dump_s, "-o", &dir])
                .code,
            2
        );

        let original: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
        let release = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
            let mut next = original.clone();
            edit(&mut next);
            let path = format!("{machine}-{name}.json");
            env.write(&path, serde_json::to_vec(&next).unwrap());
            let out = env.run(&["schema", "diff", dump_s, &path]);
            (out.code, out.stdout_text())
        };
        let rtc = |d: &mut serde_json::Value| d["mc146818rtc"]["Description"].clone();
        let set_rtc = |d: &mut serde_json::Value, v: serde_json::Value| {
            d["mc146818rtc"]["Description"] = v;
        };
        let field = |name: &str, since: u32, size: u32| serde_json::json!({"field": name, "version_id": since, "field_exists": false, "size": size});

        let (code, text) = release("bump", &|d| {
            let mut r = rtc(d);
            r["version_id"] = 4.into();
            r["Fields"]
                .as_array_mut()
                .unwrap()
                .push(field("alarm2", 4, 8));
            set_rtc(d, r);
            d["mc146818rtc"]["version_id"] = 4.into();
        });
        assert!(
            text.contains(
                "  mc146818rtc: version bumped 3 -> 4; upgrade compatible, downgrade BREAKING\n"
            ),
            "{text}"
        );
        assert!(text.contains("  mc146818rtc.alarm2: field added in version 4; upgrade compatible, downgrade BREAKING\n"), "{text}");
        assert_eq!(code, 1, "a downgrade always breaks: {text}");

        let (code, text) = release("unbumped", &|d| {
            let mut r = rtc(d);
            r["Fields"]
                .as_array_mut()
                .unwrap()
                .push(field("alarm2", 0, 8));
            set_rtc(d, r);
        });
        assert!(
            text.contains(
                "  mc146818rtc.alarm2: field added; upgrade BREAKING, downgrade BREAKING\n"
            ),
            "{text}"
        );
        assert_eq!(code, 1);

        let (code, text) = release("minimum", &|d| {
            let mut r = rtc(d);
            r["minimum_version_id"] = 3.into();
            set_rtc(d, r);
        });
        assert!(text.contains("  mc146818rtc: minimum version raised 1 -> 3; upgrade compatible, downgrade compatible\n"), "{text}");
        assert_eq!(code, 0, "{text}");
        let (code, text) = release("minimum-above", &|d| {
            let mut r = rtc(d);
            r["version_id"] = 5.into();
            r["minimum_version_id"] = 4.into();
            set_rtc(d, r);
        });
        assert!(text.contains("  mc146818rtc: minimum version raised 1 -> 4; upgrade BREAKING, downgrade compatible\n"), "{text}");
        assert_eq!(code, 1);

        let (code, text) = release("size", &|d| {
            let mut r = rtc(d);
            r["Fields"][1]["size"] = 2.into();
            set_rtc(d, r);
        });
        assert!(text.contains("  mc146818rtc.cmos_index: size changed 1 -> 2; upgrade BREAKING, downgrade BREAKING\n"), "{text}");
        assert_eq!(code, 1);

        let (code, text) = release("subsection", &|d| {
            let mut r = rtc(d);
            r["Subsections"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "name": "mc146818rtc/alarm2", "version_id": 1, "minimum_version_id": 1,
                    "Fields": [field("alarm2", 0, 8)],
                }));
            set_rtc(d, r);
        });
        assert!(text.contains("  mc146818rtc.mc146818rtc/alarm2: subsection added; upgrade compatible, downgrade BREAKING when sent\n"), "{text}");
        assert_eq!(code, 0, "{text}");

        let (code, text) = release("sections", &|d| {
            let d = d.as_object_mut().unwrap();
            d.remove("mc146818rtc");
            d.insert("new-device".into(), serde_json::json!({
                "Name": "new-device", "version_id": 1, "minimum_version_id": 1,
                "Description": {"name": "new-device", "version_id": 1, "minimum_version_id": 1, "Fields": []},
            }));
        });
        assert!(text.contains("  mc146818rtc: section removed; upgrade BREAKING when sent, downgrade compatible\n"), "{text}");
        assert!(
            text.contains(
                "  new-device: section added; upgrade compatible, downgrade BREAKING when sent\n"
            ),
            "{text}"
        );
        assert_eq!(code, 1);

        // A schema file edited by hand is read as such, and a mistake in
        // it is named by file and line.
        let file = env.path(&format!("{dir}/mc146818rtc.vmstate"));
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("size 128", "size 12x")).unwrap();
        let out = env.run(&["schema", "diff", &dir, dump_s]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("mc146818rtc.vmstate: line 3: expected a number after `size`"),
            "{}",
            out.stderr
        );
    }
}

/// A running VM's stream (no `stop` first: QEMU sends pages again as the
/// guest dirties them, then stops it): the export is a stream that loads
/// to the memory the source ended with.
#[test]
fn a_running_vms_stream_exports_to_one_that_loads_the_same_memory() {
    if !qemu_installed("a_running_vms_stream_exports_to_one_that_loads_the_same_memory") {
        return;
    }
    let env = Env::new();
    let (live, src_ram, dst_ram) = (
        env.path("live.mig"),
        env.path("src.ram"),
        env.path("dst.ram"),
    );
    let monitor = qemu(
        "pc",
        &[],
        &[
            // Slowly, so the firmware's timer interrupt dirties its tick
            // count in low memory between passes and QEMU sends it again.
            (700, "migrate_set_parameter max-bandwidth 1M"),
            (0, &format!("migrate \"exec:cat > {}\"", live.display())),
            (4500, "info status"),
            (0, "info registers"),
            (
                0,
                &format!("pmemsave 0 0x4000000 \"{}\"", src_ram.display()),
            ),
        ],
    );
    assert!(
        monitor.contains("VM status: paused (postmigrate)"),
        "{monitor}"
    );
    let before = registers(&monitor);
    let live = live.to_str().unwrap();
    assert_eq!(
        env.run(&["import", "qemu", live, "-o", "live.snap"]).code,
        0
    );
    assert_eq!(
        env.run(&["export", "qemu", "live.snap", "-o", "back.mig"])
            .code,
        0
    );
    let (original, back) = (
        std::fs::read(live).unwrap(),
        std::fs::read(env.path("back.mig")).unwrap(),
    );
    assert_eq!(back.len(), original.len());
    assert!(
        back != original,
        "no page was sent twice: the test did not test that"
    );
    let incoming = format!("exec:cat {}", env.path("back.mig").display());
    // `-S`: the source was running, so QEMU would start the guest once
    // loaded.
    let monitor = qemu(
        "pc",
        &["-S", "-incoming", &incoming],
        &[
            (2500, "info registers"),
            (
                100,
                &format!("pmemsave 0 0x4000000 \"{}\"", dst_ram.display()),
            ),
        ],
    );
    assert_eq!(registers(&monitor), before);
    assert!(
        std::fs::read(&dst_ram).unwrap() == std::fs::read(&src_ram).unwrap(),
        "the memory QEMU loaded differs from the source's at the end"
    );
}

/// A guest on KVM (where `/dev/kvm` is usable): its stream, with KVM's
/// own sections (kvmclock, the in-kernel irqchip's state), imports,
/// verifies, types and exports to the same bytes.
#[test]
fn a_kvm_guests_stream_imports_and_exports_the_same_bytes() {
    let test = "a_kvm_guests_stream_imports_and_exports_the_same_bytes";
    if !qemu_installed(test) {
        return;
    }
    if !kvm_usable() {
        println!("{test}: not run: /dev/kvm is not usable");
        return;
    }
    let env = Env::new();
    let stream = env.path("kvm.mig");
    let monitor = qemu(
        "q35,accel=kvm",
        &[],
        &[
            (1000, "stop"),
            (100, &format!("migrate \"exec:cat > {}\"", stream.display())),
            (1500, "info status"),
        ],
    );
    assert!(monitor.contains("VM status: paused"), "{monitor}");
    let stream = stream.to_str().unwrap();
    let out = env.run(&["import", "qemu", stream, "-o", "kvm.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(env.run(&["verify", "kvm.snap"]).code, 0);
    let out = env.run(&["dump", "--typed", "kvm.snap", "devices"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout_text().contains("\n\"kvmclock#0\":\n"),
        "{}",
        out.stdout_text()
    );
    assert_eq!(
        env.run(&["export", "qemu", "kvm.snap", "-o", "back.mig"])
            .code,
        0
    );
    assert!(
        std::fs::read(env.path("back.mig")).unwrap() == std::fs::read(stream).unwrap(),
        "the export differs from the stream"
    );
    println!("{test}: a KVM guest's stream imported and exported whole");
}
