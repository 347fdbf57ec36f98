use std::process::Command;

use crate::util::Env;

const PATH: &str = "devices.vhpet.timers[3].compval";

/// Whether strace can trace here (installed, and ptrace allowed).
fn strace_works() -> bool {
    Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

fn strace_set(env: &Env, inject: &str, value: &str) -> i32 {
    Command::new("strace")
        .args(["-f", "-o", "/dev/null", "-e", "trace=pwrite64,fdatasync"])
        .args(["-e", inject])
        .arg(crate::BIN)
        .args(["set", "img", &format!("{PATH}={value}")])
        .current_dir(env.dir.path())
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

/// Kills `snapshot set` at each of its writes, or fails its syncs, from
/// outside the process (RECIPES.md): the image must open after every cut,
/// holding the old or the new value, and the next edit must succeed.
#[test]
fn a_killed_or_failing_set_leaves_a_valid_image() {
    if !strace_works() {
        eprintln!("strace cannot trace here: skipped");
        return;
    }
    let env = Env::new();
    env.sample(&[]);
    let mut value = 3;
    // A set writes the section and the header slot, then syncs once: two
    // pwrite64 calls and one fdatasync. When the sync fails, both writes
    // may or may not be durable: either value may show. A second sync or
    // a third write is never reached: the set completes.
    for (round, (inject, shows)) in [
        ("inject=pwrite64:signal=KILL:when=1", "old"),
        ("inject=pwrite64:signal=KILL:when=2", "old"),
        ("inject=fdatasync:error=EIO:when=1", "either"),
        ("inject=fdatasync:error=EIO:when=2", "new"),
        ("inject=pwrite64:signal=KILL:when=3", "new"),
    ]
    .into_iter()
    .enumerate()
    {
        let new = 100 + round;
        let code = strace_set(&env, inject, &new.to_string());
        assert_eq!(code == 0, shows == "new", "{inject}: exit {code}");
        let got: usize = env.ok(&["get", "img", PATH]).stdout.trim().parse().unwrap();
        match shows {
            "old" => assert_eq!(got, value, "{inject}"),
            "new" => assert_eq!(got, new, "{inject}"),
            _ => assert!(got == value || got == new, "{inject}: {got}"),
        }
        value = got;
        env.ok(&["extract", "img", "memory", "-o", "m"]);
        assert_eq!(env.read("m"), env.read("memory.raw"));
        env.ok(&["set", "img", &format!("{PATH}={}", value + 1)]);
        value += 1;
        env.ok(&["verify", "img"]);
    }
}
