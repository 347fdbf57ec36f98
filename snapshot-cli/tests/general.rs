use crate::util::Env;

#[test]
fn help_at_every_level() {
    let env = Env::new();
    for args in [
        &["--help"][..],
        &["nv", "--help"],
        &["nv", "dump", "--help"],
        &["nv", "pack", "--help"],
        &["migrate", "--help"],
        &["schema", "--help"],
        &["schema", "diff", "--help"],
        &["schema", "check", "--help"],
        &["schema", "bless", "--help"],
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
fn commands_needing_a_vmms_types_name_its_own_tool() {
    let env = Env::new();
    let history = env.path("schemas");
    std::fs::create_dir(&history).unwrap();
    for args in [&["schema", "check"][..], &["schema", "bless"]] {
        let out = env.run(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("needs a VMM's record types")
                && out.stderr.contains("VMM's own tool"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = env.run(&["demo"]);
    assert_eq!(out.code, 2, "the demo belongs to the example VMM's tool");
}

#[test]
fn schema_diff_refuses_the_newer_file_first() {
    let env = Env::new();
    let old = env.write("v1.schema", "schema d 1\nkind struct\nfield a: u32\n");
    let new = env.write(
        "v2.schema",
        "schema d 2\nkind struct\nfield a: u32\nfield b: u8\n  since 2\n  default Default::default()\n",
    );
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = env.run(&["schema", "diff", new, old]);
    assert_eq!(out.code, 2, "{}", out.stdout_text());
    assert!(
        out.stderr.contains("records v2 and")
            && out.stderr.contains("give the older version first"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    let out = env.run(&["schema", "diff", old, new]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout_text().contains("b: added"),
        "{}",
        out.stdout_text()
    );
}

#[test]
fn schema_diff_exits_1_on_a_change_that_breaks_either_direction() {
    let env = Env::new();
    let old = env.write("v1.schema", "schema d 1\nkind struct\nfield a: u8\n");
    // Widened without saying so: old snapshots read, but values written
    // for the older reader would not fit.
    let new = env.write("v2.schema", "schema d 2\nkind struct\nfield a: u16\n");
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = env.run(&["schema", "diff", old, new]);
    assert_eq!(out.code, 1, "{}", out.stdout_text());
    assert!(
        out.stdout_text()
            .contains("a: retyped u8 -> u16; upgrade compatible, downgrade BREAKING"),
        "{}",
        out.stdout_text()
    );
    assert!(
        out.stdout_text()
            .contains("declare `#[snapshot(widened_from = u8, widened_in = 2)]`"),
        "{}",
        out.stdout_text()
    );
    let declared = env.write(
        "v2d.schema",
        "schema d 2\nkind struct\nfield a: u16\n  widened_from u8 2\n",
    );
    let out = env.run(&["schema", "diff", old, declared.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
}
