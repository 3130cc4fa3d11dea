//! The MARC-in-JSON writer: records to compact JSON objects, arrays and JSON Lines.

use super::push_u00;
use crate::encode::check_record;
use crate::error::{io_error, Result};
use crate::sink::Sink;
use crate::view::{FieldView, RecordView};
use std::io::{self, Write};

/// What each byte needs inside a JSON string: 0 = copy, `u` = `\u00XX`, else `\` + byte.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Escapes valid UTF-8 text (no quotes added).
#[inline]
fn escape_valid(s: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        if e == b'u' {
            push_u00(b, out);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Writes `bytes` as a quoted JSON string. Invalid UTF-8 becomes U+FFFD (one per maximal
/// invalid sequence, as [`String::from_utf8_lossy`]).
pub fn write_json_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    if bytes.is_ascii() {
        escape_valid(bytes, out);
    } else {
        for chunk in bytes.utf8_chunks() {
            escape_valid(chunk.valid().as_bytes(), out);
            if !chunk.invalid().is_empty() {
                out.extend_from_slice(REPLACEMENT);
            }
        }
    }
    out.push(b'"');
}

/// True when `bytes` can go between quotes as they are.
#[inline(always)]
fn plain(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b < 0x80 && ESCAPE[b as usize] == 0)
}

/// `"TAG":` for a field.
#[inline(always)]
fn write_key(tag: &[u8; 3], out: &mut Vec<u8>) {
    if plain(tag) {
        out.extend_from_slice(&[b'"', tag[0], tag[1], tag[2], b'"', b':']);
    } else {
        write_json_string(tag, out);
        out.push(b':');
    }
}

/// Appends one record as a compact JSON object (no trailing newline), after checking that
/// it can be written ([`check_record`]; on error nothing is written and `record_index` is
/// 0: callers set theirs).
pub fn write_record<R: RecordView + ?Sized>(record: &R, out: &mut Vec<u8>) -> Result<()> {
    check_record(record, 0)?;
    write_checked(record, out);
    Ok(())
}

fn write_checked<R: RecordView + ?Sized>(record: &R, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"leader\":");
    write_json_string(record.leader(), out);
    out.extend_from_slice(b",\"fields\":[");
    let mut first = true;
    for field in record.view_fields() {
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'{');
        match field {
            FieldView::Control { tag, value } => {
                write_key(&tag, out);
                write_json_string(value, out);
            }
            FieldView::Data {
                tag,
                ind1,
                ind2,
                subfields,
            } => {
                write_key(&tag, out);
                if plain(&[ind1, ind2]) {
                    out.extend_from_slice(b"{\"ind1\":\"");
                    out.push(ind1);
                    out.extend_from_slice(b"\",\"ind2\":\"");
                    out.push(ind2);
                    out.extend_from_slice(b"\",\"subfields\":[");
                } else {
                    out.extend_from_slice(b"{\"ind1\":");
                    write_json_string(&[ind1], out);
                    out.extend_from_slice(b",\"ind2\":");
                    write_json_string(&[ind2], out);
                    out.extend_from_slice(b",\"subfields\":[");
                }
                let mut first_sf = true;
                for (code, value) in subfields {
                    if !first_sf {
                        out.push(b',');
                    }
                    first_sf = false;
                    if plain(&[code]) {
                        out.extend_from_slice(&[b'{', b'"', code, b'"', b':']);
                    } else {
                        out.push(b'{');
                        write_json_string(&[code], out);
                        out.push(b':');
                    }
                    write_json_string(value, out);
                    out.push(b'}');
                }
                out.extend_from_slice(b"]}");
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// Starts a JSON array of records: `[`.
pub fn write_array_start(out: &mut Vec<u8>) {
    out.push(b'[');
}

/// Separates two records in a JSON array: `,` and a newline (one record per line, so an
/// array stays readable and diffable).
pub fn write_array_sep(out: &mut Vec<u8>) {
    out.extend_from_slice(b",\n");
}

/// Ends a JSON array of records: `]` and a newline.
pub fn write_array_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"]\n");
}

/// How [`JsonWriter`] lays records out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonLayout {
    /// One JSON array holding every record (`[rec,\nrec]\n`; `[]\n` when empty).
    #[default]
    Array,
    /// JSON Lines: each record is one line ending in `\n`; no enclosing array.
    Lines,
}

/// Streams records as JSON into any `io::Write`, buffering internally. Call
/// [`JsonWriter::finish`] at the end: it closes the array (in `Array` layout) and flushes;
/// dropping the writer without it loses buffered output.
pub struct JsonWriter<W: Write> {
    sink: Sink<W>,
    layout: JsonLayout,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(out: W, layout: JsonLayout) -> Self {
        JsonWriter {
            sink: Sink::new(out),
            layout,
        }
    }

    /// Appends one record; a record that cannot be written is an error (naming its index
    /// among the records given) and nothing of it is written.
    pub fn write_record<R: RecordView + ?Sized>(&mut self, record: &R) -> Result<()> {
        let index = self.sink.count();
        check_record(record, index)?;
        let buf = &mut self.sink.buf;
        match self.layout {
            JsonLayout::Array => {
                if index == 0 {
                    write_array_start(buf);
                } else {
                    write_array_sep(buf);
                }
                write_checked(record, buf);
            }
            JsonLayout::Lines => {
                write_checked(record, buf);
                buf.push(b'\n');
            }
        }
        self.sink.record_written().map_err(|e| io_error(index, e))
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.sink.count()
    }

    /// Closes the document, flushes, and gives the sink back.
    pub fn finish(mut self) -> io::Result<W> {
        if self.layout == JsonLayout::Array {
            if self.sink.count() == 0 {
                write_array_start(&mut self.sink.buf);
            }
            write_array_end(&mut self.sink.buf);
        }
        self.sink.finish()
    }
}

/// Convenience: a whole JSON array of `records` in a new buffer.
pub fn to_json_array<R: RecordView>(records: &[R]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(records.len() * 1024 + 4);
    write_array_start(&mut out);
    for (i, r) in records.iter().enumerate() {
        check_record(r, i as u64)?;
        if i > 0 {
            write_array_sep(&mut out);
        }
        write_checked(r, &mut out);
    }
    write_array_end(&mut out);
    Ok(out)
}
