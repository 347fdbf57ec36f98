use super::util::*;
use crate::util::Env;

#[test]
fn build_info_verify_extract() {
    for compress in [&[][..], &["--compress", "zstd"][..]] {
        let env = Env::new();
        env.sample(compress);
        let info = env.ok(&["info", "img"]);
        assert!(
            info.stdout.contains("ident:       snapshot"),
            "{}",
            info.stdout
        );
        assert!(
            info.stdout.contains("4 chunks of 65536 bytes, 2 zero"),
            "{}",
            info.stdout
        );
        let json: serde_json::Value =
            serde_json::from_str(&env.ok(&["info", "img", "--json"]).stdout).unwrap();
        assert_eq!(json["generation"], 1);
        assert_eq!(json["sections"][3]["memory"]["zero_chunks"], 2);
        let verify = env.ok(&["verify", "img"]);
        assert!(verify.stdout.contains("img: sound"), "{}", verify.stdout);
        assert!(verify.stderr.is_empty());
        for (section, input) in [
            ("config", "config.nv"),
            ("devices", "devices.nv"),
            ("kernel", "kernel.nv"),
            ("memory", "memory.raw"),
        ] {
            env.ok(&["extract", "img", section, "-o", "out"]);
            assert_eq!(env.read("out"), env.read(input), "{section}");
            let stdout = env.ok(&["extract", "img", section, "-o", "-"]);
            assert_eq!(stdout.raw_stdout, env.read(input), "{section} to stdout");
        }
    }
}

#[test]
fn dump_prints_text_that_packs_back() {
    let env = Env::new();
    env.sample(&[]);
    let all = env.ok(&["dump", "img"]).stdout;
    assert!(all.contains("# section `devices`: nvlist"));
    assert!(all.contains("\"basic metadata\": nvlist"));
    assert!(all.contains("# section `memory`: memory, 196708 bytes in 4 chunks (2 zero"));
    let devices = env.ok(&["dump", "img", "devices"]).stdout;
    env.write("devices.txt", devices.as_bytes());
    env.ok(&["nv", "pack", "devices.txt", "-o", "again.nv"]);
    assert_eq!(env.read("again.nv"), env.read("devices.nv"));
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["dump", "img", "--json"]).stdout).unwrap();
    assert!(json.get("devices").is_some());
}

#[test]
fn build_from_stdin_and_extra_sections() {
    let env = Env::new();
    env.sample(&["--section", "video=kernel.nv"]);
    let info = env.ok(&["info", "img"]).stdout;
    assert!(info.contains("video"), "{info}");
    let out = std::process::Command::new(crate::BIN)
        .args(["build", "-o", "img2", "--memory", "-"])
        .current_dir(env.dir.path())
        .stdin(std::fs::File::open(env.path("memory.raw")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    env.ok(&["extract", "img2", "memory", "-o", "m"]);
    assert_eq!(env.read("m"), env.read("memory.raw"));
    assert!(!exists(&env.path(".img2.tmp")));
}

#[test]
fn every_image_command_has_help() {
    let env = Env::new();
    for cmd in [
        "build", "info", "verify", "dump", "extract", "get", "set", "replace", "diff",
    ] {
        let r = env.ok(&[cmd, "--help"]);
        assert!(r.stdout.contains("Usage: snapshot"), "{cmd}: {}", r.stdout);
    }
}

/// Zero pages inside a chunk stored whole come out as holes: the
/// extracted memory reads the same and takes the disk of its data only.
#[test]
fn extracted_memory_keeps_zero_pages_as_holes() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    let mut memory = vec![0u8; 4 << 20];
    for chunk in memory.chunks_mut(1 << 20) {
        chunk[..4096].fill(0xa5);
    }
    env.write("m.raw", &memory);
    env.write("d.nv", snapshot_core::NvList::new().with("x", 1u64).pack());
    env.ok(&[
        "build",
        "-o",
        "img",
        "--devices",
        "d.nv",
        "--memory",
        "m.raw",
    ]);
    env.ok(&["extract", "img", "memory", "-o", "out.raw"]);
    assert!(env.read("out.raw") == memory, "the memory reads the same");
    let used = std::fs::metadata(env.path("out.raw")).unwrap().blocks() * 512;
    assert!(
        used <= 4 * 4096 * 4,
        "{used} bytes on disk for 16 KiB of data"
    );
}
