//! The file an export writes: buffered, its bytes sent to disk as they
//! are written, synced at the end.
//!
//! A gigabyte written and then synced waits at the end for all of it to
//! reach the disk; started as each megabyte is written, the writeback
//! overlaps with reading the image.

use std::fs::File;
use std::io::{self, Write};

use snapshot_core::image::Storage;

/// Bytes gathered before each write.
const BUFFER: usize = 1 << 20;

/// A stream file being written.
pub struct StreamFile {
    file: File,
    buffer: Vec<u8>,
    /// Bytes written to the file so far.
    written: u64,
}

impl StreamFile {
    /// Writes to `file` from its start.
    pub fn new(file: File) -> StreamFile {
        StreamFile {
            file,
            buffer: Vec::with_capacity(BUFFER),
            written: 0,
        }
    }

    fn drain(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.file.write_at(&self.buffer, self.written)?;
        self.file
            .start_writeback(self.written, self.buffer.len() as u64);
        self.written += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Writes what is buffered and syncs the file; returns it.
    pub fn finish(mut self) -> io::Result<File> {
        self.drain()?;
        self.file.sync_data()?;
        Ok(self.file)
    }
}

impl Write for StreamFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buffer.len() + buf.len() > BUFFER {
            self.drain()?;
        }
        if buf.len() >= BUFFER {
            self.file.write_at(buf, self.written)?;
            self.file.start_writeback(self.written, buf.len() as u64);
            self.written += buf.len() as u64;
        } else {
            self.buffer.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()
    }
}
