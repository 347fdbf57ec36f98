//! Images made on purpose, every checksum valid, whose contents attack the
//! tools: names that forge output, nesting at the decoder's limit,
//! representations that amplify, claims larger than the file. Every
//! command runs on each under an address-space and CPU limit, and the test
//! measures its peak memory and time against limits far above a normal
//! run's, so it catches a command that builds what it should stream or
//! works in quadratic time, without being a benchmark.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapshot_core::image::Builder;
use snapshot_core::NvList;

use crate::util::Env;

/// The address space a command may use: a command that materialises what
/// a length field claims hits it and fails instead of passing.
const ADDRESS_SPACE: u64 = 2 << 30;
/// Peak resident memory above which a command fails the test.
const PEAK_LIMIT_KIB: i64 = 256 << 10;
/// CPU seconds a command may use before the kernel stops it.
const CPU_SECONDS: u64 = 20;

/// What one limited run did.
#[derive(Debug)]
struct Measured {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    peak_kib: i64,
    took: Duration,
}

/// Runs the tool on `args` in `dir` with the limits, and measures it.
fn run(dir: &Path, args: &[&str]) -> Measured {
    let out_path = dir.join(".stdout");
    let err_path = dir.join(".stderr");
    let mut command = Command::new(crate::BIN);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    // SAFETY: setrlimit is async-signal-safe and touches no memory of
    // the parent; it runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = |resource, value| {
                let lim = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                match libc::setrlimit(resource, &lim) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            };
            limit(libc::RLIMIT_AS, ADDRESS_SPACE)?;
            limit(libc::RLIMIT_CPU, CPU_SECONDS)
        });
    }
    let start = Instant::now();
    // Waited for by wait4 below, which std's `wait` cannot replace: it
    // alone reports the child's peak memory.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's, not yet waited for; both pointers
    // are to live locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let took = start.elapsed();
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        peak_kib: usage.ru_maxrss,
        took,
    }
}

/// A hostile image: its name, and how to build it in a directory.
struct Case {
    name: &'static str,
    /// A path `get` and `set` work on.
    path: &'static str,
    build: fn(&Path) -> PathBuf,
}

/// Builds an image at `dir/name` with `sections` of packed nvlists.
fn image(dir: &Path, name: &str, producer: &str, sections: &[(&str, NvList)]) -> PathBuf {
    let path = dir.join(name);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let mut b = Builder::new(file, "snapshot", Some(producer.to_owned())).unwrap();
    for (name, list) in sections {
        b.add_nvlist(name, list).unwrap();
    }
    b.finish().unwrap();
    path
}

/// Names with line breaks, terminal escapes and a bidirectional override.
const FORGED: &str = "devices\nsnapshot: all good\x1b]0;owned\x07\x1b[2J\u{202e}";

fn forged_names(dir: &Path) -> PathBuf {
    let nested = NvList::new().with(FORGED, 1u64).with("ok", FORGED);
    image(
        dir,
        "forged.img",
        "vmm\nmemory   memory 0 0 none 00000000\x1b[31m",
        &[
            ("devices", NvList::new().with("x", nested)),
            (FORGED, NvList::new().with("a", 1u64)),
        ],
    )
}

const CASES: &[Case] = &[Case {
    name: "forged names",
    path: "devices.x.ok",
    build: forged_names,
}];

/// Every command a user runs on an image someone else made.
fn commands<'a>(image: &'a str, path: &'a str) -> Vec<Vec<&'a str>> {
    vec![
        vec!["info", image],
        vec!["info", "--json", image],
        vec!["verify", image],
        vec!["dump", image],
        vec!["dump", "--json", image],
        vec!["get", image, path],
        vec!["diff", image, image],
    ]
}

/// What a terminal would be made to do by the output: a raw escape, a
/// bidirectional override, or a line a name forged.
fn injected(text: &str) -> Option<&'static str> {
    if text.contains('\x1b') || text.contains('\x07') {
        return Some("a raw escape sequence");
    }
    if text.contains('\u{202e}') {
        return Some("a raw bidirectional override");
    }
    if text
        .lines()
        .any(|l| l.starts_with("snapshot: all good") || l.starts_with("memory   memory"))
    {
        return Some("a line forged by a name");
    }
    None
}

#[test]
fn every_command_survives_every_hostile_image() {
    let env = Env::new();
    let mut report = Vec::new();
    for case in CASES {
        let image = (case.build)(env.dir.path());
        let image = image.to_str().unwrap();
        for args in commands(image, case.path) {
            let m = run(env.dir.path(), &args);
            let what = format!("{}: {}", case.name, args.join(" "));
            let text = String::from_utf8_lossy(&m.stdout);
            assert!(m.code.is_some_and(|c| c <= 2), "{what}: {m:?}");
            assert!(!m.stderr.contains("panicked"), "{what}: {}", m.stderr);
            let json = args.contains(&"--json");
            if let Some(how) = injected(&m.stderr).or(if json { None } else { injected(&text) }) {
                panic!("{what}: {how} reached the output:\n{text}\n{}", m.stderr);
            }
            assert!(
                m.peak_kib < PEAK_LIMIT_KIB,
                "{what}: peak {} KiB",
                m.peak_kib
            );
            report.push(format!(
                "{what}: exit {:?}, peak {} KiB, {} ms",
                m.code,
                m.peak_kib,
                m.took.as_millis()
            ));
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn json_output_keeps_names_exact() {
    let env = Env::new();
    let image = forged_names(env.dir.path());
    let m = run(env.dir.path(), &["dump", "--json", image.to_str().unwrap()]);
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    let json: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
    let pair = |list: &serde_json::Value, i: usize| list["pairs"][i].clone();
    assert_eq!(pair(&json[FORGED], 0)["value"], 1);
    let x = pair(&json["devices"], 0)["value"].clone();
    assert_eq!(pair(&x, 0)["name"], FORGED);
    assert_eq!(pair(&x, 1)["value"], FORGED);
}
