use snapshot_core::{Flags, NvList};

use crate::util::Env;

#[test]
fn get_and_set_in_place() {
    let env = Env::new();
    env.sample(&[]);
    let get = |path: &str| env.ok(&["get", "img", path]).stdout;
    assert_eq!(get("devices.vhpet.timers[3].compval"), "3\n");
    assert_eq!(get(r#"devices."basic metadata".name"#), "\"vm0\"\n");
    assert_eq!(get(r#"devices.vhpet."freq_bt.sec""#), "10\n");
    assert!(get("devices.vhpet").contains("timers: nvlist[]"));
    env.ok(&["set", "img", "devices.vhpet.timers[3].compval=0x40"]);
    assert_eq!(get("devices.vhpet.timers[3].compval"), "64\n");
    env.ok(&["set", "img", "devices.vhpet.timers[3].compval=-1"]);
    assert_eq!(
        get("devices.vhpet.timers[3].compval"),
        "18446744073709551615\n"
    );
    env.ok(&["set", "img", r#"devices."basic metadata".name=vm one"#]);
    assert_eq!(get(r#"devices."basic metadata".name"#), "\"vm one\"\n");
    // Other sections untouched, everything still sound.
    env.ok(&["verify", "img"]);
    env.ok(&["extract", "img", "memory", "-o", "m"]);
    assert_eq!(env.read("m"), env.read("memory.raw"));
    let info = env.ok(&["info", "img", "--json"]).stdout;
    let json: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(json["generation"], 4);
}

#[test]
fn set_refuses_a_type_change_unless_given() {
    let env = Env::new();
    env.sample(&[]);
    let r = env.expect(1, &["set", "img", "devices.vhpet.timers[0].compval=abc"]);
    assert!(
        r.stderr.contains(
            "path `devices.vhpet.timers[0].compval`: not a valid number: `abc` is not a number"
        ),
        "{}",
        r.stderr
    );
    let r = env.expect(1, &["set", "img", "devices.vhpet.nope=1"]);
    assert!(r.stderr.contains("devices.vhpet.nope"), "{}", r.stderr);
    env.ok(&[
        "set",
        "img",
        "devices.vhpet.timers[0].compval=abc",
        "--type",
        "string",
    ]);
    assert_eq!(
        env.ok(&["get", "img", "devices.vhpet.timers[0].compval"])
            .stdout,
        "\"abc\"\n"
    );
    env.expect(2, &["set", "img", "no-equals-sign"]);
    env.expect(2, &["set", "img", "a.b=1", "--type", "integer"]);
}

#[test]
fn replace_and_diff() {
    let env = Env::new();
    env.sample(&[]);
    std::fs::copy(env.path("img"), env.path("before")).unwrap();
    let same = env.ok(&["diff", "img", "before"]);
    assert!(same.stdout.is_empty());
    env.ok(&["replace", "img", "config", "kernel.nv"]);
    env.ok(&["extract", "img", "config", "-o", "c"]);
    assert_eq!(env.read("c"), env.read("kernel.nv"));
    env.ok(&["set", "img", "devices.vhpet.timers[1].compval=7"]);
    let d = env.expect(1, &["diff", "before", "img"]);
    assert!(
        d.stdout
            .contains("~ devices.vhpet.timers[1].compval: 1 -> 7"),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout.contains("- config.memsize: 1048576"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("+ config.vcpus: 2"), "{}", d.stdout);
    let r = env.expect(1, &["replace", "img", "devices", "memory.raw"]);
    assert!(r.stderr.contains("section `devices`"), "{}", r.stderr);
}

#[test]
fn diff_names_memory_chunks() {
    let env = Env::new();
    env.sample(&[]);
    std::fs::copy(env.path("img"), env.path("a")).unwrap();
    let mut memory = env.read("memory.raw");
    memory[65536 * 2 + 5] = 9;
    env.write("memory2.raw", &memory);
    env.ok(&[
        "build",
        "-o",
        "img",
        "--config",
        "config.nv",
        "--devices",
        "devices.nv",
        "--kernel",
        "kernel.nv",
        "--memory",
        "memory2.raw",
        "--chunk-size",
        "65536",
    ]);
    let d = env.expect(1, &["diff", "a", "img"]);
    assert!(
        d.stdout.contains("~ memory: chunks 2 differ (1 of 4)"),
        "{}",
        d.stdout
    );
}

#[test]
fn replace_memory_in_place() {
    let env = Env::new();
    env.sample(&[]);
    let new: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
    env.write("new.raw", &new);
    env.ok(&["replace", "img", "memory", "new.raw", "--compress", "zstd"]);
    env.ok(&["extract", "img", "memory", "-o", "m"]);
    assert_eq!(env.read("m"), new);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "img", "--json"]).stdout).unwrap();
    assert_eq!(json["incompatible_features"][0], "zstd");
    env.ok(&[
        "replace",
        "img",
        "memory",
        "memory.raw",
        "--compress",
        "none",
    ]);
    env.ok(&["extract", "img", "memory", "-o", "m"]);
    assert_eq!(env.read("m"), env.read("memory.raw"));
    env.ok(&["verify", "img"]);
    env.ok(&["extract", "img", "devices", "-o", "d"]);
    assert_eq!(env.read("d"), env.read("devices.nv"));
}

#[test]
fn diff_matches_pairs_of_one_name_by_position() {
    let env = Env::new();
    let list = |second: u64| {
        let mut nv = NvList::with_flags(Flags::NO_UNIQUE);
        nv.push("x", 1u64);
        nv.push("x", second);
        nv.push("y", 3u64);
        nv
    };
    env.write("a.nv", list(2).pack());
    env.write("b.nv", list(5).pack());
    env.ok(&["build", "-o", "a", "--devices", "a.nv"]);
    env.ok(&["build", "-o", "b", "--devices", "b.nv"]);
    let same = env.ok(&["diff", "a", "a"]);
    assert_eq!(same.stdout, "");
    let d = env.expect(1, &["diff", "a", "b"]);
    assert_eq!(d.stdout, "~ devices.x (pair 2 of this name): 2 -> 5\n");
}

/// A zero chunk whose file bytes are not zero reads as zeros through the
/// table and as those bytes through a mapping: diff says so instead of
/// calling either image's memory the same.
#[test]
fn diff_refuses_a_zero_chunk_that_reads_two_ways() {
    let env = Env::new();
    env.sample(&[]);
    let info = env.ok(&["info", "--json", "img"]);
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    let memory = info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "memory")
        .unwrap();
    let at = memory["offset"].as_u64().unwrap() as usize + 65536 + 7;
    let mut bytes = env.read("img");
    bytes[at] = 0x5a;
    env.write("forged", &bytes);
    let d = env.expect(1, &["diff", "img", "forged"]);
    assert!(
        d.stderr.contains("chunk 1") && d.stderr.contains("recorded as zero holds non-zero"),
        "{}",
        d.stderr
    );
}
