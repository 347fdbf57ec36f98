//! The stream's structure: header, configuration, sections, end of file
//! and description.

use std::collections::HashMap;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::input::Input;
use crate::state::{self, Fields};
use crate::vmdesc::{self, DeviceDesc, VmDesc};

pub(crate) const MAGIC: u32 = 0x5145_564d;
pub(crate) const VERSION: u32 = 3;

pub(crate) const EOF: u8 = 0x00;
pub(crate) const SECTION_START: u8 = 0x01;
pub(crate) const SECTION_PART: u8 = 0x02;
pub(crate) const SECTION_END: u8 = 0x03;
pub(crate) const SECTION_FULL: u8 = 0x04;
const CONFIGURATION: u8 = 0x07;
const COMMAND: u8 = 0x08;
pub(crate) const SECTION_FOOTER: u8 = 0x7e;
pub(crate) const SUBSECTION: u8 = 0x05;

/// RAM record flags, in the low bits of each record's address.
pub(crate) const RAM_ZERO: u64 = 0x02;
pub(crate) const RAM_MEM_SIZE: u64 = 0x04;
pub(crate) const RAM_PAGE: u64 = 0x08;
pub(crate) const RAM_EOS: u64 = 0x10;
pub(crate) const RAM_CONTINUE: u64 = 0x20;
const RAM_FLAGS: u64 = 0xfff;

/// A whole stream.
#[derive(Debug, Clone)]
pub struct Stream {
    pub configuration: Configuration,
    pub sections: Vec<Section>,
    /// The description, and the byte range of the stream it takes (after
    /// the end of file).
    pub vmdesc: VmDesc,
    pub vmdesc_range: Range<usize>,
}

/// The configuration section: the machine type, and any subsections as
/// bytes.
#[derive(Debug, Clone)]
pub struct Configuration {
    pub machine: String,
    pub range: Range<usize>,
}

/// The kind of a section record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Start,
    Part,
    End,
    Full,
}

/// One section record in stream order.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: SectionKind,
    pub id: u32,
    /// The id string, instance and version (given by start and full
    /// records, looked up by id for parts and ends).
    pub idstr: String,
    pub instance: u32,
    pub version: u32,
    pub body: Body,
    /// Whether a footer followed.
    pub footer: bool,
}

/// What a section record holds.
#[derive(Debug, Clone)]
pub enum Body {
    /// RAM records.
    Ram(Vec<RamEntry>),
    /// A device's state.
    Device(DeviceSection),
}

/// A device section's state, typed by the description.
#[derive(Debug, Clone)]
pub struct DeviceSection {
    /// The VMState name (the id string for a legacy section).
    pub vmsd_name: String,
    pub fields: Fields,
}

/// One record of the RAM section.
#[derive(Debug, Clone, PartialEq)]
pub enum RamEntry {
    /// The RAM blocks and their lengths.
    MemSize {
        total: u64,
        blocks: Vec<(String, u64)>,
    },
    /// A page filled with one byte.
    Zero {
        block: String,
        offset: u64,
        fill: u8,
        cont: bool,
    },
    /// A page: its bytes are `data` in the stream.
    Page {
        block: String,
        offset: u64,
        data: Range<usize>,
        cont: bool,
    },
    /// End of this section's RAM records.
    Eos,
}

/// Parses a whole stream. Device sections need the description at its
/// end: a stream without one is refused.
pub fn parse(bytes: &[u8]) -> Result<Stream> {
    let Some((vmdesc, vmdesc_start)) = vmdesc::find(bytes)? else {
        return Err(without_description(bytes));
    };
    let mut input = Input::new(&bytes[..vmdesc_start]);
    header(&mut input)?;
    let configuration = configuration(&mut input)?;
    // Checked by `vmdesc::find`: at most 1 MiB.
    let page_size = vmdesc.page_size as usize;
    let mut devices = vmdesc.devices.iter();
    let mut open = Open::new();
    let mut sections = Vec::new();
    let mut block = String::new();
    while let Some(SectionHeader {
        at,
        kind,
        id,
        idstr,
        instance,
        version,
    }) = section_header(&mut input, &mut open)?
    {
        let body = if idstr == "ram" {
            Body::Ram(ram(&mut input, page_size, &mut block).map_err(|e| e.context("ram"))?)
        } else if kind == SectionKind::Full {
            let desc = next_device(&mut devices, &idstr, instance, at)?;
            let vmsd_name = desc.vmsd.vmsd_name.clone().unwrap_or_else(|| idstr.clone());
            let fields = state::read(&mut input, &desc.vmsd, 0).map_err(|e| e.context(&idstr))?;
            Body::Device(DeviceSection { vmsd_name, fields })
        } else {
            return Err(Error::at(
                at,
                format!("`{idstr}` is an iterative section other than RAM: not supported"),
            ));
        };
        let footer = footer(&mut input, id, &idstr)?;
        if kind == SectionKind::End {
            open.remove(&id);
        }
        sections.push(Section {
            kind,
            id,
            idstr,
            instance,
            version,
            body,
            footer,
        });
    }
    if input.remaining() != 0 {
        return Err(Error::at(
            input.pos(),
            format!(
                "{} bytes between the end of file and the vmdesc",
                input.remaining()
            ),
        ));
    }
    Ok(Stream {
        configuration,
        sections,
        vmdesc,
        vmdesc_range: vmdesc_start..bytes.len(),
    })
}

/// Sections started and not yet ended: id, and id string, instance and
/// version, which their parts and end do not repeat.
type Open = HashMap<u32, (String, u32, u32)>;

/// What a section's header says, with the start section's ids for a part
/// or end; `at` is where it starts.
struct SectionHeader {
    at: usize,
    kind: SectionKind,
    id: u32,
    idstr: String,
    instance: u32,
    version: u32,
}

/// The next section's header, or `None` at the end-of-file marker.
fn section_header(input: &mut Input, open: &mut Open) -> Result<Option<SectionHeader>> {
    let at = input.pos();
    let kind = match input.u8("a section type")? {
        EOF => return Ok(None),
        SECTION_START => SectionKind::Start,
        SECTION_PART => SectionKind::Part,
        SECTION_END => SectionKind::End,
        SECTION_FULL => SectionKind::Full,
        COMMAND => {
            return Err(Error::at(
                at,
                "a command section (postcopy?): not supported",
            ))
        }
        other => return Err(Error::at(at, format!("unknown section type {other:#04x}"))),
    };
    let id = input.be32("a section id")?;
    let (idstr, instance, version) = match kind {
        SectionKind::Start | SectionKind::Full => {
            let idstr = input.text("a section id string")?;
            let instance = input.be32("an instance id")?;
            let version = input.be32("a version id")?;
            if kind == SectionKind::Start {
                open.insert(id, (idstr.clone(), instance, version));
            }
            (idstr, instance, version)
        }
        _ => open
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::at(at, format!("section {id} continues but never started")))?,
    };
    Ok(Some(SectionHeader {
        at,
        kind,
        id,
        idstr,
        instance,
        version,
    }))
}

/// Whether a footer follows section `id`, checked to name it.
fn footer(input: &mut Input, id: u32, idstr: &str) -> Result<bool> {
    if input.peek() != Some(SECTION_FOOTER) {
        return Ok(false);
    }
    let at = input.pos();
    input.u8("a footer")?;
    let footer_id = input.be32("a footer's section id")?;
    if footer_id != id {
        return Err(Error::at(
            at,
            format!("footer of section {footer_id} after section {id} (`{idstr}`)"),
        ));
    }
    Ok(true)
}

/// The magic and the format version.
fn header(input: &mut Input) -> Result<()> {
    if input.be32("the magic")? != MAGIC {
        return Err(Error::at(0, "not a QEMU migration stream (no QEVM magic)"));
    }
    let version = input.be32("the version")?;
    if version != VERSION {
        return Err(Error::at(
            4,
            format!("format version {version}; only 3 is read"),
        ));
    }
    Ok(())
}

/// Why a stream has no description at its end. Device sections carry no
/// lengths, so without it the stream can be read only up to the first
/// one: the header, the configuration and RAM sections are read to find
/// a fault there; otherwise the stream is either cut short (QEMU writes
/// the description last) or was saved without one.
fn without_description(bytes: &[u8]) -> Error {
    let mut input = Input::new(bytes);
    if let Err(e) = header(&mut input).and_then(|()| configuration(&mut input).map(drop)) {
        return e;
    }
    let (mut block, mut open) = (String::new(), Open::new());
    let mut last = None;
    loop {
        let h = match section_header(&mut input, &mut open) {
            Ok(Some(h)) => h,
            Ok(None) if input.remaining() == 0 => {
                return Error::at(
                    input.pos() - 1,
                    "the stream ends with the end-of-file marker but has no description \
                     (vmdesc): it was saved with suppress-vmdesc, and its device sections \
                     cannot be typed, nor even told apart",
                )
            }
            _ => break,
        };
        last = Some((h.idstr.clone(), h.at));
        if h.idstr != "ram" {
            break;
        }
        // The page size is in the description; x86's is assumed, only to
        // find where RAM is cut.
        let page_size = 4096;
        if let Err(e) = ram(&mut input, page_size, &mut block) {
            return e.context("ram");
        }
        if footer(&mut input, h.id, &h.idstr).is_err() {
            break;
        }
    }
    let place = match last {
        Some((idstr, at)) => format!(", in or after section `{idstr}` (from byte {at})"),
        None => String::new(),
    };
    Error::at(
        bytes.len(),
        format!(
            "the stream ends without the description QEMU writes last (vmdesc): it is cut \
             short{place}; a device section's length is known only from the description"
        ),
    )
}

fn configuration(input: &mut Input) -> Result<Configuration> {
    let start = input.pos();
    if input.u8("the configuration section")? != CONFIGURATION {
        return Err(Error::at(
            start,
            "no configuration section after the header",
        ));
    }
    let len = input.be32("the machine type's length")?;
    let machine = input.take(len as usize, "the machine type")?;
    let machine = String::from_utf8_lossy(machine).into_owned();
    if input.peek() == Some(SUBSECTION) {
        return Err(Error::at(
            input.pos(),
            "the configuration has subsections (migration capabilities or a UUID): not supported",
        ));
    }
    Ok(Configuration {
        machine,
        range: start..input.pos(),
    })
}

fn next_device<'d>(
    devices: &mut std::slice::Iter<'d, DeviceDesc>,
    idstr: &str,
    instance: u32,
    at: usize,
) -> Result<&'d DeviceDesc> {
    let desc = devices
        .next()
        .ok_or_else(|| Error::at(at, format!("section `{idstr}` has no entry in the vmdesc")))?;
    if desc.name != idstr || desc.instance_id != instance {
        return Err(Error::at(
            at,
            format!(
                "section `{idstr}` instance {instance}, but the vmdesc describes `{}` \
                 instance {} here",
                desc.name, desc.instance_id
            ),
        ));
    }
    Ok(desc)
}

/// RAM records up to the end of section; `block` carries the block of a
/// continued page across records and sections.
fn ram(input: &mut Input, page_size: usize, block: &mut String) -> Result<Vec<RamEntry>> {
    let mut out = Vec::new();
    loop {
        let at = input.pos();
        let header = input.be64("a RAM record")?;
        let flags = header & RAM_FLAGS;
        let addr = header & !RAM_FLAGS;
        let cont = flags & RAM_CONTINUE != 0;
        // Exactly the forms QEMU writes, so that each is written back as
        // it was read.
        match flags & !RAM_CONTINUE {
            RAM_MEM_SIZE if !cont => {
                let mut blocks = Vec::new();
                let mut total = 0u64;
                while total < addr {
                    let name = input.text("a RAM block name")?;
                    let len = input.be64("a RAM block length")?;
                    total = total
                        .checked_add(len)
                        .ok_or_else(|| Error::at(at, "RAM block lengths overflow"))?;
                    blocks.push((name, len));
                }
                if total != addr {
                    return Err(Error::at(
                        at,
                        format!("RAM blocks add up to {total}, not {addr}"),
                    ));
                }
                out.push(RamEntry::MemSize {
                    total: addr,
                    blocks,
                });
            }
            kind @ (RAM_ZERO | RAM_PAGE) => {
                if !cont {
                    *block = input.text("a RAM block name")?;
                } else if block.is_empty() {
                    return Err(Error::at(at, "a continued page before any block was named"));
                }
                if kind == RAM_ZERO {
                    let fill = input.u8("a zero page's fill")?;
                    out.push(RamEntry::Zero {
                        block: block.clone(),
                        offset: addr,
                        fill,
                        cont,
                    });
                } else {
                    let start = input.pos();
                    input.take(page_size, "a page")?;
                    out.push(RamEntry::Page {
                        block: block.clone(),
                        offset: addr,
                        data: start..start + page_size,
                        cont,
                    });
                }
            }
            RAM_EOS if !cont && addr == 0 => {
                out.push(RamEntry::Eos);
                return Ok(out);
            }
            _ => {
                return Err(Error::at(
                    at,
                    format!("RAM record {header:#018x} (flags {flags:#x}): not one QEMU writes"),
                ))
            }
        }
    }
}
