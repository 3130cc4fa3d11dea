//! Record objects framed one at a time out of any layout, with memory bounded by one record.

use super::document::parse_document;
use super::read_failed;
use crate::error::{ErrorKind, MarcError, Result};
use crate::record::OwnedRecord;
use std::io::{self, BufRead};

/// Largest record object [`JsonRecordReader`] buffers (a record's ISO 2709 form is at most
/// 99,999 bytes; its JSON, escaped, may be several times that).
pub const MAX_JSON_RECORD: usize = 16 * 1024 * 1024;

/// Reads MARC-in-JSON records one at a time from any `BufRead`, whatever the layout: JSON
/// Lines, a JSON array of records (our own or pymarc's, on one line or many), a single
/// record object, or record objects one after another. Memory is bounded by one record.
///
/// It frames each top-level `{...}` object by counting braces and brackets outside strings
/// (so raw newlines inside strings, as in pymarc's `test.json`, are fine), then reads it
/// like [`read_record`]. Between objects only whitespace, `,`, `[` and `]` may appear (they
/// are not checked further); anything else is an [`ErrorKind::InvalidJson`] that ends the
/// reading. A bad record object yields its error and the reader goes on with the next one.
/// Errors carry the record's 0-based index and the absolute byte offset.
pub struct JsonRecordReader<R: BufRead> {
    src: R,
    obj: Vec<u8>,
    /// Absolute offset of the next unread byte.
    offset: u64,
    /// Offset where the last record object started.
    start: u64,
    index: u64,
    done: bool,
    /// Largest record object buffered ([`MAX_JSON_RECORD`] unless set).
    max_record: usize,
}

impl<R: BufRead> JsonRecordReader<R> {
    pub fn new(src: R) -> Self {
        JsonRecordReader {
            src,
            obj: Vec::with_capacity(8192),
            offset: 0,
            start: 0,
            index: 0,
            done: false,
            max_record: MAX_JSON_RECORD,
        }
    }

    /// Caps a record object at `bytes`: a larger one is an [`ErrorKind::TooLarge`] error
    /// that ends the reading.
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// Absolute offset of the last record object read.
    pub fn record_start(&self) -> u64 {
        self.start
    }

    /// Record objects started so far (good and bad).
    pub fn records_seen(&self) -> u64 {
        self.index
    }

    fn fail(&mut self, at: u64, excerpt: &[u8], detail: String) -> Option<Result<OwnedRecord>> {
        self.done = true;
        let end = excerpt.len().min(crate::error::EXCERPT_LEN);
        Some(Err(MarcError {
            kind: ErrorKind::InvalidJson,
            record_index: self.index,
            byte_offset: at,
            excerpt: excerpt[..end].to_vec(),
            detail,
        }))
    }
}

impl<R: BufRead> Iterator for JsonRecordReader<R> {
    type Item = Result<OwnedRecord>;

    fn next(&mut self) -> Option<Result<OwnedRecord>> {
        if self.done {
            return None;
        }
        self.obj.clear();
        let (mut depth, mut in_str, mut esc) = (0usize, false, false);
        loop {
            let buf = match self.src.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(read_failed(self.index, self.offset, e)));
                }
            };
            if buf.is_empty() {
                if depth == 0 {
                    self.done = true;
                    return None;
                }
                let (at, obj) = (self.start, std::mem::take(&mut self.obj));
                return self.fail(
                    at,
                    &obj,
                    "the input ends inside a record object".to_string(),
                );
            }
            let mut used = 0;
            let mut complete = false;
            while used < buf.len() {
                let b = buf[used];
                if depth == 0 {
                    match b {
                        b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' => {}
                        b'{' => {
                            depth = 1;
                            self.start = self.offset + used as u64;
                            self.obj.push(b);
                        }
                        _ => {
                            let at = self.offset + used as u64;
                            let excerpt = buf[used..].to_vec();
                            return self.fail(
                                at,
                                &excerpt,
                                format!(
                                    "expected a record object, found {:?}",
                                    String::from_utf8_lossy(&excerpt[..excerpt.len().min(8)])
                                ),
                            );
                        }
                    }
                    used += 1;
                    continue;
                }
                // Inside an object. A byte after a backslash in a string is taken as it is.
                if in_str && esc {
                    self.obj.push(b);
                    used += 1;
                    esc = false;
                    continue;
                }
                // Copy through the next byte that matters.
                let rest = &buf[used..];
                let n = if in_str {
                    memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len())
                } else {
                    rest.iter()
                        .position(|&c| matches!(c, b'"' | b'{' | b'}' | b'[' | b']'))
                        .unwrap_or(rest.len())
                };
                if n == rest.len() {
                    self.obj.extend_from_slice(rest);
                    used += n;
                    continue;
                }
                self.obj.extend_from_slice(&rest[..=n]);
                used += n + 1;
                let c = rest[n];
                if in_str {
                    if c == b'\\' {
                        esc = true;
                    } else {
                        in_str = false;
                    }
                } else {
                    match c {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        _ => {
                            depth -= 1;
                            if depth == 0 {
                                complete = true;
                                break;
                            }
                        }
                    }
                }
            }
            self.src.consume(used);
            self.offset += used as u64;
            if self.obj.len() > self.max_record {
                let (at, obj) = (self.start, std::mem::take(&mut self.obj));
                let cap = self.max_record;
                let too_large = self.fail(
                    at,
                    &obj,
                    format!("a record object over {cap} bytes (the max_record_bytes limit)"),
                );
                return too_large.map(|r| {
                    r.map_err(|e| MarcError {
                        kind: ErrorKind::TooLarge,
                        ..e
                    })
                });
            }
            if complete {
                let index = self.index;
                self.index += 1;
                return Some(
                    parse_document(&self.obj, self.start, index, false, "")
                        .map(|mut v| v.pop().expect("one record")),
                );
            }
        }
    }
}
