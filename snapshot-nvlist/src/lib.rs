#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod copy;
mod decode;
mod encode;
pub mod error;
pub mod path;
mod reader;
mod scan;
mod serde_impl;
mod string;
pub mod text;
mod value;
pub mod view;
mod wire;
mod writer;

pub use reader::{Item, Pair, Reader, MAX_DEPTH};
pub use scan::DecodeOptions;
pub use value::{Flags, NvList, NvString, Type, Value, NAME_MAX};
pub use view::{ListView, ValueView, View};
pub use writer::Writer;

#[doc(hidden)]
pub use copy::to_vec as copy_bytes;
pub use error::{Error, ErrorKind, Result};
pub use path::{pair_path, parse_value, quote_name, quote_str, Segment, ValuePath};

impl NvList {
    /// Packs the list in libnv's format (little-endian).
    pub fn pack(&self) -> Vec<u8> {
        encode::pack(self)
    }

    /// The size [`NvList::pack`] will return, without packing.
    pub fn packed_size(&self) -> usize {
        encode::packed_size(self)
    }

    /// Unpacks a buffer holding exactly one packed nvlist, with the default
    /// [`DecodeOptions`].
    pub fn unpack(bytes: &[u8]) -> Result<NvList> {
        decode::unpack(bytes, &DecodeOptions::default())
    }

    /// Unpacks with explicit limits.
    pub fn unpack_with(bytes: &[u8], options: &DecodeOptions) -> Result<NvList> {
        decode::unpack(bytes, options)
    }
}
