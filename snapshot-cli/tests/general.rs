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
        &["migrate", "--help"],
        &["schema", "--help"],
        &["schema", "diff", "--help"],
        &["schema", "check", "--help"],
        &["schema", "record", "--help"],
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
