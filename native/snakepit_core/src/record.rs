//! The record model. A parsed [`Record`] is the record's bytes plus one span per field: no
//! field or subfield is copied. [`OwnedRecord`] is the editable form used when records are
//! built from JSON, XML, MARC-8 conversion or Elixir terms; it encodes back to ISO 2709 with
//! recomputed lengths, base address and directory.

use crate::error::Result;

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
    /// The parser found every field's data valid UTF-8 (checked under leader/09 `a`, or
    /// all ASCII), so a reader of its values need not check again.
    pub(crate) utf8_checked: bool,
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

    /// Whether the parser found every field's data valid UTF-8 (`false` when it did not
    /// look: leader/09 other than `a` with non-ASCII data, or UTF-8 checks off).
    pub fn utf8_checked(&self) -> bool {
        self.utf8_checked
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
        fits.then_some(Record {
            bytes,
            spans,
            utf8_checked: false,
        })
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

/// How many of a data field's first bytes are indicators: two, fewer when the field is
/// shorter or a subfield delimiter comes first.
#[inline]
pub fn indicator_len(data: &[u8]) -> usize {
    match data {
        [SUBFIELD_DELIMITER, ..] => 0,
        [_, SUBFIELD_DELIMITER, ..] | [_] => 1,
        [] => 0,
        _ => 2,
    }
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

    /// The two indicators. Missing ones read as blanks: a data field too short to hold
    /// them, or whose first subfield delimiter comes within its first two bytes (pymarc
    /// reads such fields the same way).
    pub fn indicators(&self) -> (u8, u8) {
        let n = self.subfield_area_start();
        let at = |i: usize| if i < n { self.data[i] } else { b' ' };
        (at(0), at(1))
    }

    /// Offset of the subfield area within `data`: after the two indicators, or at the first
    /// subfield delimiter if that comes sooner.
    pub fn subfield_area_start(&self) -> usize {
        indicator_len(self.data)
    }

    /// `(code, value)` pairs in order. Bytes before the first delimiter are not a subfield
    /// and are passed over; a delimiter with no code byte yields nothing. A code written as
    /// a UTF-8 letter with a diacritic reads as its base letter (see [`subfield_code`]).
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

#[derive(Clone)]
pub struct Subfields<'a> {
    rest: &'a [u8],
    base: usize,
}

impl<'a> Iterator for Subfields<'a> {
    type Item = SubfieldRef<'a>;

    fn next(&mut self) -> Option<SubfieldRef<'a>> {
        loop {
            // After the first subfield the rest starts at a delimiter: no search for it.
            let at = match self.rest.first() {
                Some(&SUBFIELD_DELIMITER) => 0,
                _ => memchr::memchr(SUBFIELD_DELIMITER, self.rest)?,
            };
            self.base += at + 1;
            self.rest = &self.rest[at + 1..];
            let len = find_delimiter(self.rest).unwrap_or(self.rest.len());
            let chunk = &self.rest[..len];
            let chunk_offset = self.base;
            self.base += len;
            self.rest = &self.rest[len..];
            // A delimiter followed directly by another (or by the end) has no code: skip it.
            if !chunk.is_empty() {
                let (code, used) = subfield_code(chunk);
                return Some(SubfieldRef {
                    code,
                    value: &chunk[used..],
                    value_offset: chunk_offset + used,
                });
            }
        }
    }
}

/// The first subfield delimiter in `bytes`. Subfield values are mostly short, where a call
/// to `memchr` costs more than the search: the first [`SHORT_VALUE`] bytes are searched a
/// word at a time here, the rest (long values) by `memchr`.
#[inline]
fn find_delimiter(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const DELIMITERS: u64 = u64::from_ne_bytes([SUBFIELD_DELIMITER; 8]);
    let short = bytes.len().min(SHORT_VALUE);
    let mut at = 0;
    while at + 8 <= short {
        let word = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        // A byte of `x` is zero where `word` holds a delimiter. The lowest flagged byte is
        // always a true zero (a borrow only flags bytes above one), so it is the first.
        let x = word ^ DELIMITERS;
        let flagged = x.wrapping_sub(ONES) & !x & HIGHS;
        if flagged != 0 {
            return Some(at + (flagged.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if bytes.len() <= SHORT_VALUE {
        return bytes[at..]
            .iter()
            .position(|&b| b == SUBFIELD_DELIMITER)
            .map(|i| at + i);
    }
    memchr::memchr(SUBFIELD_DELIMITER, &bytes[at..]).map(|i| at + i)
}

/// How many bytes [`find_delimiter`] searches by itself before handing over to `memchr`.
const SHORT_VALUE: usize = 64;

/// The code of a subfield whose bytes after the delimiter are `chunk` (not empty), and how
/// many bytes the code takes. A code is one byte, except that a UTF-8 letter with a
/// diacritic from U+00C0..U+017F (`á` typed for `a`, a known cataloguing slip) reads as its
/// base letter and takes both its bytes, the way pymarc reads it. Costs one branch for the
/// usual ASCII code.
#[inline]
pub fn subfield_code(chunk: &[u8]) -> (u8, usize) {
    match *chunk {
        [lead @ 0xC3..=0xC5, cont @ 0x80..=0xBF, ..] => {
            let cp = (usize::from(lead & 0x1F) << 6) | usize::from(cont & 0x3F);
            match CODE_FOLD[cp - 0xC0] {
                b'.' => (lead, 1),
                base => (base, 2),
            }
        }
        [code, ..] => (code, 1),
        [] => (0, 0),
    }
}

/// Base letters of U+00C0..U+017F (NFKD, diacritics dropped); `.` where there is none.
const CODE_FOLD: &[u8; 192] = b"AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y\
AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI.IiJjKk.LlLlLlL\
l..NnNnNnn..OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZzs";

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
}

/// An editable record: a leader and fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    pub leader: [u8; LEADER_LEN],
    pub fields: Vec<OwnedField>,
}

impl OwnedRecord {
    /// Appends the ISO 2709 encoding to `out`, recomputing leader/00-04 (record length),
    /// leader/12-16 (base address) and the directory, after checking that the record can be
    /// written ([`crate::encode`]). Other leader bytes are kept; a leader with blank or
    /// missing structural positions gets the standard `22` and `4500`. On error `out` is
    /// left as it was.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::encode::encode_record(self, 0, out)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// The record as bytes that [`crate::parse_record`] reads back, for a record that stays
    /// in memory, even past ISO 2709's size limits (a record converted from MARC-8, whose
    /// UTF-8 can outgrow them); see [`crate::encode`]'s `reencode_parsed` for the rule.
    pub fn encode_unbounded(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        crate::encode::reencode_parsed(self, &mut out)?;
        Ok(out)
    }
}

/// Writes the record length (leader/00-04) and base address (leader/12-16) into a
/// 24-byte leader, and gives structural positions that are not digits their standard
/// values (`22` at 10-11, `4500` at 20-23). Every ISO 2709 encoder goes through here.
pub fn set_leader_structure(leader: &mut [u8], total: usize, base: usize) {
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
}

/// Writes `n` as zero-padded decimal filling `dst`. Callers guarantee it fits.
pub fn write_digits(dst: &mut [u8], mut n: usize) {
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

/// No byte has its high bit set. OR-folds without an early exit, which the compiler turns
/// into wide vector code: faster than `<[u8]>::is_ascii` on record-sized inputs.
#[inline]
pub fn all_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |acc, &b| acc | b) < 0x80
}

/// Four ASCII digits as a number, branch-free (SWAR): the directory's field length.
#[inline(always)]
pub fn digits4(src: [u8; 4]) -> Option<usize> {
    let x = u32::from_le_bytes(src);
    // Every byte in 0x30..=0x39: high nibble 3, and adding 6 does not carry out of it.
    let all_digits = (x & 0xF0F0_F0F0) == 0x3030_3030
        && (x.wrapping_add(0x0606_0606) & 0xF0F0_F0F0) == 0x3030_3030;
    if !all_digits {
        return None;
    }
    let d = x - 0x3030_3030; // d0 (first char) in the low byte
    let pairs = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF; // [d0d1, d2d3]
    Some(((pairs & 0xFFFF) * 100 + (pairs >> 16)) as usize)
}

/// Five ASCII digits as a number: the directory's starting position.
#[inline(always)]
pub fn digits5(src: [u8; 5]) -> Option<usize> {
    let first = src[0].wrapping_sub(b'0');
    if first > 9 {
        return None;
    }
    digits4([src[1], src[2], src[3], src[4]]).map(|rest| first as usize * 10_000 + rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    proptest::proptest! {
        #[test]
        fn the_word_search_finds_the_first_delimiter_as_a_plain_search_does(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::num::u8::ANY,
                    1 => proptest::strategy::Just(SUBFIELD_DELIMITER),
                    1 => proptest::strategy::Just(SUBFIELD_DELIMITER + 1),
                    1 => proptest::strategy::Just(SUBFIELD_DELIMITER - 1),
                ],
                0..200,
            )
        ) {
            let plain = bytes.iter().position(|&b| b == SUBFIELD_DELIMITER);
            proptest::prop_assert_eq!(find_delimiter(&bytes), plain);
            // Every start, so that the delimiter falls at every place within a word.
            for start in 0..bytes.len().min(16) {
                let plain = bytes[start..].iter().position(|&b| b == SUBFIELD_DELIMITER);
                proptest::prop_assert_eq!(find_delimiter(&bytes[start..]), plain);
            }
        }
    }

    #[test]
    fn swar_digits_agree_with_the_plain_reader() {
        for n in (0..10_000).chain([0, 9999]) {
            let s = format!("{n:04}");
            assert_eq!(digits4(s.as_bytes().try_into().unwrap()), Some(n));
        }
        for n in (0..100_000).step_by(7).chain([99_999]) {
            let s = format!("{n:05}");
            assert_eq!(digits5(s.as_bytes().try_into().unwrap()), Some(n));
        }
        // Every single-byte corruption of a valid number is rejected, exactly as read_digits.
        for pos in 0..4 {
            for b in 0..=255u8 {
                let mut s = *b"5678";
                s[pos] = b;
                assert_eq!(digits4(s), read_digits(&s), "{s:?}");
            }
        }
    }

    fn field(data: &[u8]) -> FieldRef<'_> {
        FieldRef { tag: *b"245", data }
    }

    fn subfields(data: &[u8]) -> Vec<(u8, &[u8], usize)> {
        field(data)
            .subfields()
            .map(|s| (s.code, s.value, s.value_offset))
            .collect()
    }

    #[test]
    fn subfields_and_offsets() {
        let data = b"10\x1faTitle :\x1fbsub\x1f\x1f\x1fc";
        assert_eq!(
            subfields(data),
            vec![
                (b'a', &b"Title :"[..], 4),
                (b'b', &b"sub"[..], 13),
                (b'c', &b""[..], 20)
            ]
        );
        for (_, value, at) in subfields(data) {
            assert_eq!(&data[at..at + value.len()], value);
        }
    }

    #[test]
    fn accented_code_reads_as_its_base_letter() {
        // "á" (C3 A1) typed as the code of $a, as in pymarc's bad_subfield_code.dat.
        let data = "10\u{1f}áActivePerl /\u{1f}cT.".as_bytes();
        let subs = subfields(data);
        assert_eq!(subs[0], (b'a', &b"ActivePerl /"[..], 5));
        assert_eq!(subs[1].0, b'c');
        assert_eq!(subfield_code("Ż".as_bytes()), (b'Z', 2));
        assert_eq!(subfield_code("ſx".as_bytes()), (b's', 2));
        // No base letter: the lead byte stays the code, as before.
        assert_eq!(subfield_code("ß".as_bytes()), (0xC3, 1));
        assert_eq!(subfield_code("Ł".as_bytes()), (0xC5, 1));
        assert_eq!(subfield_code("\u{fffd}".as_bytes()), (0xEF, 1));
        assert_eq!(subfield_code(&[0xC3]), (0xC3, 1));
        assert_eq!(subfield_code(b"a\xa1"), (b'a', 1));
    }

    #[test]
    fn fold_table_matches_every_two_byte_lead() {
        for cp in 0xC0u32..0x180 {
            let c = char::from_u32(cp).unwrap();
            let mut buf = [0u8; 4];
            let (code, used) = subfield_code(c.encode_utf8(&mut buf).as_bytes());
            if used == 2 {
                assert!(code.is_ascii_alphabetic(), "{c}");
                assert!(c.to_lowercase().next().unwrap() != c || code.is_ascii_lowercase());
            }
        }
    }

    #[test]
    fn missing_indicators_read_as_blanks() {
        // pymarc_bad_indicator.dat: a 020 written without indicators.
        let f = field(b"\x1fa9780253325525 (alk. paper)");
        assert_eq!(f.indicators(), (b' ', b' '));
        assert_eq!(subfields(f.data)[0].1, b"9780253325525 (alk. paper)");
        let f = field(b"1\x1fax");
        assert_eq!(f.indicators(), (b'1', b' '));
        assert_eq!(subfields(f.data), vec![(b'a', &b"x"[..], 3)]);
        assert_eq!(field(b"1").indicators(), (b'1', b' '));
        assert_eq!(field(b"").indicators(), (b' ', b' '));
        // Bytes past two indicators and before the first delimiter are not a subfield.
        let f = field(b"123\x1fax");
        assert_eq!(f.indicators(), (b'1', b'2'));
        assert_eq!(subfields(f.data), vec![(b'a', &b"x"[..], 5)]);
    }

    #[test]
    fn encode_recomputes_structure() {
        let mut rec = OwnedRecord {
            leader: *b"99999nam a2299999 i 4500",
            fields: vec![
                OwnedField::Control {
                    tag: *b"001",
                    value: b"id1".to_vec(),
                },
                OwnedField::Data {
                    tag: *b"245",
                    ind1: b'1',
                    ind2: b'0',
                    subfields: vec![(b'a', b"Title".to_vec())],
                },
            ],
        };
        let bytes = rec.encode().unwrap();
        assert_eq!(&bytes[..24], b"00064nam a2200049 i 4500");
        assert_eq!(&bytes[24..49], b"001000400000245001000004\x1e");
        assert_eq!(&bytes[49..], b"id1\x1e10\x1faTitle\x1e\x1d");
        assert_eq!(bytes.len(), 64);
        // An edit changes every length and offset after it.
        if let OwnedField::Control { value, .. } = &mut rec.fields[0] {
            value.extend_from_slice(b"-longer");
        }
        rec.leader[10] = b' ';
        rec.leader[20..24].copy_from_slice(b"    ");
        let bytes = rec.encode().unwrap();
        assert_eq!(&bytes[..24], b"00071nam a2200049 i 4500");
        assert_eq!(&bytes[24..49], b"001001100000245001000011\x1e");
        assert_eq!(bytes.len(), 71);
    }

    #[test]
    fn too_large_is_an_error_not_a_panic() {
        let data = |n: usize| OwnedField::Control {
            tag: *b"001",
            value: vec![b'x'; n],
        };
        let leader = *b"00000nam a2200000   4500";
        // 9998 bytes + terminator fits a four-digit length; one more does not.
        let ok = OwnedRecord {
            leader,
            fields: vec![data(9_998)],
        };
        assert_eq!(ok.encode().unwrap().len(), 24 + 12 + 1 + 9_999 + 1);
        let big_field = OwnedRecord {
            leader,
            fields: vec![data(9_999)],
        };
        let err = big_field.encode().unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge);
        // encode_into leaves the output as it was.
        let mut out = b"keep".to_vec();
        assert!(big_field.encode_into(&mut out).is_err());
        assert_eq!(out, b"keep");
        // Eleven fields of 9999 bytes exceed 99999 in total.
        let big_record = OwnedRecord {
            leader,
            fields: (0..11).map(|_| data(9_998)).collect(),
        };
        assert_eq!(big_record.encode().unwrap_err().kind, ErrorKind::TooLarge);
        let mut out = Vec::new();
        assert!(big_record.encode_into(&mut out).is_err());
        assert!(out.is_empty());
        // Exactly 99999 bytes is allowed.
        let fill = MAX_RECORD_LEN - (24 + 12 * 10 + 1 + 1) - 9 * 9_999;
        let mut fields: Vec<_> = (0..9).map(|_| data(9_998)).collect();
        fields.push(data(fill - 1));
        let max = OwnedRecord { leader, fields };
        let bytes = max.encode().unwrap();
        assert_eq!(bytes.len(), MAX_RECORD_LEN);
        assert_eq!(&bytes[..5], b"99999");
    }
}
