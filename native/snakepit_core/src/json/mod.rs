//! MARC-in-JSON, the shape pymarc reads and writes:
//!
//! ```json
//! {"leader": "00755cam  22002414a 4500",
//!  "fields": [{"001": "fol05731351 "},
//!             {"245": {"ind1": "1", "ind2": "0",
//!                      "subfields": [{"a": "ActivePerl with ASP and ADO /"},
//!                                    {"c": "Tobias Martinsson."}]}}]}
//! ```
//!
//! Fields and subfields are lists of one-key objects so that order survives.
//!
//! # Writing
//!
//! [`write_record`] appends one compact record object to a `Vec<u8>` with direct byte
//! pushes (no intermediate tree). It takes any [`RecordView`]: a borrowed
//! [`Record`](crate::Record) or an [`OwnedRecord`]. Compose a document with
//! [`write_array_start`] / [`write_array_sep`] / [`write_array_end`], or use [`JsonWriter`]
//! over any `io::Write` in [`JsonLayout::Array`] or [`JsonLayout::Lines`] (JSON Lines: one
//! record per line).
//!
//! Which fields are control fields: for a borrowed [`Record`](crate::Record), tags 001-009; for an
//! [`OwnedRecord`], the [`OwnedField`] variant. The leader is written as stored (pymarc's
//! `as_dict` does the same); lengths and base address are only recomputed on ISO 2709
//! encode.
//!
//! Every record is first checked by [`crate::check_record`]: delimiter bytes,
//! tags that do not match their fields' kinds, invalid UTF-8 under leader/09 `a` and empty
//! records are refused with a typed error and nothing of the record is written (see
//! [`crate::encode`]). **Bytes that are not UTF-8** in a record that is not UTF-8 (MARC-8)
//! cannot be represented in a JSON string: each maximal invalid sequence is written as one
//! U+FFFD REPLACEMENT CHARACTER, exactly as [`String::from_utf8_lossy`] would. Writing
//! never panics. Convert MARC-8 records to UTF-8 first to keep their text.
//!
//! Escaping: `"` and `\` are backslash-escaped; control characters U+0000-U+001F use
//! `\b \f \n \r \t` or `\u00XX`; everything else, non-BMP characters included, is written
//! as raw UTF-8.
//!
//! # Reading
//!
//! [`read_records`] takes a JSON array of records or a single record object;
//! [`JsonLinesReader`] reads JSON Lines from any `BufRead`, one record per non-blank line.
//! Both go straight from the JSON tokens to [`OwnedRecord`] through serde visitors (no
//! `serde_json::Value` in between).
//!
//! Validated: the leader is a string of exactly 24 bytes; tags are strings of exactly 3
//! printable ASCII characters; indicators are strings of exactly one byte; subfield codes
//! are keys of exactly one byte; every value is a string; fields and subfields are one-key
//! objects. A field whose value is a string becomes [`OwnedField::Control`], one whose value
//! is an object becomes [`OwnedField::Data`]. Unknown keys beside `leader`/`fields` and
//! beside `ind1`/`ind2`/`subfields` are ignored, as pymarc does. Each record read is then
//! checked by [`crate::check_record`]: `\u001f` in a value or a string value
//! under tag `245` is an [`ErrorKind::InvalidValue`] at the record's offset.
//!
//! Like pymarc (which loads with Python's `json.load(..., strict=False)`), raw control
//! characters inside strings (for example a literal newline in a value, as in pymarc's own
//! `test.json`) are accepted and kept. Nothing else outside RFC 8259 is accepted.
//!
//! Errors are [`ErrorKind::InvalidJson`] with `record_index` (0-based), the absolute
//! `byte_offset` of the problem (converted from serde_json's line/column: the last byte it
//! read, which is the last byte of the offending token, e.g. the closing quote of a leader
//! that is too short), an excerpt of the input there, and a detail naming the place, e.g.
//! `record 2, field 3 (245), subfield 0: invalid type: integer `7`, expected a string`.
//! Indices in details are 0-based like `record_index`.
//!
//! [`read_records`] builds the whole `Vec`; for inputs too large for that, write and read
//! JSON Lines, which [`JsonLinesReader`] streams one line at a time.
//!
//! # Layout of this module
//!
//! One job a file: [`write`] (the writer), `de` (the serde visitors, one generic seed
//! shared by all), `document` (one document: [`read_records`], [`read_record`]), `lines`
//! ([`JsonLinesReader`]), `records` ([`JsonRecordReader`], framing record objects in any
//! layout) and `offsets` (serde_json's line/column back to byte offsets of the input).

mod de;
mod document;
mod lines;
mod offsets;
mod records;
mod write;

pub use document::{read_record, read_records};
pub use lines::JsonLinesReader;
pub use records::{JsonRecordReader, MAX_JSON_RECORD};
pub use write::{
    to_json_array, write_array_end, write_array_sep, write_array_start, write_json_string,
    write_record, JsonLayout, JsonWriter,
};

/// Appends `b` as a JSON `\u00XX` escape.
fn push_u00(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'u',
        b'0',
        b'0',
        HEX[(b >> 4) as usize],
        HEX[(b & 0xF) as usize],
    ]);
}

/// The error a reader reports, and ends with, when its source fails.
pub(crate) fn read_failed(index: u64, offset: u64, e: std::io::Error) -> crate::error::MarcError {
    crate::error::MarcError::bare(crate::error::ErrorKind::Io, index, offset, e.to_string())
}

#[cfg(test)]
mod tests;
