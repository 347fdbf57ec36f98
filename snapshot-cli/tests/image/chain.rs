use super::util::*;
use crate::util::Env;

/// 4 MiB of memory, every other page data; `round` rewrites one page in
/// sixteen.
fn memory(round: u8) -> Vec<u8> {
    let mut m = vec![0u8; 4 << 20];
    for (i, page) in m.chunks_mut(4096).enumerate() {
        if i % 2 == 0 {
            page.fill(i as u8 | 1);
        }
        if round > 0 && i % 16 == round as usize {
            page.fill(round.wrapping_mul(7) | 0x80);
        }
    }
    m
}

/// The KVM-style dirty bitmap of the pages that differ.
fn dirty(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut map = vec![0u8; (a.len() / 4096).div_ceil(64) * 8];
    for (i, (x, y)) in a.chunks(4096).zip(b.chunks(4096)).enumerate() {
        if x != y {
            map[i / 8] |= 1 << (i % 8);
        }
    }
    map
}

#[test]
fn children_build_read_flatten_and_rebase() {
    let env = Env::new();
    env.write("m0", memory(0));
    env.ok(&["build", "--memory", "m0", "-o", "base.img"]);
    // A chain of three, by digests and by a dirty bitmap.
    env.write("m1", memory(1));
    env.ok(&[
        "build", "--parent", "base.img", "--memory", "m1", "-o", "c1.img",
    ]);
    env.write("m2", memory(2));
    env.write("d2", dirty(&memory(1), &memory(2)));
    env.ok(&[
        "build", "--parent", "c1.img", "--memory", "m2", "--dirty", "d2", "-o", "c2.img",
    ]);
    let info = env.ok(&["info", "c2.img"]);
    assert!(
        info.stdout.contains("parent:      c1.img"),
        "{}",
        info.stdout
    );
    assert!(
        info.stdout.contains("chain:       c1.img <- base.img"),
        "{}",
        info.stdout
    );
    assert!(info.stdout.contains("partly"), "{}", info.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "c2.img", "--json"]).stdout).unwrap();
    assert_eq!(json["parent"], "c1.img");
    assert_eq!(json["root_holds"], true);
    let verify = env.ok(&["verify", "c2.img"]);
    assert!(verify.stdout.contains("chain of 3"), "{}", verify.stdout);
    env.ok(&["extract", "c2.img", "memory", "-o", "out"]);
    assert_eq!(env.read("out"), memory(2));
    // A device is written to, not replaced by a file.
    env.ok(&["extract", "c2.img", "memory", "-o", "/dev/null"]);
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(null.is_char_device(), "/dev/null was replaced");
    // Flattened: whole, the same root digest.
    env.ok(&["flatten", "c2.img", "-o", "flat.img"]);
    let flat: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "flat.img", "--json"]).stdout).unwrap();
    assert_eq!(flat["parent"], serde_json::Value::Null);
    assert_eq!(flat["root_blake3"], json["root_blake3"]);
    env.ok(&["extract", "flat.img", "memory", "-o", "out"]);
    assert_eq!(env.read("out"), memory(2));
    // Rebased onto the base: the same memory, one parent.
    env.ok(&["rebase", "c2.img", "--onto", "base.img"]);
    let info = env.ok(&["info", "c2.img"]);
    assert!(
        info.stdout.contains("chain:       base.img ("),
        "{}",
        info.stdout
    );
    env.ok(&["extract", "c2.img", "memory", "-o", "out"]);
    assert_eq!(env.read("out"), memory(2));
    env.ok(&["verify", "c2.img"]);
}

#[test]
fn a_missing_or_changed_parent_fails_naming_it() {
    let env = Env::new();
    env.write("m0", memory(0));
    env.ok(&["build", "--memory", "m0", "-o", "base.img"]);
    env.write("m1", memory(1));
    env.ok(&[
        "build",
        "--parent",
        "base.img",
        "--memory",
        "m1",
        "-o",
        "child.img",
    ]);
    std::fs::rename(env.path("base.img"), env.path("moved.img")).unwrap();
    for args in [
        &["verify", "child.img"][..],
        &["extract", "child.img", "memory", "-o", "out"],
        &["flatten", "child.img", "-o", "flat.img"],
        &["info", "child.img"],
    ] {
        let run = env.expect(1, args);
        assert!(
            run.stderr.contains("parent image base.img is missing"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!exists(&env.path("flat.img")));
    // Another memory at the parent's path is refused, naming it.
    env.write("m3", memory(3));
    env.ok(&["build", "--memory", "m3", "-o", "base.img"]);
    let run = env.expect(1, &["extract", "child.img", "memory", "-o", "out"]);
    assert!(
        run.stderr.contains("base.img has changed"),
        "{}",
        run.stderr
    );
    // The moved parent is the same memory: only the path changes.
    let run = env.ok(&["rebase", "child.img", "--onto", "moved.img"]);
    assert!(run.stdout.contains("the same memory"), "{}", run.stdout);
    env.ok(&["extract", "child.img", "memory", "-o", "out"]);
    assert_eq!(env.read("out"), memory(1));
    // Usage: a dirty bitmap without a parent, a parent from stdin.
    env.expect(
        2,
        &["build", "--memory", "m1", "--dirty", "m1", "-o", "x.img"],
    );
    env.expect(
        2,
        &[
            "build",
            "--parent",
            "moved.img",
            "--memory",
            "-",
            "-o",
            "x.img",
        ],
    );
    let run = env.expect(1, &["rebase", "moved.img", "--onto", "base.img"]);
    assert!(run.stderr.contains("not a child image"), "{}", run.stderr);
}
