//! Recovery: reading the damage real files carry, as the best permissive readers do, and
//! saying what was changed. Every read path goes through [`decode`], so a record reads the
//! same in `parse`, streams, batches and pool commands.
//!
//! Nothing here runs for a sound record read with the defaults: [`decode`] is
//! [`parse_record`] plus the MARC-8 conversion, and the repairs start only where the parse
//! failed (or, with [`EncodingPolicy::Auto`], where leader/09 is checked against the bytes).
//! A repaired record is built anew through the one encoder and parsed back, so it reaches
//! the caller exactly like any other record, with its [`Repair`]s beside it.

use crate::chunker::to_unicode;
use crate::error::{ErrorKind, Result};
use crate::marc8::{Marc8ErrorMode, Marc8Options};
use crate::parse::{parse_record, Origin, ParseOptions};
use crate::record::{
    FieldRef, FieldSpan, OwnedField, OwnedRecord, Record, DIRECTORY_ENTRY_LEN, FIELD_TERMINATOR,
    LEADER_LEN, RECORD_TERMINATOR,
};

/// Invalid UTF-8 in a record whose leader/09 is `a` (pymarc's `utf8_handling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Utf8Errors {
    /// The record is bad ([`ErrorKind::InvalidUtf8`]); the read mode decides.
    #[default]
    Error,
    /// Each invalid sequence becomes U+FFFD. A sequence is a maximal subpart, as WHATWG's
    /// decoder and Rust's `String::from_utf8_lossy` count them: the longest prefix of a
    /// well-formed sequence, or one byte.
    Replace,
    /// Each invalid sequence (counted the same way) is left out.
    Drop,
}

/// Which character coding a record's bytes are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingPolicy {
    /// Leader/09 says it.
    #[default]
    Declared,
    /// Leader/09 is checked against the bytes: a record labelled MARC-8 whose data is valid
    /// UTF-8 with multibyte characters is read as UTF-8, and one labelled UTF-8 whose data
    /// is not UTF-8 but is valid MARC-8 is read as MARC-8. Either is a repair.
    Auto,
}

/// The repair options of a read. The default repairs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recovery {
    pub utf8_errors: Utf8Errors,
    pub encoding: EncodingPolicy,
    /// When the directory disagrees with the field terminators in a way the parse does not
    /// tolerate, rebuild the fields from the terminators (marc4j's permissive reader).
    pub rebuild_directory: bool,
}

/// What a repair changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepairKind {
    /// Invalid UTF-8 sequences replaced by U+FFFD.
    Utf8Replaced,
    /// Invalid UTF-8 sequences left out.
    Utf8Dropped,
    /// A subfield code that is no ASCII character (nor a letter that folds to one) read as
    /// pymarc reads it: the first ASCII character of the subfield's text, folded.
    SubfieldCode,
    /// A non-ASCII indicator byte in a UTF-8 record read as a blank.
    Indicator,
    /// Leader/09 says MARC-8; the data is UTF-8.
    EncodingUtf8,
    /// Leader/09 says UTF-8; the data is MARC-8.
    EncodingMarc8,
    /// The fields were rebuilt from the field terminators: the directory's lengths or
    /// offsets did not match them.
    Directory,
}

impl RepairKind {
    /// The snake_case name used for Elixir atoms.
    pub fn name(self) -> &'static str {
        match self {
            RepairKind::Utf8Replaced => "utf8_replaced",
            RepairKind::Utf8Dropped => "utf8_dropped",
            RepairKind::SubfieldCode => "subfield_code",
            RepairKind::Indicator => "indicator",
            RepairKind::EncodingUtf8 => "encoding_utf8",
            RepairKind::EncodingMarc8 => "encoding_marc8",
            RepairKind::Directory => "directory",
        }
    }

    pub const ALL: [RepairKind; 7] = [
        RepairKind::Utf8Replaced,
        RepairKind::Utf8Dropped,
        RepairKind::SubfieldCode,
        RepairKind::Indicator,
        RepairKind::EncodingUtf8,
        RepairKind::EncodingMarc8,
        RepairKind::Directory,
    ];
}

/// One change made to read a record: what, in which field (`None` for the whole record),
/// and where (absolute byte offset in the source of the first byte concerned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub kind: RepairKind,
    pub tag: Option<[u8; 3]>,
    pub byte_offset: u64,
    pub detail: String,
}

/// A record as a read hands it on.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// The frame itself, as parsed.
    Borrowed(Record<'a>),
    /// Rewritten (converted from MARC-8, or repaired): its own bytes and their spans, with
    /// what was repaired (empty for a plain conversion).
    Owned {
        bytes: Vec<u8>,
        spans: Vec<FieldSpan>,
        repairs: Vec<Repair>,
    },
}

/// Reads one framed record under `opts`, `recovery` and `marc8` (MARC-8 to UTF-8
/// conversion when given). The one way every reader turns a frame into a record.
pub fn decode<'a>(
    frame: &'a [u8],
    origin: Origin,
    opts: ParseOptions,
    recovery: Recovery,
    marc8: Option<&Marc8Options>,
) -> Result<Decoded<'a>> {
    let parsed = parse_record(frame, origin, opts);
    decode_parsed(frame, parsed, origin, opts, recovery, marc8)
}

/// Whether [`decode_parsed`] may rewrite the record `parsed` is (MARC-8 conversion, or a
/// repair), which costs about what a MARC-8 conversion of the frame does: for callers with
/// a budget to pay first.
pub fn may_rewrite(
    parsed: &Result<Record<'_>>,
    opts: ParseOptions,
    recovery: Recovery,
    marc8: Option<&Marc8Options>,
) -> bool {
    match parsed {
        Ok(record) => {
            !record.is_utf8() && (marc8.is_some() || recovery.encoding == EncodingPolicy::Auto)
        }
        Err(e) => recoverable(e.kind, opts, recovery),
    }
}

/// [`decode`] of a frame already parsed under `opts` (`parsed` is [`parse_record`]'s
/// answer for `frame`).
pub fn decode_parsed<'a>(
    frame: &'a [u8],
    parsed: Result<Record<'a>>,
    origin: Origin,
    opts: ParseOptions,
    recovery: Recovery,
    marc8: Option<&Marc8Options>,
) -> Result<Decoded<'a>> {
    match parsed {
        Ok(record) => {
            if recovery.encoding == EncodingPolicy::Auto && !record.is_utf8() {
                if let Some(relabelled) = relabel_as_utf8(&record, origin, marc8)? {
                    return Ok(relabelled);
                }
            }
            Ok(match to_unicode(&record, origin, marc8)? {
                None => Decoded::Borrowed(record),
                Some((bytes, spans)) => Decoded::Owned {
                    bytes,
                    spans,
                    repairs: Vec::new(),
                },
            })
        }
        Err(e) if recoverable(e.kind, opts, recovery) => {
            recover(frame, origin, opts, recovery, marc8).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// Whether a parse failure of `kind` is one the repairs asked for may mend.
fn recoverable(kind: ErrorKind, opts: ParseOptions, recovery: Recovery) -> bool {
    use ErrorKind::*;
    match kind {
        InvalidUtf8 => {
            opts.validate_utf8
                && (recovery.utf8_errors != Utf8Errors::Error
                    || recovery.encoding == EncodingPolicy::Auto)
        }
        // Overlapping spans stay refused: a directory that claims bytes twice does not
        // disagree with the terminators, and reading them twice would let a record build
        // more than it holds.
        FieldOutOfBounds
        | MissingFieldTerminator
        | InvalidDirectoryEntry
        | InvalidDirectoryLength
        | BaseAddressOutOfRange
        | InvalidBaseAddress => recovery.rebuild_directory,
        _ => false,
    }
}

/// A field of the frame being recovered: its tag and data (terminator excluded) as frame
/// offsets.
#[derive(Clone, Copy)]
struct Piece {
    tag: [u8; 3],
    start: usize,
    end: usize,
}

/// A parsed record's fields as pieces.
fn pieces_of(record: &Record<'_>) -> Vec<Piece> {
    record
        .spans()
        .iter()
        .map(|s| Piece {
            tag: s.tag,
            start: s.start as usize,
            end: s.end as usize,
        })
        .collect()
}

/// The record rebuilt from `frame` with the repairs of `recovery`, or `None` when they do
/// not make it readable (the caller keeps the original error). Linear in the frame.
fn recover(
    frame: &[u8],
    origin: Origin,
    opts: ParseOptions,
    recovery: Recovery,
    marc8: Option<&Marc8Options>,
) -> Option<Decoded<'static>> {
    let at = |offset: usize| origin.offset + offset as u64;
    let mut repairs = Vec::new();
    let structure = ParseOptions {
        validate_utf8: false,
    };
    let pieces: Vec<Piece> = match parse_record(frame, origin, structure) {
        Ok(record) => pieces_of(&record),
        Err(_) if recovery.rebuild_directory => {
            let (pieces, detail) = pieces_from_terminators(frame)?;
            repairs.push(Repair {
                kind: RepairKind::Directory,
                tag: None,
                byte_offset: at(LEADER_LEN),
                detail,
            });
            pieces
        }
        Err(_) => return None,
    };
    let mut leader = [0u8; LEADER_LEN];
    leader.copy_from_slice(frame.get(..LEADER_LEN)?);
    let invalid_utf8 = leader[9] == b'a'
        && opts.validate_utf8
        && pieces.iter().any(|p| !valid_utf8_field(frame, p));
    if invalid_utf8
        && recovery.encoding == EncodingPolicy::Auto
        && pieces
            .iter()
            .all(|p| reads_as_marc8(&frame[p.start..p.end]))
    {
        leader[9] = b' ';
        repairs.push(Repair {
            kind: RepairKind::EncodingMarc8,
            tag: None,
            byte_offset: at(9),
            detail: "leader/09 says UTF-8, but the data is not UTF-8 and reads as MARC-8".into(),
        });
    } else if invalid_utf8 && recovery.utf8_errors == Utf8Errors::Error {
        return None;
    }
    let repair_utf8 = leader[9] == b'a' && invalid_utf8;
    let fields = pieces
        .iter()
        .map(|p| {
            let field = FieldRef {
                tag: p.tag,
                data: &frame[p.start..p.end],
            };
            if repair_utf8 && !valid_utf8_field(frame, p) {
                utf8_repaired_field(field, at(p.start), recovery.utf8_errors, &mut repairs)
            } else {
                field.to_owned_field()
            }
        })
        .collect();
    let bytes = OwnedRecord { leader, fields }.encode_unbounded().ok()?;
    let spans = parse_record(&bytes, origin, structure).ok()?.into_spans();
    // A record recovered as MARC-8 is converted like any other, when asked.
    let record = Record::from_parts(&bytes, spans.clone())?;
    let (bytes, spans) = to_unicode(&record, origin, marc8)
        .ok()?
        .unwrap_or((bytes, spans));
    Some(Decoded::Owned {
        bytes,
        spans,
        repairs,
    })
}

/// The fields as the field terminators delimit them: the directory's entries give the tags
/// in order, the data area (from the first terminator after the leader) is cut at each
/// 0x1E, and the n-th piece belongs to the n-th entry. Entries or pieces beyond the shorter
/// list are left out. Each byte belongs to one piece, so the overlap policy holds.
fn pieces_from_terminators(frame: &[u8]) -> Option<(Vec<Piece>, String)> {
    let body = frame.strip_suffix(&[RECORD_TERMINATOR]).unwrap_or(frame);
    let directory_end = LEADER_LEN + memchr::memchr(FIELD_TERMINATOR, body.get(LEADER_LEN..)?)?;
    let tags = frame[LEADER_LEN..directory_end]
        .chunks_exact(DIRECTORY_ENTRY_LEN)
        .map(|entry| [entry[0], entry[1], entry[2]]);
    let mut start = directory_end + 1;
    let mut pieces = Vec::new();
    for tag in tags {
        if start >= body.len() {
            break;
        }
        let end =
            memchr::memchr(FIELD_TERMINATOR, &body[start..]).map_or(body.len(), |t| start + t);
        pieces.push(Piece { tag, start, end });
        start = end + 1;
    }
    if pieces.is_empty() {
        return None;
    }
    let entries = (directory_end - LEADER_LEN) / DIRECTORY_ENTRY_LEN;
    let detail = format!(
        "the directory ({entries} entries) does not match the field terminators: {} fields \
         rebuilt from the terminators",
        pieces.len()
    );
    Some((pieces, detail))
}

/// The piece holds valid UTF-8, ASCII indicators and ASCII (or folding) subfield codes: what
/// the parse requires of a UTF-8 record's field.
fn valid_utf8_field(frame: &[u8], piece: &Piece) -> bool {
    let field = FieldRef {
        tag: piece.tag,
        data: &frame[piece.start..piece.end],
    };
    if std::str::from_utf8(field.data).is_err() {
        return false;
    }
    field.is_control()
        || (field.data[..field.subfield_area_start()].is_ascii()
            && field.subfields().all(|s| s.code.is_ascii()))
}

/// `data` is plain ASCII, or is not UTF-8 and converts as MARC-8 with no error: a field
/// with a valid multibyte UTF-8 character keeps the record UTF-8, whose damage lies elsewhere.
fn reads_as_marc8(data: &[u8]) -> bool {
    if data.is_ascii() {
        return true;
    }
    if std::str::from_utf8(data).is_ok() {
        return false;
    }
    let strict = Marc8Options {
        on_error: Marc8ErrorMode::Strict,
        ..Marc8Options::default()
    };
    let mut sink = Vec::new();
    crate::marc8::marc8_to_utf8(data, &strict, &mut sink).is_ok()
}

/// Leader/09 says MARC-8, the data is UTF-8 (see [`EncodingPolicy::Auto`]): the same
/// record with leader/09 `a`, or `None` when the data is not UTF-8. With `marc8` options
/// it goes through the MARC-8 conversion, which keeps such text (normalised if asked).
fn relabel_as_utf8(
    record: &Record<'_>,
    origin: Origin,
    marc8: Option<&Marc8Options>,
) -> Result<Option<Decoded<'static>>> {
    if !crate::marc8::is_mislabelled_utf8(record)
        || !pieces_of(record)
            .iter()
            .all(|p| valid_utf8_field(record.bytes(), p))
    {
        return Ok(None);
    }
    let repairs = vec![Repair {
        kind: RepairKind::EncodingUtf8,
        tag: None,
        byte_offset: origin.offset + 9,
        detail: "leader/09 says MARC-8, but the data is UTF-8 with multibyte characters".into(),
    }];
    let (bytes, spans) = match to_unicode(record, origin, marc8)? {
        Some(converted) => converted,
        None => {
            let mut bytes = record.bytes().to_vec();
            bytes[9] = b'a';
            (bytes, record.spans().to_vec())
        }
    };
    Ok(Some(Decoded::Owned {
        bytes,
        spans,
        repairs,
    }))
}

/// A UTF-8 record's field with its invalid sequences replaced or dropped, its non-ASCII
/// indicators read as blanks and its unreadable subfield codes read as pymarc does; one
/// repair per kind of change, at the first byte changed. `field_at` is the absolute offset
/// of the field's data.
fn utf8_repaired_field(
    field: FieldRef<'_>,
    field_at: u64,
    policy: Utf8Errors,
    repairs: &mut Vec<Repair>,
) -> OwnedField {
    let mut fixes = Fixes::default();
    let owned = if field.is_control() {
        OwnedField::Control {
            tag: field.tag,
            value: lossy(field.data, 0, policy, &mut fixes),
        }
    } else {
        let indicators = field.subfield_area_start();
        let blank = |i: usize, fixes: &mut Fixes| match field.data.get(i) {
            Some(&b) if i < indicators && b.is_ascii() => b,
            Some(_) if i < indicators => {
                fixes.note_indicator(i);
                b' '
            }
            _ => b' ',
        };
        let (ind1, ind2) = (blank(0, &mut fixes), blank(1, &mut fixes));
        let subfields = field
            .subfields()
            .map(|sf| {
                if sf.code.is_ascii() {
                    (
                        sf.code,
                        lossy(sf.value, sf.value_offset, policy, &mut fixes),
                    )
                } else {
                    // The code byte starts a character with no ASCII base letter (a code
                    // that folds is ASCII), and took one byte.
                    let chunk_at = sf.value_offset - 1;
                    let chunk = &field.data[chunk_at..sf.value_offset + sf.value.len()];
                    fixes.note_code(chunk_at);
                    let (code, skip) = pymarc_code(chunk);
                    (
                        code,
                        lossy(&chunk[skip..], chunk_at + skip, policy, &mut fixes),
                    )
                }
            })
            .collect();
        OwnedField::Data {
            tag: field.tag,
            ind1,
            ind2,
            subfields,
        }
    };
    fixes.report(field.tag, field_at, policy, repairs);
    owned
}

/// What one field's repair changed: the first offset (in the field) and count of each kind.
#[derive(Default)]
struct Fixes {
    invalid: Option<(usize, usize)>,
    indicator: Option<usize>,
    code: Option<usize>,
}

impl Fixes {
    fn note_invalid(&mut self, at: usize) {
        let (first, n) = self.invalid.unwrap_or((at, 0));
        self.invalid = Some((first, n + 1));
    }
    fn note_indicator(&mut self, at: usize) {
        self.indicator.get_or_insert(at);
    }
    fn note_code(&mut self, at: usize) {
        self.code.get_or_insert(at);
    }

    fn report(&self, tag: [u8; 3], field_at: u64, policy: Utf8Errors, out: &mut Vec<Repair>) {
        let shown = String::from_utf8_lossy(&tag).into_owned();
        let mut push = |kind, at: usize, detail: String| {
            out.push(Repair {
                kind,
                tag: Some(tag),
                byte_offset: field_at + at as u64,
                detail,
            })
        };
        if let Some((at, n)) = self.invalid {
            let (kind, done) = match policy {
                Utf8Errors::Drop => (RepairKind::Utf8Dropped, "left out"),
                _ => (RepairKind::Utf8Replaced, "replaced by U+FFFD"),
            };
            push(
                kind,
                at,
                format!("field {shown}: {n} invalid UTF-8 sequences {done}"),
            );
        }
        if let Some(at) = self.indicator {
            push(
                RepairKind::Indicator,
                at,
                format!("field {shown}: a non-ASCII indicator read as a blank"),
            );
        }
        if let Some(at) = self.code {
            push(
                RepairKind::SubfieldCode,
                at,
                format!(
                    "field {shown}: a subfield code that is no ASCII character read as the \
                     first ASCII character of its subfield"
                ),
            );
        }
    }
}

/// `bytes` as UTF-8 with each invalid sequence (maximal subpart) replaced by U+FFFD or left
/// out; `offset` is where `bytes` start in the field, for the repair's position.
fn lossy(bytes: &[u8], offset: usize, policy: Utf8Errors, fixes: &mut Fixes) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            let at = chunk.invalid().as_ptr() as usize - bytes.as_ptr() as usize;
            fixes.note_invalid(offset + at);
            if policy != Utf8Errors::Drop {
                out.extend_from_slice("\u{FFFD}".as_bytes());
            }
        }
    }
    out
}

/// pymarc 5.4's reading of a subfield whose code byte is not ASCII
/// (`normalize_subfield_code`): the code is the first ASCII character of the subfield's
/// text with diacritics stripped (NFKD), and the value starts after the first character
/// (its UTF-8 bytes, or one byte when the subfield is not UTF-8). `(b' ', 1)` when no
/// ASCII character is there.
fn pymarc_code(chunk: &[u8]) -> (u8, usize) {
    use unicode_normalization::UnicodeNormalization;
    match std::str::from_utf8(chunk) {
        Ok(text) => {
            let skip = text.chars().next().map_or(1, char::len_utf8);
            let code = text.nfkd().find(char::is_ascii).map_or(b' ', |c| c as u8);
            (code, skip)
        }
        // Latin-1: one byte a character.
        Err(_) => {
            let text: String = chunk.iter().map(|&b| char::from(b)).collect();
            let code = text.nfkd().find(char::is_ascii).map_or(b' ', |c| c as u8);
            (code, 1)
        }
    }
}

#[cfg(test)]
mod tests;
