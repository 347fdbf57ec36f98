use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use snapshot_core::NvList;

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_snapshot"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            raw_stdout: out.stdout,
        }
    }

    /// Runs and asserts the exit code, showing stderr when it differs.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.expect(0, args)
    }

    pub fn expect(&self, code: i32, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "{args:?}\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// Packed nvlists and a memory file with data and zero chunks, and an
    /// image `img` built from them.
    pub fn sample(&self, extra: &[&str]) {
        let timer = |v: u64| NvList::new().with("compval", v);
        let devices = NvList::new()
            .with(
                "vhpet",
                NvList::new()
                    .with("timers", (0..4).map(timer).collect::<Vec<_>>())
                    .with("freq_bt.sec", 10u64),
            )
            .with("basic metadata", NvList::new().with("name", "vm0"));
        self.write("devices.nv", &devices.pack());
        self.write(
            "config.nv",
            &NvList::new().with("memsize", 1u64 << 20).pack(),
        );
        self.write("kernel.nv", &NvList::new().with("vcpus", 2u64).pack());
        let mut memory = vec![0u8; 3 * 65536 + 100];
        for (i, b) in memory[..65536].iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        memory[3 * 65536 + 50] = 1;
        self.write("memory.raw", &memory);
        let mut args = vec![
            "build",
            "-o",
            "img",
            "--config",
            "config.nv",
            "--devices",
            "devices.nv",
            "--kernel",
            "kernel.nv",
            "--memory",
            "memory.raw",
            "--chunk-size",
            "65536",
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
