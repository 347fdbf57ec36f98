//! Images made on purpose, every checksum valid, whose contents attack the
//! tools: names that forge output, nesting at the decoder's limit,
//! representations that amplify, claims larger than the file. Every
//! command runs on each under an address-space and CPU limit, and the test
//! measures its peak memory and time against limits far above a normal
//! run's, so it catches a command that builds what it should stream or
//! works in quadratic time, without being a benchmark.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapshot_core::image::{crc32c, Builder, MemoryOptions};
use snapshot_core::nvlist::DecodeOptions;
use snapshot_core::{Flags, NvList};

use crate::util::Env;

/// The address space a command may use: a command that materialises what
/// a length field claims hits it and fails instead of passing.
const ADDRESS_SPACE: u64 = 2 << 30;
/// Peak resident memory above which a command fails the test.
const PEAK_LIMIT_KIB: u64 = 256 << 10;
/// CPU seconds a command may use before the kernel stops it.
const CPU_SECONDS: u64 = 20;

/// What one limited run did.
#[derive(Debug)]
struct Measured {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    peak_kib: u64,
    took: Duration,
}

/// Runs the tool on `args` in `dir` with the limits, and measures it.
/// The limits are set by a shell that then becomes the tool (`exec`).
/// Peak memory is the kernel's high-water mark of the tool's own address
/// space (`VmHWM`, fresh at exec), sampled until it exits: the rusage of
/// a child started from this process would count this process's memory,
/// which it shares until it execs.
fn run(dir: &Path, args: &[&str]) -> Measured {
    let out_path = dir.join(".stdout");
    let err_path = dir.join(".stderr");
    let limits = format!(
        "ulimit -v {} && ulimit -t {CPU_SECONDS} && exec \"$0\" \"$@\"",
        ADDRESS_SPACE >> 10
    );
    let start = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(limits)
        .arg(crate::BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak_kib = peak_kib.max(hwm.unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    };
    Measured {
        code: status.code(),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        peak_kib,
        took: start.elapsed(),
    }
}

/// A hostile image: its name, how to build it in a directory, and a
/// value path `get` and `set` work on.
struct Case {
    name: &'static str,
    path: &'static str,
    build: fn(&Path) -> PathBuf,
}

/// Opens `path` for writing from scratch.
fn create(path: &Path) -> File {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

/// Builds an image at `dir/name` with nvlist `sections`.
fn image(dir: &Path, name: &str, producer: &str, sections: &[(&str, NvList)]) -> PathBuf {
    let path = dir.join(name);
    let mut b = Builder::new(create(&path), "snapshot", Some(producer.to_owned())).unwrap();
    for (name, list) in sections {
        b.add_nvlist(name, list).unwrap();
    }
    b.finish().unwrap();
    path
}

/// Rewrites slot 0's header nvlist of the image at `path` with `edit` and
/// seals it with a valid checksum, as a hostile producer would.
fn forge(path: &Path, edit: impl FnOnce(&mut NvList)) {
    let mut bytes = vec![0u8; 4096];
    let file = File::options().read(true).write(true).open(path).unwrap();
    file.read_exact_at(&mut bytes, 0).unwrap();
    let size = u64::from_le_bytes(bytes[64..72].try_into().unwrap()) as usize;
    let mut nv = NvList::unpack(&bytes[72..72 + size]).unwrap();
    edit(&mut nv);
    let packed = nv.pack();
    bytes[64..72].copy_from_slice(&(packed.len() as u64).to_le_bytes());
    bytes[72..4084].fill(0);
    bytes[72..72 + packed.len()].copy_from_slice(&packed);
    let crc = crc32c(&bytes[..4092]);
    bytes[4092..].copy_from_slice(&crc.to_le_bytes());
    file.write_all_at(&bytes, 0).unwrap();
}

/// The index entry of section `name`, to edit.
fn entry<'a>(nv: &'a mut NvList, name: &str) -> &'a mut NvList {
    nv.get_nvlist_array_mut("sections")
        .unwrap()
        .iter_mut()
        .find(|s| s.get_string("name").unwrap() == name)
        .unwrap()
}

/// A record of schema `name` v`version`.
fn record(name: &str, version: u64) -> NvList {
    NvList::new()
        .with(".schema", name)
        .with(".version", version)
}

/// Names with line breaks, terminal escapes and a bidirectional override.
const FORGED: &str = "devices\nsnapshot: all good\x1b]0;owned\x07\x1b[2J\u{202e}";

fn forged_names(dir: &Path) -> PathBuf {
    let nested = NvList::new().with(FORGED, 1u64).with("ok", FORGED);
    // A record whose type name forges lines: messages of set and migrate
    // name it.
    let record = record(FORGED, 1).with("f", 1u64);
    image(
        dir,
        "forged.img",
        "vmm\nmemory   memory 0 0 none 00000000\x1b[31m",
        &[
            ("devices", NvList::new().with("x", nested).with("r", record)),
            (FORGED, NvList::new().with("a", 1u64)),
        ],
    )
}

/// Lists nested as deep as the decoder accepts.
fn deepest(dir: &Path) -> PathBuf {
    let mut deep = NvList::new().with("x", 1u64);
    for _ in 1..DecodeOptions::default().max_depth {
        deep = NvList::new().with("d", deep);
    }
    image(
        dir,
        "deep.img",
        "vmm",
        &[("devices", NvList::new().with("d", deep))],
    )
}

/// Fields in the schema history, records in the image.
const WIDE: usize = 100_000;

/// 100,000 records, and one record of 100,000 fields with its schema: what
/// a quadratic diff, migrate or typed dump takes minutes on. `schemas/`
/// beside it holds two versions of the small type, so migrate has work.
fn many_pairs(dir: &Path) -> PathBuf {
    let mut devices = NvList::new();
    for i in 0..WIDE as u64 {
        // Unique names: `push` would compare each with all before it.
        devices.push_unchecked(
            format!("r{i}").into(),
            record("small", 1).with("a", i).into(),
        );
    }
    let mut wide = record("wide", 1);
    let mut schema = String::from("schema wide 1\nkind struct\n");
    for i in 0..WIDE {
        wide.push_unchecked(format!("f{i}").into(), (i as u64).into());
        schema.push_str(&format!("field f{i}: u64\n"));
    }
    devices.push("wide", wide);
    let schemas = NvList::new().with("wide", NvList::new().with("v1", schema.as_str()));
    std::fs::create_dir_all(dir.join("schemas/small")).unwrap();
    std::fs::write(
        dir.join("schemas/small/v1.schema"),
        "schema small 1\nkind struct\nfield a: u64\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("schemas/small/v2.schema"),
        "schema small 2\nkind struct\nfield a: u64\nfield b: u8\n  since 2\n  default \
         Default::default()\n  default_value number = 0\n",
    )
    .unwrap();
    std::fs::write(dir.join("schemas/releases"), "release 1.0.0\n  small 1\n").unwrap();
    image(
        dir,
        "wide.img",
        "vmm",
        &[("devices", devices), ("schemas", schemas)],
    )
}

/// A string array of 2,000,000 empty strings: a byte each on disk, 24 in
/// memory. No builder writes it (the reader refuses it), so it is stored
/// as a raw section and relabelled.
fn empty_strings(dir: &Path) -> PathBuf {
    let strings = vec![snapshot_core::NvString::from(""); 2_000_000];
    let packed = NvList::new().with("s", strings).pack();
    let path = dir.join("strings.img");
    let mut b = Builder::new(create(&path), "snapshot", None).unwrap();
    b.add_raw("devices", &packed).unwrap();
    b.finish().unwrap();
    forge(&path, |nv| {
        entry(nv, "devices").insert("type", "nvlist");
    });
    path
}

/// Records of one name, in a NO_UNIQUE list.
fn duplicates(dir: &Path) -> PathBuf {
    let mut devices = NvList::with_flags(Flags::NO_UNIQUE);
    devices.push("dev", record("small", 1).with("a", 1u64));
    devices.push("dev", record("small", 1).with("a", 2u64));
    image(dir, "twice.img", "vmm", &[("devices", devices)])
}

/// A 36 KiB file whose index claims 1 TiB of memory, every chunk a hole.
fn sparse_claim(dir: &Path) -> PathBuf {
    const TIB: u64 = 1 << 40;
    let path = dir.join("sparse.img");
    let mut b = Builder::new(create(&path), "snapshot", None).unwrap();
    b.add_nvlist("devices", &NvList::new().with("x", 1u64))
        .unwrap();
    b.add_memory_slice("memory", &[0u8; 4096], MemoryOptions::default())
        .unwrap();
    b.finish().unwrap();
    let table_len = (TIB >> 20) * 16;
    let table_crc = crc32c(&vec![0u8; table_len as usize]);
    let mut offset = 0;
    forge(&path, |nv| {
        let m = entry(nv, "memory");
        offset = m.get_number("offset").unwrap();
        m.insert("size", TIB);
        m.insert("table_offset", offset + TIB);
        m.insert("crc32c", u64::from(table_crc));
    });
    let file = File::options().write(true).open(&path).unwrap();
    file.set_len(offset + TIB + table_len).unwrap();
    path
}

/// One zero chunk of 1 GiB whose last byte is stored (as a zero): not a
/// hole, so checking it reads it.
fn big_zero_chunk(dir: &Path) -> PathBuf {
    const GIB: u64 = 1 << 30;
    let path = dir.join("bigzero.img");
    let options = MemoryOptions {
        chunk_size: GIB,
        ..MemoryOptions::default()
    };
    let mut b = Builder::new(create(&path), "snapshot", None).unwrap();
    b.add_nvlist("devices", &NvList::new().with("x", 1u64))
        .unwrap();
    b.add_memory_slice("memory", &[0u8; 4096], options).unwrap();
    b.finish().unwrap();
    let mut offset = 0;
    forge(&path, |nv| {
        let m = entry(nv, "memory");
        offset = m.get_number("offset").unwrap();
        m.insert("size", GIB);
        m.insert("table_offset", offset + GIB);
        m.insert("crc32c", u64::from(crc32c(&[0u8; 16])));
    });
    let file = File::options().write(true).open(&path).unwrap();
    file.write_all_at(&[0u8; 16], offset + GIB).unwrap();
    file.write_all_at(&[0u8], offset + GIB - 1).unwrap();
    path
}

/// A string of 8 MiB of control characters, each printed as a 4-byte
/// escape: text output four times the section, streamed.
fn long_string(dir: &Path) -> PathBuf {
    let text = "\x01".repeat(8 << 20);
    let devices = NvList::new().with("s", text.as_str());
    image(dir, "long.img", "vmm", &[("devices", devices)])
}

const CASES: &[Case] = &[
    Case {
        name: "forged names",
        path: "devices.x.ok",
        build: forged_names,
    },
    Case {
        name: "forged record type",
        path: "devices.r.f",
        build: forged_names,
    },
    Case {
        name: "8 MiB of control characters",
        path: "devices.s",
        build: long_string,
    },
    Case {
        name: "deepest nesting",
        path: "devices.d.d.d.x",
        build: deepest,
    },
    Case {
        name: "100,000 pairs",
        path: "devices.r5.a",
        build: many_pairs,
    },
    Case {
        name: "2,000,000 empty strings",
        path: "devices.s",
        build: empty_strings,
    },
    Case {
        name: "records of one name",
        path: "devices.dev.a",
        build: duplicates,
    },
    Case {
        name: "1 TiB claimed, 36 KiB stored",
        path: "devices.x",
        build: sparse_claim,
    },
    Case {
        name: "1 GiB zero chunk, last byte stored",
        path: "devices.x",
        build: big_zero_chunk,
    },
];

/// What a terminal would be made to do by the output: a raw escape, a
/// bidirectional override, or a line a name forged.
fn injected(text: &str) -> Option<&'static str> {
    if text.contains('\x1b') || text.contains('\x07') {
        return Some("a raw escape sequence");
    }
    if text.contains('\u{202e}') {
        return Some("a raw bidirectional override");
    }
    let forged = |l: &str| l.starts_with("snapshot: all good") || l.starts_with("memory   memory");
    if text.lines().any(forged) {
        return Some("a line forged by a name");
    }
    None
}

/// An image file as a test compares it: whole up to 256 MiB; a sparse
/// giant by its length and its first and last MiB, which an edit writes
/// (the cases' giants are holes between).
#[derive(PartialEq)]
struct Snapshot {
    len: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Snapshot {
    const PART: u64 = 1 << 20;

    fn of(path: &Path) -> Snapshot {
        let file = File::open(path).unwrap();
        let len = file.metadata().unwrap().len();
        let read = |at: u64, n: u64| {
            let mut buf = vec![0u8; n as usize];
            file.read_exact_at(&mut buf, at).unwrap();
            buf
        };
        if len <= 256 * Self::PART {
            return Snapshot {
                len,
                head: read(0, len),
                tail: Vec::new(),
            };
        }
        Snapshot {
            len,
            head: read(0, Self::PART),
            tail: read(len - Self::PART, Self::PART),
        }
    }

    /// Writes a file that compares equal, sparse where the original's
    /// middle was not kept (the cases' giants are holes there).
    fn restore(&self, path: &Path) {
        let file = create(path);
        file.write_all_at(&self.head, 0).unwrap();
        file.set_len(self.len).unwrap();
        if !self.tail.is_empty() {
            file.write_all_at(&self.tail, self.len - Self::PART)
                .unwrap();
        }
    }
}

/// Every command a user runs on an image someone else made, and what it
/// must leave true besides surviving. Edits work on a copy.
#[test]
fn every_command_survives_every_hostile_image() {
    let mut report = Vec::new();
    for case in CASES {
        let env = Env::new();
        let dir = env.dir.path();
        let image = (case.build)(dir);
        let image = image.to_str().unwrap();
        let mut check = |args: &[&str]| -> Measured {
            let m = run(dir, args);
            let what = format!("{}: {}", case.name, args.join(" "));
            assert!(
                m.code.is_some_and(|c| c <= 2),
                "{what}: killed or crashed: {m:?}"
            );
            assert!(!m.stderr.contains("panicked"), "{what}: {}", m.stderr);
            let text = String::from_utf8_lossy(&m.stdout);
            let json = args.contains(&"--json");
            let injection = injected(&m.stderr).or(if json { None } else { injected(&text) });
            if let Some(how) = injection {
                panic!("{what}: {how} reached the output:\n{text}\n{}", m.stderr);
            }
            assert!(
                m.peak_kib < PEAK_LIMIT_KIB,
                "{what}: peak {} KiB",
                m.peak_kib
            );
            let line = format!(
                "{what}: exit {}, peak {} KiB, {} ms",
                m.code.unwrap_or(-1),
                m.peak_kib,
                m.took.as_millis()
            );
            eprintln!("{line}");
            report.push(line);
            m
        };
        for args in [
            vec!["info", image],
            vec!["info", "--json", image],
            vec!["dump", image],
            vec!["dump", "--json", image],
            vec!["dump", "--typed", image],
            vec!["get", image, case.path],
            vec!["extract", image, "devices", "-o", "out.nv"],
        ] {
            check(&args);
        }
        let sound = check(&["verify", image]).code == Some(0);
        let same = check(&["diff", image, image]);
        if sound {
            assert_eq!(
                same.code,
                Some(0),
                "{}: an image differs from itself",
                case.name
            );
        }
        if case.name.starts_with("1 ") {
            let m = check(&["extract", image, "memory", "-o", "memory.raw"]);
            let used = std::fs::metadata(dir.join("memory.raw"))
                .map(|m| m.blocks() * 512)
                .ok();
            assert!(
                m.code != Some(0) || used.is_some_and(|u| u < 1 << 20),
                "{}: {used:?}",
                case.name
            );
        }
        // An edit commits what the reader accepts, or nothing at all.
        let original = Snapshot::of(Path::new(image));
        let set = format!("{}=7", case.path);
        for edit in [
            vec!["set", "copy.img", set.as_str()],
            vec!["set", "copy.img", set.as_str(), "--unchecked"],
            vec!["replace", "copy.img", "devices", "out.nv"],
            vec!["migrate", "copy.img"],
        ] {
            original.restore(&dir.join("copy.img"));
            let m = check(&edit);
            let after = Snapshot::of(&dir.join("copy.img"));
            // What the edit changed, as diff shows it (names escaped).
            check(&["diff", image, "copy.img"]);
            if m.code == Some(0) {
                let verified = run(dir, &["verify", "copy.img"]);
                assert!(
                    !sound || verified.code == Some(0),
                    "{}: {edit:?} committed what verify refuses: {}",
                    case.name,
                    verified.stderr
                );
            } else {
                assert!(
                    after == original,
                    "{}: a refused {edit:?} changed the file",
                    case.name
                );
            }
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
