//! nvlists, byte-compatible with FreeBSD's libnv.
//!
//! Use this module for any structured section of a snapshot: [`NvList`]
//! is the value tree, [`NvList::pack`] writes exactly what libnv's
//! `nvlist_pack` writes on a little-endian machine, and [`NvList::unpack`]
//! reads what `nvlist_unpack` reads (either byte order), refusing what a
//! file cannot hold (file descriptors). The wire format is specified byte
//! by byte in `docs/nvlist.md`.

mod copy;
mod decode;
mod encode;
mod reader;
mod serde_impl;
mod string;
mod value;
mod wire;
mod writer;

pub use decode::DecodeOptions;
pub use reader::{Item, Pair, Reader, MAX_DEPTH};
pub use value::{Flags, NvList, NvString, Type, Value, NAME_MAX};
pub use writer::Writer;

pub(crate) use copy::to_vec as copy_bytes;

use crate::error::Result;

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
