use crate::util::Env;

#[test]
fn help_at_every_level() {
    let env = Env::new();
    for args in [
        &["--help"][..],
        &["nv", "--help"],
        &["nv", "dump", "--help"],
        &["nv", "pack", "--help"],
        &["demo", "--help"],
    ] {
        let out = env.run(args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(out.stdout_text().contains("Usage: snapshot"), "{args:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    for args in [
        &[][..],
        &["nv"],
        &["nv", "dump"],
        &["nv", "pack", "x.txt"],
        &["nv", "dump", "--frobnicate", "x"],
        &["no-such-command"],
    ] {
        let out = env.run(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn demo_runs_and_leaves_its_files() {
    let env = Env::new();
    let out = env.run(&["demo", "--dir", "tour"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    assert!(text.contains("gives libnv's 431 bytes exactly"), "{text}");
    assert!(text.contains("bad magic 0x6d"), "{text}");
    for name in ["nested.nv", "nested.txt", "arrays.nv", "bad_magic.nv"] {
        assert!(env.path("tour").join(name).exists(), "{name}");
    }
    let out = env.run(&["nv", "pack", "tour/nested.txt", "-o", "tour/again.nv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read(env.path("tour/again.nv")).unwrap(),
        std::fs::read(env.path("tour/nested.nv")).unwrap()
    );
}
