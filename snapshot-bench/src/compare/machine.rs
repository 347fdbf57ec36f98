//! The machine a comparison ran on, read from `/proc` (Linux), for the
//! report: numbers mean little without it.

use std::path::Path;

/// What the report says about the machine.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub cores: usize,
    /// Total memory in bytes.
    pub memory: u64,
    /// Kernel release.
    pub kernel: String,
    /// Filesystem type of the directory the files went to.
    pub filesystem: String,
    /// `rustc -V`, when a compiler is on the path.
    pub rustc: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The load averages (1, 5, 15 minutes) as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Describes this machine; `work` is where the files are written.
pub fn describe(work: &Path) -> Machine {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        filesystem: filesystem(work),
        rustc,
    }
}

/// The filesystem type of the mount holding `dir` (the longest mount
/// point that is a prefix of it). The device name is left out: it means
/// nothing to a reader of the report.
fn filesystem(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    read("/proc/mounts")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (point, ty) = (f.nth(1)?, f.next()?);
            dir.starts_with(point).then(|| (point.len(), ty.to_owned()))
        })
        .max_by_key(|(n, _)| *n)
        .map_or_else(|| "unknown".into(), |(_, s)| s)
}
