use std::cell::RefCell;
use std::io;

use snapshot_image::ErrorKind;
use snapshot_image::{Builder, IdentCheck, Image, MemoryOptions, OpenOptions, Storage};
use snapshot_nvlist::NvList;

pub const CHUNK: u64 = 4096;

pub fn devices() -> NvList {
    let timer = |v: u64| NvList::new().with("compval", v).with("config", v * 2);
    NvList::new()
        .with(
            "vhpet",
            NvList::new()
                .with("timers", (0..4).map(timer).collect::<Vec<_>>())
                .with("freq_bt.sec", 10u64),
        )
        .with(
            "basic metadata",
            NvList::new().with("name", "vm0").with("x", 1u64),
        )
}

/// Guest memory with a data chunk, a zero chunk, a compressible chunk and
/// a short last chunk.
pub fn memory() -> Vec<u8> {
    let mut m = Vec::new();
    let mut x = 0x1234_5678_u32;
    for _ in 0..CHUNK {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        m.push(x as u8);
    }
    m.extend(vec![0u8; CHUNK as usize]);
    m.extend((0..CHUNK).map(|i| (i / 64) as u8));
    m.extend_from_slice(b"tail");
    m
}

pub struct Sample {
    pub image: Vec<u8>,
    pub config: Vec<u8>,
    pub devices: Vec<u8>,
    pub kernel: Vec<u8>,
    pub raw: Vec<u8>,
    pub memory: Vec<u8>,
}

pub fn sample(zstd: bool) -> Sample {
    let config = NvList::new().with("memsize", 16384u64).pack();
    let devices = devices().pack();
    let kernel = NvList::new().with("vcpus", vec![1u64, 2]).pack();
    let raw = b"opaque producer data".to_vec();
    let memory = memory();
    let mut b = Builder::new(Vec::new(), "snapshot", Some("tests".into())).unwrap();
    b.add_packed("config", &config).unwrap();
    b.add_packed("devices", &devices).unwrap();
    b.add_packed("kernel", &kernel).unwrap();
    b.add_raw("extra", &raw).unwrap();
    let options = MemoryOptions {
        chunk_size: CHUNK,
        zstd_level: zstd.then_some(3),
    };
    b.add_memory("memory", &mut memory.as_slice(), options, &mut |_| {})
        .unwrap();
    let image = b.finish().unwrap();
    Sample {
        image,
        config,
        devices,
        kernel,
        raw,
        memory,
    }
}

pub fn open<S: Storage>(s: S) -> snapshot_image::Result<Image<S>> {
    Image::from_storage(s, &OpenOptions::default())
}

pub fn open_any<S: Storage>(s: S) -> snapshot_image::Result<Image<S>> {
    Image::from_storage(
        s,
        &OpenOptions {
            ident: IdentCheck::Any,
        },
    )
}

pub fn extract_memory<S: Storage>(image: &Image<S>) -> snapshot_image::Result<Vec<u8>> {
    let mut out = Vec::new();
    image.memory("memory")?.copy_to(&mut out, &mut |_| {})?;
    Ok(out)
}

/// Every section as extracted, or the first error.
pub fn extract_all<S: Storage>(image: &Image<S>) -> snapshot_image::Result<Vec<Vec<u8>>> {
    Ok(vec![
        image.read_section("config")?,
        image.read_section("devices")?,
        image.read_section("kernel")?,
        image.read_section("extra")?,
        extract_memory(image)?,
    ])
}

pub fn is_image_error(e: &snapshot_image::Error) -> bool {
    matches!(e.kind(), ErrorKind::Format { .. })
}

/// A store that logs every read and write range.
#[derive(Default)]
pub struct Recording {
    pub bytes: Vec<u8>,
    pub reads: RefCell<Vec<(u64, usize)>>,
    pub writes: Vec<(u64, usize)>,
}

impl Storage for Recording {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.reads.borrow_mut().push((offset, buf.len()));
        self.bytes.read_at(buf, offset)
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.writes.push((offset, buf.len()));
        self.bytes.write_at(buf, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Storage::len(&self.bytes)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        Storage::set_len(&mut self.bytes, len)
    }
}

/// A store that "crashes" at its `budget`-th write, sync or resize: that
/// write is torn (half of it lands) when `torn`, and nothing after it
/// happens. `durable` is what the disk held at the last sync, the other
/// possible state after a crash.
pub struct Faulty {
    pub bytes: Vec<u8>,
    pub durable: Vec<u8>,
    pub budget: usize,
    pub torn: bool,
    /// The writes and length changes since the last sync, in order: a
    /// disk may have kept any of them at a crash.
    pub pending: Vec<Pending>,
}

/// A change a disk may or may not have kept at a crash.
#[derive(Clone)]
pub enum Pending {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

impl Faulty {
    pub fn new(bytes: Vec<u8>, budget: usize, torn: bool) -> Faulty {
        Faulty {
            durable: bytes.clone(),
            bytes,
            budget,
            torn,
            pending: Vec::new(),
        }
    }

    /// Every state the disk may be in after a crash now: the last synced
    /// bytes with any subset of the pending changes applied in order, and
    /// with each applied write torn (its first half only); and what was
    /// written, torn as it was when the budget ran out.
    pub fn crash_states(&self) -> Vec<Vec<u8>> {
        let n = self.pending.len();
        assert!(n <= 8, "{n} pending changes");
        let mut states = Vec::new();
        for kept in 0..1u32 << n {
            for torn in std::iter::once(None).chain((0..n).map(Some)) {
                if torn.is_some_and(|t| kept & (1 << t) == 0) {
                    continue;
                }
                let mut disk = self.durable.clone();
                for (i, change) in self.pending.iter().enumerate() {
                    if kept & (1 << i) == 0 {
                        continue;
                    }
                    match change {
                        Pending::Write(at, bytes) => {
                            let len = if torn == Some(i) {
                                bytes.len() / 2
                            } else {
                                bytes.len()
                            };
                            disk.write_at(&bytes[..len], *at).unwrap();
                        }
                        Pending::SetLen(len) => Storage::set_len(&mut disk, *len).unwrap(),
                    }
                }
                states.push(disk);
            }
        }
        states.push(self.bytes.clone());
        states
    }

    fn spend(&mut self) -> io::Result<()> {
        if self.budget == 0 {
            return Err(io::Error::other("crashed"));
        }
        self.budget -= 1;
        Ok(())
    }
}

impl Storage for Faulty {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.bytes.read_at(buf, offset)
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.budget == 0 && self.torn {
            self.bytes.write_at(&buf[..buf.len() / 2], offset)?;
        }
        self.spend()?;
        self.pending.push(Pending::Write(offset, buf.to_vec()));
        self.bytes.write_at(buf, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.spend()?;
        self.durable = self.bytes.clone();
        self.pending.clear();
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Storage::len(&self.bytes)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.spend()?;
        self.pending.push(Pending::SetLen(len));
        Storage::set_len(&mut self.bytes, len)
    }
}

/// Rewrites slot 0's header nvlist with `edit` and fixes its checksum, as
/// a hostile producer would.
pub fn forge(image: &[u8], edit: impl FnOnce(&mut NvList)) -> Vec<u8> {
    let mut out = image.to_vec();
    let size = u64::from_le_bytes(out[64..72].try_into().unwrap()) as usize;
    let mut nv = NvList::unpack(&out[72..72 + size]).unwrap();
    edit(&mut nv);
    let packed = nv.pack();
    assert!(packed.len() <= 4084 - 72, "forged header too large");
    out[64..72].copy_from_slice(&(packed.len() as u64).to_le_bytes());
    out[72..4084].fill(0);
    out[72..72 + packed.len()].copy_from_slice(&packed);
    reseal(&mut out, 0);
    out
}

/// Recomputes slot `slot`'s checksum.
pub fn reseal(image: &mut [u8], slot: usize) {
    let base = slot * 4096;
    let crc = snapshot_image::crc32c(&image[base..base + 4092]);
    image[base + 4092..base + 4096].copy_from_slice(&crc.to_le_bytes());
}

/// The index entry of section `name` in a forged header, to edit.
pub fn entry<'a>(nv: &'a mut NvList, name: &str) -> &'a mut NvList {
    nv.get_nvlist_array_mut("sections")
        .unwrap()
        .iter_mut()
        .find(|s| s.get_string("name").unwrap() == name)
        .unwrap()
}

/// A borrowed image, read-only, so a test can open many variants of one
/// buffer without copying it.
pub struct Borrowed<'a>(pub &'a [u8]);

impl Storage for Borrowed<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = offset as usize;
        let src = self
            .0
            .get(start..start + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_at(&mut self, _: &[u8], _: u64) -> io::Result<()> {
        Err(io::ErrorKind::PermissionDenied.into())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn set_len(&mut self, _: u64) -> io::Result<()> {
        Err(io::ErrorKind::PermissionDenied.into())
    }
}
