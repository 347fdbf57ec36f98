//! The JSON description QEMU appends to a stream (vmdesc): for each
//! device section in the order sent, its VMState fields with their types
//! and sizes, nested structs, and the subsections it sent.

use serde::Deserialize;

use crate::error::{Error, Result};

/// The stream's description.
#[derive(Debug, Clone, Deserialize)]
pub struct VmDesc {
    /// The target page size: a power of two of at most 1 MiB, as
    /// [`find`] checks, so it can size a page wherever it is used.
    pub page_size: u64,
    /// The device sections, in the order sent.
    pub devices: Vec<DeviceDesc>,
}

/// One device section: its id string, instance and VMState.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceDesc {
    /// The section's id string (`0000:00:03.0/e1000`).
    pub name: String,
    /// The instance id.
    pub instance_id: u32,
    #[serde(flatten)]
    pub vmsd: VmsdDesc,
}

/// A VMState description: fields, then the subsections sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VmsdDesc {
    /// The VMStateDescription's name; absent for a legacy section.
    #[serde(default)]
    pub vmsd_name: Option<String>,
    /// Its version.
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub fields: Vec<FieldDesc>,
    #[serde(default)]
    pub subsections: Vec<VmsdDesc>,
}

/// One field: raw bytes of `size` (typed by `type` when a number), or a
/// nested VMState (`struct`, or `fields` inline for a `tmp` field);
/// `array_len` elements when an array.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldDesc {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub array_len: Option<u64>,
    /// Set when QEMU described an array's elements one by one.
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default, rename = "struct")]
    pub nested: Option<VmsdDesc>,
    /// A `tmp` field's VMState, inline.
    #[serde(default)]
    pub fields: Option<Vec<FieldDesc>>,
    #[serde(default)]
    pub vmsd_name: Option<String>,
    #[serde(default)]
    pub subsections: Vec<VmsdDesc>,
}

impl FieldDesc {
    /// The nested VMState of a struct or `tmp` field.
    pub fn nested(&self) -> Option<VmsdDesc> {
        if let Some(n) = &self.nested {
            return Some(n.clone());
        }
        self.fields.as_ref().map(|fields| VmsdDesc {
            vmsd_name: self.vmsd_name.clone(),
            version: None,
            fields: fields.clone(),
            subsections: self.subsections.clone(),
        })
    }
}

/// The largest target page read.
const MAX_PAGE: u64 = 1 << 20;

/// `QEMU_VM_VMDESCRIPTION`.
const VMDESCRIPTION: u8 = 0x06;

/// The description at the end of `stream`, and where its marker starts:
/// the last `0x06`, be32 length, whose JSON runs to the end. `None` when
/// the stream has none.
pub(crate) fn find(stream: &[u8]) -> Result<Option<(VmDesc, usize)>> {
    let Some(start) = stream.iter().rposition(|&b| b == b'{') else {
        return Ok(None);
    };
    // The JSON's first brace: scan back over candidate markers.
    let mut at = start;
    loop {
        if at >= 5 && stream[at - 5] == VMDESCRIPTION {
            let len = u32::from_be_bytes(stream[at - 4..at].try_into().expect("4 bytes"));
            if len as usize == stream.len() - at {
                let desc: VmDesc = serde_json::from_slice(&stream[at..])
                    .map_err(|e| Error::at(at, format!("the stream's vmdesc is not valid: {e}")))?;
                if !desc.page_size.is_power_of_two() || desc.page_size > MAX_PAGE {
                    let size = desc.page_size;
                    return Err(Error::at(
                        at,
                        format!("vmdesc: page_size {size} is not a power of two up to 1 MiB"),
                    ));
                }
                return Ok(Some((desc, at - 5)));
            }
        }
        match stream[..at].iter().rposition(|&b| b == b'{') {
            Some(p) => at = p,
            None => return Ok(None),
        }
    }
}
