//! A QEMU stream in an image and back: `snapshot import qemu` and
//! `snapshot export qemu`.
//!
//! | section | holds |
//! | --- | --- |
//! | `config` | `source = "qemu"`, the machine type |
//! | `devices` | one record per device section, keyed `IDSTR#INSTANCE` (`0000:00:03.0/e1000#0`, `cpu#1`): `.schema` the VMState name, `.version` the section's version, the fields by name as the description types them |
//! | `qemu` | what the stream's layout needs beyond that: the configuration and vmdesc bytes, the RAM block list, and each section record in order (kind, ids, footer; for RAM the record headers, block names and zero-page fills) |
//! | `ram:BLOCK` | one memory section per RAM block (`ram:pc.ram`, `ram:/rom@etc/acpi/tables`), zero pages as holes |
//!
//! Export writes the records back with the description's sizes, so a
//! `snapshot set` of a device field is in the stream it writes; an
//! unedited import of a stream that sends each page once exports to the
//! same bytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;

use snapshot_core::compat::SCHEMAS_SECTION;
use snapshot_core::image::{Builder, Image, MemoryOptions, DEFAULT_IDENT};
use snapshot_core::nvlist::{NvList, Value};
use snapshot_core::schema::text::{Recorded, RecordedField};

use crate::state::{type_name, Fields, RecordError};
use crate::stream::{self, Body, DeviceSection, RamEntry, Section, SectionKind, Stream};
use crate::vmdesc::VmsdDesc;
use crate::write;

/// The error of an import or export.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("the stream: {0}")]
    Stream(#[from] crate::Error),
    #[error(transparent)]
    Image(#[from] snapshot_core::image::Error),
    #[error(transparent)]
    Nvlist(#[from] snapshot_core::nvlist::Error),
    #[error("devices.{0}")]
    Record(#[from] RecordError),
    #[error("{0}")]
    Layout(String),
    #[error("writing the stream: {0}")]
    Write(#[source] std::io::Error),
}

fn layout(message: impl Into<String>) -> ConvertError {
    ConvertError::Layout(message.into())
}

/// What an import stored.
#[derive(Debug, Clone, Copy)]
pub struct ImportStats {
    pub devices: usize,
    pub ram_blocks: usize,
    pub ram_bytes: u64,
    pub pages: u64,
}

fn kind_code(kind: SectionKind) -> u64 {
    match kind {
        SectionKind::Start => 1,
        SectionKind::Part => 2,
        SectionKind::End => 3,
        SectionKind::Full => 4,
    }
}

/// The key of a device's record in `devices`.
pub fn record_key(idstr: &str, instance: u32) -> String {
    format!("{idstr}#{instance}")
}

/// Imports the stream `bytes` into a new image written to `file`.
pub fn import(
    bytes: &[u8],
    file: File,
    producer: Option<String>,
) -> Result<ImportStats, ConvertError> {
    let stream = stream::parse(bytes)?;
    let mut blocks: Vec<(String, u64)> = Vec::new();
    for s in &stream.sections {
        if let Body::Ram(entries) = &s.body {
            for e in entries {
                if let RamEntry::MemSize { blocks: b, .. } = e {
                    blocks.extend(b.iter().cloned());
                }
            }
        }
    }
    let limit = snapshot_core::image::MAX_CHUNKS * MemoryOptions::default().chunk_size;
    let mut ram = HashMap::new();
    for (name, len) in &blocks {
        if *len > limit {
            return Err(layout(format!(
                "RAM block `{name}` of {len} bytes is larger than an image's memory section \
                 holds ({limit})"
            )));
        }
        if ram.insert(name.clone(), RamView::new(*len)).is_some() {
            return Err(layout(format!("RAM block `{name}` is listed twice")));
        }
    }
    let mut devices = NvList::new();
    let mut records = Vec::new();
    let mut pages = 0;
    let page = stream.vmdesc.page_size as usize;
    for s in &stream.sections {
        let mut r = NvList::new()
            .with("kind", kind_code(s.kind))
            .with("id", u64::from(s.id))
            .with("idstr", s.idstr.as_str())
            .with("instance", u64::from(s.instance))
            .with("version", u64::from(s.version))
            .with("footer", s.footer);
        match &s.body {
            Body::Device(d) => {
                let key = record_key(&s.idstr, s.instance);
                let record = d.fields.to_nvlist(Some((&d.vmsd_name, s.version)));
                devices.try_push(key.as_str(), record)?;
                r.insert("device", key.as_str());
            }
            Body::Ram(entries) => {
                let mut headers = Vec::new();
                let mut names = Vec::new();
                let mut fills = Vec::new();
                for e in entries {
                    match e {
                        RamEntry::MemSize { total, .. } => {
                            headers.push(total | stream::RAM_MEM_SIZE)
                        }
                        RamEntry::Zero {
                            block,
                            offset,
                            fill,
                            cont,
                        } => {
                            headers.push(offset | stream::RAM_ZERO | cont_flag(*cont));
                            if !cont {
                                names.push(block.clone());
                            }
                            fills.push(*fill);
                            place(&mut ram, block, *offset, page)?.put(
                                *offset,
                                page,
                                Source::Fill(*fill),
                            );
                            pages += 1;
                        }
                        RamEntry::Page {
                            block,
                            offset,
                            data,
                            cont,
                        } => {
                            headers.push(offset | stream::RAM_PAGE | cont_flag(*cont));
                            if !cont {
                                names.push(block.clone());
                            }
                            place(&mut ram, block, *offset, data.len())?.put(
                                *offset,
                                data.len(),
                                Source::Stream(data.clone()),
                            );
                            pages += 1;
                        }
                        RamEntry::Eos => headers.push(stream::RAM_EOS),
                    }
                }
                let mut list = NvList::new().with("headers", Value::NumberArray(headers));
                if !names.is_empty() {
                    list.insert(
                        "names",
                        Value::StringArray(names.iter().map(|n| n.as_str().into()).collect()),
                    );
                }
                if !fills.is_empty() {
                    list.insert("fills", Value::Binary(fills));
                }
                r.insert("ram", list);
            }
        }
        records.push(r);
    }
    let block_list: Vec<NvList> = blocks
        .iter()
        .map(|(n, l)| {
            NvList::new()
                .with("name", n.as_str())
                .with("length", *l)
                .with("section", ram_section(n).as_str())
        })
        .collect();
    let mut qemu = NvList::new()
        .with(
            "configuration",
            Value::Binary(bytes[stream.configuration.range.clone()].to_vec()),
        )
        .with(
            "vmdesc",
            Value::Binary(bytes[stream.vmdesc_range.clone()].to_vec()),
        )
        .with("records", Value::NvListArray(records));
    if !block_list.is_empty() {
        qemu.insert("blocks", Value::NvListArray(block_list));
    }
    let schemas = schemas(&stream);
    let config = NvList::new()
        .with("source", "qemu")
        .with("machine", stream.configuration.machine.as_str());
    let mut b = Builder::new(file, DEFAULT_IDENT, producer)?;
    b.add_nvlist("config", &config)?;
    b.add_nvlist("devices", &devices)?;
    b.add_nvlist("qemu", &qemu)?;
    b.add_nvlist(SCHEMAS_SECTION, &schemas)?;
    let mut ram_bytes = 0;
    for (name, len) in &blocks {
        // A block of no bytes has no section: nothing to store.
        if *len == 0 {
            continue;
        }
        let view = StreamRam {
            ram: &ram[name],
            stream: bytes,
        };
        b.add_memory_from(
            &ram_section(name),
            &view,
            MemoryOptions::default(),
            &mut |_| {},
        )?;
        ram_bytes += len;
    }
    // The builder syncs the sections, then the header.
    b.finish()?;
    Ok(ImportStats {
        devices: devices.len(),
        ram_blocks: blocks.len(),
        ram_bytes,
        pages,
    })
}

fn cont_flag(cont: bool) -> u64 {
    if cont {
        stream::RAM_CONTINUE
    } else {
        0
    }
}

/// Where the bytes of one page come from.
#[derive(Debug, Clone)]
enum Source {
    /// A page the stream sent: its bytes there.
    Stream(std::ops::Range<usize>),
    /// A page filled with one byte (a zero page).
    Fill(u8),
}

/// One RAM block as the stream gives it, without holding it: the last
/// source of each page by its offset in the block; pages never sent and
/// zero pages are holes.
struct RamView {
    len: u64,
    pages: std::collections::BTreeMap<u64, (usize, Source)>,
}

impl RamView {
    fn new(len: u64) -> RamView {
        RamView {
            len,
            pages: std::collections::BTreeMap::new(),
        }
    }

    fn put(&mut self, at: u64, len: usize, source: Source) {
        match source {
            Source::Fill(0) => {
                self.pages.remove(&at);
            }
            source => {
                self.pages.insert(at, (len, source));
            }
        }
    }
}

/// A [`RamView`] over the stream's bytes, read as a store by the image
/// writer a chunk at a time.
struct StreamRam<'a> {
    ram: &'a RamView,
    stream: &'a [u8],
}

fn read_only() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "guest RAM of a stream is read-only",
    )
}

impl snapshot_core::image::Storage for StreamRam<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        buf.fill(0);
        let end = offset + buf.len() as u64;
        // Pages are at most a MiB: one starting that far before may overlap.
        let from = offset.saturating_sub(1 << 20);
        for (&at, (len, source)) in self.ram.pages.range(from..end) {
            let (start, stop) = (at.max(offset), (at + *len as u64).min(end));
            if start >= stop {
                continue;
            }
            let dst = &mut buf[(start - offset) as usize..(stop - offset) as usize];
            match source {
                Source::Stream(r) => {
                    let skip = (start - at) as usize;
                    dst.copy_from_slice(&self.stream[r.start + skip..r.start + skip + dst.len()]);
                }
                Source::Fill(b) => dst.fill(*b),
            }
        }
        Ok(())
    }
    fn write_at(&mut self, _: &[u8], _: u64) -> std::io::Result<()> {
        Err(read_only())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Err(read_only())
    }
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.ram.len)
    }
    fn set_len(&mut self, _: u64) -> std::io::Result<()> {
        Err(read_only())
    }
    fn is_hole(&self, offset: u64, len: u64) -> bool {
        let from = offset.saturating_sub(1 << 20);
        !self
            .ram
            .pages
            .range(from..offset + len)
            .any(|(&at, (l, _))| at + *l as u64 > offset)
    }
}

/// The name of the memory section holding RAM block `block`.
pub fn ram_section(block: &str) -> String {
    format!("ram:{block}")
}

/// The block a page of `len` bytes at `offset` of `block` goes to, once
/// checked to lie inside it.
fn place<'a>(
    ram: &'a mut HashMap<String, RamView>,
    block: &str,
    offset: u64,
    len: usize,
) -> Result<&'a mut RamView, ConvertError> {
    let view = ram.get_mut(block).ok_or_else(|| {
        layout(format!(
            "a page of RAM block `{block}`, which the block list lacks"
        ))
    })?;
    let size = view.len;
    if offset.checked_add(len as u64).is_none_or(|end| end > size) {
        return Err(layout(format!(
            "a page at {offset:#x} of RAM block `{block}`, which is {size:#x} bytes"
        )));
    }
    Ok(view)
}

/// Writes to `out` the stream an image imported from QEMU stands for,
/// with its device records as they are now. Guest RAM is read a chunk at
/// a time and the stream written as it is made.
pub fn export(image: &Image<File>, out: &mut dyn Write) -> Result<(), ConvertError> {
    let qemu = image.read_nvlist("qemu")?;
    let devices = image.read_nvlist("devices")?;
    let bytes_of = |name: &str| match qemu.get(name) {
        Some(Value::Binary(b)) => Ok(b.clone()),
        _ => Err(layout(format!("qemu.{name}: missing or not binary"))),
    };
    let configuration = bytes_of("configuration")?;
    let vmdesc_bytes = bytes_of("vmdesc")?;
    let (desc, _) = crate::vmdesc::find(&vmdesc_bytes)?
        .ok_or_else(|| layout("qemu.vmdesc is not a stream description"))?;
    let mut blocks = Vec::new();
    let mut memory = HashMap::new();
    if let Some(Value::NvListArray(list)) = qemu.get("blocks") {
        for (i, b) in list.iter().enumerate() {
            let at = |e: snapshot_core::nvlist::Error| layout(format!("qemu.blocks[{i}]: {e}"));
            let (name, len) = (
                b.get_string("name").map_err(at)?,
                b.get_number("length").map_err(at)?,
            );
            blocks.push((name.to_owned(), len));
            if len > 0 {
                let section = b.get_string("section").map_err(at)?;
                let ram = image.memory(section)?;
                if ram.entry().size != len {
                    return Err(layout(format!(
                        "section `{section}` holds {} bytes, RAM block `{name}` {len}",
                        ram.entry().size
                    )));
                }
                memory.insert(name.to_owned(), ram);
            }
        }
    }
    let records = match qemu.get("records") {
        Some(Value::NvListArray(r)) => r.clone(),
        _ => return Err(layout("qemu.records: missing")),
    };
    let mut descs = desc.devices.iter();
    let mut sections = Vec::new();
    // The block of a continued page: QEMU carries it across sections.
    let mut block = String::new();
    for (i, r) in records.iter().enumerate() {
        let at = |e: snapshot_core::nvlist::Error| layout(format!("qemu.records[{i}]: {e}"));
        let kind = match r.get_number("kind").map_err(at)? {
            1 => SectionKind::Start,
            2 => SectionKind::Part,
            3 => SectionKind::End,
            4 => SectionKind::Full,
            k => return Err(layout(format!("qemu.records[{i}]: section kind {k}"))),
        };
        let num = |n: &str| -> Result<u32, ConvertError> {
            u32::try_from(r.get_number(n).map_err(at)?)
                .map_err(|_| layout(format!("qemu.records[{i}].{n}: out of range")))
        };
        let body = if let Ok(key) = r.get_string("device") {
            let d = descs.next().ok_or_else(|| {
                layout(format!("qemu.records[{i}]: more devices than the vmdesc"))
            })?;
            let record = devices
                .get_nvlist(key)
                .map_err(|_| layout(format!("devices.{key}: missing")))?;
            let fields = Fields::from_nvlist(&d.vmsd, record, key)?;
            Body::Device(DeviceSection {
                vmsd_name: d.vmsd.vmsd_name.clone().unwrap_or_default(),
                fields,
            })
        } else {
            let list = r.get_nvlist("ram").map_err(at)?;
            Body::Ram(ram_entries(list, &blocks, &mut block, i)?)
        };
        sections.push(Section {
            kind,
            id: num("id")?,
            idstr: r.get_string("idstr").map_err(at)?.to_owned(),
            instance: num("instance")?,
            version: num("version")?,
            body,
            footer: matches!(r.get("footer"), Some(Value::Bool(true))),
        });
    }
    // The configuration and description bytes come from `original`.
    let mut original = configuration.clone();
    original.extend_from_slice(&vmdesc_bytes);
    let stream = Stream {
        configuration: stream::Configuration {
            machine: String::new(),
            range: 0..configuration.len(),
        },
        sections,
        vmdesc: desc,
        vmdesc_range: configuration.len()..original.len(),
    };
    // Checked by `vmdesc::find`: at most 1 MiB.
    let page = stream.vmdesc.page_size as usize;
    // One chunk of RAM read at a time, kept for the pages after it.
    let (mut chunk, mut scratch, mut cached) = (Vec::new(), Vec::new(), None);
    let mut failed = None;
    let mut page_of = |block: &str, offset: u64, out: &mut dyn Write| -> std::io::Result<()> {
        let found = (|| -> Result<std::ops::Range<usize>, ConvertError> {
            let memory = memory
                .get(block)
                .ok_or_else(|| layout(format!("RAM block `{block}` has no memory section")))?;
            let index = offset / memory.chunk_size();
            if index >= memory.table().len() as u64 {
                return Err(layout(format!(
                    "RAM block `{block}` at {offset:#x}: outside its section"
                )));
            }
            if cached
                .as_ref()
                .is_none_or(|(b, i)| b != block || *i != index)
            {
                memory.read_chunk(index, &mut chunk, &mut scratch)?;
                cached = Some((block.to_owned(), index));
            }
            let start = (offset - index * memory.chunk_size()) as usize;
            if start + page > chunk.len() {
                return Err(layout(format!(
                    "RAM block `{block}` at {offset:#x}: a page across chunks"
                )));
            }
            Ok(start..start + page)
        })();
        match found {
            Ok(range) => out.write_all(&chunk[range]),
            Err(e) => {
                failed = Some(e);
                Err(std::io::Error::other("guest memory could not be read"))
            }
        }
    };
    let written = write::write(&stream, &original, &mut page_of, out);
    match (failed, written) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(ConvertError::Write(e)),
        (None, Ok(())) => Ok(()),
    }
}

/// The RAM records of `list` (a record's `ram`); `block` is the block of
/// a continued page, carried from the records before.
fn ram_entries(
    list: &NvList,
    blocks: &[(String, u64)],
    block: &mut String,
    i: usize,
) -> Result<Vec<RamEntry>, ConvertError> {
    let headers = match list.get("headers") {
        Some(Value::NumberArray(h)) => h.clone(),
        _ => return Err(layout(format!("qemu.records[{i}].ram.headers: missing"))),
    };
    let names: Vec<String> = match list.get("names") {
        Some(Value::StringArray(n)) => n.iter().map(|s| s.to_string_lossy().into_owned()).collect(),
        _ => Vec::new(),
    };
    let fills = match list.get("fills") {
        Some(Value::Binary(f)) => f.clone(),
        _ => Vec::new(),
    };
    let (mut names, mut fills) = (names.into_iter(), fills.into_iter());
    let mut out = Vec::new();
    let short = |what: &str| layout(format!("qemu.records[{i}].ram: fewer {what} than records"));
    for h in headers {
        let (flags, addr) = (h & 0xfff, h & !0xfff);
        let cont = flags & stream::RAM_CONTINUE != 0;
        if flags & (stream::RAM_ZERO | stream::RAM_PAGE) != 0 && !cont {
            *block = names.next().ok_or_else(|| short("names"))?;
        }
        out.push(if flags & stream::RAM_MEM_SIZE != 0 {
            RamEntry::MemSize {
                total: addr,
                blocks: blocks.to_vec(),
            }
        } else if flags & stream::RAM_ZERO != 0 {
            let fill = fills.next().ok_or_else(|| short("fills"))?;
            RamEntry::Zero {
                block: block.clone(),
                offset: addr,
                fill,
                cont,
            }
        } else if flags & stream::RAM_PAGE != 0 {
            RamEntry::Page {
                block: block.clone(),
                offset: addr,
                data: 0..4096,
                cont,
            }
        } else {
            RamEntry::Eos
        });
    }
    Ok(out)
}

/// The `schemas` section of an import: the schema text of each VMState
/// (devices and their subsections) at the version the stream holds, so
/// `dump --typed` types the records and `set` checks values against
/// QEMU's field sizes.
fn schemas(stream: &Stream) -> NvList {
    let mut out = NvList::new();
    let mut descs = stream.vmdesc.devices.iter();
    for s in &stream.sections {
        if !matches!(s.body, Body::Device(_)) {
            continue;
        }
        let Some(d) = descs.next() else { break };
        let name = d.vmsd.vmsd_name.clone().unwrap_or_else(|| s.idstr.clone());
        add_schema(&mut out, &name, s.version, &d.vmsd);
    }
    out
}

fn add_schema(out: &mut NvList, name: &str, version: u32, desc: &VmsdDesc) {
    let key = format!("v{version}");
    if out
        .get_nvlist(name)
        .is_ok_and(|versions| versions.contains(&key))
    {
        return;
    }
    let mut fields: Vec<RecordedField> = Vec::new();
    for f in &desc.fields {
        if f.index.is_some_and(|i| i > 0) {
            // Element i of an array described element by element.
            if let Some(last) = fields.last_mut().filter(|l| l.name == f.name) {
                let count = f.index.unwrap_or(0) + 1;
                last.ty = format!("[{}; {count}]", type_name(f));
                continue;
            }
        }
        let ty = match f.index {
            Some(_) => format!("[{}; 1]", type_name(f)),
            None => type_name(f),
        };
        fields.push(field(&f.name, ty));
    }
    for sub in &desc.subsections {
        let sub_name = sub.vmsd_name.clone().unwrap_or_default();
        fields.push(field(&sub_name, sub_name.clone()));
    }
    let recorded = Recorded {
        name: name.to_owned(),
        version,
        fields,
        variants: None,
        removed: Vec::new(),
        migrations: Vec::new(),
    };
    if !out.contains(name) {
        out.insert(name, NvList::new());
    }
    if let Ok(versions) = out.get_nvlist_mut(name) {
        versions.insert(key.as_str(), recorded.to_text().as_str());
    }
    for sub in &desc.subsections {
        let sub_name = sub.vmsd_name.clone().unwrap_or_default();
        add_schema(out, &sub_name, sub.version.unwrap_or(1), sub);
    }
}

fn field(name: &str, ty: String) -> RecordedField {
    RecordedField {
        name: name.to_owned(),
        ty,
        doc: String::new(),
        since: 1,
        default: None,
        default_value: None,
        renamed_from: Vec::new(),
        widened_from: None,
    }
}
