use super::util::*;
use crate::util::Env;

fn section_offset(env: &Env, name: &str) -> u64 {
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "img", "--json"]).stdout).unwrap();
    json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()["offset"]
        .as_u64()
        .unwrap()
}

#[test]
fn verify_names_every_damaged_section_and_chunk() {
    let env = Env::new();
    env.sample(&[]);
    let devices = section_offset(&env, "devices");
    let memory = section_offset(&env, "memory");
    let mut img = env.read("img");
    img[devices as usize + 20] ^= 1;
    img[memory as usize + 10] ^= 1;
    img[memory as usize + 65536 + 7] = 1;
    env.write("img", &img);
    let r = env.expect(1, &["verify", "img"]);
    assert!(r.stdout.is_empty());
    for needle in [
        format!("img: section `devices` (byte {devices}): checksum mismatch"),
        format!("img: section `memory`, chunk 0 (byte {memory}): checksum mismatch"),
        format!(
            "img: section `memory`, chunk 1 (byte {}): chunk recorded as zero",
            memory + 65536
        ),
        "3 damaged part(s)".to_string(),
    ] {
        assert!(r.stderr.contains(&needle), "{needle}\n{}", r.stderr);
    }
    let r = env.expect(1, &["get", "img", "devices.vhpet"]);
    assert!(r.stderr.contains("checksum mismatch"), "{}", r.stderr);
    let r = env.expect(1, &["extract", "img", "memory", "-o", "m"]);
    assert!(r.stderr.contains("chunk 0"), "{}", r.stderr);
    assert!(!exists(&env.path("m")) && !exists(&env.path(".m.tmp")));
}

#[test]
fn truncated_and_foreign_images_are_refused() {
    let env = Env::new();
    env.sample(&["--ident", "bhyve"]);
    let r = env.expect(1, &["info", "img"]);
    assert!(
        r.stderr.contains("IDENT `bhyve` is not `snapshot`"),
        "{}",
        r.stderr
    );
    env.ok(&["info", "img", "--force-ident"]);
    env.ok(&["verify", "img", "--ident", "bhyve"]);
    let img = env.read("img");
    env.write("img", &img[..img.len() - 1]);
    let r = env.expect(1, &["info", "img", "--force-ident"]);
    assert!(r.stderr.contains("reaches past the end"), "{}", r.stderr);
    env.write("img", &img[..5000]);
    let r = env.expect(1, &["verify", "img", "--force-ident"]);
    assert!(
        r.stderr.contains("shorter than the 8192-byte header area"),
        "{}",
        r.stderr
    );
    env.write("img", b"");
    env.expect(1, &["dump", "img"]);
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    env.expect(2, &["info"]);
    env.expect(2, &["info", "missing-file"]);
    env.expect(2, &["verify", "img", "--bogus"]);
    env.expect(2, &["build", "-o", "-"]);
    env.expect(2, &["build", "-o", "x", "--devices", "missing.nv"]);
    env.sample(&[]);
    let r = env.expect(1, &["get", "img", "devices.vhpet.timers[9]"]);
    assert!(r.stderr.contains("index out of range"), "{}", r.stderr);
    let r = env.expect(1, &["get", "img", "nosection.x"]);
    assert!(r.stderr.contains("section `nosection`"), "{}", r.stderr);
    let r = env.expect(1, &["build", "-o", "x", "--devices", "memory.raw"]);
    assert!(r.stderr.contains("section `devices`"), "{}", r.stderr);
}

#[test]
fn info_shows_the_header_when_a_chunk_table_is_damaged() {
    let env = Env::new();
    env.sample(&[]);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "img", "--json"]).stdout).unwrap();
    let table = json["sections"][3]["table_offset"].as_u64().unwrap() as usize;
    let mut img = env.read("img");
    img[table + 8] ^= 1;
    env.write("img", &img);
    let r = env.expect(1, &["info", "img"]);
    assert!(r.stdout.contains("devices"), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "section `memory`, chunk table (byte {table}): checksum mismatch"
        )),
        "{}",
        r.stderr
    );
}

/// Damage to the header slot not in force alone is reported (it cannot
/// be told from an edit cut by a crash), with what it means for the image.
#[test]
fn verify_explains_a_damaged_spare_header_slot() {
    let env = Env::new();
    env.sample(&[]);
    // An edit puts generation 2 in slot 1; slot 0 keeps generation 1.
    env.ok(&["set", "img", "devices.vhpet.timers[1].compval=5"]);
    let mut img = env.read("img");
    img[100] ^= 0xff;
    env.write("img", &img);
    let r = env.expect(1, &["verify", "img"]);
    for needle in [
        "img: header slot 0",
        "1 damaged part(s) found",
        "the image reads whole from header slot 1",
        "the next edit rewrites it",
    ] {
        assert!(r.stderr.contains(needle), "{needle}\n{}", r.stderr);
    }
    assert_eq!(
        env.ok(&["get", "img", "devices.vhpet.timers[1].compval"])
            .stdout,
        "5\n"
    );
    // The next edit rewrites the slot, and the image verifies again.
    env.ok(&["set", "img", "devices.vhpet.timers[1].compval=6"]);
    env.ok(&["verify", "img"]);
}
