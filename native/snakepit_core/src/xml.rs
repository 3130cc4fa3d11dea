//! MARCXML, slim schema (namespace [`MARCXML_NS`]): `<collection>` of `<record>`s, each
//! with `<leader>`, `<controlfield tag>` and `<datafield tag ind1 ind2>` holding
//! `<subfield code>`.
//!
//! # Writing
//!
//! [`write_record`] appends one `<record>` to a `Vec<u8>` with direct byte pushes; it takes
//! any [`RecordView`] (a borrowed [`Record`](crate::Record) or an [`OwnedRecord`]).
//! [`XmlWriter`] streams a whole document into any `io::Write`: the XML declaration,
//! `<collection xmlns="...">`, the records, and `</collection>` on [`XmlWriter::finish`].
//! Elements are unprefixed, in the default namespace.
//!
//! Escaping: `&`, `<`, `>`, `"` and `'` become `&amp; &lt; &gt; &quot; &apos;` everywhere.
//! CR is written `&#13;` (a raw CR would be turned into LF by every conforming parser);
//! in attribute values TAB and LF are written `&#9;` and `&#10;` too (raw, a parser would
//! turn them into spaces). Every record is first checked by
//! [`crate::check_record`] (no delimiter bytes, tags matching their fields'
//! kinds, UTF-8 under leader/09 `a`: see [`crate::encode`]). **Characters XML 1.0 forbids**
//! (U+0000-U+001F other than TAB, LF and CR; U+FFFE; U+FFFF) cannot be represented at all,
//! not even as character references, so a record holding one is refused with
//! [`ErrorKind::InvalidValue`] naming the field, code and byte, and nothing of it is
//! written. **Bytes that are not UTF-8** in a record that is not UTF-8 (MARC-8) become one
//! U+FFFD per maximal invalid sequence, as [`String::from_utf8_lossy`]. Writing never
//! panics.
//!
//! # Reading
//!
//! [`XmlReader`] is an iterator of records over any `BufRead`, built on quick-xml's
//! streaming reader with one reused buffer: a collection of any size is read in memory
//! bounded by one record (and by the largest single piece of markup or text, which
//! quick-xml buffers whole).
//!
//! What is accepted: MARC elements with any prefix bound to [`MARCXML_NS`] (`marc:record`),
//! unprefixed elements in the default namespace or in no namespace (a bare `<record>`
//! root), and, leniently, a prefix that was never declared. Records are found at any
//! depth, so a `<collection>` root, a single `<record>` root, or a wrapper document (OAI-PMH
//! `<metadata>`) all work; elements outside records that are not MARC `record` elements are
//! walked through and ignored. Inside a record, only `leader`, `controlfield`, `datafield`
//! and (inside a datafield) `subfield` are allowed; comments and processing instructions
//! are ignored; whitespace between elements is ignored; text inside `leader`,
//! `controlfield` and `subfield` is kept exactly (no trimming; CRLF is normalised to LF as
//! XML requires). A missing `ind1`/`ind2` attribute reads as a blank; present, it must be
//! one byte. `code` must be one byte, `tag` three printable ASCII characters, the leader
//! 24 bytes. Each record read is then checked by [`crate::check_record`]:
//! `&#31;` in a value or a `controlfield` tagged `245` is an [`ErrorKind::InvalidValue`] at
//! the record's start, and reading goes on. Text outside every element (`hello`) is not
//! XML: [`ErrorKind::InvalidXml`].
//!
//! **Security**: a `<!DOCTYPE` is refused outright ([`ErrorKind::InvalidXml`]), so no DTD
//! is read, no entity is ever declared, expanded or fetched (no XXE, no billion laughs).
//! References are resolved only for the five predefined entities and numeric character
//! references; any other `&name;` is an error. The declared encoding must be UTF-8 (or
//! ASCII); the input must be valid UTF-8.
//!
//! Errors are [`ErrorKind::InvalidXml`] (or [`ErrorKind::Io`]) with the 0-based index of
//! the record being read (the next record's index when outside records) and the absolute
//! byte offset (quick-xml's position of the offending markup). A record-level problem (bad
//! leader, bad attribute, unexpected element) yields its error and the reader goes on with
//! the next record; a well-formedness or I/O error ends the iteration after it is yielded.

use crate::encode::{self, check_record, Place};
use crate::error::{io_error, ErrorKind, MarcError, Result, EXCERPT_LEN};
use crate::record::{OwnedField, OwnedRecord, LEADER_LEN};
use crate::sink::Sink;
use crate::view::{FieldView, RecordView};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;
use std::io::{self, BufRead, Write};

/// The MARCXML slim namespace.
pub const MARCXML_NS: &str = "http://www.loc.gov/MARC21/slim";

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// Per-byte action inside text: 0 copy, 1 special (see [`push_escaped`]).
static TEXT_SPECIAL: [bool; 256] = special_table(false);
static ATTR_SPECIAL: [bool; 256] = special_table(true);

const fn special_table(attr: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    if !attr {
        t[b'\t' as usize] = false;
        t[b'\n' as usize] = false;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    // Lead byte of U+FFFE / U+FFFF (EF BF BE / EF BF BF): checked in place.
    t[0xEF] = true;
    t
}

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Escapes valid UTF-8 text; `Err(offset)` at the first character XML 1.0 cannot hold
/// (control characters other than TAB, LF and CR; U+FFFE; U+FFFF), with `out` partly
/// written.
#[inline]
fn escape_valid(
    s: &[u8],
    table: &[bool; 256],
    out: &mut Vec<u8>,
) -> std::result::Result<(), usize> {
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !table[b as usize] {
            i += 1;
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        let mut len = 1;
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&apos;"),
            b'\t' => out.extend_from_slice(b"&#9;"),
            b'\n' => out.extend_from_slice(b"&#10;"),
            b'\r' => out.extend_from_slice(b"&#13;"),
            0xEF => {
                // Valid UTF-8, so three bytes follow-through.
                len = 3;
                if s[i + 1] == 0xBF && (s[i + 2] == 0xBE || s[i + 2] == 0xBF) {
                    return Err(i);
                }
                out.extend_from_slice(&s[i..i + 3]);
            }
            _ => return Err(i),
        }
        i += len;
        start = i;
    }
    out.extend_from_slice(&s[start..]);
    Ok(())
}

/// `Err(offset)` of the first character XML 1.0 cannot hold; invalid UTF-8 (only in
/// records that are not UTF-8: [`check_record`] refuses it in the others) becomes U+FFFD.
fn push_escaped(
    bytes: &[u8],
    table: &[bool; 256],
    out: &mut Vec<u8>,
) -> std::result::Result<(), usize> {
    if bytes.is_ascii() {
        return escape_valid(bytes, table, out);
    }
    let mut offset = 0;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        escape_valid(valid, table, out).map_err(|at| offset + at)?;
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(REPLACEMENT);
        }
        offset += valid.len() + chunk.invalid().len();
    }
    Ok(())
}

/// Appends `bytes` escaped for element content (see the module doc); `Err(offset)` at the
/// first character XML 1.0 cannot hold.
pub fn write_text(bytes: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), usize> {
    push_escaped(bytes, &TEXT_SPECIAL, out)
}

/// Appends `bytes` escaped for a double-quoted attribute value (see the module doc);
/// `Err(offset)` at the first character XML 1.0 cannot hold.
pub fn write_attr_value(bytes: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), usize> {
    push_escaped(bytes, &ATTR_SPECIAL, out)
}

/// The error for a character XML 1.0 cannot hold at `at` in `bytes`, `what` naming where.
fn not_xml(bytes: &[u8], at: usize, what: impl std::fmt::Display) -> MarcError {
    let c = std::str::from_utf8(&bytes[at..])
        .ok()
        .or_else(|| std::str::from_utf8(&bytes[at..(at + 3).min(bytes.len())]).ok())
        .and_then(|s| s.chars().next())
        .map_or_else(
            || format!("0x{:02X}", bytes[at]),
            |c| format!("U+{:04X}", c as u32),
        );
    encode::invalid(
        0,
        bytes,
        at,
        format!("{what}: byte {at} is {c}, a character XML 1.0 cannot hold"),
    )
}

/// Appends one `<record>` element (unprefixed, no `xmlns`: meant to sit inside
/// [`write_collection_start`]'s `<collection>`), indented, ending in a newline. The record
/// is checked first ([`check_record`]); a character XML 1.0 cannot hold is an
/// [`ErrorKind::InvalidValue`] too. On error `out` is left as it was; `record_index` in the
/// error is 0 (callers set theirs).
pub fn write_record<R: RecordView + ?Sized>(record: &R, out: &mut Vec<u8>) -> Result<()> {
    check_record(record, 0)?;
    let start = out.len();
    let result = write_checked(record, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_checked<R: RecordView + ?Sized>(record: &R, out: &mut Vec<u8>) -> Result<()> {
    out.extend_from_slice(b"  <record>\n    <leader>");
    let leader = record.leader();
    write_text(leader, out).map_err(|at| not_xml(leader, at, format_args!("leader/{at:02}")))?;
    out.extend_from_slice(b"</leader>\n");
    for (i, field) in record.view_fields().enumerate() {
        match field {
            FieldView::Control { tag, value } => {
                let place = Place {
                    field: i,
                    tag: &tag,
                    subfield: None,
                };
                out.extend_from_slice(b"    <controlfield tag=\"");
                write_attr_value(&tag, out).map_err(|at| not_xml(&tag, at, place))?;
                out.extend_from_slice(b"\">");
                write_text(value, out).map_err(|at| not_xml(value, at, place))?;
                out.extend_from_slice(b"</controlfield>\n");
            }
            FieldView::Data {
                tag,
                ind1,
                ind2,
                subfields,
            } => {
                let place = Place {
                    field: i,
                    tag: &tag,
                    subfield: None,
                };
                out.extend_from_slice(b"    <datafield tag=\"");
                write_attr_value(&tag, out).map_err(|at| not_xml(&tag, at, place))?;
                out.extend_from_slice(b"\" ind1=\"");
                write_attr_value(&[ind1], out)
                    .map_err(|at| not_xml(&[ind1], at, format_args!("{place} ind1")))?;
                out.extend_from_slice(b"\" ind2=\"");
                write_attr_value(&[ind2], out)
                    .map_err(|at| not_xml(&[ind2], at, format_args!("{place} ind2")))?;
                out.extend_from_slice(b"\">\n");
                for (j, (code, value)) in subfields.enumerate() {
                    let place = Place {
                        subfield: Some((j, code)),
                        ..place
                    };
                    out.extend_from_slice(b"      <subfield code=\"");
                    write_attr_value(&[code], out)
                        .map_err(|at| not_xml(&[code], at, format_args!("{place} code")))?;
                    out.extend_from_slice(b"\">");
                    write_text(value, out).map_err(|at| not_xml(value, at, place))?;
                    out.extend_from_slice(b"</subfield>\n");
                }
                out.extend_from_slice(b"    </datafield>\n");
            }
        }
    }
    out.extend_from_slice(b"  </record>\n");
    Ok(())
}

/// Appends the XML declaration and `<collection xmlns="http://www.loc.gov/MARC21/slim">`.
pub fn write_collection_start(out: &mut Vec<u8>) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"");
    out.extend_from_slice(MARCXML_NS.as_bytes());
    out.extend_from_slice(b"\">\n");
}

/// Appends `</collection>` and a newline.
pub fn write_collection_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</collection>\n");
}

/// Streams a MARCXML collection into any `io::Write`, buffering internally. The header is
/// written on creation (into the buffer); call [`XmlWriter::finish`] to close the
/// collection and flush: dropping the writer without it loses buffered output.
pub struct XmlWriter<W: Write> {
    sink: Sink<W>,
}

impl<W: Write> XmlWriter<W> {
    pub fn new(out: W) -> Self {
        let mut sink = Sink::new(out);
        write_collection_start(&mut sink.buf);
        XmlWriter { sink }
    }

    /// Appends one record; a record that cannot be written is an error (naming its index
    /// among the records given) and nothing of it is written.
    pub fn write_record<R: RecordView + ?Sized>(&mut self, record: &R) -> Result<()> {
        let index = self.sink.count();
        write_record(record, &mut self.sink.buf).map_err(|e| MarcError {
            record_index: index,
            ..e
        })?;
        self.sink.record_written().map_err(|e| io_error(index, e))
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.sink.count()
    }

    /// Writes `</collection>`, flushes, and gives the sink back.
    pub fn finish(mut self) -> io::Result<W> {
        write_collection_end(&mut self.sink.buf);
        self.sink.finish()
    }
}

/// Convenience: a whole MARCXML collection of `records` in a new buffer.
pub fn to_xml_collection<R: RecordView>(records: &[R]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(records.len() * 2048 + 128);
    write_collection_start(&mut out);
    for (i, r) in records.iter().enumerate() {
        write_record(r, &mut out).map_err(|e| MarcError {
            record_index: i as u64,
            ..e
        })?;
    }
    write_collection_end(&mut out);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// MARC element names (for elements in the MARC namespace or in none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Record,
    Leader,
    Control,
    Data,
    Subfield,
    Other,
}

/// MARC elements are those bound to [`MARCXML_NS`], in no namespace, or (leniently) under
/// an undeclared prefix.
fn is_marc_ns(ns: &ResolveResult) -> bool {
    match ns {
        ResolveResult::Bound(Namespace(uri)) => *uri == MARCXML_NS,
        ResolveResult::Unbound | ResolveResult::Unknown(_) => true,
    }
}

fn classify(marc: bool, start: &BytesStart) -> Elem {
    if !marc {
        return Elem::Other;
    }
    match start.local_name().as_ref() {
        "record" => Elem::Record,
        "leader" => Elem::Leader,
        "controlfield" => Elem::Control,
        "datafield" => Elem::Data,
        "subfield" => Elem::Subfield,
        _ => Elem::Other,
    }
}

/// A failure while reading; `fatal` ends the iteration.
struct Failure {
    error: MarcError,
    fatal: bool,
}

type Step<T> = std::result::Result<T, Failure>;

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// An attribute value kept without allocating: its first 8 bytes. Every value the reader
/// accepts is shorter (tags 3, indicators and codes 1), so a longer one is refused either
/// way and only shows truncated in the error.
#[derive(Default, Clone, Copy)]
struct Short {
    buf: [u8; 8],
    len: u8,
}

impl Short {
    fn new(b: &[u8]) -> Self {
        let n = b.len().min(8);
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(&b[..n]);
        Short { buf, len: n as u8 }
    }
}

impl std::ops::Deref for Short {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// The attributes of a MARC element that the reader cares about.
#[derive(Default)]
struct Attrs {
    tag: Option<Short>,
    ind1: Option<Short>,
    ind2: Option<Short>,
    code: Option<Short>,
}

/// Where an event is: enough to build errors while the event still borrows the reader's
/// buffer.
#[derive(Debug, Clone, Copy)]
struct At {
    record: u64,
    offset: u64,
}

impl At {
    fn fail(self, fatal: bool, ex: &[u8], detail: impl Into<String>) -> Failure {
        Failure {
            error: MarcError {
                kind: ErrorKind::InvalidXml,
                record_index: self.record,
                byte_offset: self.offset,
                excerpt: ex[..ex.len().min(EXCERPT_LEN)].to_vec(),
                detail: detail.into(),
            },
            fatal,
        }
    }

    fn fatal(self, ex: &[u8], detail: impl Into<String>) -> Failure {
        self.fail(true, ex, detail)
    }

    fn soft(self, ex: &[u8], detail: impl Into<String>) -> Failure {
        self.fail(false, ex, detail)
    }

    fn unexpected(self, s: &BytesStart, inside: &str) -> Failure {
        let name = s.name();
        let name: &str = name.as_ref();
        self.soft(
            name.as_bytes(),
            format!("unexpected element <{name}> inside {inside}"),
        )
    }

    /// Resolves one `&...;` reference: the five predefined entities and numeric character
    /// references only. Nothing else is ever expanded.
    fn resolve_ref(self, r: &BytesRef) -> Step<char> {
        match r.resolve_char_ref() {
            Ok(Some(c)) => return Ok(c),
            Ok(None) => {}
            Err(e) => {
                return Err(self.fatal(
                    r.as_bytes(),
                    format!("bad character reference &{};: {e}", &**r),
                ))
            }
        }
        match &**r {
            "amp" => Ok('&'),
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "quot" => Ok('"'),
            "apos" => Ok('\''),
            name => Err(self.fatal(
                name.as_bytes(),
                format!(
                    "undefined entity &{name};: only the five predefined entities and numeric \
                     character references are allowed (custom entities are never expanded)"
                ),
            )),
        }
    }

    fn attrs(self, s: &BytesStart) -> Step<Attrs> {
        let mut a = Attrs::default();
        for attr in s.attributes() {
            let attr = attr.map_err(|e| self.fatal(b"", format!("bad attribute: {e}")))?;
            let slot = match attr.key.local_name().as_ref() {
                "tag" => &mut a.tag,
                "ind1" => &mut a.ind1,
                "ind2" => &mut a.ind2,
                "code" => &mut a.code,
                _ => continue,
            };
            let v = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| {
                    self.fatal(
                        attr.value.as_bytes(),
                        format!("bad value in attribute {}: {e}", attr.key.as_ref() as &str),
                    )
                })?;
            *slot = Some(Short::new(v.as_bytes()));
        }
        Ok(a)
    }

    fn tag(self, tag: Option<&[u8]>) -> Step<[u8; 3]> {
        let Some(tag) = tag else {
            return Err(self.soft(b"", "a field has no tag attribute"));
        };
        match <[u8; 3]>::try_from(tag) {
            Ok(t) if t.iter().all(|b| (0x20..0x7F).contains(b)) => Ok(t),
            _ => Err(self.soft(
                tag,
                format!(
                    "a tag must be 3 printable ASCII characters, got {:?}",
                    lossy(tag)
                ),
            )),
        }
    }

    fn indicator(self, v: Option<&[u8]>, name: &str) -> Step<u8> {
        match v {
            None => Ok(b' '),
            Some([b]) => Ok(*b),
            Some(other) => Err(self.soft(
                other,
                format!("{name} must be 1 byte, got {:?}", lossy(other)),
            )),
        }
    }

    fn code(self, v: Option<&[u8]>) -> Step<u8> {
        match v {
            Some([c]) => Ok(*c),
            Some(other) => Err(self.soft(
                other,
                format!("a subfield code must be 1 byte, got {:?}", lossy(other)),
            )),
            None => Err(self.soft(b"", "<subfield> has no code attribute")),
        }
    }

    /// Events that may appear anywhere inside a record and are never right there.
    fn misplaced(self, ev: &Event) -> Failure {
        match ev {
            Event::Decl(_) => self.fatal(b"", "XML declaration inside a record"),
            Event::DocType(d) => self.fatal(d.as_bytes(), "unexpected DOCTYPE inside a record"),
            Event::Eof => self.fatal(b"", "the document ends inside a record"),
            _ => self.fatal(b"", "unexpected markup"),
        }
    }
}

/// Streaming MARCXML reader: an iterator of [`OwnedRecord`]s over any `BufRead`, reading one
/// record at a time with a reused buffer. See the module doc for what it accepts and how it
/// reports errors.
pub struct XmlReader<R: BufRead> {
    reader: NsReader<Capped<R>>,
    /// Largest record, in bytes of input (see [`XmlReader::with_max_record`]).
    max_record: u64,
    /// Where the bytes counted against `max_record` started: the record's start tag, or
    /// outside records the current event.
    window_start: u64,
    buf: Vec<u8>,
    /// Text of the leaf element being read (leader, control field, subfield).
    text: Vec<u8>,
    /// Records started so far: the index of the next record.
    index: u64,
    /// Open elements.
    depth: usize,
    /// `depth` just inside the record being read, if any.
    record_depth: Option<usize>,
    done: bool,
}

impl<R: BufRead> XmlReader<R> {
    pub fn new(src: R) -> Self {
        let mut reader = NsReader::from_reader(Capped {
            inner: src,
            consumed: 0,
            limit: u64::MAX,
            tripped: false,
        });
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        XmlReader {
            reader,
            max_record: crate::json::MAX_JSON_RECORD as u64,
            window_start: 0,
            buf: Vec::with_capacity(16 * 1024),
            text: Vec::with_capacity(1024),
            index: 0,
            depth: 0,
            record_depth: None,
            done: false,
        }
    }

    /// Caps a record at `bytes` of input, start tag to end tag, and any one piece of markup
    /// or text outside records likewise: past it the reader stops with an
    /// [`ErrorKind::TooLarge`] error, having buffered no more than that (quick-xml buffers a
    /// whole text node, so an endless record or a huge text node would otherwise take all
    /// memory).
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes as u64;
        self
    }

    /// Bytes of input consumed so far.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// Records started so far (good and bad).
    pub fn records_seen(&self) -> u64 {
        self.index
    }

    pub fn into_inner(self) -> R {
        self.reader.into_inner().inner
    }

    /// Starts counting a new window against `max_record` at `start`.
    fn open_window(&mut self, start: u64) {
        self.window_start = start;
        let limit = start.saturating_add(self.max_record);
        self.reader.get_mut().limit = limit;
    }

    /// The failure when a window went over `max_record`.
    fn too_large(&self, record: u64) -> Failure {
        let detail = if self.record_depth.is_some() {
            format!(
                "a MARCXML record over {} bytes (the max_record_bytes limit)",
                self.max_record
            )
        } else {
            format!(
                "over {} bytes of MARCXML markup or text in one piece outside records (the \
                 max_record_bytes limit)",
                self.max_record
            )
        };
        Failure {
            error: MarcError::bare(ErrorKind::TooLarge, record, self.window_start, detail),
            fatal: true,
        }
    }

    /// Reads the next event (into the reused buffer), keeps `depth`, and hands the event to
    /// `f` with its position and whether it is in the MARC namespace.
    fn with_event<T>(
        &mut self,
        record: u64,
        f: impl FnOnce(At, bool, Event<'_>) -> Step<T>,
    ) -> Step<T> {
        self.buf.clear();
        let at = At {
            record,
            offset: self.reader.buffer_position(),
        };
        if self.record_depth.is_none() {
            self.open_window(at.offset);
        }
        let result = self.reader.read_resolved_event_into(&mut self.buf);
        match result {
            Ok((ns, ev)) => {
                let marc = is_marc_ns(&ns);
                match ev {
                    Event::Start(_) => self.depth += 1,
                    Event::End(_) => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                }
                f(at, marc, ev)
            }
            Err(e) => {
                if self.reader.get_ref().tripped {
                    return Err(self.too_large(record));
                }
                let (kind, offset) = match &e {
                    quick_xml::Error::Io(_) => (ErrorKind::Io, self.reader.buffer_position()),
                    _ => (ErrorKind::InvalidXml, self.reader.error_position()),
                };
                Err(Failure {
                    error: MarcError::bare(kind, record, offset, format!("{e}")),
                    fatal: true,
                })
            }
        }
    }

    /// Outside records: walks to the next MARC `record` start tag and reads the record.
    fn next_record(&mut self) -> Step<Option<OwnedRecord>> {
        enum Next {
            Record,
            EmptyRecord,
            Continue,
            End,
        }
        loop {
            let index = self.index;
            // Text outside every element is not XML at all (`from_xml("hello")`).
            let top = self.depth == 0;
            let next = self.with_event(index, |at, marc, ev| match ev {
                Event::Text(t) if top && !t.bytes().all(|b| b.is_ascii_whitespace()) => Err(at
                    .fatal(
                        t.as_bytes(),
                        "text outside any element: the input is not an XML document",
                    )),
                Event::CData(c) if top => Err(at.fatal(
                    c.as_bytes(),
                    "CDATA outside any element: the input is not an XML document",
                )),
                Event::GeneralRef(r) if top => Err(at.fatal(
                    r.as_bytes(),
                    "a reference outside any element: the input is not an XML document",
                )),
                Event::Start(s) if classify(marc, &s) == Elem::Record => Ok(Next::Record),
                Event::Empty(s) if classify(marc, &s) == Elem::Record => Ok(Next::EmptyRecord),
                Event::DocType(d) => Err(at.fatal(
                    d.as_bytes(),
                    "DOCTYPE declarations are refused in MARCXML input, so that no entity is \
                     ever declared, expanded or fetched",
                )),
                Event::Decl(d) => match d.encoding() {
                    None => Ok(Next::Continue),
                    Some(Err(e)) => Err(at.fatal(b"", format!("bad XML declaration: {e}"))),
                    Some(Ok(enc)) => {
                        if ["utf-8", "utf8", "us-ascii", "ascii"]
                            .iter()
                            .any(|ok| enc.eq_ignore_ascii_case(ok))
                        {
                            Ok(Next::Continue)
                        } else {
                            Err(at.fatal(
                                enc.as_bytes(),
                                format!(
                                    "encoding {enc:?} is not supported: MARCXML input must be \
                                     UTF-8"
                                ),
                            ))
                        }
                    }
                },
                Event::GeneralRef(r) => at.resolve_ref(&r).map(|_| Next::Continue),
                Event::Eof => Ok(Next::End),
                _ => Ok(Next::Continue),
            })?;
            match next {
                Next::Continue => {}
                Next::Record => {
                    let offset = self.reader.buffer_position();
                    self.index += 1;
                    // The record's window starts at its start tag (read in the last window).
                    let start = self.window_start;
                    self.record_depth = Some(self.depth);
                    self.open_window(start);
                    let record = self.read_record(index)?;
                    self.record_depth = None;
                    // Well-formed XML can still hold what no MARC record can (`&#31;` in a
                    // value, a controlfield tagged 245): refused at the record's start.
                    check_record(&record, index).map_err(|e| Failure {
                        error: MarcError {
                            byte_offset: offset,
                            ..e
                        },
                        fatal: false,
                    })?;
                    return Ok(Some(record));
                }
                Next::EmptyRecord => {
                    self.index += 1;
                    return Err(At {
                        record: index,
                        offset: self.reader.buffer_position(),
                    }
                    .soft(b"", "empty <record/>: a record needs a leader"));
                }
                Next::End => {
                    if self.depth > 0 {
                        return Err(At {
                            record: index,
                            offset: self.reader.buffer_position(),
                        }
                        .fatal(b"", "the document ends inside an element"));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// After a record-level error: consumes events through the bad record's end tag.
    fn skip_record(&mut self, record: u64) -> Step<()> {
        let Some(inside) = self.record_depth.take() else {
            return Ok(());
        };
        while self.depth >= inside {
            self.with_event(record, |at, _marc, ev| match ev {
                Event::Eof | Event::DocType(_) | Event::Decl(_) => Err(at.misplaced(&ev)),
                Event::GeneralRef(r) => at.resolve_ref(&r).map(|_| ()),
                _ => Ok(()),
            })?;
        }
        Ok(())
    }

    /// Reads the inside of a `<record>` whose start tag was just read.
    fn read_record(&mut self, index: u64) -> Step<OwnedRecord> {
        enum Next {
            Leader(At),
            Control([u8; 3], bool),
            Data([u8; 3], u8, u8, bool),
            End(At),
            Continue,
        }
        let mut leader: Option<[u8; LEADER_LEN]> = None;
        let mut fields: Vec<OwnedField> = Vec::with_capacity(32);
        loop {
            let next = self.with_event(index, |at, marc, ev| match ev {
                Event::Start(ref s) | Event::Empty(ref s) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match classify(marc, s) {
                        Elem::Leader if empty => {
                            Err(at.soft(b"", "empty <leader/>: the leader must be 24 bytes"))
                        }
                        Elem::Leader => Ok(Next::Leader(at)),
                        Elem::Control => {
                            let a = at.attrs(s)?;
                            Ok(Next::Control(at.tag(a.tag.as_deref())?, empty))
                        }
                        Elem::Data => {
                            let a = at.attrs(s)?;
                            Ok(Next::Data(
                                at.tag(a.tag.as_deref())?,
                                at.indicator(a.ind1.as_deref(), "ind1")?,
                                at.indicator(a.ind2.as_deref(), "ind2")?,
                                empty,
                            ))
                        }
                        _ => Err(at.unexpected(s, "<record>")),
                    }
                }
                Event::End(_) => Ok(Next::End(at)),
                Event::Text(t) if t.bytes().all(|b| b.is_ascii_whitespace()) => Ok(Next::Continue),
                Event::CData(c) if c.bytes().all(|b| b.is_ascii_whitespace()) => Ok(Next::Continue),
                Event::Text(t) => Err(at.soft(t.as_bytes(), "text directly inside <record>")),
                Event::CData(c) => Err(at.soft(c.as_bytes(), "CDATA directly inside <record>")),
                Event::GeneralRef(r) => {
                    at.resolve_ref(&r)?;
                    Err(at.soft(r.as_bytes(), "text directly inside <record>"))
                }
                Event::Comment(_) | Event::PI(_) => Ok(Next::Continue),
                Event::Decl(_) | Event::DocType(_) | Event::Eof => Err(at.misplaced(&ev)),
            })?;
            match next {
                Next::Continue => {}
                Next::End(at) => {
                    return match leader {
                        Some(leader) => Ok(OwnedRecord { leader, fields }),
                        None => Err(at.soft(b"", "the record has no <leader>")),
                    };
                }
                Next::Leader(at) => {
                    self.read_text(index)?;
                    if leader.is_some() {
                        return Err(at.soft(&self.text, "a second <leader>"));
                    }
                    match <[u8; LEADER_LEN]>::try_from(self.text.as_slice()) {
                        Ok(l) => leader = Some(l),
                        Err(_) => {
                            return Err(at.soft(
                                &self.text,
                                format!("the leader must be 24 bytes, got {}", self.text.len()),
                            ))
                        }
                    }
                }
                Next::Control(tag, empty) => {
                    let value = if empty {
                        Vec::new()
                    } else {
                        self.read_text(index)?;
                        self.text.clone()
                    };
                    fields.push(OwnedField::Control { tag, value });
                }
                Next::Data(tag, ind1, ind2, empty) => {
                    let subfields = if empty {
                        Vec::new()
                    } else {
                        self.read_subfields(index)?
                    };
                    fields.push(OwnedField::Data {
                        tag,
                        ind1,
                        ind2,
                        subfields,
                    });
                }
            }
        }
    }

    /// Reads the subfields of a `<datafield>` whose start tag was just read, through its
    /// end tag.
    fn read_subfields(&mut self, index: u64) -> Step<Vec<(u8, Vec<u8>)>> {
        enum Next {
            Sub(u8, bool),
            End,
            Continue,
        }
        let mut subfields = Vec::with_capacity(8);
        loop {
            let next = self.with_event(index, |at, marc, ev| match ev {
                Event::Start(ref s) | Event::Empty(ref s) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match classify(marc, s) {
                        Elem::Subfield => {
                            Ok(Next::Sub(at.code(at.attrs(s)?.code.as_deref())?, empty))
                        }
                        _ => Err(at.unexpected(s, "<datafield>")),
                    }
                }
                Event::End(_) => Ok(Next::End),
                Event::Text(t) if t.bytes().all(|b| b.is_ascii_whitespace()) => Ok(Next::Continue),
                Event::CData(c) if c.bytes().all(|b| b.is_ascii_whitespace()) => Ok(Next::Continue),
                Event::Text(t) => Err(at.soft(t.as_bytes(), "text directly inside <datafield>")),
                Event::CData(c) => Err(at.soft(c.as_bytes(), "CDATA directly inside <datafield>")),
                Event::GeneralRef(r) => {
                    at.resolve_ref(&r)?;
                    Err(at.soft(r.as_bytes(), "text directly inside <datafield>"))
                }
                Event::Comment(_) | Event::PI(_) => Ok(Next::Continue),
                Event::Decl(_) | Event::DocType(_) | Event::Eof => Err(at.misplaced(&ev)),
            })?;
            match next {
                Next::Continue => {}
                Next::End => return Ok(subfields),
                Next::Sub(code, empty) => {
                    let value = if empty {
                        Vec::new()
                    } else {
                        self.read_text(index)?;
                        self.text.clone()
                    };
                    subfields.push((code, value));
                }
            }
        }
    }

    /// Reads the text of a leaf element whose start tag was just read into `self.text`,
    /// through its end tag. CRLF and lone CR become LF (XML end-of-line handling);
    /// references are resolved by [`At::resolve_ref`].
    fn read_text(&mut self, index: u64) -> Step<()> {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        let result = loop {
            let step = self.with_event(index, |at, _marc, ev| match ev {
                Event::Text(t) => {
                    text.extend_from_slice(t.xml10_content().as_bytes());
                    Ok(false)
                }
                Event::CData(c) => {
                    text.extend_from_slice(c.xml10_content().as_bytes());
                    Ok(false)
                }
                Event::GeneralRef(r) => {
                    let c = at.resolve_ref(&r)?;
                    text.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
                    Ok(false)
                }
                Event::Comment(_) | Event::PI(_) => Ok(false),
                Event::End(_) => Ok(true),
                Event::Start(ref s) | Event::Empty(ref s) => {
                    Err(at.unexpected(s, "a text-only element"))
                }
                Event::Decl(_) | Event::DocType(_) | Event::Eof => Err(at.misplaced(&ev)),
            });
            match step {
                Ok(false) => {}
                Ok(true) => break Ok(()),
                Err(f) => break Err(f),
            }
        };
        self.text = text;
        result
    }
}

/// The reader's source, failing once more than `limit` bytes (absolute) would be consumed:
/// how [`XmlReader::with_max_record`] bounds what quick-xml buffers.
struct Capped<R> {
    inner: R,
    consumed: u64,
    limit: u64,
    /// The limit was reached: the next I/O error quick-xml reports is this.
    tripped: bool,
}

impl<R: BufRead> io::Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed >= self.limit {
            self.tripped = true;
            return Err(io::Error::other("the max_record_bytes limit was reached"));
        }
        let room = self.limit - self.consumed;
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..buf.len().min(usize::try_from(room).unwrap_or(usize::MAX))])
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.consumed += n as u64;
    }
}

impl<R: BufRead> Iterator for XmlReader<R> {
    type Item = Result<OwnedRecord>;

    fn next(&mut self) -> Option<Result<OwnedRecord>> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(f) => {
                if f.fatal || self.skip_record(f.error.record_index).is_err() {
                    // A broken document: report the first problem and stop.
                    self.done = true;
                }
                Some(Err(f.error))
            }
        }
    }
}

/// Reads every record of an in-memory MARCXML document; the first error ends the read.
pub fn read_records(input: &[u8]) -> Result<Vec<OwnedRecord>> {
    XmlReader::new(input).collect()
}
