//! The record model. A parsed [`Record`] is the record's bytes plus one span per field: no
//! field or subfield is copied. [`OwnedRecord`] is the editable form used when records are
//! built from JSON, XML, MARC-8 conversion or Elixir terms; it encodes back to ISO 2709 with
//! recomputed lengths, base address and directory.

use crate::error::{ErrorKind, MarcError, Result};

pub const RECORD_TERMINATOR: u8 = 0x1D;
pub const FIELD_TERMINATOR: u8 = 0x1E;
pub const SUBFIELD_DELIMITER: u8 = 0x1F;
pub const LEADER_LEN: usize = 24;
pub const DIRECTORY_ENTRY_LEN: usize = 12;
/// Leader/00-04 holds five digits, so no encoded record can be longer.
pub const MAX_RECORD_LEN: usize = 99_999;
/// Directory field length holds four digits (terminator included).
pub const MAX_FIELD_LEN: usize = 9_999;

/// Where one field's data lies in its record's bytes. `start..end` excludes the field
/// terminator (and, for data fields, still includes the two indicators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpan {
    pub tag: [u8; 3],
    pub start: u32,
    pub end: u32,
}

/// A structurally valid record borrowed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) spans: Vec<FieldSpan>,
}

impl<'a> Record<'a> {
    /// The whole record as framed, leader to record terminator.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn leader(&self) -> &'a [u8] {
        &self.bytes[..LEADER_LEN]
    }

    /// Leader/09 = `a`: the data is UTF-8. Blank means MARC-8.
    pub fn is_utf8(&self) -> bool {
        self.bytes[9] == b'a'
    }

    pub fn spans(&self) -> &[FieldSpan] {
        &self.spans
    }

    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldRef<'a>> + '_ {
        let bytes = self.bytes;
        self.spans.iter().map(move |s| FieldRef {
            tag: s.tag,
            data: &bytes[s.start as usize..s.end as usize],
        })
    }

    /// The field spans, giving up the borrow, so a parse can cross threads as plain data.
    pub fn into_spans(self) -> Vec<FieldSpan> {
        self.spans
    }

    /// Reassembles a record from its bytes and the spans [`into_spans`](Self::into_spans)
    /// gave for those same bytes. `None` if a span does not lie inside `bytes`.
    pub fn from_parts(bytes: &'a [u8], spans: Vec<FieldSpan>) -> Option<Record<'a>> {
        let fits = bytes.len() >= LEADER_LEN
            && spans
                .iter()
                .all(|s| s.start <= s.end && (s.end as usize) <= bytes.len());
        fits.then_some(Record { bytes, spans })
    }

    pub fn to_owned_record(&self) -> OwnedRecord {
        let mut leader = [0u8; LEADER_LEN];
        leader.copy_from_slice(self.leader());
        OwnedRecord {
            leader,
            fields: self.fields().map(|f| f.to_owned_field()).collect(),
        }
    }
}

/// Tags 001-009 (all digits, below 010) are control fields: a value, no indicators.
pub fn is_control_tag(tag: &[u8; 3]) -> bool {
    tag[0] == b'0' && tag[1] == b'0' && tag[2].is_ascii_digit()
}

/// One field of a borrowed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef<'a> {
    pub tag: [u8; 3],
    /// Data without the field terminator; for data fields it starts with the indicators.
    pub data: &'a [u8],
}

impl<'a> FieldRef<'a> {
    pub fn is_control(&self) -> bool {
        is_control_tag(&self.tag)
    }

    /// The two indicators; a data field too short to hold them reads as blanks.
    pub fn indicators(&self) -> (u8, u8) {
        let at = |i: usize| self.data.get(i).copied().unwrap_or(b' ');
        (at(0), at(1))
    }

    /// Offset of the subfield area within `data` (after the indicators).
    pub fn subfield_area_start(&self) -> usize {
        self.data.len().min(2)
    }

    /// `(code, value)` pairs in order. Bytes before the first delimiter are not a subfield
    /// and are passed over; a delimiter with no code byte yields nothing.
    pub fn subfields(&self) -> Subfields<'a> {
        Subfields {
            rest: &self.data[self.subfield_area_start()..],
            base: self.subfield_area_start(),
        }
    }

    pub fn to_owned_field(&self) -> OwnedField {
        if self.is_control() {
            OwnedField::Control {
                tag: self.tag,
                value: self.data.to_vec(),
            }
        } else {
            let (ind1, ind2) = self.indicators();
            OwnedField::Data {
                tag: self.tag,
                ind1,
                ind2,
                subfields: self
                    .subfields()
                    .map(|s| (s.code, s.value.to_vec()))
                    .collect(),
            }
        }
    }
}

/// One subfield: its code byte, its value and the value's offset within the field data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubfieldRef<'a> {
    pub code: u8,
    pub value: &'a [u8],
    pub value_offset: usize,
}

pub struct Subfields<'a> {
    rest: &'a [u8],
    base: usize,
}

impl<'a> Iterator for Subfields<'a> {
    type Item = SubfieldRef<'a>;

    fn next(&mut self) -> Option<SubfieldRef<'a>> {
        loop {
            let at = memchr::memchr(SUBFIELD_DELIMITER, self.rest)?;
            self.base += at + 1;
            self.rest = &self.rest[at + 1..];
            let len = memchr::memchr(SUBFIELD_DELIMITER, self.rest).unwrap_or(self.rest.len());
            let chunk = &self.rest[..len];
            let value_offset = self.base + 1;
            self.base += len;
            self.rest = &self.rest[len..];
            // A delimiter followed directly by another (or by the end) has no code: skip it.
            if let Some((&code, value)) = chunk.split_first() {
                if let Some((ascii, width)) = fold_subfield_code(chunk) {
                    return Some(SubfieldRef {
                        code: ascii,
                        value: &chunk[width..],
                        value_offset: value_offset + width - 1,
                    });
                }
                return Some(SubfieldRef {
                    code,
                    value,
                    value_offset,
                });
            }
        }
    }
}

/// A subfield code must be one ASCII byte, but some records carry an accented letter in
/// UTF-8 (two bytes) where the code should be. Like pymarc, read it as its base letter
/// (`á` is `a`) and start the value after the whole character. Returns the ASCII code and
/// the character's width, or `None` when `chunk` does not start with such a letter.
pub fn fold_subfield_code(chunk: &[u8]) -> Option<(u8, usize)> {
    // Base letters of U+00C0..=U+00FF (UTF-8 0xC3 0x80..=0xBF); 0 where there is none.
    const LATIN1: &[u8; 64] =
        b"AAAAAA\0CEEEEIIII\0NOOOOO\0\0UUUUY\0\0aaaaaa\0ceeeeiiii\0nooooo\0\0uuuuy\0y";
    match chunk {
        [0xC3, b2 @ 0x80..=0xBF, ..] => {
            let base = LATIN1[(b2 - 0x80) as usize];
            (base != 0).then_some((base, 2))
        }
        _ => None,
    }
}

/// An editable field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedField {
    Control {
        tag: [u8; 3],
        value: Vec<u8>,
    },
    Data {
        tag: [u8; 3],
        ind1: u8,
        ind2: u8,
        subfields: Vec<(u8, Vec<u8>)>,
    },
}

impl OwnedField {
    pub fn tag(&self) -> [u8; 3] {
        match self {
            OwnedField::Control { tag, .. } | OwnedField::Data { tag, .. } => *tag,
        }
    }

    fn encoded_len(&self) -> usize {
        1 + match self {
            OwnedField::Control { value, .. } => value.len(),
            OwnedField::Data { subfields, .. } => {
                2 + subfields.iter().map(|(_, v)| 2 + v.len()).sum::<usize>()
            }
        }
    }

    fn write_data(&self, out: &mut Vec<u8>) {
        match self {
            OwnedField::Control { value, .. } => out.extend_from_slice(value),
            OwnedField::Data {
                ind1,
                ind2,
                subfields,
                ..
            } => {
                out.push(*ind1);
                out.push(*ind2);
                for (code, value) in subfields {
                    out.push(SUBFIELD_DELIMITER);
                    out.push(*code);
                    out.extend_from_slice(value);
                }
            }
        }
        out.push(FIELD_TERMINATOR);
    }
}

/// An editable record: a leader and fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    pub leader: [u8; LEADER_LEN],
    pub fields: Vec<OwnedField>,
}

impl OwnedRecord {
    /// Appends the ISO 2709 encoding to `out`, recomputing leader/00-04 (record length),
    /// leader/12-16 (base address) and the directory. Other leader bytes are kept; a leader
    /// with blank or missing structural positions gets the standard `22` and `4500`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let base = LEADER_LEN + DIRECTORY_ENTRY_LEN * self.fields.len() + 1;
        let data_len: usize = self.fields.iter().map(OwnedField::encoded_len).sum();
        let total = base + data_len + 1;
        if total > MAX_RECORD_LEN {
            return Err(MarcError::bare(
                ErrorKind::TooLarge,
                0,
                0,
                format!("record would be {total} bytes; ISO 2709 allows {MAX_RECORD_LEN}"),
            ));
        }
        out.reserve(total);
        let start = out.len();
        let mut leader = self.leader;
        write_digits(&mut leader[0..5], total);
        write_digits(&mut leader[12..17], base);
        for (i, d) in [
            (10, b'2'),
            (11, b'2'),
            (20, b'4'),
            (21, b'5'),
            (22, b'0'),
            (23, b'0'),
        ] {
            if !leader[i].is_ascii_digit() {
                leader[i] = d;
            }
        }
        out.extend_from_slice(&leader);
        let mut offset = 0usize;
        for field in &self.fields {
            let len = field.encoded_len();
            if len > MAX_FIELD_LEN {
                out.truncate(start);
                return Err(MarcError::bare(
                    ErrorKind::TooLarge,
                    0,
                    0,
                    format!(
                        "field {} would be {len} bytes; ISO 2709 allows {MAX_FIELD_LEN}",
                        String::from_utf8_lossy(&field.tag())
                    ),
                ));
            }
            let mut entry = [0u8; DIRECTORY_ENTRY_LEN];
            entry[..3].copy_from_slice(&field.tag());
            write_digits(&mut entry[3..7], len);
            write_digits(&mut entry[7..12], offset);
            out.extend_from_slice(&entry);
            offset += len;
        }
        out.push(FIELD_TERMINATOR);
        for field in &self.fields {
            field.write_data(out);
        }
        out.push(RECORD_TERMINATOR);
        debug_assert_eq!(out.len() - start, total);
        Ok(())
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

/// Writes `n` as zero-padded decimal filling `dst`. Callers guarantee it fits.
fn write_digits(dst: &mut [u8], mut n: usize) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Reads `src` as unsigned decimal; `None` unless every byte is an ASCII digit.
pub fn read_digits(src: &[u8]) -> Option<usize> {
    if src.is_empty() {
        return None;
    }
    let mut n = 0usize;
    for &b in src {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as usize;
    }
    Some(n)
}
