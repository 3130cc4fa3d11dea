//! A record walked once into a flat form every check reads: fields with their positions,
//! subfields in one list. Checks then look across fields (counts, linkage) without walking
//! the record again.

use super::At;
use crate::view::{FieldView, RecordView};
use std::ops::Range;

/// One field of a [`Prepared`] record.
#[derive(Debug, Clone)]
pub struct Field<'r> {
    pub tag: [u8; 3],
    pub index: u32,
    /// Bytes from the start of the record, for a parsed record.
    pub offset: Option<u32>,
    pub kind: Kind<'r>,
}

#[derive(Debug, Clone)]
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
#[derive(Debug)]
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
}

/// `v` emptied and retyped, keeping its allocation: `T` and `U` differ only in lifetimes,
/// so the standard library's in-place collection reuses the buffer.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().map(|_| unreachable!("emptied")).collect()
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

    /// This record's buffers, emptied, for the next one.
    pub fn into_scratch(self) -> Scratch {
        Scratch {
            fields: recycle(self.fields),
            subfields: recycle(self.subfields),
            text: String::new(),
        }
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
