//! A stream written back from its parts: the inverse of [`parse`]. For a
//! stream parsed unchanged the bytes are the same; changed device fields
//! are written in their place, with the sizes the description gives.
//! Written as it goes, so a stream of any size takes no more memory than
//! its sections' records.
//!
//! [`parse`]: crate::parse

use std::io::{self, Write};

use crate::state::{FieldValue, Fields};
use crate::stream::{
    Body, RamEntry, SectionKind, Stream, EOF, MAGIC, RAM_CONTINUE, RAM_EOS, RAM_MEM_SIZE, RAM_PAGE,
    RAM_ZERO, SECTION_END, SECTION_FOOTER, SECTION_FULL, SECTION_PART, SECTION_START, SUBSECTION,
    VERSION,
};

/// Writes `stream` to `out`; `page` writes the bytes of the page of a RAM
/// block at an offset (the original stream's, or guest memory's) to the
/// writer it is given, and `original` holds the bytes the configuration
/// and description ranges point into.
pub fn write(
    stream: &Stream,
    original: &[u8],
    page: &mut dyn FnMut(&str, u64, &mut dyn Write) -> io::Result<()>,
    out: &mut dyn Write,
) -> io::Result<()> {
    out.write_all(&MAGIC.to_be_bytes())?;
    out.write_all(&VERSION.to_be_bytes())?;
    out.write_all(&original[stream.configuration.range.clone()])?;
    for s in &stream.sections {
        let kind = match s.kind {
            SectionKind::Start => SECTION_START,
            SectionKind::Part => SECTION_PART,
            SectionKind::End => SECTION_END,
            SectionKind::Full => SECTION_FULL,
        };
        out.write_all(&[kind])?;
        out.write_all(&s.id.to_be_bytes())?;
        if matches!(s.kind, SectionKind::Start | SectionKind::Full) {
            name(out, s.idstr.as_bytes())?;
            out.write_all(&s.instance.to_be_bytes())?;
            out.write_all(&s.version.to_be_bytes())?;
        }
        match &s.body {
            Body::Ram(entries) => ram(out, entries, page)?,
            Body::Device(d) => {
                let mut bytes = Vec::new();
                fields(&mut bytes, &d.fields);
                out.write_all(&bytes)?;
            }
        }
        if s.footer {
            out.write_all(&[SECTION_FOOTER])?;
            out.write_all(&s.id.to_be_bytes())?;
        }
    }
    out.write_all(&[EOF])?;
    out.write_all(&original[stream.vmdesc_range.clone()])
}

fn name(out: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(&[bytes.len() as u8])?;
    out.write_all(bytes)
}

fn ram(
    out: &mut dyn Write,
    entries: &[RamEntry],
    page: &mut dyn FnMut(&str, u64, &mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    for e in entries {
        match e {
            RamEntry::MemSize { total, blocks } => {
                out.write_all(&(total | RAM_MEM_SIZE).to_be_bytes())?;
                for (block, len) in blocks {
                    name(out, block.as_bytes())?;
                    out.write_all(&len.to_be_bytes())?;
                }
            }
            RamEntry::Zero {
                block,
                offset,
                fill,
                cont,
            } => {
                let flags = RAM_ZERO | if *cont { RAM_CONTINUE } else { 0 };
                out.write_all(&(offset | flags).to_be_bytes())?;
                if !cont {
                    name(out, block.as_bytes())?;
                }
                out.write_all(&[*fill])?;
            }
            RamEntry::Page {
                block,
                offset,
                cont,
                ..
            } => {
                let flags = RAM_PAGE | if *cont { RAM_CONTINUE } else { 0 };
                out.write_all(&(offset | flags).to_be_bytes())?;
                if !cont {
                    name(out, block.as_bytes())?;
                }
                page(block, *offset, out)?;
            }
            RamEntry::Eos => out.write_all(&RAM_EOS.to_be_bytes())?,
        }
    }
    Ok(())
}

/// A device section's fields, into `out` (a section's records are small).
fn fields(out: &mut Vec<u8>, f: &Fields) {
    for (_, value) in &f.fields {
        field(out, value);
    }
    for (sub, version, sub_fields) in &f.subsections {
        out.push(SUBSECTION);
        out.push(sub.len() as u8);
        out.extend_from_slice(sub.as_bytes());
        out.extend_from_slice(&version.to_be_bytes());
        fields(out, sub_fields);
    }
}

fn field(out: &mut Vec<u8>, value: &FieldValue) {
    match value {
        FieldValue::Int { size, value, .. } => {
            out.extend_from_slice(&value.to_be_bytes()[8 - usize::from(*size)..]);
        }
        FieldValue::Bool(b) => out.push(u8::from(*b)),
        FieldValue::Bytes(b) => out.extend_from_slice(b),
        FieldValue::Struct(f) => fields(out, f),
        FieldValue::Array(items) => items.iter().for_each(|i| field(out, i)),
    }
}
