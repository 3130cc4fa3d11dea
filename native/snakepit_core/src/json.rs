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

use crate::encode::check_record;
use crate::error::{io_error, ErrorKind, MarcError, Result};
use crate::record::{OwnedField, OwnedRecord, LEADER_LEN};
use crate::sink::Sink;
use crate::view::{FieldView, RecordView};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Write};

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

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

const HEX: &[u8; 16] = b"0123456789abcdef";
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
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xF) as usize],
            ]);
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

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// Where the deserializer is, for error details. Updated as parsing goes.
#[derive(Default)]
struct Ctx {
    record: Cell<u64>,
    field: Cell<Option<usize>>,
    tag: Cell<[u8; 3]>,
    tag_known: Cell<bool>,
    subfield: Cell<Option<usize>>,
}

impl Ctx {
    fn enter_record(&self, index: u64) {
        self.record.set(index);
        self.field.set(None);
        self.subfield.set(None);
    }

    fn enter_field(&self, index: usize) {
        self.field.set(Some(index));
        self.tag_known.set(false);
        self.subfield.set(None);
    }

    fn describe(&self) -> String {
        let mut s = format!("record {}", self.record.get());
        if let Some(f) = self.field.get() {
            s.push_str(&format!(", field {f}"));
            if self.tag_known.get() {
                s.push_str(&format!(" ({})", String::from_utf8_lossy(&self.tag.get())));
            }
            if let Some(sf) = self.subfield.get() {
                s.push_str(&format!(", subfield {sf}"));
            }
        }
        s
    }
}

/// A JSON string as bytes.
struct Bytes;

impl<'de> Visitor<'de> for Bytes {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Vec<u8>, E> {
        Ok(v.as_bytes().to_vec())
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Vec<u8>, E> {
        Ok(v.into_bytes())
    }
}

impl<'de> DeserializeSeed<'de> for Bytes {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Vec<u8>, D::Error> {
        d.deserialize_string(Bytes)
    }
}

/// A JSON string of exactly `N` bytes (leader, indicator), named `what` in errors.
struct Fixed<const N: usize> {
    what: &'static str,
}

impl<'de, const N: usize> Visitor<'de> for Fixed<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string of {N} byte(s) for the {}", self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<[u8; N], E> {
        v.as_bytes().try_into().map_err(|_| {
            E::custom(format!(
                "the {} must be {N} byte(s), got {} ({:?})",
                self.what,
                v.len(),
                truncate(v)
            ))
        })
    }
}

impl<'de, const N: usize> DeserializeSeed<'de> for Fixed<N> {
    type Value = [u8; N];

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<[u8; N], D::Error> {
        d.deserialize_str(self)
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A field tag given as an object key: three printable ASCII characters.
fn check_tag<E: de::Error>(key: &str) -> std::result::Result<[u8; 3], E> {
    match <[u8; 3]>::try_from(key.as_bytes()) {
        Ok(tag) if tag.iter().all(|b| (0x20..0x7F).contains(b)) => Ok(tag),
        _ => Err(E::custom(format!(
            "a tag must be 3 printable ASCII characters, got {:?}",
            truncate(key)
        ))),
    }
}

/// Object keys as borrowed-or-owned text.
struct Key;

impl<'de> Visitor<'de> for Key {
    type Value = KeyBuf<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<KeyBuf<'de>, E> {
        Ok(KeyBuf::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<KeyBuf<'de>, E> {
        Ok(KeyBuf::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<KeyBuf<'de>, E> {
        Ok(KeyBuf::Owned(v))
    }
}

enum KeyBuf<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl KeyBuf<'_> {
    fn as_str(&self) -> &str {
        match self {
            KeyBuf::Borrowed(s) => s,
            KeyBuf::Owned(s) => s,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = KeyBuf<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<KeyBuf<'de>, D::Error> {
        d.deserialize_str(Key)
    }
}

/// One record object.
struct RecordSeed<'c> {
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = OwnedRecord;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<OwnedRecord, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = OwnedRecord;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object {\"leader\": ..., \"fields\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<OwnedRecord, A::Error> {
        let mut leader: Option<[u8; LEADER_LEN]> = None;
        let mut fields: Option<Vec<OwnedField>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            match key.as_str() {
                "leader" => {
                    if leader.is_some() {
                        return Err(de::Error::custom("duplicate key \"leader\""));
                    }
                    leader = Some(map.next_value_seed(Fixed::<LEADER_LEN> { what: "leader" })?);
                }
                "fields" => {
                    if fields.is_some() {
                        return Err(de::Error::custom("duplicate key \"fields\""));
                    }
                    fields = Some(map.next_value_seed(FieldsSeed { ctx: self.ctx })?);
                    self.ctx.field.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.ctx.field.set(None);
        let leader = leader.ok_or_else(|| de::Error::custom("missing key \"leader\""))?;
        let fields = fields.ok_or_else(|| de::Error::custom("missing key \"fields\""))?;
        Ok(OwnedRecord { leader, fields })
    }
}

struct FieldsSeed<'c> {
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_> {
    type Value = Vec<OwnedField>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed<'_> {
    type Value = Vec<OwnedField>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of fields")
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        loop {
            self.ctx.enter_field(fields.len());
            match seq.next_element_seed(FieldSeed { ctx: self.ctx })? {
                Some(f) => fields.push(f),
                None => break,
            }
        }
        self.ctx.field.set(None);
        Ok(fields)
    }
}

/// One `{"TAG": value}` object.
struct FieldSeed<'c> {
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = OwnedField;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<OwnedField, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = OwnedField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a one-key object {\"TAG\": value}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<OwnedField, A::Error> {
        let Some(key) = map.next_key_seed(Key)? else {
            return Err(de::Error::custom(
                "expected a one-key object {\"TAG\": value}, got an empty object",
            ));
        };
        let tag = check_tag(key.as_str())?;
        self.ctx.tag.set(tag);
        self.ctx.tag_known.set(true);
        let field = map.next_value_seed(FieldValueSeed { tag, ctx: self.ctx })?;
        if let Some(extra) = map.next_key_seed(Key)? {
            return Err(de::Error::custom(format!(
                "expected a one-key object {{\"TAG\": value}}, got a second key {:?}",
                truncate(extra.as_str())
            )));
        }
        Ok(field)
    }
}

/// A field's value: a string (control field) or `{"ind1", "ind2", "subfields"}`.
struct FieldValueSeed<'c> {
    tag: [u8; 3],
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for FieldValueSeed<'_> {
    type Value = OwnedField;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<OwnedField, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldValueSeed<'_> {
    type Value = OwnedField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a string (control field) or an object {\"ind1\", \"ind2\", \"subfields\"} (data field)",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<OwnedField, E> {
        Ok(OwnedField::Control {
            tag: self.tag,
            value: v.as_bytes().to_vec(),
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<OwnedField, E> {
        Ok(OwnedField::Control {
            tag: self.tag,
            value: v.into_bytes(),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<OwnedField, A::Error> {
        let mut ind1: Option<[u8; 1]> = None;
        let mut ind2: Option<[u8; 1]> = None;
        let mut subfields: Option<Vec<(u8, Vec<u8>)>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            match key.as_str() {
                "ind1" => {
                    if ind1.is_some() {
                        return Err(de::Error::custom("duplicate key \"ind1\""));
                    }
                    ind1 = Some(map.next_value_seed(Fixed::<1> { what: "indicator" })?);
                }
                "ind2" => {
                    if ind2.is_some() {
                        return Err(de::Error::custom("duplicate key \"ind2\""));
                    }
                    ind2 = Some(map.next_value_seed(Fixed::<1> { what: "indicator" })?);
                }
                "subfields" => {
                    if subfields.is_some() {
                        return Err(de::Error::custom("duplicate key \"subfields\""));
                    }
                    subfields = Some(map.next_value_seed(SubfieldsSeed { ctx: self.ctx })?);
                    self.ctx.subfield.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |k: &str| de::Error::custom(format!("data field has no \"{k}\""));
        Ok(OwnedField::Data {
            tag: self.tag,
            ind1: ind1.ok_or_else(|| missing("ind1"))?[0],
            ind2: ind2.ok_or_else(|| missing("ind2"))?[0],
            subfields: subfields.ok_or_else(|| missing("subfields"))?,
        })
    }
}

struct SubfieldsSeed<'c> {
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for SubfieldsSeed<'_> {
    type Value = Vec<(u8, Vec<u8>)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SubfieldsSeed<'_> {
    type Value = Vec<(u8, Vec<u8>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of subfields [{\"CODE\": \"value\"}, ...]")
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut subfields = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        loop {
            self.ctx.subfield.set(Some(subfields.len()));
            match seq.next_element_seed(SubfieldSeed)? {
                Some(s) => subfields.push(s),
                None => break,
            }
        }
        self.ctx.subfield.set(None);
        Ok(subfields)
    }
}

/// One `{"CODE": "value"}` object.
struct SubfieldSeed;

impl<'de> DeserializeSeed<'de> for SubfieldSeed {
    type Value = (u8, Vec<u8>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SubfieldSeed {
    type Value = (u8, Vec<u8>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a one-key object {\"CODE\": \"value\"}")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let Some(key) = map.next_key_seed(Key)? else {
            return Err(de::Error::custom(
                "expected a one-key object {\"CODE\": \"value\"}, got an empty object",
            ));
        };
        let code = match key.as_str().as_bytes() {
            [c] => *c,
            _ => {
                return Err(de::Error::custom(format!(
                    "a subfield code must be 1 byte, got {:?}",
                    truncate(key.as_str())
                )))
            }
        };
        let value = map.next_value_seed(Bytes)?;
        if let Some(extra) = map.next_key_seed(Key)? {
            return Err(de::Error::custom(format!(
                "expected a one-key object {{\"CODE\": \"value\"}}, got a second key {:?}",
                truncate(extra.as_str())
            )));
        }
        Ok((code, value))
    }
}

/// A whole document: an array of records or one record object.
struct DocumentSeed<'c> {
    ctx: &'c Ctx,
    allow_array: bool,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = Vec<OwnedRecord>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = Vec<OwnedRecord>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.allow_array {
            f.write_str("an array of record objects or one record object")
        } else {
            f.write_str("a record object")
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        if !self.allow_array {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let first = self.ctx.record.get();
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            self.ctx.enter_record(first + records.len() as u64);
            match seq.next_element_seed(RecordSeed { ctx: self.ctx })? {
                Some(r) => records.push(r),
                None => break,
            }
        }
        Ok(records)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        Ok(vec![RecordSeed { ctx: self.ctx }.visit_map(map)?])
    }
}

/// serde_json's message without its " at line L column C" suffix.
fn bare_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match s.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => s,
    }
}

/// Byte offset of 1-based `line`/`column` (serde_json counts columns in bytes).
fn line_col_to_offset(input: &[u8], line: usize, column: usize) -> usize {
    if line == 0 {
        return input.len();
    }
    let mut start = 0usize;
    for _ in 1..line {
        match memchr::memchr(b'\n', &input[start..]) {
            Some(i) => start += i + 1,
            None => return input.len(),
        }
    }
    (start + column.saturating_sub(1)).min(input.len())
}

/// Copy of `input` with raw control characters inside strings written as `\u00XX`, plus the
/// original offset of each rewritten byte (every rewrite adds 5 bytes). `None` if there are
/// none.
fn escape_raw_controls(input: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut in_string = false;
    let mut escaped = false;
    let mut at = Vec::new();
    for (i, &b) in input.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            } else if b < 0x20 {
                at.push(i);
            }
        } else if b == b'"' {
            in_string = true;
        }
    }
    if at.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() + 5 * at.len());
    let mut prev = 0;
    for &i in &at {
        out.extend_from_slice(&input[prev..i]);
        let b = input[i];
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xF) as usize],
        ]);
        prev = i + 1;
    }
    out.extend_from_slice(&input[prev..]);
    Some((out, at))
}

/// Maps an offset in the output of [`escape_raw_controls`] back to the original input.
fn unescaped_offset(offset: usize, rewrites: &[usize]) -> usize {
    let mut shift = 0;
    for &orig in rewrites {
        // The rewrite of `orig` occupies [orig + shift, orig + shift + 6).
        if orig + shift >= offset {
            break;
        }
        if offset < orig + shift + 6 {
            return orig;
        }
        shift += 5;
    }
    offset - shift
}

fn is_raw_control_error(e: &serde_json::Error) -> bool {
    e.is_syntax() && e.to_string().starts_with("control character")
}

/// Parses `input` (whose first byte is at absolute `base_offset`) as one document: an
/// array of records (when `allow_array`) or one record object. `prefix` starts every
/// error detail.
fn parse_document(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    allow_array: bool,
    prefix: &str,
) -> Result<Vec<OwnedRecord>> {
    struct Failure {
        error: serde_json::Error,
        record: u64,
        place: String,
        raw_control: bool,
    }
    let attempt = |text: &[u8]| -> std::result::Result<Vec<OwnedRecord>, Failure> {
        let ctx = Ctx::default();
        ctx.enter_record(first_index);
        let mut de = serde_json::Deserializer::from_slice(text);
        let result = DocumentSeed {
            ctx: &ctx,
            allow_array,
        }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v));
        result.map_err(|error| Failure {
            raw_control: is_raw_control_error(&error),
            record: ctx.record.get(),
            place: ctx.describe(),
            error,
        })
    };
    let fail = |f: Failure, text: &[u8], rewrites: &[usize]| -> MarcError {
        let at = line_col_to_offset(text, f.error.line(), f.error.column());
        let at = unescaped_offset(at, rewrites);
        MarcError::at(
            ErrorKind::InvalidJson,
            f.record,
            base_offset,
            input,
            at,
            format!("{prefix}{}: {}", f.place, bare_message(&f.error)),
        )
    };
    let records = match attempt(input) {
        Ok(v) => v,
        Err(f) if f.raw_control => match escape_raw_controls(input) {
            Some((text, rewrites)) => attempt(&text).map_err(|f| fail(f, &text, &rewrites))?,
            None => return Err(fail(f, input, &[])),
        },
        Err(f) => return Err(fail(f, input, &[])),
    };
    // Well-formed JSON can still hold what no MARC record can (a delimiter byte in a value,
    // a control field tagged 245): refused here, at the document's offset.
    for (i, record) in records.iter().enumerate() {
        check_record(record, first_index + i as u64).map_err(|e| MarcError {
            byte_offset: base_offset,
            detail: format!("{prefix}{}", e.detail),
            ..e
        })?;
    }
    Ok(records)
}

/// Reads MARC-in-JSON: a JSON array of record objects, or one record object.
pub fn read_records(input: &[u8]) -> Result<Vec<OwnedRecord>> {
    parse_document(input, 0, 0, true, "")
}

/// Reads one record object (surrounding whitespace allowed).
pub fn read_record(input: &[u8]) -> Result<OwnedRecord> {
    let mut v = parse_document(input, 0, 0, false, "")?;
    Ok(v.pop().expect("one record"))
}

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
                    return Some(Err(MarcError::bare(
                        ErrorKind::Io,
                        self.index,
                        self.offset,
                        e.to_string(),
                    )));
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
                    return Some(Err(MarcError::bare(
                        ErrorKind::Io,
                        self.index,
                        self.offset,
                        e.to_string(),
                    )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_through_rewrites() {
        let input = b"[\"a\nb\", \"c\td\"] x";
        let (text, rw) = escape_raw_controls(input).unwrap();
        assert_eq!(rw, vec![3, 10]);
        assert_eq!(&text[..], &b"[\"a\\u000ab\", \"c\\u0009d\"] x"[..]);
        // 'x' in text maps to 'x' in input.
        let x_text = text.iter().position(|&b| b == b'x').unwrap();
        let x_input = input.iter().position(|&b| b == b'x').unwrap();
        assert_eq!(unescaped_offset(x_text, &rw), x_input);
        assert_eq!(unescaped_offset(0, &rw), 0);
        assert_eq!(unescaped_offset(5, &rw), 3);
    }

    fn rec(id: &str, title: &str) -> String {
        format!(
            r#"{{"leader":"00000nam a2200000 a 4500","fields":[{{"001":"{id}"}},{{"245":{{"ind1":"1","ind2":"0","subfields":[{{"a":"{title}"}}]}}}}]}}"#
        )
    }

    fn read_all_with(input: &[u8], cap: usize) -> Vec<Result<OwnedRecord>> {
        JsonRecordReader::new(io::BufReader::with_capacity(cap, input)).collect()
    }

    #[test]
    fn record_reader_reads_every_layout_at_every_buffer_size() {
        let (a, b) = (
            rec("1", r#"a \"quoted\" {brace} [bracket] \\"#),
            rec("2", "b"),
        );
        let layouts = [
            format!("{a}\n{b}\n"),
            format!("[{a},\n{b}]\n"),
            format!("  [ {a} , {b} ]"),
            format!("{a}{b}"),
            format!("\n\n{a}\n\n{b}"),
        ];
        let expected = read_records(format!("[{a},{b}]").as_bytes()).unwrap();
        assert_eq!(expected.len(), 2);
        for doc in &layouts {
            for cap in [1, 2, 3, 7, 64, 8192] {
                let got: Vec<OwnedRecord> = read_all_with(doc.as_bytes(), cap)
                    .into_iter()
                    .collect::<Result<_>>()
                    .unwrap_or_else(|e| panic!("{doc:?} cap {cap}: {e}"));
                assert_eq!(got, expected, "{doc:?} cap {cap}");
            }
        }
        // A single object.
        let one: Vec<_> = read_all_with(a.as_bytes(), 5);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].as_ref().unwrap(), &expected[0]);
    }

    #[test]
    fn record_reader_keeps_raw_newlines_in_strings() {
        let doc = "[{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":[{\"500\":{\"ind1\":\" \",\"ind2\":\" \",\"subfields\":[{\"a\":\"two\nlines\"}]}}]}]";
        let got: Vec<_> = read_all_with(doc.as_bytes(), 4);
        assert_eq!(got.len(), 1);
        let r = got[0].as_ref().unwrap();
        assert!(
            matches!(&r.fields[0], OwnedField::Data { subfields, .. } if subfields[0].1 == b"two\nlines")
        );
    }

    #[test]
    fn record_reader_errors_carry_index_and_offset_and_go_on() {
        let (a, b) = (rec("1", "a"), rec("2", "b"));
        let bad = r#"{"leader":"short","fields":[]}"#;
        let doc = format!("{a}\n{bad}\n{b}\n");
        let got = read_all_with(doc.as_bytes(), 16);
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok() && got[2].is_ok());
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert_eq!(e.record_index, 1);
        let start = (a.len() + 1) as u64;
        assert!(e.byte_offset >= start && e.byte_offset < start + bad.len() as u64);

        // Garbage between records ends the reading with an error at its offset.
        let doc = format!("{a}\nnope {b}");
        let got = read_all_with(doc.as_bytes(), 8192);
        assert_eq!(got.len(), 2);
        let e = got[1].as_ref().unwrap_err();
        assert_eq!((e.record_index, e.byte_offset), (1, (a.len() + 1) as u64));

        // A truncated object.
        let doc = format!("{a}\n{}", &b[..b.len() - 3]);
        let got = read_all_with(doc.as_bytes(), 8192);
        assert_eq!(got.len(), 2);
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert!(e.detail.contains("ends inside"), "{}", e.detail);
        assert_eq!(e.byte_offset, (a.len() + 1) as u64);
    }
}
