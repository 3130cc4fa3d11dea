//! Structural parse of one framed record: leader, directory, field spans. Zero-copy: the
//! result borrows the record bytes. Every check names its error kind and byte.

use crate::error::{ErrorKind, MarcError, Result};
use crate::record::{
    is_control_tag, read_digits, FieldSpan, Record, DIRECTORY_ENTRY_LEN, FIELD_TERMINATOR,
    LEADER_LEN, RECORD_TERMINATOR, SUBFIELD_DELIMITER,
};
use memchr::memchr;

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
    if let Some(bad) = directory.iter().position(|b| !b.is_ascii()) {
        return Err(err(
            ErrorKind::InvalidDirectoryEntry,
            LEADER_LEN + bad,
            format!(
                "the directory holds a non-ASCII byte at {}",
                LEADER_LEN + bad
            ),
        ));
    }
    if directory.len() % DIRECTORY_ENTRY_LEN != 0 {
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
    let mut spans = Vec::with_capacity(directory.len() / DIRECTORY_ENTRY_LEN);
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
        let (Some(len), Some(start)) = (read_digits(&entry[3..7]), read_digits(&entry[7..12]))
        else {
            return Err(err(
                ErrorKind::InvalidDirectoryEntry,
                entry_at,
                format!(
                    "directory entry {i} ({}) has a non-digit length or start",
                    show_tag(&tag)
                ),
            ));
        };
        let span = locate_field(bytes, base, data_end, start, len).map_err(|detail| {
            err(
                ErrorKind::FieldOutOfBounds,
                entry_at,
                format!("field {} (directory entry {i}): {detail}", show_tag(&tag)),
            )
        })?;
        let (s, e) = span;
        if opts.validate_utf8 && bytes[9] == b'a' {
            if let Some(at) = first_invalid_utf8(&bytes[s..e], is_control_tag(&tag)) {
                return Err(err(
                    ErrorKind::InvalidUtf8,
                    s + at,
                    format!(
                        "field {} is not valid UTF-8 (leader/09 = a)",
                        show_tag(&tag)
                    ),
                ));
            }
        }
        spans.push(FieldSpan {
            tag,
            start: s as u32,
            end: e as u32,
        });
    }
    Ok(Record { bytes, spans })
}

/// The data of one field, terminator excluded, as `(start, end)` in record bytes.
/// Exact when the directory is right; when it drifted, realigns on the field terminators.
fn locate_field(
    bytes: &[u8],
    base: usize,
    data_end: usize,
    start: usize,
    len: usize,
) -> std::result::Result<(usize, usize), String> {
    let s = base + start;
    let e = s + len;
    if len == 0 || e > data_end {
        return Err(format!(
            "start {start} + length {len} is past the data area ({} bytes)",
            data_end - base
        ));
    }
    if bytes[e - 1] == FIELD_TERMINATOR && (s == base || bytes[s - 1] == FIELD_TERMINATOR) {
        return Ok((s, e - 1));
    }
    // Drift: the field begins after the terminator at or just before `s` and runs to the next.
    let s = if bytes[s] == FIELD_TERMINATOR {
        s + 1
    } else {
        s
    };
    match memchr(FIELD_TERMINATOR, &bytes[s..data_end]) {
        Some(n) => Ok((s, s + n)),
        None => Err(format!("no field terminator after byte {s}")),
    }
}

/// Offset of the first byte that breaks UTF-8 in a field. In a data field every subfield
/// value must be valid on its own, so a subfield code must be ASCII: a multi-byte character
/// used as a code would split into a code byte and an invalid value.
fn first_invalid_utf8(data: &[u8], control: bool) -> Option<usize> {
    if let Err(bad) = std::str::from_utf8(data) {
        return Some(bad.valid_up_to());
    }
    if control {
        return None;
    }
    memchr::memchr_iter(SUBFIELD_DELIMITER, data)
        .map(|d| d + 1)
        .find(|&c| {
            data.get(c).is_some_and(|b| !b.is_ascii())
                && crate::record::fold_subfield_code(&data[c..]).is_none()
        })
}

fn show_tag(tag: &[u8; 3]) -> String {
    String::from_utf8_lossy(tag).into_owned()
}
