//! The `.mrk` reader: lines to records, one record at a time, memory bounded by one record.

use super::mnemonics::{decode_marc8_value, decode_value, Blanks, Charset};
use crate::encode::check_record;
use crate::error::{ErrorKind, MarcError, Result, EXCERPT_LEN};
use crate::marc8::{Marc8Encoder, Marc8WriteOptions, Unrepresentable};
use crate::record::{is_control_tag, OwnedField, OwnedRecord, LEADER_LEN};
use std::io::{self, BufRead};

/// Largest record [`MrkReader`] buffers by default, in bytes of input (lines included).
pub const MAX_MRK_RECORD: usize = crate::json::MAX_JSON_RECORD;

/// Reads `.mrk` records from any `BufRead`. A record is a run of lines, the first
/// `=LDR  ...`, ended by a blank line, the next `=LDR` line or the end of the input.
/// `\r\n` and `\n` line ends and a UTF-8 byte order mark are accepted.
///
/// A record whose leader/09 is not `a` is MARC-8 text (MARCMaker's `.mrk`): its values are
/// read as the MARC-8 bytes they spell (the mnemonics' MARC-8 reading) and the
/// record comes out MARC-8, leader/09 as written, for the MARC-8 decoder
/// ([`crate::chunker::decoded_owned_item`] reads it as its ISO 2709 frame would be read).
///
/// A bad line is an [`ErrorKind::InvalidMrk`] error for its record (the detail starts with
/// `line N:`, 1-based; the offset is the line's); the reader passes over the rest of that
/// record and goes on. A record of more than `max_record` bytes, or a line as long, is an
/// [`ErrorKind::TooLarge`] error that ends the reading: nothing longer is ever buffered.
pub struct MrkReader<R: BufRead> {
    src: R,
    pub(super) line: Vec<u8>,
    line_no: u64,
    /// Absolute offset of the next unread byte.
    offset: u64,
    index: u64,
    done: bool,
    max_record: usize,
    /// A `=LDR` line read that starts the next record.
    carried: Option<(u64, u64, Vec<u8>)>,
    scratch: Vec<u8>,
    /// The text of the record being read (from its leader).
    charset: Charset,
    /// Writes the characters of SGML names in MARC-8 records.
    encoder: Marc8Encoder,
}

/// One line's place: its 1-based number and absolute offset.
#[derive(Clone, Copy)]
struct At {
    line: u64,
    offset: u64,
}

impl<R: BufRead> MrkReader<R> {
    pub fn new(src: R) -> Self {
        MrkReader {
            src,
            line: Vec::with_capacity(4096),
            line_no: 0,
            offset: 0,
            index: 0,
            done: false,
            max_record: MAX_MRK_RECORD,
            carried: None,
            scratch: Vec::new(),
            charset: Charset::Utf8,
            encoder: Marc8Encoder::new(Marc8WriteOptions {
                unrepresentable: Unrepresentable::Error,
            }),
        }
    }

    /// Decodes one value of the current record into `out`.
    fn decode(&mut self, value: &[u8], blanks: Blanks, out: &mut Vec<u8>) {
        match self.charset {
            Charset::Utf8 => decode_value(value, blanks, out),
            Charset::Marc8 => decode_marc8_value(value, blanks, &mut self.encoder, out),
        }
    }

    /// Caps a record at `bytes` of input.
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// Reads the next line into `self.line` (line end stripped), reading at most `limit`
    /// bytes of it. `Ok(None)` at the end of the input; `Err(None)` for a line over `limit`.
    fn read_line(&mut self, limit: usize) -> std::result::Result<Option<At>, Option<io::Error>> {
        self.line.clear();
        let start = self.offset;
        loop {
            let buf = match self.src.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Some(e)),
            };
            if buf.is_empty() {
                if self.offset == start {
                    return Ok(None);
                }
                break;
            }
            let (used, end) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let take = used - usize::from(end);
            if self.line.len() + take > limit {
                return Err(None);
            }
            self.line.extend_from_slice(&buf[..take]);
            self.src.consume(used);
            self.offset += used as u64;
            if end {
                break;
            }
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.line_no == 0 && self.line.starts_with(b"\xEF\xBB\xBF") {
            self.line.drain(..3);
        }
        self.line_no += 1;
        Ok(Some(At {
            line: self.line_no,
            offset: start,
        }))
    }

    fn error(&self, kind: ErrorKind, at: At, line: &[u8], detail: String) -> MarcError {
        MarcError {
            kind,
            record_index: self.index,
            byte_offset: at.offset,
            excerpt: line[..line.len().min(EXCERPT_LEN)].to_vec(),
            detail: format!("line {}: {detail}", at.line),
        }
    }

    fn too_large(&mut self, at: At) -> Option<Result<OwnedRecord>> {
        self.done = true;
        let cap = self.max_record;
        Some(Err(MarcError::bare(
            ErrorKind::TooLarge,
            self.index,
            at.offset,
            format!(
                "line {}: a record over {cap} bytes (the max_record_bytes limit)",
                at.line
            ),
        )))
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t'))
}

impl<R: BufRead> Iterator for MrkReader<R> {
    type Item = Result<OwnedRecord>;

    fn next(&mut self) -> Option<Result<OwnedRecord>> {
        if self.done {
            return None;
        }
        let mut record: Option<OwnedRecord> = None;
        let mut failed: Option<MarcError> = None;
        let mut used = 0usize;
        let mut start = None::<At>;
        loop {
            let at = if let Some((line, offset, bytes)) = self.carried.take() {
                self.line = bytes;
                At { line, offset }
            } else {
                let limit = self.max_record.saturating_sub(used);
                match self.read_line(limit) {
                    Ok(Some(at)) => at,
                    Ok(None) => {
                        self.done = true;
                        break;
                    }
                    Err(None) => {
                        let at = At {
                            line: self.line_no + 1,
                            offset: self.offset,
                        };
                        return self.too_large(at);
                    }
                    Err(Some(e)) => {
                        self.done = true;
                        return Some(Err(crate::json::read_failed(self.index, self.offset, e)));
                    }
                }
            };
            if is_blank(&self.line) {
                if start.is_some() {
                    break;
                }
                continue;
            }
            if start.is_some() && self.line.starts_with(b"=LDR") {
                let bytes = std::mem::take(&mut self.line);
                self.carried = Some((at.line, at.offset, bytes));
                break;
            }
            used += self.line.len() + 1;
            let first = start.is_none();
            if first {
                start = Some(at);
            }
            if failed.is_some() {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            match self.parse_line(&line, at, first, &mut record) {
                Ok(()) => {}
                Err(e) => failed = Some(e),
            }
            self.line = line;
        }
        let start = start?;
        let index = self.index;
        self.index += 1;
        if let Some(e) = failed {
            return Some(Err(e));
        }
        let record = record.expect("a record starts with its leader line");
        Some(
            check_record(&record, index)
                .map(|()| record)
                .map_err(|e| MarcError {
                    byte_offset: start.offset,
                    detail: format!("line {}: {}", start.line, e.detail),
                    ..e
                }),
        )
    }
}

impl<R: BufRead> MrkReader<R> {
    /// Adds one line to `record` (the leader line creates it).
    fn parse_line(
        &mut self,
        line: &[u8],
        at: At,
        first: bool,
        record: &mut Option<OwnedRecord>,
    ) -> Result<()> {
        let bad = |this: &Self, detail: String| this.error(ErrorKind::InvalidMrk, at, line, detail);
        if line.first() != Some(&b'=') {
            return Err(bad(self, "a line must start with `=` and a tag".into()));
        }
        if line.len() < 6 || &line[4..6] != b"  " {
            return Err(bad(
                self,
                "the tag must be 3 characters followed by two spaces, as in `=245  10$a...`".into(),
            ));
        }
        let tag: [u8; 3] = line[1..4].try_into().expect("3 bytes");
        let data = &line[6..];
        if &tag == b"LDR" {
            if !first {
                return Err(bad(self, "a second =LDR line in one record".into()));
            }
            self.scratch.clear();
            decode_value(data, Blanks::Backslash, &mut self.scratch);
            let leader: [u8; LEADER_LEN] = self.scratch.as_slice().try_into().map_err(|_| {
                bad(
                    self,
                    format!(
                        "the leader must be 24 characters, got {}",
                        self.scratch.len()
                    ),
                )
            })?;
            self.charset = if leader[9] == b'a' {
                Charset::Utf8
            } else {
                Charset::Marc8
            };
            *record = Some(OwnedRecord {
                leader,
                fields: Vec::new(),
            });
            return Ok(());
        }
        let Some(record) = record.as_mut() else {
            return Err(bad(self, "a record must start with its =LDR line".into()));
        };
        // What the writers accept (a tag `0 2` of a damaged record too), so every record
        // written reads back.
        if !tag.iter().all(|b| (0x20..0x7F).contains(b)) {
            return Err(bad(self, "a tag is 3 printable ASCII characters".into()));
        }
        if is_control_tag(&tag) {
            let mut value = Vec::with_capacity(data.len());
            self.decode(data, Blanks::Backslash, &mut value);
            record.fields.push(OwnedField::Control { tag, value });
            return Ok(());
        }
        let (ind1, ind2, rest) = match data {
            [i1, i2, rest @ ..] if i1.is_ascii() && i2.is_ascii() => (*i1, *i2, rest),
            _ => {
                return Err(bad(
                    self,
                    "a data field needs two ASCII indicators after the two spaces".into(),
                ))
            }
        };
        let blank = |b: u8| if b == b'\\' { b' ' } else { b };
        let mut subfields = Vec::new();
        if !rest.is_empty() {
            let Some(body) = rest.strip_prefix(b"$") else {
                return Err(bad(
                    self,
                    "expected `$` and a subfield code after the indicators".into(),
                ));
            };
            for (i, chunk) in body.split(|&b| b == b'$').enumerate() {
                match chunk {
                    [code, value @ ..] if code.is_ascii() => {
                        let mut decoded = Vec::with_capacity(value.len());
                        self.decode(value, Blanks::Space, &mut decoded);
                        subfields.push((*code, decoded));
                    }
                    [] => {
                        return Err(bad(
                            self,
                            format!("subfield {i}: a `$` with no code (a `$` in a value is written {{dollar}})"),
                        ))
                    }
                    _ => {
                        return Err(bad(
                            self,
                            format!("subfield {i}: a subfield code is one ASCII character"),
                        ))
                    }
                }
            }
        }
        record.fields.push(OwnedField::Data {
            tag,
            ind1: blank(ind1),
            ind2: blank(ind2),
            subfields,
        });
        Ok(())
    }
}
