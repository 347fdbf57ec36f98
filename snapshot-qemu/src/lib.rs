//! QEMU's migration stream, as QEMU 7.2 and later write it (format
//! version 3, `migrate "exec:cat > FILE"` or `savevm`): the
//! configuration section, RAM (the block list, zero and normal pages,
//! continuations, end of section), every device section (start, part,
//! end and full sections with their footers, instance and version ids,
//! subsections), the end of file and the JSON description QEMU appends
//! (vmdesc).
//!
//! Device sections carry no lengths: only the description says where
//! each field, and so each section, ends. [`parse`] reads the description
//! first (it is at the end of the stream) and types every device's fields
//! with it, as QEMU's `scripts/analyze-migration.py` does; a stream
//! without one (`suppress-vmdesc`) is refused, saying so.
//!
//! Every length and count read from the stream or its description is
//! checked against what remains of the input before it is used.

mod error;
mod image;
mod input;
mod sink;
mod source;
mod state;
mod stream;
mod vmdesc;
pub mod vmstate;
mod write;

pub use error::{Error, Result};
pub use image::{export, import, record_key, ConvertError, ImportStats};
pub use sink::StreamFile;
pub use source::StreamBytes;
pub use state::{FieldValue, Fields, RecordError};
pub use stream::{
    parse, Body, Configuration, DeviceSection, RamEntry, Section, SectionKind, Stream,
};
pub use vmdesc::{DeviceDesc, FieldDesc, VmDesc, VmsdDesc};
pub use write::write;
