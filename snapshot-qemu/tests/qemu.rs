//! Streams written by a real QEMU, parsed whole; and damaged ones refused
//! with an error, never a panic. Without QEMU installed the first test
//! says so (CI installs it: `.ci/run`).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use snapshot_qemu::{parse, Body, RamEntry, SectionKind};

const QEMU: &str = "qemu-system-x86_64";

/// A stream of a stopped QEMU of `machine` with `devices`, written by
/// `migrate "exec:cat > FILE"` through the monitor; `None` without QEMU.
fn stream(machine: &str, devices: &[&str], dir: &Path) -> Option<Vec<u8>> {
    if Command::new(QEMU).arg("--version").output().is_err() {
        println!("QEMU tests: not run: {QEMU} is not installed");
        return None;
    }
    let file = dir.join(format!("{machine}.mig"));
    let mut qemu = Command::new(QEMU);
    qemu.args(["-machine", &format!("{machine},accel=kvm:tcg")])
        .args(["-m", "64", "-smp", "2", "-display", "none"])
        .args(["-serial", "none", "-parallel", "none"])
        .args(["-drive", "if=none,id=d0,file=null-co://,format=raw"]);
    for d in devices {
        qemu.args(["-device", d]);
    }
    Some(save(&mut qemu, &file))
}

/// Runs `qemu` (a QEMU command line without its monitor), lets the
/// firmware run for a moment, stops the VM and migrates it to `file`,
/// whose bytes are returned. The monitor answers `quit` only once the
/// migration is done.
fn save(qemu: &mut Command, file: &Path) -> Vec<u8> {
    let mut child = qemu
        .args(["-monitor", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("QEMU starts");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    writeln!(stdin, "stop").unwrap();
    writeln!(stdin, "migrate \"exec:cat > {}\"", file.display()).unwrap();
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(file).expect("QEMU wrote the stream")
}

const DEVICES: &[&str] = &[
    "e1000",
    "virtio-net-pci",
    "virtio-blk-pci,drive=d0",
    "virtio-balloon-pci",
    "virtio-scsi-pci",
    "qemu-xhci",
];

#[test]
fn real_streams_parse_whole() {
    let dir = tempfile::tempdir().unwrap();
    for machine in ["pc", "q35"] {
        let Some(bytes) = stream(machine, DEVICES, dir.path()) else {
            return;
        };
        let s = parse(&bytes).unwrap_or_else(|e| panic!("{machine}: {e}"));
        assert!(
            s.configuration.machine.starts_with("pc-"),
            "{}",
            s.configuration.machine
        );
        let devices: Vec<_> = s
            .sections
            .iter()
            .filter(|x| matches!(x.body, Body::Device(_)))
            .collect();
        assert_eq!(devices.len(), s.vmdesc.devices.len());
        for name in ["cpu", "e1000", "virtio-net", "virtio-blk", "mc146818rtc"] {
            assert!(
                devices.iter().any(|d| d.idstr.contains(name)),
                "{machine}: no `{name}` section"
            );
        }
        // Two vCPUs: two cpu instances.
        assert_eq!(devices.iter().filter(|d| d.idstr == "cpu").count(), 2);
        // RAM: a block list, then every page inside its block.
        let mut blocks = HashMap::new();
        let mut pages = 0;
        for section in s.sections.iter().filter(|x| x.idstr == "ram") {
            let Body::Ram(entries) = &section.body else {
                unreachable!()
            };
            for e in entries {
                match e {
                    RamEntry::MemSize { blocks: b, .. } => blocks.extend(b.iter().cloned()),
                    RamEntry::Page { block, offset, .. } | RamEntry::Zero { block, offset, .. } => {
                        assert!(offset + 4096 <= blocks[block], "{block} {offset}");
                        pages += 1;
                    }
                    RamEntry::Eos => {}
                }
            }
        }
        assert!(blocks.contains_key("pc.ram"), "{blocks:?}");
        let ram: u64 = blocks.values().sum();
        assert!(
            pages as u64 * 4096 >= 64 << 20,
            "{pages} pages for {ram} bytes"
        );
        assert!(s.sections.iter().any(|x| x.kind == SectionKind::Start));
        assert!(s.sections.iter().any(|x| x.kind == SectionKind::End));
        // Every device's state packs as an nvlist record.
        for d in devices {
            let Body::Device(state) = &d.body else {
                unreachable!()
            };
            let list = state.fields.to_nvlist(Some((&state.vmsd_name, d.version)));
            let packed = list.pack();
            assert_eq!(snapshot_core::NvList::unpack(&packed).unwrap(), list);
        }
        // Written back unchanged, the stream is the same bytes.
        let pages_at = pages_of(&s);
        let mut again = Vec::new();
        snapshot_qemu::write(
            &s,
            &bytes,
            &mut |block, offset, out| {
                out.write_all(&bytes[pages_at[&(block.to_owned(), offset)].clone()])
            },
            &mut again,
        )
        .unwrap();
        assert!(again == bytes, "{machine}: the stream written back differs");
        println!(
            "{machine}: {} sections, {pages} RAM pages parsed and written back",
            s.sections.len()
        );
        damaged_streams_are_refused(&bytes);
    }
}

/// Where the stream holds each page it sent (the last time), by block
/// and offset.
fn pages_of(s: &snapshot_qemu::Stream) -> HashMap<(String, u64), std::ops::Range<usize>> {
    s.sections
        .iter()
        .filter_map(|x| match &x.body {
            Body::Ram(e) => Some(e),
            _ => None,
        })
        .flatten()
        .filter_map(|e| match e {
            RamEntry::Page {
                block,
                offset,
                data,
                ..
            } => Some(((block.clone(), *offset), data.clone())),
            _ => None,
        })
        .collect()
}

/// Cut short anywhere, or with a byte changed, a stream is refused with
/// an error (or parses, when the byte was page data): never a panic.
fn damaged_streams_are_refused(bytes: &[u8]) {
    let desc = bytes.len() - bytes.iter().rev().position(|&b| b == 0x06).unwrap_or(0);
    for cut in (0..bytes.len()).step_by(bytes.len() / 41 + 1) {
        assert!(
            parse(&bytes[..cut]).is_err(),
            "cut at {cut} of {}",
            bytes.len()
        );
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut damaged = bytes.to_vec();
    for _ in 0..100 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let at = (state % desc as u64) as usize;
        let old = damaged[at];
        damaged[at] ^= 1 << (state >> 60 & 7);
        let _ = parse(&damaged);
        damaged[at] = old;
    }
}

#[test]
fn a_stream_without_vmdesc_is_refused_saying_why() {
    let err = parse(b"QEVM\0\0\0\x03\x07\0\0\0\x02pc\0").unwrap_err();
    assert!(err.message.contains("saved with suppress-vmdesc"), "{err}");
    let err = parse(b"QEVM\0\0\0\x03\x07\0\0\0\x02pc").unwrap_err();
    assert!(err.message.contains("cut short"), "{err}");
}

/// A guest whose RAM is all data (backed by a file of random bytes): QEMU
/// sends it over many iterations, and a section can start with a page
/// that continues the block of the section before. Imported and
/// exported, the stream is the same bytes.
#[test]
fn a_stream_of_many_ram_sections_imports_and_exports_whole() {
    if Command::new(QEMU).arg("--version").output().is_err() {
        println!("QEMU tests: not run: {QEMU} is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ram, file) = (dir.path().join("guest.ram"), dir.path().join("guest.mig"));
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..128u64 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&ram, &random).unwrap();
    let bytes = save(
        Command::new(QEMU)
            .args(["-machine", "pc,accel=tcg,memory-backend=m", "-object"])
            .arg(format!(
                "memory-backend-file,id=m,size=128M,mem-path={},share=off",
                ram.display()
            ))
            .args(["-m", "128M", "-display", "none"])
            .args(["-serial", "none", "-parallel", "none"]),
        &file,
    );
    let s = parse(&bytes).unwrap();
    let ram_sections: Vec<_> = s
        .sections
        .iter()
        .filter_map(|x| match &x.body {
            Body::Ram(entries) => Some(entries),
            Body::Device(_) => None,
        })
        .collect();
    let continued = ram_sections
        .iter()
        .filter(|e| matches!(e.first(), Some(RamEntry::Page { cont: true, .. })))
        .count();
    assert!(
        ram_sections.len() > 2 && continued > 0,
        "{} RAM sections, {continued} starting with a continued page",
        ram_sections.len()
    );
    let image = dir.path().join("guest.snap");
    snapshot_qemu::import(&bytes, std::fs::File::create(&image).unwrap(), None).unwrap();
    let opened = snapshot_core::image::Image::open(&image, &Default::default()).unwrap();
    let mut back = Vec::new();
    snapshot_qemu::export(&opened, &mut back).unwrap();
    assert!(back == bytes, "the export differs from the stream");
    println!(
        "{} RAM sections ({continued} starting with a continued page) imported and exported whole",
        ram_sections.len()
    );
}
