use crate::util::{vector, Env};

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn dump_then_pack_gives_back_libnv_bytes() {
    let env = Env::new();
    for name in [
        "scalars.nv",
        "arrays.nv",
        "nested.nv",
        "no_unique.nv",
        "empty.nv",
    ] {
        let input = vector("valid", name);
        let out = env.run(&["nv", "dump", s(&input)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.is_empty());
        let text = env.write("dump.txt", &out.stdout);
        let packed = env.path("out.nv");
        let out = env.run(&["nv", "pack", s(&text), "-o", s(&packed)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.is_empty());
        assert_eq!(
            std::fs::read(&packed).unwrap(),
            std::fs::read(&input).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn stdin_and_stdout_with_dash() {
    let env = Env::new();
    let bytes = std::fs::read(vector("valid", "seed_example.nv")).unwrap();
    let out = env.run_with_stdin(&["nv", "dump", "-"], &bytes);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout_text(), "a: number = 1\ns: string = \"hi\"\n");
    let out = env.run_with_stdin(&["nv", "pack", "-", "-o", "-"], &out.stdout);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, bytes);
}

#[test]
fn json_is_valid_and_typed() {
    let env = Env::new();
    let out = env.run(&["nv", "dump", "--json", s(&vector("valid", "arrays.nv"))]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["pairs"][1]["name"], "numbers");
    assert_eq!(json["pairs"][1]["type"], "number_array");
    assert_eq!(json["pairs"][1]["value"][4], u64::MAX);
}

#[test]
fn invalid_binary_input_exits_1_naming_file_offset_and_rule() {
    let env = Env::new();
    let cases = [
        ("bad_magic.nv", "byte 0: bad magic 0x6d"),
        ("datasize_huge.nv", "byte 22"),
        ("duplicate_name.nv", "pair `a`: duplicate name"),
        ("string_no_nul.nv", "string is not terminated"),
        ("trailing_byte.nv", "byte 11: header size"),
        ("truncated_mid_pair.nv", "byte 11"),
    ];
    for (name, needle) in cases {
        let out = env.run(&["nv", "dump", s(&vector("invalid", name))]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{name}");
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{name}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

#[test]
fn invalid_text_exits_1_naming_line_and_column() {
    let env = Env::new();
    let text = env.write("bad.txt", "a: number = 1\nb: nubmer = 2\n");
    let out_path = env.path("out.nv");
    let out = env.run(&["nv", "pack", s(&text), "-o", s(&out_path)]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("bad.txt: line 2:4: expected a type"),
        "{}",
        out.stderr
    );
    assert!(
        !out_path.exists(),
        "a failed pack must not write its output"
    );

    let latin1 = env.write("latin1.txt", b"a: number = 1\nb: string = \"caf\xe9\"\n");
    let out = env.run(&["nv", "pack", s(&latin1), "-o", s(&out_path)]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("line 2: the text form must be UTF-8"),
        "{}",
        out.stderr
    );
}

#[test]
fn unreadable_input_is_a_usage_error() {
    let env = Env::new();
    let out = env.run(&["nv", "dump", "missing.nv"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot read missing.nv"),
        "{}",
        out.stderr
    );
    let text = env.write("ok.txt", "a: null\n");
    let out = env.run(&["nv", "pack", s(&text), "-o", "no/such/dir/out.nv"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}
