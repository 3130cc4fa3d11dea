//! Structural parse of one framed record: leader, directory, field spans. Zero-copy: the
//! result borrows the record bytes. Every check names its error kind and byte.

use crate::error::{ErrorKind, MarcError, Result};
use crate::record::{
    all_ascii, digits4, digits5, indicator_len, is_control_tag, read_digits, subfield_code,
    FieldSpan, Record, DIRECTORY_ENTRY_LEN, FIELD_TERMINATOR, LEADER_LEN, RECORD_TERMINATOR,
    SUBFIELD_DELIMITER,
};

/// Where a record came from, for error positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    /// 0-based index of the record in its source.
    pub index: u64,
    /// Absolute byte offset of the record's first byte in its source.
    pub offset: u64,
}

/// Options for the structural parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// When leader/09 is `a`, check that every field is valid UTF-8.
    pub validate_utf8: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            validate_utf8: true,
        }
    }
}

/// Parses one framed record (leader through record terminator).
///
/// Tolerated, because the data is unambiguous and real files do it: a leader length that
/// disagrees with the framed length (records over 99999 bytes), and directory offsets that
/// drift from the field terminators (lengths counted in characters rather than bytes): the
/// field terminators win, as long as every field still lies inside the data area.
///
/// Refused, because it would let a record build more than it holds: two directory entries
/// that claim the same bytes (repeated, nested or overlapping; a field owns its terminator
/// too), as [`ErrorKind::OverlappingFields`] at the later entry. The work is linear in the
/// record (a sort of the spans when the directory is not in data order), and structural
/// errors are reported before UTF-8 ones.
pub fn parse_record(bytes: &[u8], origin: Origin, opts: ParseOptions) -> Result<Record<'_>> {
    let err = |kind, at: usize, detail: String| {
        MarcError::at(kind, origin.index, origin.offset, bytes, at, detail)
    };
    if bytes.len() < LEADER_LEN {
        return Err(err(
            ErrorKind::TruncatedLeader,
            0,
            format!("{} bytes where a 24-byte leader should be", bytes.len()),
        ));
    }
    if read_digits(&bytes[0..5]).is_none() {
        return Err(err(
            ErrorKind::InvalidRecordLength,
            0,
            "leader/00-04 (record length) is not five digits".into(),
        ));
    }
    let base = read_digits(&bytes[12..17]).ok_or_else(|| {
        err(
            ErrorKind::InvalidBaseAddress,
            12,
            "leader/12-16 (base address) is not five digits".into(),
        )
    })?;
    if base <= LEADER_LEN || base > bytes.len() {
        return Err(err(
            ErrorKind::BaseAddressOutOfRange,
            12,
            format!(
                "base address {base} is outside the record (24 < base <= {})",
                bytes.len()
            ),
        ));
    }
    if bytes[base - 1] != FIELD_TERMINATOR {
        return Err(err(
            ErrorKind::InvalidDirectoryLength,
            base - 1,
            format!(
                "no field terminator ends the directory at byte {}",
                base - 1
            ),
        ));
    }
    let directory = &bytes[LEADER_LEN..base - 1];
    // `is_ascii` scans a word at a time; only a bad directory pays for finding the byte.
    if let Some(bad) = (!all_ascii(directory))
        .then(|| directory.iter().position(|b| !b.is_ascii()))
        .flatten()
    {
        return Err(err(
            ErrorKind::InvalidDirectoryEntry,
            LEADER_LEN + bad,
            format!(
                "the directory holds a non-ASCII byte at {}",
                LEADER_LEN + bad
            ),
        ));
    }
    if !directory.len().is_multiple_of(DIRECTORY_ENTRY_LEN) {
        return Err(err(
            ErrorKind::InvalidDirectoryLength,
            LEADER_LEN,
            format!(
                "directory is {} bytes, not a multiple of 12",
                directory.len()
            ),
        ));
    }
    if directory.is_empty() {
        return Err(err(
            ErrorKind::NoFields,
            LEADER_LEN,
            "the directory lists no fields".into(),
        ));
    }
    if bytes.last() != Some(&RECORD_TERMINATOR) {
        return Err(err(
            ErrorKind::MissingRecordTerminator,
            bytes.len() - 1,
            "the record does not end with 0x1D".into(),
        ));
    }
    // Field data may not run into the record terminator.
    let data_end = bytes.len() - 1;
    // All-ASCII data (most records, even UTF-8 ones) is valid UTF-8 with ASCII codes and
    // indicators: one vectorised pass replaces the per-field checks. Otherwise the whole data area is checked at once, leaving only each data field's
    // indicators; a failure pays for the per-field walk that names the field and byte.
    let (utf8, utf8_checked) = if !opts.validate_utf8 || bytes[9] != b'a' {
        (Utf8Check::None, false)
    } else if all_ascii(&bytes[base..data_end]) {
        (Utf8Check::None, true)
    } else if area_is_valid_utf8(&bytes[base..data_end]) {
        (Utf8Check::Indicators, true)
    } else {
        (Utf8Check::PerField, false)
    };
    let mut spans = Vec::with_capacity(directory.len() / DIRECTORY_ENTRY_LEN);
    let mut terminators = Terminators::new(&bytes[..data_end]);
    // The last byte claimed so far, while the spans come in data order (as real directories
    // list them); `None` once one does not, and the overlap check falls back to a sort.
    let mut in_order = Some(base - 1);
    for (i, entry) in directory.chunks_exact(DIRECTORY_ENTRY_LEN).enumerate() {
        let entry_at = LEADER_LEN + i * DIRECTORY_ENTRY_LEN;
        let tag: [u8; 3] = [entry[0], entry[1], entry[2]];
        if !tag.iter().all(|&b| (0x20..0x7F).contains(&b)) {
            return Err(err(
                ErrorKind::InvalidDirectoryEntry,
                entry_at,
                format!("directory entry {i} has a tag that is not printable ASCII"),
            ));
        }
        let (Some(len), Some(start)) = (
            digits4([entry[3], entry[4], entry[5], entry[6]]),
            digits5([entry[7], entry[8], entry[9], entry[10], entry[11]]),
        ) else {
            return Err(err(
                ErrorKind::InvalidDirectoryEntry,
                entry_at,
                format!(
                    "directory entry {i} ({}) has a non-digit length or start",
                    show_tag(&tag)
                ),
            ));
        };
        let after_previous = spans
            .last()
            .map_or(base, |p: &FieldSpan| p.end as usize + 1);
        let field = Claim {
            base,
            data_end,
            start,
            len,
            after_previous,
        };
        let (s, e) = locate_field(bytes, &mut terminators, field).map_err(|(kind, detail)| {
            err(
                kind,
                entry_at,
                format!("field {} (directory entry {i}): {detail}", show_tag(&tag)),
            )
        })?;
        // A field owns its bytes and its terminator at `e`.
        in_order = in_order.filter(|&last| s > last).map(|_| e);
        spans.push(FieldSpan {
            tag,
            start: s as u32,
            end: e as u32,
        });
    }
    if in_order.is_none() {
        if let Some((i, j)) = first_overlap(&spans) {
            let (a, b) = (&spans[j], &spans[i]);
            return Err(err(
                ErrorKind::OverlappingFields,
                LEADER_LEN + i * DIRECTORY_ENTRY_LEN,
                format!(
                    "field {} (directory entry {i}, bytes {}..={}) overlaps field {} \
                     (directory entry {j}, bytes {}..={}): each byte of field data belongs \
                     to one field only",
                    show_tag(&b.tag),
                    b.start,
                    b.end,
                    show_tag(&a.tag),
                    a.start,
                    a.end
                ),
            ));
        }
    }
    // Content checks come after the structure is known to be sound: on disjoint spans they
    // read each byte once.
    if let Some((at, tag)) = first_invalid_utf8_field(bytes, &spans, utf8) {
        return Err(err(
            ErrorKind::InvalidUtf8,
            at,
            format!(
                "field {} is not valid UTF-8 (leader/09 = a)",
                show_tag(&tag)
            ),
        ));
    }
    Ok(Record {
        bytes,
        spans,
        utf8_checked,
    })
}

/// The record offset of the first byte that breaks UTF-8 in a field, and the field's tag.
fn first_invalid_utf8_field(
    bytes: &[u8],
    spans: &[FieldSpan],
    utf8: Utf8Check,
) -> Option<(usize, [u8; 3])> {
    if matches!(utf8, Utf8Check::None) {
        return None;
    }
    spans.iter().find_map(|span| {
        let (s, e) = (span.start as usize, span.end as usize);
        let field = &bytes[s..e];
        let control = is_control_tag(&span.tag);
        let invalid = match utf8 {
            Utf8Check::None => None,
            Utf8Check::Indicators if control => None,
            Utf8Check::Indicators => field[..indicator_len(field)]
                .iter()
                .position(|b| !b.is_ascii()),
            Utf8Check::PerField => first_invalid_utf8(field, control),
        };
        invalid.map(|at| (s + at, span.tag))
    })
}

/// The first pair of spans, in data order, that share a byte (a span owns `start..=end`,
/// its terminator included): `(later, earlier)` directory entry indices.
#[cold]
fn first_overlap(spans: &[FieldSpan]) -> Option<(usize, usize)> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_unstable_by_key(|&i| (spans[i].start, i));
    order.windows(2).find_map(|w| {
        let (a, b) = (w[0], w[1]);
        (spans[b].start <= spans[a].end).then_some((a.max(b), a.min(b)))
    })
}

/// Where the field terminators are, found once the first time a field has to be located
/// by them, so that locating many fields costs one pass over the data (not one per field).
struct Terminators<'a> {
    /// The record up to (not including) its terminator.
    bytes: &'a [u8],
    index: Option<Vec<u32>>,
}

impl<'a> Terminators<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Terminators { bytes, index: None }
    }

    /// The first field terminator at or after `from`.
    fn next(&mut self, from: usize) -> Option<usize> {
        let bytes = self.bytes;
        let index = self.index.get_or_insert_with(|| {
            memchr::memchr_iter(FIELD_TERMINATOR, bytes)
                .map(|t| t as u32)
                .collect()
        });
        let at = index.partition_point(|&t| (t as usize) < from);
        index.get(at).map(|&t| t as usize)
    }
}

/// What one directory entry claims, with what is needed to check it.
#[derive(Clone, Copy)]
struct Claim {
    base: usize,
    data_end: usize,
    start: usize,
    len: usize,
    /// The byte after the previous field's terminator (`base` for the first field).
    after_previous: usize,
}

/// How much UTF-8 checking a record still needs after the whole-area checks.
#[derive(Clone, Copy)]
enum Utf8Check {
    None,
    Indicators,
    PerField,
}

/// The data area is valid UTF-8 and every subfield code is ASCII (or a letter that folds
/// to one). Indicators are left to the per-field loop.
fn area_is_valid_utf8(area: &[u8]) -> bool {
    std::str::from_utf8(area).is_ok()
        && memchr::memchr_iter(SUBFIELD_DELIMITER, area)
            .map(|d| d + 1)
            .all(|c| c >= area.len() || subfield_code(&area[c..]).0.is_ascii())
}

/// The data of one field, terminator excluded, as `(start, end)` in record bytes.
/// Exact when the directory is right; when it drifted, realigns on the field terminators.
/// A length of zero means "not recorded" (how records too long for ISO 2709's lengths are
/// kept in memory, see [`crate::record::OwnedRecord::encode_unbounded`]): the field follows
/// the previous one and runs to the next terminator.
#[inline(always)]
fn locate_field(
    bytes: &[u8],
    terminators: &mut Terminators<'_>,
    claim: Claim,
) -> std::result::Result<(usize, usize), (ErrorKind, String)> {
    let Claim {
        base,
        data_end,
        start,
        len,
        after_previous,
    } = claim;
    let s = if len == 0 {
        after_previous
    } else {
        base + start
    };
    let e = s + len;
    if s >= data_end || e > data_end {
        return Err((
            ErrorKind::FieldOutOfBounds,
            format!(
                "start {} + length {len} is past the data area ({} bytes)",
                s - base,
                data_end - base
            ),
        ));
    }
    if len > 0
        && bytes[e - 1] == FIELD_TERMINATOR
        && (s == base || bytes[s - 1] == FIELD_TERMINATOR)
    {
        return Ok((s, e - 1));
    }
    // Drift: the field begins after the terminator at or just before `s` and runs to the next.
    let s = if len > 0 && bytes[s] == FIELD_TERMINATOR {
        s + 1
    } else {
        s
    };
    match terminators.next(s) {
        Some(t) => Ok((s, t)),
        None => Err((
            ErrorKind::MissingFieldTerminator,
            format!("no field terminator after byte {s}"),
        )),
    }
}

/// Offset of the first byte that breaks UTF-8 in a field. In a data field the indicators
/// and every subfield value must be valid on their own (they are taken apart and may be
/// written back separately), so the indicators must be ASCII, and so must a subfield code
/// unless it is a letter with a diacritic that reads as its base letter (see
/// [`crate::record::subfield_code`]): any other multi-byte character used as an indicator
/// or code would split into a lone byte and an invalid value.
fn first_invalid_utf8(data: &[u8], control: bool) -> Option<usize> {
    if let Err(bad) = std::str::from_utf8(data) {
        return Some(bad.valid_up_to());
    }
    if control {
        return None;
    }
    if let Some(i) = data[..indicator_len(data)]
        .iter()
        .position(|b| !b.is_ascii())
    {
        return Some(i);
    }
    memchr::memchr_iter(SUBFIELD_DELIMITER, data)
        .map(|d| d + 1)
        .find(|&c| c < data.len() && !subfield_code(&data[c..]).0.is_ascii())
}

fn show_tag(tag: &[u8; 3]) -> String {
    String::from_utf8_lossy(tag).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{OwnedField, OwnedRecord};

    /// Encoded as MARC-8 and then labelled `leader9`: the encoder refuses invalid UTF-8
    /// under leader/09 `a`, and these tests need such records.
    fn record(leader9: u8, fields: Vec<OwnedField>) -> Vec<u8> {
        let leader = *b"00000nam  2200000   4500";
        let mut bytes = OwnedRecord { leader, fields }.encode().unwrap();
        bytes[9] = leader9;
        bytes
    }

    fn data(tag: &[u8; 3], ind: [u8; 2], subfields: &[(u8, &[u8])]) -> OwnedField {
        OwnedField::Data {
            tag: *tag,
            ind1: ind[0],
            ind2: ind[1],
            subfields: subfields.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
        }
    }

    fn kind(bytes: &[u8]) -> std::result::Result<usize, (ErrorKind, u64)> {
        parse_record(bytes, Origin::default(), ParseOptions::default())
            .map(|r| r.spans().len())
            .map_err(|e| (e.kind, e.byte_offset))
    }

    #[test]
    fn field_without_terminator_is_missing_field_terminator() {
        // testbed_missing_terminators.mrc, record 2: "notermhere" then the record terminator.
        let bytes = b"00048nam  2200037   4500001001000000\x1enotermhere\x1d";
        assert_eq!(kind(bytes), Err((ErrorKind::MissingFieldTerminator, 24)));
    }

    #[test]
    fn drifted_directory_realigns_on_terminators() {
        let mut bytes = record(
            b' ',
            vec![
                data(b"100", *b"1 ", &[(b'a', b"x")]),
                data(b"245", *b"10", &[(b'a', b"y")]),
            ],
        );
        // Make the first field one byte longer than its directory entry says (a length
        // counted in characters): every later start is then one byte early.
        let at = bytes.iter().rposition(|&b| b == b'x').unwrap();
        bytes.insert(at, b'x');
        let rec = parse_record(&bytes, Origin::default(), ParseOptions::default()).unwrap();
        let values: Vec<_> = rec
            .fields()
            .map(|f| f.subfields().next().unwrap().value)
            .collect();
        assert_eq!(values, [&b"xx"[..], &b"y"[..]]);
    }

    #[test]
    fn utf8_records_need_ascii_indicators_and_codes() {
        let ok = record(b'a', vec![data(b"245", *b"10", &[(b'a', "é".as_bytes())])]);
        assert_eq!(kind(&ok), Ok(1));
        // An indicator that is half of a two-byte character would not survive being
        // taken apart and written back.
        let mut bad = record(b'a', vec![data(b"245", *b"1\xc3", &[(b'a', b"\xa9x")])]);
        let base = read_digits(&bad[12..17]).unwrap();
        assert_eq!(kind(&bad), Err((ErrorKind::InvalidUtf8, base as u64 + 1)));
        // The same bytes are fine in a MARC-8 record.
        bad[9] = b' ';
        assert_eq!(kind(&bad), Ok(1));
        // A code that folds (á for a) is accepted; one that does not (U+FFFD) is not.
        // (Written as `?` and patched: the encoder refuses a code that would fold.)
        let mut folded = record(b'a', vec![data(b"245", *b"10", &[(b'?', b"\xa1x")])]);
        let at = folded.iter().position(|&b| b == b'?').unwrap();
        folded[at] = 0xC3;
        let rec = parse_record(&folded, Origin::default(), ParseOptions::default()).unwrap();
        let sub = rec.fields().next().unwrap().subfields().next().unwrap();
        assert_eq!((sub.code, sub.value), (b'a', &b"x"[..]));
        let replacement = record(b'a', vec![data(b"245", *b"10", &[(0xEF, b"\xbf\xbdx")])]);
        assert_eq!(kind(&replacement).unwrap_err().0, ErrorKind::InvalidUtf8);
    }

    #[test]
    fn claimed_sizes_do_not_drive_allocation() {
        // A leader claiming 99999 bytes and a directory of huge entries on a tiny record:
        // the span vector is sized by the directory actually present.
        let bytes = b"99999nam a2200049   4500001999999999245999900000\x1eid\x1e\x1d";
        let err = parse_record(bytes, Origin::default(), ParseOptions::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::FieldOutOfBounds);
        let bytes = b"99999nam a2200037   4500001000300000\x1eid\x1e\x1d";
        let rec = parse_record(bytes, Origin::default(), ParseOptions::default()).unwrap();
        assert_eq!(rec.spans.len(), 1);
        assert!(rec.spans.capacity() * DIRECTORY_ENTRY_LEN <= bytes.len());
    }
}
