use snapshot_core::NvList;

use crate::util::{Env, Output};

/// One run, its output as text (and as bytes for binary output).
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: out.stderr,
            raw_stdout: out.stdout,
        }
    }
}

impl Env {
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs and asserts exit 0, showing stderr when it differs.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.expect(0, args)
    }

    /// Runs and asserts the exit code, showing the output when it differs.
    pub fn expect(&self, code: i32, args: &[&str]) -> Run {
        let r = Run::from(self.run(args));
        assert_eq!(
            r.code, code,
            "{args:?}\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// Packed nvlists and a memory file with data and zero chunks, and an
    /// image `img` built from them with `extra` arguments.
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
        self.write("devices.nv", devices.pack());
        self.write(
            "config.nv",
            NvList::new().with("memsize", 1u64 << 20).pack(),
        );
        self.write("kernel.nv", NvList::new().with("vcpus", 2u64).pack());
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

pub fn exists(p: &std::path::Path) -> bool {
    p.exists()
}
