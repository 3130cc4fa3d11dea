//! A record walked once into a flat form every check reads: fields with their positions,
//! subfields in one list. Checks then look across fields (counts, linkage) without walking
//! the record again.

use super::At;
use crate::record::{indicator_len, is_control_tag, subfield_code, Record, SUBFIELD_DELIMITER};
use crate::view::{FieldView, RecordView};
use std::ops::Range;

/// One field of a [`Prepared`] record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'r> {
    pub tag: [u8; 3],
    pub index: u32,
    /// Bytes from the start of the record, for a parsed record.
    pub offset: Option<u32>,
    pub kind: Kind<'r>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'r> {
    Control(&'r [u8]),
    Data {
        ind1: u8,
        ind2: u8,
        /// Into [`Prepared::subfields`].
        subfields: Range<usize>,
    },
}

/// A record ready for checking.
#[derive(Debug, PartialEq, Eq)]
pub struct Prepared<'r> {
    pub leader: &'r [u8],
    pub fields: Vec<Field<'r>>,
    pub subfields: Vec<(u8, &'r [u8])>,
    /// False when the record's bytes hold no tab, carriage return or line feed at all (the
    /// usual case, found in one pass): no subfield then needs looking at for them.
    pub may_hold_line_breaks: bool,
    bytes: Option<&'r [u8]>,
}

/// The allocations of a [`Prepared`] record, kept empty between records so that the next
/// one reuses them (see [`Prepared::new_in`]).
#[derive(Debug, Default)]
pub struct Scratch {
    fields: Vec<Field<'static>>,
    subfields: Vec<(u8, &'static [u8])>,
    /// For formatting messages.
    pub text: String,
    /// Messages worded so far on this thread.
    pub(crate) memo: super::Memo,
}

/// `v` emptied and retyped, keeping its allocation: `T` and `U` differ only in lifetimes,
/// so the standard library's in-place collection reuses the buffer.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().map(|_| unreachable!("emptied")).collect()
}

/// The subfields of a data field's subfield area (after its indicators), as
/// [`crate::record::FieldRef::subfields`] reads them: bytes before the first delimiter are
/// passed over, a delimiter with no code byte after it yields nothing, a code is read by
/// [`subfield_code`]. Delimiters are found eight bytes at a time, each by a bit search.
pub(crate) fn split_subfields<'r>(area: &'r [u8], out: &mut Vec<(u8, &'r [u8])>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const PATTERN: u64 = 0x0101_0101_0101_0101 * SUBFIELD_DELIMITER as u64;
    // The start of the subfield being read: just after its delimiter.
    let mut open: Option<usize> = None;
    let mut close = |open: &mut Option<usize>, end: usize| {
        if let Some(from) = open.replace(end + 1) {
            let chunk = &area[from..end];
            if !chunk.is_empty() {
                let (code, used) = subfield_code(chunk);
                out.push((code, &chunk[used..]));
            }
        }
    };
    let mut hits_at = |base: usize, word: u64| {
        let x = word ^ PATTERN;
        // The high bit of each byte of `x` that is zero (the low seven bits are added
        // apart, so no carry crosses bytes): exactly the delimiters.
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            close(&mut open, base + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
    };
    let mut words = area.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        hits_at(base, u64::from_le_bytes(word.try_into().expect("8 bytes")));
        base += 8;
    }
    // The last bytes, padded with zeros (not delimiters).
    let tail = words.remainder();
    if !tail.is_empty() {
        let word = tail
            .iter()
            .enumerate()
            .fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i));
        hits_at(base, word);
    }
    if open.is_some() {
        close(&mut open, area.len());
    }
}

impl<'r> Prepared<'r> {
    pub fn new<R: RecordView>(record: &'r R) -> Prepared<'r> {
        Prepared::new_in(record, &mut Scratch::default())
    }

    /// [`Prepared::new`] in the buffers of `scratch` (taken from it; give them back with
    /// [`Prepared::into_scratch`]).
    pub fn new_in<R: RecordView>(record: &'r R, scratch: &mut Scratch) -> Prepared<'r> {
        let mut fields: Vec<Field<'r>> = recycle(std::mem::take(&mut scratch.fields));
        let mut subfields: Vec<(u8, &'r [u8])> = recycle(std::mem::take(&mut scratch.subfields));
        for (index, view) in record.view_fields().enumerate() {
            let (tag, kind) = match view {
                FieldView::Control { tag, value } => (tag, Kind::Control(value)),
                FieldView::Data {
                    tag,
                    ind1,
                    ind2,
                    subfields: iter,
                } => {
                    let start = subfields.len();
                    subfields.extend(iter);
                    (
                        tag,
                        Kind::Data {
                            ind1,
                            ind2,
                            subfields: start..subfields.len(),
                        },
                    )
                }
            };
            fields.push(Field {
                tag,
                index: index as u32,
                offset: record.field_offset(index),
                kind,
            });
        }
        Prepared {
            leader: record.leader(),
            fields,
            subfields,
            may_hold_line_breaks: record
                .record_bytes()
                .is_none_or(|b| memchr::memchr3(b'\t', b'\r', b'\n', b).is_some()),
            bytes: record.record_bytes(),
        }
    }

    /// [`Prepared::new_in`] for a parsed record, the same result found faster: each data
    /// field's delimiters are found eight bytes at a time ([`split_subfields`]) instead of
    /// by two searches per subfield (subfields are short: starting a search costs more
    /// than the search).
    pub fn from_record_in(record: &'r Record<'_>, scratch: &mut Scratch) -> Prepared<'r> {
        let bytes: &'r [u8] = record.bytes();
        let mut fields: Vec<Field<'r>> = recycle(std::mem::take(&mut scratch.fields));
        let mut subfields: Vec<(u8, &'r [u8])> = recycle(std::mem::take(&mut scratch.subfields));
        for (index, span) in record.spans().iter().enumerate() {
            let data = &bytes[span.start as usize..span.end as usize];
            let kind = if is_control_tag(&span.tag) {
                Kind::Control(data)
            } else {
                let n = indicator_len(data);
                let ind = |i: usize| if i < n { data[i] } else { b' ' };
                let start = subfields.len();
                split_subfields(&data[n..], &mut subfields);
                Kind::Data {
                    ind1: ind(0),
                    ind2: ind(1),
                    subfields: start..subfields.len(),
                }
            };
            fields.push(Field {
                tag: span.tag,
                index: index as u32,
                offset: Some(span.start),
                kind,
            });
        }
        Prepared {
            leader: record.leader(),
            fields,
            subfields,
            may_hold_line_breaks: memchr::memchr3(b'\t', b'\r', b'\n', bytes).is_some(),
            bytes: Some(bytes),
        }
    }

    /// This record's buffers, emptied, back into `scratch` for the next one.
    pub fn into_scratch(self, scratch: &mut Scratch) {
        scratch.fields = recycle(self.fields);
        scratch.subfields = recycle(self.subfields);
    }

    /// The subfields of `field` (none for a control field).
    #[inline]
    pub fn subfields_of(&self, field: &Field<'r>) -> &[(u8, &'r [u8])] {
        match &field.kind {
            Kind::Data { subfields, .. } => &self.subfields[subfields.clone()],
            Kind::Control(_) => &[],
        }
    }

    /// Leader/06, type of record (blank when the leader is short).
    pub fn record_type(&self) -> u8 {
        self.leader.get(6).copied().unwrap_or(b' ')
    }

    /// What the leader says the record is.
    pub fn kind(&self) -> crate::marc21::RecordKind {
        crate::marc21::record_kind(self.leader)
    }

    /// The first field tagged `tag`.
    pub fn first(&self, tag: &[u8; 3]) -> Option<&Field<'r>> {
        self.fields.iter().find(|f| &f.tag == tag)
    }

    /// Where `field` is.
    pub fn at_field(&self, field: &Field<'r>) -> At {
        At {
            tag: Some(field.tag),
            field_index: Some(field.index),
            subfield: None,
            byte_offset: field.offset,
        }
    }

    /// Where subfield `code` with `value` (a slice of this record) of `field` is: its
    /// delimiter's offset when the record was parsed.
    pub fn at_subfield(&self, field: &Field<'r>, code: u8, value: &[u8]) -> At {
        At {
            subfield: Some(code),
            byte_offset: self.offset_of(value).map(|o| o.saturating_sub(2)),
            ..self.at_field(field)
        }
    }

    /// Where byte `position` of control field `field` (or of the leader, with `None`) is.
    pub fn at_position(&self, field: Option<&Field<'r>>, position: usize) -> At {
        match field {
            Some(field) => At {
                byte_offset: field.offset.map(|o| o + position as u32),
                ..self.at_field(field)
            },
            None => At {
                tag: Some(*b"LDR"),
                byte_offset: self.bytes.map(|_| position as u32),
                ..At::default()
            },
        }
    }

    // The offset of `slice` within the record's bytes, if it is a slice of them.
    fn offset_of(&self, slice: &[u8]) -> Option<u32> {
        let bytes = self.bytes?;
        let start = (slice.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
        (start <= bytes.len()).then_some(start as u32)
    }
}
