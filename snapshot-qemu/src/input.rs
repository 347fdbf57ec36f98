//! A cursor over the stream's bytes: big-endian reads that fail, naming
//! the offset, rather than read past the end.

use crate::error::{Error, Result};

pub(crate) struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Input<'a> {
        Input { bytes, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::at(
                self.pos,
                format!(
                    "the stream ends {} bytes into {what}, which needs {n}",
                    self.remaining()
                ),
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn be32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes(b.try_into().expect("4 bytes")))
    }

    pub(crate) fn be64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// A string with a one-byte length, as QEMU writes names.
    pub(crate) fn name(&mut self, what: &str) -> Result<&'a [u8]> {
        let len = self.u8(what)?;
        self.take(len.into(), what)
    }

    /// A name that must be UTF-8 (section id strings and RAM block names
    /// are ASCII in QEMU): one that is not could not be written back as
    /// it was.
    pub(crate) fn text(&mut self, what: &str) -> Result<String> {
        let at = self.pos();
        let bytes = self.name(what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Error::at(at, format!("{what} that is not UTF-8")))
    }
}
