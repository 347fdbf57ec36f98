//! The demo and the commands that use the example VMM's history, run
//! through the example VMM's own tool.

use std::path::{Path, PathBuf};

use crate::util::Env;

/// The committed schema history of the example VMM.
fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

fn schema_file(name: &str, version: u32) -> String {
    schemas()
        .join(name)
        .join(format!("v{version}.schema"))
        .display()
        .to_string()
}

/// Runs the demo with a small guest, leaving `demo/vm.snap`.
fn demo(env: &Env) -> String {
    let out = env.run(&["demo", "--simulated", "--dir", "demo", "--memory-mib", "8"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout_text()
}

#[test]
fn demo_upgrades_downgrades_and_leaves_its_images() {
    let env = Env::new();
    let text = demo(&env);
    assert!(
        text.contains("1. Booted a VM on the release-1.1.0 models: 2 vCPUs, 8 MiB"),
        "{text}"
    );
    assert!(
        text.contains("every device equals its hand-written release-2 conversion"),
        "{text}"
    );
    assert!(text.contains("     vrtc        v2 -> v3"), "{text}");
    assert!(text.contains("     vcpu        v1 -> v2 (x2)"), "{text}");
    assert!(
        text.contains("6. Resumed that on release 1.1.0: every device value and the memory equal"),
        "{text}"
    );
    assert!(text.contains("snapshot schema diff"), "{text}");
    assert!(text.contains("snapshot nv dump"), "{text}");
    for name in ["vm.snap", "vm-for-1.1.0.snap", "schemas/vrtc/v3.schema"] {
        assert!(env.path("demo").join(name).exists(), "{name}");
    }
    let out = env.run(&["verify", "demo/vm.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["get", "demo/vm.snap", "devices.vrtc.base_time_ns"]);
    assert_eq!(out.stdout_text().trim(), "1700000000000000000");
}

#[test]
fn typed_dump_reads_the_images_schemas() {
    let env = Env::new();
    demo(&env);
    let out = env.run(&["dump", "--typed", "demo/vm.snap", "devices"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    assert!(text.contains("  # vcpu v1 (12 fields)"), "{text}");
    assert!(
        text.contains("  tsc_offset: i64 = -123456789  # Guest TSC minus host TSC.\n"),
        "{text}"
    );
    assert!(text.contains("  mtu: u16 = 1500"), "{text}");
    assert!(
        text.contains("  regs: [u8; 128] = <128 bytes: 30 00 15"),
        "{text}"
    );
    // The untyped dump shows the same value as its stored number.
    let out = env.run(&["dump", "demo/vm.snap", "devices"]);
    assert!(out
        .stdout_text()
        .contains("tsc_offset: number = 18446744073586094827"));
}

#[test]
fn typed_dump_needs_a_schemas_section() {
    let env = Env::new();
    let nv = env.write("d.txt", "a: number = 1\n");
    let out = env.run(&["nv", "pack", nv.to_str().unwrap(), "-o", "d.nv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["build", "-o", "x.snap", "--devices", "d.nv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["dump", "--typed", "x.snap"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--typed needs a `schemas` section"),
        "{}",
        out.stderr
    );
}

#[test]
fn schema_diff_classifies_each_change() {
    let env = Env::new();
    let out = env.run(&[
        "schema",
        "diff",
        &schema_file("vrtc", 1),
        &schema_file("vrtc", 3),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout_text(),
        "vrtc v1 -> v3: 3 changes\n\
         \x20 base_time_ns: renamed from `base_rtctime`; upgrade compatible, downgrade compatible\n\
         \x20 nvram_ext: added; upgrade compatible, downgrade compatible (old snapshots read the default; written for the older reader only while it holds the default)\n\
         \x20 century: removed; upgrade compatible, downgrade via migration\n"
    );
    let out = env.run(&[
        "schema",
        "diff",
        &schema_file("vcpu", 1),
        &schema_file("vcpu", 2),
    ]);
    let text = out.stdout_text();
    assert!(text.contains("  tpr: renamed from `cr8`"), "{text}");
    assert!(
        text.contains("  (fields): reordered; upgrade compatible"),
        "{text}"
    );

    // A retype without a migration breaks: exit 1.
    let old = env.write("old.schema", "schema d 1\nkind struct\nfield a: u32\n");
    let new = env.write("new.schema", "schema d 2\nkind struct\nfield a: String\n");
    let out = env.run(&[
        "schema",
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(out
        .stdout_text()
        .contains("a: retyped u32 -> String; upgrade BREAKING"));

    let other = env.write("other.schema", "schema e 2\nkind struct\n");
    let out = env.run(&[
        "schema",
        "diff",
        old.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let bad = env.write("bad.schema", "schema d 1\nfield a u32\n");
    let out = env.run(&[
        "schema",
        "diff",
        old.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("bad.schema: line 2: expected `field NAME: TYPE`"),
        "{}",
        out.stderr
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn schema_check_passes_on_the_history_and_fails_on_a_changed_type() {
    let env = Env::new();
    let dir = schemas().display().to_string();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compat-tests/fixtures");
    let fixtures = fixtures.display().to_string();
    let out = env.run(&[
        "schema",
        "check",
        "--schemas",
        &dir,
        "--fixtures",
        &fixtures,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // It says whose types it checked, and which build: a stale one shows.
    let text = out.stdout_text();
    assert!(
        text.starts_with("checking the 40 types of example-vmm ("),
        "{text}"
    );
    assert!(text.contains(" ago) against "), "{text}");

    // History of a type the tool does not have: a stale build, or a type
    // dropped from the registry.
    copy_dir(&schemas(), &env.path("schemas"));
    std::fs::create_dir(env.path("schemas/vgone")).unwrap();
    std::fs::write(
        env.path("schemas/vgone/v1.schema"),
        "schema vgone 1\nkind struct\nfield a: u8\n",
    )
    .unwrap();
    let out = env.run(&["schema", "check", "--fixtures", &fixtures]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("schemas/vgone: history of `vgone`, which is not a type of this program"),
        "{}",
        out.stderr
    );
    std::fs::remove_dir_all(env.path("schemas/vgone")).unwrap();

    // The recorded v3 of vrtc no longer matches the code: as if the
    // struct had changed without a bump.
    let path = env.path("schemas/vrtc/v3.schema");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("field base_uptime: u64\n", "")).unwrap();
    let out = env.run(&["schema", "check", "--fixtures", &fixtures]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("vrtc v3 changed since it was recorded, without a version bump"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("base_uptime: added"), "{}", out.stderr);
    assert!(
        out.stderr.contains("set `#[snapshot(version = 4)]`"),
        "{}",
        out.stderr
    );
}

#[test]
fn schema_record_writes_only_what_is_new() {
    let env = Env::new();
    // Before anything is recorded, a check has no history to read.
    let out = env.run(&["schema", "check", "--schemas", "s", "--fixtures", "f"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no schema history at s"),
        "{}",
        out.stderr
    );
    let out = env.run(&["schema", "bless", "--schemas", "s", "--fixtures", "f"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout_text().contains("recorded s/vrtc/v1.schema"),
        "{}",
        out.stdout_text()
    );
    assert!(env.path("f/vrtc/v2.nv").exists());
    let out = env.run(&["schema", "bless", "--schemas", "s", "--fixtures", "f"]);
    assert_eq!(out.stdout_text(), "nothing new to record\n");
    let out = env.run(&["schema", "check", "--schemas", "s", "--fixtures", "f"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A fixture edited by hand: the check names it.
    let path = env.path("f/vrtc/v1.nv");
    let mut nv = snapshot_core::NvList::unpack(&std::fs::read(&path).unwrap()).unwrap();
    nv.insert("base_rtctime", 1u64);
    std::fs::write(&path, nv.pack()).unwrap();
    let out = env.run(&["schema", "check", "--schemas", "s", "--fixtures", "f"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("vrtc fixture v1: decodes to another value than"),
        "{}",
        out.stderr
    );
}

#[test]
fn migrate_goes_to_any_release_and_back() {
    let env = Env::new();
    demo(&env);
    let out = env.run(&["migrate", "demo/vm.snap", "-o", "latest.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    assert!(
        text.starts_with("latest.snap: 7 records rewritten for the newest versions"),
        "{text}"
    );
    assert!(text.contains("  devices.vrtc: vrtc v2 -> v3\n"), "{text}");

    // The schemas the two images carry, compared type by type.
    let out = env.run(&["schema", "diff", "demo/vm.snap", "latest.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let diff = out.stdout_text();
    assert!(diff.contains(" types, 6 changed\n"), "{diff}");
    assert!(
        diff.contains("\n  vrtc v2 -> v3: 1 change\n    century: removed; "),
        "{diff}"
    );
    assert!(diff.contains("\n    tpr: renamed from `cr8`; "), "{diff}");
    let out = env.run(&["schema", "diff", "latest.snap", "latest.snap"]);
    assert!(
        out.stdout_text().contains(" 0 changed\n"),
        "{}",
        out.stdout_text()
    );
    let out = env.run(&["schema", "diff", "latest.snap", &schema_file("vrtc", 3)]);
    assert_eq!(out.code, 2, "an image and a schema file: {}", out.stderr);

    let out = env.run(&[
        "migrate",
        "latest.snap",
        "--to-release",
        "1.0",
        "-o",
        "old.snap",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout_text()
            .contains("  devices.vrtc: vrtc v3 -> v1\n"),
        "{}",
        out.stdout_text()
    );
    let out = env.run(&["get", "old.snap", "devices.vrtc.base_rtctime"]);
    assert_eq!(out.stdout_text().trim(), "1700000000", "seconds again");
    let out = env.run(&["verify", "old.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // In place, back to the newest: the same devices as the first upgrade.
    let out = env.run(&["migrate", "old.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["diff", "old.snap", "latest.snap"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr);

    // The typed dump follows the rewritten records.
    let out = env.run(&["dump", "--typed", "old.snap", "devices"]);
    assert!(
        out.stdout_text().contains("# vrtc v3 (5 fields)"),
        "{}",
        out.stdout_text()
    );
}

#[test]
fn migrate_to_an_impossible_target_names_the_record_and_step() {
    let env = Env::new();
    demo(&env);
    let out = env.run(&["migrate", "demo/vm.snap", "-o", "latest.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Half a second: version 1 stores whole seconds.
    let out = env.run(&[
        "set",
        "latest.snap",
        "devices.vrtc.base_time_ns=1700000000500000000",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&[
        "migrate",
        "latest.snap",
        "--to-release",
        "1.0",
        "-o",
        "old.snap",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("devices.vrtc: cannot go from v3 to v1: vrtc: migration v2 -> v1 failed: `base_rtctime`: 1700000000500000000 ns is not a whole number of seconds"),
        "{}",
        out.stderr
    );
    assert!(!env.path("old.snap").exists(), "nothing written");
    // Release 1.1.0 keeps nanoseconds: that one works.
    let out = env.run(&[
        "migrate",
        "latest.snap",
        "--to-release",
        "1",
        "-o",
        "old.snap",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = env.run(&["migrate", "latest.snap", "--ident", "bhyve", "-o", "x.snap"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("IDENT `snapshot` is not `bhyve`"),
        "{}",
        out.stderr
    );

    let out = env.run(&["migrate", "latest.snap", "--to-release", "7"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no release matches `7` (known: 1.0.0, 1.1.0, 2.0.0, 2.1.0, 3.0.0)"),
        "{}",
        out.stderr
    );
}

/// Whether strace can trace here (installed, and ptrace allowed).
fn strace_works() -> bool {
    std::process::Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills an in-place `snapshot migrate` while it writes, fails its syncs,
/// kills it at the rename (RECIPES.md): the image must stay the old one,
/// byte for byte, and a later run must succeed.
#[test]
fn a_killed_or_failing_migrate_leaves_the_old_image() {
    if !strace_works() {
        eprintln!("strace cannot trace here: skipped");
        return;
    }
    let env = Env::new();
    demo(&env);
    let image = env.path("demo/vm.snap");
    let before = std::fs::read(&image).unwrap();
    for inject in [
        "inject=pwrite64:signal=KILL:when=2",
        "inject=fsync,fdatasync:error=EIO:when=1",
        "inject=rename,renameat,renameat2:signal=KILL",
    ] {
        let status = std::process::Command::new("strace")
            .args(["-f", "-o", "/dev/null"])
            .args([
                "-e",
                "trace=pwrite64,fsync,fdatasync,rename,renameat,renameat2",
            ])
            .args(["-e", inject])
            .arg(crate::BIN)
            .args(["migrate", "demo/vm.snap"])
            .current_dir(env.dir.path())
            .status()
            .unwrap();
        assert!(!status.success(), "{inject}");
        assert!(
            std::fs::read(&image).unwrap() == before,
            "{inject}: image changed"
        );
    }
    let out = env.run(&["migrate", "demo/vm.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["verify", "demo/vm.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["get", "demo/vm.snap", "devices.vcpu0.tpr"]);
    assert_eq!(out.stdout_text().trim(), "0", "now on the newest versions");
}

#[test]
fn the_tool_has_the_generic_commands_and_its_own() {
    let env = Env::new();
    let out = env.run(&["--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let help = out.stdout_text();
    assert!(help.contains("Usage: example-vmm"), "{help}");
    for command in ["demo", "info", "verify", "migrate", "schema", "nv"] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command}: {help}"
        );
    }
    let out = env.run(&["info", "missing.img"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("example-vmm: error: "),
        "{}",
        out.stderr
    );
}

/// `migrate --schemas DIR` works from the recorded history alone, as the
/// generic `snapshot` tool does: on changes that are all declared it
/// writes the very bytes the VMM's types write, every way.
#[test]
fn migrate_from_the_history_alone_writes_what_the_types_write() {
    use snapshot_core::NvList;

    let env = Env::new();
    demo(&env);
    // The demo's RTC changes units in code (a migration function): the
    // rest of its devices change only in declared ways.
    let out = env.run(&["extract", "demo/vm.snap", "devices", "-o", "devices.nv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut devices = NvList::unpack(&std::fs::read(env.path("devices.nv")).unwrap()).unwrap();
    assert!(devices.remove("vrtc").is_some());
    env.write("declared.nv", devices.pack());
    std::fs::copy(env.path("demo/vm.snap"), env.path("declared.snap")).unwrap();
    let out = env.run(&["replace", "declared.snap", "devices", "declared.nv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["migrate", "declared.snap", "-o", "latest.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let schemas = schemas().display().to_string();
    let devices_of = |image: &str| {
        let out = env.run(&["extract", image, "devices", "-o", "-"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    let mut compared = 0;
    for source in ["declared.snap", "latest.snap"] {
        for target in [&[][..], &["--to-release", "1.0"], &["--to-release", "1.1"]] {
            let typed = env.run(&[&["migrate", source, "-o", "typed.snap"][..], target].concat());
            assert_eq!(typed.code, 0, "{}", typed.stderr);
            let declared = env.run(
                &[
                    &[
                        "migrate",
                        source,
                        "-o",
                        "declared-out.snap",
                        "--schemas",
                        &schemas,
                    ][..],
                    target,
                ]
                .concat(),
            );
            assert_eq!(declared.code, 0, "{source} {target:?}: {}", declared.stderr);
            let lines = |o: &crate::util::Output| {
                o.stdout_text()
                    .lines()
                    .skip(1)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            assert_eq!(lines(&declared), lines(&typed), "{source} {target:?}");
            assert_eq!(
                devices_of("declared-out.snap"),
                devices_of("typed.snap"),
                "{source} {target:?}"
            );
            compared += lines(&typed).len();
        }
    }
    assert!(compared >= 20, "records were converted: {compared}");
}

/// A step that runs a migration function is refused from the history,
/// naming the record, the type and the step, before anything is written;
/// the VMM's own types do it.
#[test]
fn migrate_from_the_history_refuses_a_step_that_needs_code() {
    let env = Env::new();
    demo(&env);
    let schemas = schemas().display().to_string();
    let out = env.run(&[
        "migrate",
        "demo/vm.snap",
        "-o",
        "out.snap",
        "--schemas",
        &schemas,
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("devices.vrtc: cannot go from v2 to v3: `vrtc` v2 -> v3 runs a migration function, which only the VMM's own tool has"),
        "{}",
        out.stderr
    );
    assert!(!env.path("out.snap").exists());
    assert!(!env.path(".out.snap.migrate").exists());
    let out = env.run(&["migrate", "demo/vm.snap", "-o", "out.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout_text().contains("devices.vrtc: vrtc v2 -> v3"));
}

#[test]
fn set_checks_the_value_against_the_records_schema() {
    let env = Env::new();
    demo(&env);
    let get = |path: &str| env.run(&["get", "demo/vm.snap", path]).stdout_text();
    // `vrtc` v2 stores `addr` as u8: too wide, and negative, are refused,
    // naming the field, its type and the record's schema; nothing changes.
    for value in ["99999999999", "-1", "256"] {
        let out = env.run(&["set", "demo/vm.snap", &format!("devices.vrtc.addr={value}")]);
        assert_eq!(out.code, 1, "{value}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("devices.vrtc.addr: `addr` is a u8 in `vrtc` v2: ")
                && out.stderr.contains("does not fit u8"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(get("devices.vrtc.addr"), "12\n");
    let out = env.run(&["set", "demo/vm.snap", "devices.vrtc.addr=0x71"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert_eq!(get("devices.vrtc.addr"), "113\n");
    // A fixed-size array keeps its length; a field that does not exist
    // is named with the fields that do.
    let out = env.run(&["set", "demo/vm.snap", "devices.vrtc.regs=<0102>"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`regs` is a [u8; 128] in `vrtc` v2: expected 128 items, found 2"),
        "{}",
        out.stderr
    );
    let out = env.run(&["set", "demo/vm.snap", "devices.vrtc.adr=1"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`adr` is not a field of `vrtc` v2 (its fields: addr, "),
        "{}",
        out.stderr
    );
    // Without the check, for repairs.
    let out = env.run(&[
        "set",
        "demo/vm.snap",
        "devices.vrtc.addr=256",
        "--unchecked",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(get("devices.vrtc.addr"), "256\n");
    let out = env.run(&["verify", "demo/vm.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn set_stores_a_field_left_out_for_its_default_and_raises_the_reader() {
    let env = Env::new();
    demo(&env);
    let get = |path: &str| env.run(&["get", "demo/vm.snap", path]);
    // `tsc_deadline` (added in `vlapic` v2) holds its default: not stored,
    // so that a version-1 build can read the record.
    assert_eq!(get("devices.vlapic0.tsc_deadline").code, 1);
    assert_eq!(get(r#"devices.vlapic0.".min_reader""#).stdout_text(), "1\n");
    let out = env.run(&["set", "demo/vm.snap", "devices.vlapic0.tsc_deadline=12345"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(get("devices.vlapic0.tsc_deadline").stdout_text(), "12345\n");
    // Now only a version-2 reader keeps it: the record says so (no
    // `.min_reader`: its own version), and the typed view shows it.
    assert_eq!(get(r#"devices.vlapic0.".min_reader""#).code, 1);
    let out = env.run(&["dump", "--typed", "demo/vm.snap", "devices"]);
    let text = out.stdout_text();
    assert!(text.contains("  tsc_deadline: u64 = 12345"), "{text}");
    assert!(text.contains("# vlapic v2 (8 fields)\n"), "{text}");
    // And the 1.0 release's types refuse the record by version, cleanly,
    // instead of dropping the value.
    let out = env.run(&[
        "migrate",
        "demo/vm.snap",
        "--to-release",
        "1.0",
        "-o",
        "old.snap",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("devices.vlapic0"), "{}", out.stderr);
    assert!(out.stderr.contains("tsc_deadline"), "{}", out.stderr);
}

#[test]
fn set_and_dump_typed_without_schemas_in_the_image() {
    let env = Env::new();
    demo(&env);
    let out = env.run(&["migrate", "demo/vm.snap", "-o", "latest.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // An image without schemas: the value is set, and the tool says it
    // could not check it.
    let out = env.run(&["extract", "latest.snap", "devices", "-o", "devices.nv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["build", "--devices", "devices.nv", "-o", "bare.snap"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = env.run(&["set", "bare.snap", "devices.vrtc.addr=7"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the image has no schema of `vrtc` v3 (in its `schemas` section): the value is not checked"),
        "{}",
        out.stderr
    );

    // The typed view of it comes from the schema files: no copy of the
    // program's older structs is needed.
    let out = env.run(&["dump", "--typed", "bare.snap", "devices"]);
    assert_eq!(out.code, 2, "{}", out.stdout_text());
    assert!(out.stderr.contains("(--schemas DIR)"), "{}", out.stderr);
    let dir = schemas().display().to_string();
    let out = env.run(&["dump", "--typed", "bare.snap", "devices", "--schemas", &dir]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    assert!(text.contains("# vrtc v3 (5 fields)\n"), "{text}");
    assert!(text.contains("  addr: u8 = 7\n"), "{text}");
    // A version no file records is said to be untyped.
    let gone = env.path("partial");
    copy_dir(&schemas(), &gone);
    std::fs::remove_dir_all(gone.join("vrtc")).unwrap();
    let out = env.run(&[
        "dump",
        "--typed",
        "bare.snap",
        "devices",
        "--schemas",
        "partial",
    ]);
    assert!(
        out.stdout_text()
            .contains("# vrtc v3: no recorded schema (neither in the image nor in the schema directory): untyped"),
        "{}",
        out.stdout_text()
    );
}

/// `example-vmm demo | head` ends quietly: output cut short by a closed
/// pipe is not a failure, and nothing panics.
#[test]
fn demo_output_cut_short_by_a_closed_pipe_ends_quietly() {
    let env = Env::new();
    let mut child = std::process::Command::new(crate::BIN)
        .args(["demo", "--simulated", "--dir", "demo", "--memory-mib", "8"])
        .current_dir(env.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
