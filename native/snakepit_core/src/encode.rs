//! The one ISO 2709 encoder, over any [`RecordView`], and the one check of what a writer may
//! write. Every writer (ISO 2709, MARC-in-JSON, MARCXML) and every non-ISO reader goes
//! through [`check_record`] or [`encode_record`], so they cannot disagree.
//!
//! A record can be written when [`parse_record`](crate::parse_record) would read its ISO 2709
//! encoding back to the same record (leader/00-04 and 12-16 aside, which are recomputed):
//!
//! - the leader is 24 bytes and holds none of the three delimiter bytes;
//! - there is at least one field;
//! - every tag is three printable ASCII bytes (0x20-0x7E), and a field is a control field
//!   exactly when its tag is 001-009 (a control field with tag `ABC` would read back as a
//!   data field, a data field tagged `001` as a control field);
//! - no value, indicator or subfield code holds 0x1D (record terminator), 0x1E (field
//!   terminator) or 0x1F (subfield delimiter): `"Title\x1FzX"` would read back as two
//!   subfields;
//! - a subfield code reads back as itself (a code byte 0xC3-0xC5 followed by a
//!   continuation byte would read as a folded letter, see
//!   [`crate::record::subfield_code`]);
//! - when leader/09 is `a`, every value is valid UTF-8 and indicators and codes are ASCII;
//! - for ISO 2709 only: every field is at most [`MAX_FIELD_LEN`] bytes and the record at
//!   most [`MAX_RECORD_LEN`] ([`ErrorKind::TooLarge`]), so every length and offset fits its
//!   digits, unless [`Oversize::ZeroLength`] asks for zeros instead.
//!
//! [`encode_record_with`] also converts UTF-8 records to MARC-8 ([`EncodeOptions::marc8`]):
//! the checks apply to the UTF-8 values, the sizes to the MARC-8 bytes.
//!
//! Errors are [`ErrorKind::InvalidValue`] (or [`ErrorKind::NoFields`],
//! [`ErrorKind::TooLarge`]) with the record index the caller gives; `byte_offset` and
//! `excerpt` are the offending byte's offset within the value named in the detail, and the
//! value from there. Readers replace `byte_offset` with the record's offset in their input.

use crate::error::{ErrorKind, MarcError, Result};
use crate::record::OwnedRecord;
use crate::record::{
    is_control_tag, set_leader_structure, subfield_code, write_digits, DIRECTORY_ENTRY_LEN,
    FIELD_TERMINATOR, LEADER_LEN, MAX_FIELD_LEN, MAX_RECORD_LEN, RECORD_TERMINATOR,
    SUBFIELD_DELIMITER,
};
use crate::view::{FieldView, RecordView};

/// Directory start positions hold five digits.
const MAX_START: usize = 99_999;

/// What a writer does with a record or field too large for ISO 2709's length digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Oversize {
    /// Refuse the record ([`ErrorKind::TooLarge`]).
    #[default]
    Error,
    /// Write the length that does not fit as zeros, as ruby-marc's `allow_oversized` and
    /// many ILSs do: `00000` as the record length in the leader; `0000` as a field's length,
    /// and `00000` as its start when that does not fit either (a field written after one
    /// whose start did not fit gets both). Readers that frame by the terminators (this one,
    /// marc4j's permissive reader) read such records back; the directory's base address
    /// still has to fit.
    ZeroLength,
}

/// How [`encode_record_with`] writes: the character set and the size policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EncodeOptions {
    /// `Some`: UTF-8 records (leader/09 `a`) are written as MARC-8 (leader/09 blank), each
    /// value converted by [`crate::marc8::Marc8Encoder`]; records already MARC-8 are written
    /// as they are. `None`: bytes as they are.
    pub marc8: Option<crate::marc8::Marc8WriteOptions>,
    pub oversize: Oversize,
}

/// What a delimiter byte is called in messages; `None` for any other byte.
fn delimiter_name(b: u8) -> Option<&'static str> {
    match b {
        RECORD_TERMINATOR => Some("the record terminator"),
        FIELD_TERMINATOR => Some("the field terminator"),
        SUBFIELD_DELIMITER => Some("the subfield delimiter"),
        _ => None,
    }
}

#[inline]
fn find_delimiter(bytes: &[u8]) -> Option<usize> {
    memchr::memchr3(
        RECORD_TERMINATOR,
        FIELD_TERMINATOR,
        SUBFIELD_DELIMITER,
        bytes,
    )
}

/// Names a place in a record for error details: `field 3 (245)`, `subfield 1 ($a)`.
#[derive(Clone, Copy)]
pub(crate) struct Place<'a> {
    pub(crate) field: usize,
    pub(crate) tag: &'a [u8; 3],
    pub(crate) subfield: Option<(usize, u8)>,
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "field {} ({})",
            self.field,
            String::from_utf8_lossy(self.tag).escape_debug()
        )?;
        if let Some((j, code)) = self.subfield {
            write!(f, " subfield {j} (code {})", show_byte(code))?;
        }
        Ok(())
    }
}

/// `$a` for a printable code, `0x1F` otherwise.
pub(crate) fn show_byte(b: u8) -> String {
    if (0x21..0x7F).contains(&b) {
        format!("${}", b as char)
    } else {
        format!("0x{b:02X}")
    }
}

pub(crate) fn invalid(index: u64, bytes: &[u8], at: usize, detail: impl Into<String>) -> MarcError {
    MarcError::at(ErrorKind::InvalidValue, index, 0, bytes, at, detail)
}

/// The leader: 24 bytes, no delimiter.
fn check_leader(leader: &[u8], index: u64) -> Result<()> {
    if leader.len() != LEADER_LEN {
        return Err(invalid(
            index,
            leader,
            0,
            format!("the leader is {} bytes, not 24", leader.len()),
        ));
    }
    if let Some(at) = find_delimiter(leader) {
        return Err(invalid(
            index,
            leader,
            at,
            format!(
                "leader/{at:02} is 0x{:02X} ({}), which cannot appear in a leader",
                leader[at],
                delimiter_name(leader[at]).unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

#[inline]
fn check_tag(index: u64, field: usize, tag: &[u8; 3], control: bool) -> Result<()> {
    if tag.iter().all(|b| (0x20..0x7F).contains(b)) && control == is_control_tag(tag) {
        return Ok(());
    }
    tag_slow(index, field, tag, control)
}

#[cold]
fn tag_slow(index: u64, field: usize, tag: &[u8; 3], control: bool) -> Result<()> {
    let place = Place {
        field,
        tag,
        subfield: None,
    };
    if let Some(at) = tag.iter().position(|b| !(0x20..0x7F).contains(b)) {
        return Err(invalid(
            index,
            tag,
            at,
            format!(
                "{place}: byte {at} of the tag is 0x{:02X}; a tag is three printable ASCII bytes",
                tag[at]
            ),
        ));
    }
    match (control, is_control_tag(tag)) {
        (true, false) => Err(invalid(
            index,
            tag,
            0,
            format!(
                "{place}: a control field (a value, no subfields) needs a tag 001-009; \
                 as ISO 2709 it would read back as a data field"
            ),
        )),
        (false, true) => Err(invalid(
            index,
            tag,
            0,
            format!(
                "{place}: tags 001-009 are control fields, which have a value and no \
                 indicators or subfields"
            ),
        )),
        _ => Ok(()),
    }
}

#[inline]
fn check_indicator(index: u64, place: Place<'_>, which: u8, b: u8, utf8: bool) -> Result<()> {
    if (0x20..0x80).contains(&b) {
        return Ok(());
    }
    indicator_slow(index, place, which, b, utf8)
}

#[cold]
fn indicator_slow(index: u64, place: Place<'_>, which: u8, b: u8, utf8: bool) -> Result<()> {
    let problem = match delimiter_name(b) {
        Some(name) => name,
        None if utf8 && !b.is_ascii() => "not ASCII, in a UTF-8 record (leader/09 = a)",
        None => return Ok(()),
    };
    Err(invalid(
        index,
        &[b],
        0,
        format!("{place}: ind{which} is 0x{b:02X} ({problem})"),
    ))
}

#[inline]
fn check_code(index: u64, place: Place<'_>, code: u8, value: &[u8], utf8: bool) -> Result<()> {
    if (0x20..0x80).contains(&code) {
        return Ok(());
    }
    code_slow(index, place, code, value, utf8)
}

#[cold]
fn code_slow(index: u64, place: Place<'_>, code: u8, value: &[u8], utf8: bool) -> Result<()> {
    let problem = match delimiter_name(code) {
        Some(name) => name,
        None if utf8 && !code.is_ascii() => "not ASCII, in a UTF-8 record (leader/09 = a)",
        None => {
            let first = value.first().copied();
            let chunk = [code, first.unwrap_or(0)];
            let chunk = &chunk[..1 + usize::from(first.is_some())];
            if subfield_code(chunk) == (code, 1) {
                return Ok(());
            }
            "with the value's first byte it would read back as another letter"
        }
    };
    Err(invalid(
        index,
        &[code],
        0,
        format!("{place}: the subfield code is 0x{code:02X} ({problem})"),
    ))
}

/// No byte below 0x20 or above 0x7F: no delimiter, valid UTF-8. One pass the compiler
/// vectorises; most values take only this.
#[inline]
fn plain_ascii(bytes: &[u8]) -> bool {
    let (or, min) = bytes
        .iter()
        .fold((0u8, 0xFFu8), |(or, min), &b| (or | b, min.min(b)));
    or < 0x80 && min >= 0x20
}

/// A control field's value or a subfield's value.
#[inline]
fn check_value(index: u64, place: Place<'_>, value: &[u8], utf8: bool) -> Result<()> {
    if plain_ascii(value) {
        return Ok(());
    }
    check_value_slow(index, place, value, utf8)
}

#[cold]
fn check_value_slow(index: u64, place: Place<'_>, value: &[u8], utf8: bool) -> Result<()> {
    if let Some(at) = find_delimiter(value) {
        return Err(invalid(
            index,
            value,
            at,
            format!(
                "{place}: byte {at} of the value is 0x{:02X} ({}), which cannot appear in a value",
                value[at],
                delimiter_name(value[at]).unwrap_or_default()
            ),
        ));
    }
    if utf8 {
        if let Err(e) = std::str::from_utf8(value) {
            let at = e.valid_up_to();
            return Err(invalid(
                index,
                value,
                at,
                format!(
                    "{place}: byte {at} of the value (0x{:02X}) is not valid UTF-8, in a UTF-8 \
                     record (leader/09 = a)",
                    value[at]
                ),
            ));
        }
    }
    Ok(())
}

/// Checks one field, handing each piece to `emit` once it is checked (the encoder writes
/// them; [`check_record`] ignores them). Returns the tag.
#[inline]
fn walk_field<'s, S: Iterator<Item = (u8, &'s [u8])>>(
    index: u64,
    i: usize,
    field: FieldView<'s, S>,
    utf8: bool,
    check: bool,
    mut emit: impl FnMut(Piece<'s>) -> Result<()>,
) -> Result<[u8; 3]> {
    match field {
        FieldView::Control { tag, value } => {
            let place = Place {
                field: i,
                tag: &tag,
                subfield: None,
            };
            if check {
                check_tag(index, i, &tag, true)?;
                check_value(index, place, value, utf8)?;
            }
            emit(Piece::Value(value))?;
            Ok(tag)
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
            if check {
                check_tag(index, i, &tag, false)?;
                check_indicator(index, place, 1, ind1, utf8)?;
                check_indicator(index, place, 2, ind2, utf8)?;
            }
            emit(Piece::Indicators(ind1, ind2))?;
            for (j, (code, value)) in subfields.enumerate() {
                if check {
                    let place = Place {
                        subfield: Some((j, code)),
                        ..place
                    };
                    check_code(index, place, code, value, utf8)?;
                    check_value(index, place, value, utf8)?;
                }
                emit(Piece::Subfield(code, value))?;
            }
            Ok(tag)
        }
    }
}

enum Piece<'s> {
    Value(&'s [u8]),
    Indicators(u8, u8),
    Subfield(u8, &'s [u8]),
}

fn no_fields(index: u64) -> MarcError {
    MarcError::bare(
        ErrorKind::NoFields,
        index,
        0,
        "the record has no fields; ISO 2709 needs at least one",
    )
}

/// Checks that `record` can be written (see the module doc; sizes are not checked, since
/// MARC-in-JSON and MARCXML have no length limits). `index` goes into the error.
pub fn check_record<R: RecordView + ?Sized>(record: &R, index: u64) -> Result<()> {
    let leader = record.leader();
    check_leader(leader, index)?;
    let utf8 = leader[9] == b'a';
    let mut fields = 0;
    for (i, field) in record.view_fields().enumerate() {
        walk_field(index, i, field, utf8, true, |_| Ok(()))?;
        fields += 1;
    }
    if fields == 0 {
        return Err(no_fields(index));
    }
    Ok(())
}

/// Appends the ISO 2709 encoding of `record` to `out`: checked as [`check_record`] does,
/// record length (leader/00-04), base address (leader/12-16) and directory recomputed,
/// other leader bytes kept (structural positions that are not digits get `22` and `4500`).
/// On error `out` is left as it was. Work is bounded by the record's size: a field or
/// record over the limits is refused before its bytes are copied.
pub fn encode_record<R: RecordView + ?Sized>(
    record: &R,
    index: u64,
    out: &mut Vec<u8>,
) -> Result<()> {
    encode_with(record, index, out, Mode::Write, &EncodeOptions::default())
}

/// [`encode_record`] with a character set conversion and a size policy. A character MARC-8
/// cannot hold under [`crate::marc8::Unrepresentable::Error`] is an
/// [`ErrorKind::InvalidValue`] naming the field, subfield, byte and character.
pub fn encode_record_with<R: RecordView + ?Sized>(
    record: &R,
    index: u64,
    out: &mut Vec<u8>,
    opts: &EncodeOptions,
) -> Result<()> {
    encode_with(record, index, out, Mode::Write, opts)
}

/// Re-encodes a record that came from [`parse_record`](crate::parse_record) and was
/// rewritten field by field (MARC-8 to UTF-8 conversion), for a record that stays in memory.
/// Values are not checked, so a delimiter byte the parser accepted (a 0x1D inside a field,
/// which framing tolerates) is kept as it was read. Diacritics take more bytes in UTF-8 than
/// in MARC-8, so a record that fitted ISO 2709's limits may outgrow them: past them, a
/// field's directory length is written as `0000` ("not recorded": the parser finds the
/// field after the previous one, up to its terminator) and the record length as 99999, as
/// writers do for oversize records; the limits then apply where the record is written as
/// ISO 2709. [`ErrorKind::TooLarge`] only for what cannot be told apart that way: a directory
/// past 99,999 bytes, or an unrecorded field holding a field terminator. Writers never use
/// this: they refuse such values and sizes.
pub(crate) fn reencode_parsed(record: &OwnedRecord, out: &mut Vec<u8>) -> Result<()> {
    encode_with(record, 0, out, Mode::Reencode, &EncodeOptions::default())
}

/// What encoding checks: everything, for writers; for records re-encoded in memory, only
/// what the parser needs to read them back (see [`reencode_parsed`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Write,
    Reencode,
}

fn encode_with<R: RecordView + ?Sized>(
    record: &R,
    index: u64,
    out: &mut Vec<u8>,
    mode: Mode,
    opts: &EncodeOptions,
) -> Result<()> {
    let start = out.len();
    let result = encode_unchecked_size(record, index, out, start, mode, opts);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn too_large(index: u64, detail: String) -> MarcError {
    MarcError::bare(ErrorKind::TooLarge, index, 0, detail)
}

fn encode_unchecked_size<R: RecordView + ?Sized>(
    record: &R,
    index: u64,
    out: &mut Vec<u8>,
    start: usize,
    mode: Mode,
    opts: &EncodeOptions,
) -> Result<()> {
    let check = mode == Mode::Write;
    // Past the limits, zeros instead of an error (writers only).
    let zero_length = check && opts.oversize == Oversize::ZeroLength;
    let leader = record.leader();
    if check {
        check_leader(leader, index)?;
    } else if leader.len() != LEADER_LEN {
        return Err(invalid(index, leader, 0, "the leader is not 24 bytes"));
    }
    let utf8 = leader[9] == b'a';
    let mut marc8 = opts
        .marc8
        .filter(|_| utf8)
        .map(crate::marc8::Marc8Encoder::new);
    let mut converted: Vec<u8> = Vec::new();
    let count = record.view_fields().count();
    if count == 0 {
        return Err(no_fields(index));
    }
    let base = LEADER_LEN + DIRECTORY_ENTRY_LEN * count + 1;
    // Each field takes at least its terminator: a directory this long cannot fit.
    if base + count + 1 > MAX_RECORD_LEN {
        return Err(too_large(
            index,
            format!(
                "record would be over {MAX_RECORD_LEN} bytes ({count} fields); ISO 2709 allows \
                 {MAX_RECORD_LEN}"
            ),
        ));
    }
    out.resize(start + base, 0);
    let data_start = start + base;
    // What the whole record would take if it went on; only counted once it is too large.
    let mut overflow: Option<usize> = None;
    for (i, field) in record.view_fields().enumerate() {
        let field_start = out.len();
        let mut len = 1usize; // the field terminator
        let mut holds_terminator = false;
        let writing = overflow.is_none();
        let tag = field_tag(&field);
        let mut subfield = 0usize;
        let tag = walk_field(index, i, field, utf8, check, |piece| {
            let piece = match (marc8.as_mut(), piece) {
                (Some(encoder), Piece::Value(v)) => {
                    to_marc8(
                        encoder,
                        index,
                        Place {
                            field: i,
                            tag: &tag,
                            subfield: None,
                        },
                        v,
                        &mut converted,
                    )?;
                    Piece::Value(&converted)
                }
                (Some(encoder), Piece::Subfield(c, v)) => {
                    let place = Place {
                        field: i,
                        tag: &tag,
                        subfield: Some((subfield, c)),
                    };
                    subfield += 1;
                    to_marc8(encoder, index, place, v, &mut converted)?;
                    Piece::Subfield(c, &converted)
                }
                (_, piece) => piece,
            };
            let (piece_len, bytes) = match piece {
                Piece::Value(v) => (v.len(), v),
                Piece::Indicators(..) => (2, &[][..]),
                Piece::Subfield(_, v) => (2 + v.len(), v),
            };
            len += piece_len;
            if !check {
                holds_terminator |= memchr::memchr(FIELD_TERMINATOR, bytes).is_some();
            } else if !writing || (len > MAX_FIELD_LEN && !zero_length) {
                return Ok(());
            }
            match piece {
                Piece::Value(v) => out.extend_from_slice(v),
                Piece::Indicators(a, b) => out.extend_from_slice(&[a, b]),
                Piece::Subfield(c, v) => {
                    out.extend_from_slice(&[SUBFIELD_DELIMITER, c]);
                    out.extend_from_slice(v);
                }
            }
            Ok(())
        })?;
        let offset = field_start - data_start;
        let recorded = len <= MAX_FIELD_LEN && offset <= MAX_START;
        if !recorded && ((check && !zero_length) || holds_terminator) {
            if len <= MAX_FIELD_LEN {
                return Err(too_large(
                    index,
                    format!("field {i} would start at {offset}; ISO 2709 allows {MAX_START}"),
                ));
            }
            return Err(too_large(
                index,
                format!(
                    "field {i} ({}) would be {len} bytes; ISO 2709 allows {MAX_FIELD_LEN}",
                    String::from_utf8_lossy(&tag).escape_debug()
                ),
            ));
        }
        match overflow.as_mut() {
            Some(total) => *total += len,
            None => {
                out.push(FIELD_TERMINATOR);
                let at = start + LEADER_LEN + DIRECTORY_ENTRY_LEN * i;
                let entry = &mut out[at..at + DIRECTORY_ENTRY_LEN];
                entry[..3].copy_from_slice(&tag);
                write_digits(&mut entry[3..7], if recorded { len } else { 0 });
                let recorded_start = match (zero_length, offset <= MAX_START) {
                    (_, true) => offset,
                    (true, false) => 0,
                    (false, false) => MAX_START,
                };
                write_digits(&mut entry[7..12], recorded_start);
                if check && !zero_length && out.len() - start + 1 > MAX_RECORD_LEN {
                    // Stop copying; go on checking and counting, for the message.
                    overflow = Some(out.len() - start + 1);
                }
            }
        }
    }
    if let Some(total) = overflow {
        return Err(too_large(
            index,
            format!("record would be {total} bytes; ISO 2709 allows {MAX_RECORD_LEN}"),
        ));
    }
    out[start + base - 1] = FIELD_TERMINATOR;
    out.push(RECORD_TERMINATOR);
    let total = out.len() - start;
    let head = &mut out[start..start + LEADER_LEN];
    head.copy_from_slice(leader);
    let recorded_total = match (zero_length, total <= MAX_RECORD_LEN) {
        (_, true) => total,
        (true, false) => 0,
        (false, false) => MAX_RECORD_LEN,
    };
    set_leader_structure(head, recorded_total, base);
    if marc8.is_some() {
        head[9] = b' ';
    }
    Ok(())
}

fn field_tag<S>(field: &FieldView<'_, S>) -> [u8; 3] {
    match field {
        FieldView::Control { tag, .. } | FieldView::Data { tag, .. } => *tag,
    }
}

/// `value` (checked UTF-8) as MARC-8 in `converted`.
fn to_marc8(
    encoder: &mut crate::marc8::Marc8Encoder,
    index: u64,
    place: Place<'_>,
    value: &[u8],
    converted: &mut Vec<u8>,
) -> Result<()> {
    converted.clear();
    encoder.encode(value, converted).map_err(|e| {
        invalid(
            index,
            value,
            e.offset.min(value.len()),
            format!(
                "{place}: U+{:04X} ({:?}) at byte {} of the value has no MARC-8 equivalent",
                e.ch as u32, e.ch, e.offset
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::OwnedField;

    fn rec(fields: Vec<OwnedField>) -> OwnedRecord {
        OwnedRecord {
            leader: *b"00000nam a2200000 a 4500",
            fields,
        }
    }

    fn data(tag: &[u8; 3], subfields: &[(u8, &[u8])]) -> OwnedField {
        OwnedField::Data {
            tag: *tag,
            ind1: b' ',
            ind2: b' ',
            subfields: subfields.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
        }
    }

    #[test]
    fn errors_name_the_field_code_and_byte() {
        let r = rec(vec![
            data(b"100", &[(b'a', b"ok")]),
            data(b"245", &[(b'a', b"ok"), (b'b', b"Title\x1fzX")]),
        ]);
        let e = check_record(&r, 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        assert_eq!((e.record_index, e.byte_offset), (3, 5));
        assert_eq!(e.excerpt, b"\x1fzX");
        assert_eq!(
            e.detail,
            "field 1 (245) subfield 1 (code $b): byte 5 of the value is 0x1F (the subfield \
             delimiter), which cannot appear in a value"
        );
        assert_eq!(encode_record(&r, 3, &mut Vec::new()).unwrap_err(), e);
    }

    #[test]
    fn a_directory_too_long_to_address_is_refused_before_anything_is_copied() {
        // 10,000 fields need a 120,000-byte directory: refused at once, output untouched.
        let r = rec((0..10_000).map(|_| data(b"500", &[(b'a', b"x")])).collect());
        let mut out = b"keep".to_vec();
        let e = encode_record(&r, 0, &mut out).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge);
        assert!(e.detail.contains("10000 fields"), "{}", e.detail);
        assert_eq!(out, b"keep");
        // Checked for values, a writer without size limits takes it.
        assert!(check_record(&r, 0).is_ok());
    }

    #[test]
    fn reencoding_a_parsed_record_keeps_what_the_parser_accepted() {
        let r = rec(vec![OwnedField::Control {
            tag: *b"001",
            value: b"a\x1db".to_vec(),
        }]);
        assert!(r.encode().is_err());
        let mut out = Vec::new();
        reencode_parsed(&r, &mut out).unwrap();
        let back = crate::parse_record(&out, Default::default(), Default::default()).unwrap();
        assert_eq!(back.to_owned_record().fields, r.fields);
    }
}
