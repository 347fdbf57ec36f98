//! The generic `snapshot migrate`: records upgraded and downgraded from
//! the schema history alone, with no Rust type of the VMM.

use snapshot_core::image::{Builder, MemoryOptions};
use snapshot_core::NvList;

use crate::util::Env;

const V1: &str = "schema dev 1\nkind struct\nfield a: u32\nfield b: u16\n";
const V2: &str = "schema dev 2\nkind struct\nfield a: u32\nfield c: u32\n  renamed_from b 2\n  \
                  widened_from u16 2\nfield d: u8\n  since 2\n  default Default::default()\n  \
                  default_value number = 0\n";
const RELEASES: &str = "release 1.0.0\n  dev 1\nrelease 2.0.0\n  dev 2\n";

/// `schemas/` with two versions of `dev` and two releases, and `v1.img`
/// holding a `dev` v1 record.
fn setup(env: &Env) {
    std::fs::create_dir_all(env.path("schemas/dev")).unwrap();
    env.write("schemas/dev/v1.schema", V1);
    env.write("schemas/dev/v2.schema", V2);
    env.write("schemas/releases", RELEASES);
    let record = NvList::new()
        .with(".schema", "dev")
        .with(".version", 1u64)
        .with("a", 7u64)
        .with("b", 9u64);
    image(env, "v1.img", record);
}

/// An image `name` whose devices are `record` as `dev0`.
fn image(env: &Env, name: &str, record: NvList) {
    let file = std::fs::File::create(env.path(name)).unwrap();
    let mut b = Builder::new(file, "snapshot", None).unwrap();
    b.add_nvlist("devices", &NvList::new().with("dev0", record))
        .unwrap();
    b.add_memory_slice("memory", &vec![1u8; 1 << 20], MemoryOptions::default())
        .unwrap();
    b.finish().unwrap();
}

fn get(env: &Env, image: &str, path: &str) -> String {
    let out = env.run(&["get", image, path]);
    assert_eq!(out.code, 0, "{path}: {}", out.stderr);
    out.stdout_text().trim().to_owned()
}

#[test]
fn declared_changes_go_up_and_down_without_the_vmms_code() {
    let env = Env::new();
    setup(&env);
    let out = env.run(&["migrate", "v1.img", "-o", "v2.img"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout_text(),
        "v2.img: 1 record rewritten for the newest versions (1 types)\n  devices.dev0: dev v1 -> v2\n"
    );
    assert_eq!(get(&env, "v2.img", "devices.dev0.c"), "9", "renamed");
    assert_eq!(get(&env, "v2.img", "devices.dev0.\".version\""), "2");
    for absent in ["b", "d", "\".min_reader\""] {
        let out = env.run(&["get", "v2.img", &format!("devices.dev0.{absent}")]);
        assert_eq!(out.code, 1, "{absent} is not stored");
    }
    // The image carries the schemas it holds now, so it reads typed.
    let out = env.run(&["dump", "--typed", "v2.img", "devices"]);
    assert!(
        out.stdout_text().contains("# dev v2"),
        "{}",
        out.stdout_text()
    );
    assert!(
        out.stdout_text().contains("c: u32 = 9"),
        "{}",
        out.stdout_text()
    );

    // Back for release 1: renamed back, the added field (at its
    // default) dropped.
    let out = env.run(&["migrate", "v2.img", "--to-release", "1", "-o", "back.img"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(get(&env, "back.img", "devices.dev0.b"), "9");
    let out = env.run(&["extract", "back.img", "devices", "-o", "-"]);
    let original = env.run(&["extract", "v1.img", "devices", "-o", "-"]);
    assert_eq!(out.stdout, original.stdout, "the same record bytes again");
}

#[test]
fn a_downgrade_that_would_lose_state_is_refused_naming_the_value() {
    let env = Env::new();
    setup(&env);
    assert_eq!(env.run(&["migrate", "v1.img", "-o", "v2.img"]).code, 0);
    std::fs::copy(env.path("v2.img"), env.path("wide.img")).unwrap();
    assert_eq!(
        env.run(&["set", "wide.img", "devices.dev0.c=70000"]).code,
        0
    );
    let out = env.run(&["migrate", "wide.img", "--to-release", "1.0", "-o", "x.img"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "devices.dev0: cannot go from v2 to v1: b: `dev` v2 -> v1: 70000 does not fit u16, \
             its type before v2"
        ),
        "{}",
        out.stderr
    );
    let record = NvList::new()
        .with(".schema", "dev")
        .with(".version", 2u64)
        .with("a", 7u64)
        .with("c", 9u64)
        .with("d", 3u64);
    image(&env, "added.img", record);
    let out = env.run(&["migrate", "added.img", "--to-release", "1.0", "-o", "x.img"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("d: `dev` v2 -> v1: added in v2 and holds a non-default value"),
        "{}",
        out.stderr
    );
    assert!(!env.path("x.img").exists(), "nothing written");
}

#[test]
fn a_step_that_needs_a_migration_function_is_refused_before_writing() {
    let env = Env::new();
    setup(&env);
    env.write(
        "schemas/dev/v3.schema",
        format!(
            "{}migration 2 up down\n",
            V2.replace("schema dev 2", "schema dev 3")
        ),
    );
    let out = env.run(&["migrate", "v1.img"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "devices.dev0: cannot go from v1 to v3: `dev` v2 -> v3 runs a migration function, \
             which only the VMM's own tool has"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        get(&env, "v1.img", "devices.dev0.\".version\""),
        "1",
        "left as it was"
    );
    assert!(!env.path(".v1.img.migrate").exists());
}

#[test]
fn release_names_come_from_the_history() {
    let env = Env::new();
    setup(&env);
    let out = env.run(&["migrate", "v1.img", "--to-release", "3", "-o", "x.img"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no release matches `3` (known: 1.0.0, 2.0.0)"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(env.path("schemas/releases")).unwrap();
    let out = env.run(&["migrate", "v1.img", "--to-release", "2", "-o", "x.img"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`releases` file"), "{}", out.stderr);
    let out = env.run(&["migrate", "v1.img", "--schemas", "nowhere", "-o", "x.img"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no schema history at nowhere"),
        "{}",
        out.stderr
    );
}

/// Every one of several records of one name (a NO_UNIQUE list) is
/// rewritten, each reported by its position.
#[test]
fn records_of_one_name_are_each_rewritten() {
    let env = Env::new();
    setup(&env);
    let record = |a: u64| {
        NvList::new()
            .with(".schema", "dev")
            .with(".version", 1u64)
            .with("a", a)
            .with("b", 9u64)
    };
    let mut devices = NvList::with_flags(snapshot_core::Flags::NO_UNIQUE);
    devices.push("dev0", record(1));
    devices.push("dev0", record(2));
    let file = std::fs::File::create(env.path("twice.img")).unwrap();
    let mut b = Builder::new(file, "snapshot", None).unwrap();
    b.add_nvlist("devices", &devices).unwrap();
    b.finish().unwrap();
    let out = env.run(&["migrate", "twice.img", "-o", "v2.img"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout_text(),
        "v2.img: 2 records rewritten for the newest versions (1 types)\n  devices.dev0: dev v1 -> \
         v2\n  devices.dev0 (pair 2 of this name): dev v1 -> v2\n"
    );
    let dump = env.run(&["dump", "v2.img", "devices"]).stdout_text();
    assert_eq!(dump.matches(".version: number = 2").count(), 2, "{dump}");
}

/// A rewrite keeps what the header said besides the records, as the edits
/// in place do: the format version, the creation time, keys this version
/// does not know in the header and in the section entries.
#[test]
fn migrate_keeps_the_header_it_does_not_rewrite() {
    let env = Env::new();
    setup(&env);
    let info = |image: &str| {
        let out = env.run(&["info", "--json", image]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    // A header written by a newer minor version: 1.1, with a key 1.0 does
    // not know, created at a fixed time.
    let mut bytes = std::fs::read(env.path("v1.img")).unwrap();
    let size = u64::from_le_bytes(bytes[64..72].try_into().unwrap()) as usize;
    let mut nv = NvList::unpack(&bytes[72..72 + size]).unwrap();
    nv.insert("version", "1.1");
    nv.insert("created", 1_000_000u64);
    nv.insert("signature", "abc");
    let sections = nv.get_nvlist_array_mut("sections").unwrap();
    let devices = sections
        .iter_mut()
        .find(|s| s.get_string("name").unwrap() == "devices")
        .unwrap();
    devices.insert("origin", "host-a");
    let packed = nv.pack();
    bytes[64..72].copy_from_slice(&(packed.len() as u64).to_le_bytes());
    bytes[72..4084].fill(0);
    bytes[72..72 + packed.len()].copy_from_slice(&packed);
    let crc = snapshot_core::image::crc32c(&bytes[..4092]);
    bytes[4092..4096].copy_from_slice(&crc.to_le_bytes());
    env.write("v1.img", &bytes);
    let out = env.run(&["migrate", "v1.img", "-o", "v2.img"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = info("v2.img");
    assert_eq!(after["format_version"], "1.1");
    assert_eq!(after["created"], 1_000_000);
    let bytes = std::fs::read(env.path("v2.img")).unwrap();
    let size = u64::from_le_bytes(bytes[64..72].try_into().unwrap()) as usize;
    let nv = NvList::unpack(&bytes[72..72 + size]).unwrap();
    assert_eq!(nv.get_string("signature").unwrap(), "abc");
    let devices = nv
        .get_nvlist_array("sections")
        .unwrap()
        .iter()
        .find(|s| s.get_string("name").unwrap() == "devices")
        .unwrap();
    assert_eq!(devices.get_string("origin").unwrap(), "host-a");
}
