//! A stream written back from its parts: the inverse of [`parse`]. For a
//! stream parsed unchanged the bytes are the same; changed device fields
//! are written in their place, with the sizes the description gives.
//!
//! [`parse`]: crate::parse

use crate::state::{FieldValue, Fields};
use crate::stream::{
    Body, RamEntry, SectionKind, Stream, EOF, MAGIC, RAM_CONTINUE, RAM_EOS, RAM_MEM_SIZE, RAM_PAGE,
    RAM_ZERO, SECTION_END, SECTION_FOOTER, SECTION_FULL, SECTION_PART, SECTION_START, SUBSECTION,
    VERSION,
};

/// Writes `stream`; `page` gives the bytes of the page of a RAM block at
/// an offset (the original stream's, or guest memory's), and `original`
/// the bytes the configuration and description ranges point into.
pub fn write(
    stream: &Stream,
    original: &[u8],
    page: &mut dyn FnMut(&str, u64) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&original[stream.configuration.range.clone()]);
    for s in &stream.sections {
        let kind = match s.kind {
            SectionKind::Start => SECTION_START,
            SectionKind::Part => SECTION_PART,
            SectionKind::End => SECTION_END,
            SectionKind::Full => SECTION_FULL,
        };
        out.push(kind);
        out.extend_from_slice(&s.id.to_be_bytes());
        if matches!(s.kind, SectionKind::Start | SectionKind::Full) {
            name(&mut out, s.idstr.as_bytes());
            out.extend_from_slice(&s.instance.to_be_bytes());
            out.extend_from_slice(&s.version.to_be_bytes());
        }
        match &s.body {
            Body::Ram(entries) => ram(&mut out, entries, page),
            Body::Device(d) => fields(&mut out, &d.fields),
        }
        if s.footer {
            out.push(SECTION_FOOTER);
            out.extend_from_slice(&s.id.to_be_bytes());
        }
    }
    out.push(EOF);
    out.extend_from_slice(&original[stream.vmdesc_range.clone()]);
    out
}

fn name(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

fn ram(out: &mut Vec<u8>, entries: &[RamEntry], page: &mut dyn FnMut(&str, u64) -> Vec<u8>) {
    for e in entries {
        match e {
            RamEntry::MemSize { total, blocks } => {
                out.extend_from_slice(&(total | RAM_MEM_SIZE).to_be_bytes());
                for (block, len) in blocks {
                    name(out, block.as_bytes());
                    out.extend_from_slice(&len.to_be_bytes());
                }
            }
            RamEntry::Zero {
                block,
                offset,
                fill,
                cont,
            } => {
                let flags = RAM_ZERO | if *cont { RAM_CONTINUE } else { 0 };
                out.extend_from_slice(&(offset | flags).to_be_bytes());
                if !cont {
                    name(out, block.as_bytes());
                }
                out.push(*fill);
            }
            RamEntry::Page {
                block,
                offset,
                cont,
                ..
            } => {
                let flags = RAM_PAGE | if *cont { RAM_CONTINUE } else { 0 };
                out.extend_from_slice(&(offset | flags).to_be_bytes());
                if !cont {
                    name(out, block.as_bytes());
                }
                out.extend_from_slice(&page(block, *offset));
            }
            RamEntry::Eos => out.extend_from_slice(&RAM_EOS.to_be_bytes()),
        }
    }
}

fn fields(out: &mut Vec<u8>, f: &Fields) {
    for (_, value) in &f.fields {
        field(out, value);
    }
    for (sub, version, sub_fields) in &f.subsections {
        out.push(SUBSECTION);
        name(out, sub.as_bytes());
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
