//! The buffered output shared by the streaming writers (JSON and MARCXML): records are
//! written into a buffer that is handed to the sink in large writes.

use std::io::{self, Write};

/// Buffered output above this many bytes is handed to the sink.
const FLUSH_AT: usize = 64 * 1024;

pub(crate) struct Sink<W: Write> {
    out: W,
    pub(crate) buf: Vec<u8>,
    count: u64,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(out: W) -> Self {
        Sink {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 16 * 1024),
            count: 0,
        }
    }

    /// Records written so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Call after each record has been written into `buf`.
    pub(crate) fn record_written(&mut self) -> io::Result<()> {
        self.count += 1;
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes what is buffered, flushes, and gives the sink back.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()?;
        Ok(self.out)
    }
}
