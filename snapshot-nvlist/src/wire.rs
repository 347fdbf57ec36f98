//! Constants of libnv's packed layout (`sys/contrib/libnv/nvlist.c`,
//! `nvpair.c`), shared by the encoder and the decoder.

/// `NVLIST_HEADER_MAGIC`.
pub const MAGIC: u8 = 0x6c;
/// `NVLIST_HEADER_VERSION`.
pub const VERSION: u8 = 0;
/// `NV_FLAG_BIG_ENDIAN`: set by a big-endian packer.
pub const FLAG_BIG_ENDIAN: u8 = 0x80;
/// `struct nvlist_header`: magic, version, flags (u8 each), descriptors
/// and size (u64 each), packed.
pub const LIST_HEADER: usize = 19;
/// `struct nvpair_header`: type (u8), namesize (u16), datasize and nitems
/// (u64 each), packed.
pub const PAIR_HEADER: usize = 19;
/// A marker pair: a pair header and the empty name's NUL.
pub const MARKER: usize = PAIR_HEADER + 1;
/// `NV_TYPE_NVLIST_ARRAY_NEXT`: ends an element of an nvlist array.
pub const NVLIST_ARRAY_NEXT: u8 = 254;
/// `NV_TYPE_NVLIST_UP`: ends a nested nvlist.
pub const NVLIST_UP: u8 = 255;
/// `NV_NAME_MAX`: the largest name size, NUL included.
pub const NAME_SIZE_MAX: u16 = 2048;

/// The framing libnv's `nvlist_size()` leaves uncounted inside a nested
/// list, when `outer` is left uncounted around the pair that holds it:
/// the list's own `NVLIST_UP` marker is written while leaving it. (See
/// `encode.rs` for the whole rule; the tree encoder and the streaming
/// writer both take it from here.)
#[inline(always)]
pub fn skipped_in_list(outer: usize) -> usize {
    outer + MARKER
}

/// [`skipped_in_list`] for element `index` of an nvlist array of `len`:
/// its `NVLIST_ARRAY_NEXT`, and the header and marker of every later
/// element.
#[inline(always)]
pub fn skipped_in_element(outer: usize, index: usize, len: usize) -> usize {
    outer + MARKER + (len - 1 - index) * (LIST_HEADER + MARKER)
}
