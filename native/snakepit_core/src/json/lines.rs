//! JSON Lines: one record object a line, streamed.

use super::document::parse_document;
use super::read_failed;
use crate::error::Result;
use crate::record::OwnedRecord;
use std::io::BufRead;

/// Reads JSON Lines: one record object per line; blank lines are skipped. Each item is a
/// record or the error for its line; a bad line does not stop the reader (the next line is
/// independent). Errors carry the record's 0-based index among non-blank lines, the
/// absolute byte offset, and "line N" (1-based) in the detail. An I/O error ends the
/// iteration after being reported as [`ErrorKind::Io`].
pub struct JsonLinesReader<R: BufRead> {
    src: R,
    line: Vec<u8>,
    line_no: u64,
    offset: u64,
    index: u64,
    done: bool,
}

impl<R: BufRead> JsonLinesReader<R> {
    pub fn new(src: R) -> Self {
        JsonLinesReader {
            src,
            line: Vec::with_capacity(4096),
            line_no: 0,
            offset: 0,
            index: 0,
            done: false,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.offset
    }

    pub fn into_inner(self) -> R {
        self.src
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<OwnedRecord>;

    fn next(&mut self) -> Option<Result<OwnedRecord>> {
        if self.done {
            return None;
        }
        loop {
            self.line.clear();
            let n = match self.src.read_until(b'\n', &mut self.line) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(read_failed(self.index, self.offset, e)));
                }
            };
            let start = self.offset;
            self.offset += n as u64;
            self.line_no += 1;
            if self.line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let index = self.index;
            self.index += 1;
            let prefix = format!("line {}, ", self.line_no);
            return Some(
                parse_document(&self.line, start, index, false, &prefix)
                    .map(|mut v| v.pop().expect("one record")),
            );
        }
    }
}
