//! Integration tests of snapshot-nvlist, as one binary.

/// The nvlist codec against the vectors made by FreeBSD's libnv.
mod nv {
    /// Buffers in big-endian byte order.
    mod big_endian;
    /// NVLIST datasizes against a transcription of libnv's size walk.
    mod libnv_size;
    /// Properties over arbitrary nvlists: pack, text and JSON round trips.
    mod properties;
    /// One test per rule the decoder enforces, on hand-corrupted buffers.
    mod rules;
    /// Edits of one value in the packed bytes against `set` and `pack`.
    mod set_in_place;
    /// The text form: syntax, escapes, edits and parse errors.
    mod text;
    mod vectors;
    /// The checked view against `unpack`: same verdicts, same values.
    mod view;
}
