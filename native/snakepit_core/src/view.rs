//! A read-only view of a record, shared by the format writers ([`crate::json`],
//! [`crate::xml`]) so that a borrowed [`Record`] and an [`OwnedRecord`] go through one
//! implementation with static dispatch and no copying.

use crate::record::{self, is_control_tag, FieldSpan, OwnedField, OwnedRecord, Record};

/// One field as the writers see it.
#[derive(Debug, Clone)]
pub enum FieldView<'a, S> {
    /// A control field: a tag and a value, no indicators or subfields.
    Control { tag: [u8; 3], value: &'a [u8] },
    /// A data field: indicators and `(code, value)` subfields in order.
    Data {
        tag: [u8; 3],
        ind1: u8,
        ind2: u8,
        subfields: S,
    },
}

impl<S> FieldView<'_, S> {
    /// The field's tag.
    pub fn tag(&self) -> &[u8; 3] {
        match self {
            FieldView::Control { tag, .. } | FieldView::Data { tag, .. } => tag,
        }
    }
}

/// Anything that can be walked as leader plus fields in order.
///
/// For a borrowed [`Record`], tags 001-009 ([`is_control_tag`]) are control fields and
/// everything else is a data field read with [`crate::FieldRef::subfields`]. For an
/// [`OwnedRecord`], the [`OwnedField`] variant decides.
pub trait RecordView {
    /// Iterator over one data field's `(code, value)` subfields.
    type Subfields<'s>: Iterator<Item = (u8, &'s [u8])> + Clone
    where
        Self: 's;
    /// Iterator over the fields.
    type Fields<'s>: Iterator<Item = FieldView<'s, Self::Subfields<'s>>>
    where
        Self: 's;

    /// The leader as stored (normally 24 bytes).
    fn leader(&self) -> &[u8];
    /// The fields in record order.
    fn view_fields(&self) -> Self::Fields<'_>;

    /// The fields whose tag `keep` takes, in record order. A reader after a few tags (an
    /// extraction) asks so: a parsed record then builds no view of the others.
    fn view_fields_where<'s, F>(
        &'s self,
        mut keep: F,
    ) -> impl Iterator<Item = FieldView<'s, Self::Subfields<'s>>> + 's
    where
        F: FnMut(&[u8; 3]) -> bool + 's,
    {
        self.view_fields().filter(move |field| keep(field.tag()))
    }

    /// The record's ISO 2709 bytes when its fields are slices of them (a parsed record), so
    /// that a slice of a field can be placed within the record; `None` for a record built
    /// in memory.
    fn record_bytes(&self) -> Option<&[u8]> {
        None
    }

    /// Where field `index` (in record order) starts within [`RecordView::record_bytes`].
    fn field_offset(&self, _index: usize) -> Option<u32> {
        None
    }

    /// `true` when every field value (and so every subfield value) is known to be valid
    /// UTF-8, so that a reader may skip checking it; `false` when it is not known.
    fn values_are_utf8(&self) -> bool {
        false
    }
}

/// Fields of a borrowed [`Record`].
pub struct RecordFields<'s> {
    bytes: &'s [u8],
    spans: std::slice::Iter<'s, FieldSpan>,
}

/// Subfields of a borrowed record's data field.
#[derive(Clone)]
pub struct RecordSubfields<'s>(record::Subfields<'s>);

impl<'s> Iterator for RecordSubfields<'s> {
    type Item = (u8, &'s [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|s| (s.code, s.value))
    }
}

/// The view of the field at `span` of a borrowed record's `bytes`.
#[inline]
fn span_view<'s>(bytes: &'s [u8], span: &FieldSpan) -> FieldView<'s, RecordSubfields<'s>> {
    let field = record::FieldRef {
        tag: span.tag,
        data: &bytes[span.start as usize..span.end as usize],
    };
    if is_control_tag(&field.tag) {
        FieldView::Control {
            tag: field.tag,
            value: field.data,
        }
    } else {
        let (ind1, ind2) = field.indicators();
        FieldView::Data {
            tag: field.tag,
            ind1,
            ind2,
            subfields: RecordSubfields(field.subfields()),
        }
    }
}

impl<'s> Iterator for RecordFields<'s> {
    type Item = FieldView<'s, RecordSubfields<'s>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let span = self.spans.next()?;
        Some(span_view(self.bytes, span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl<'a> RecordView for Record<'a> {
    type Subfields<'s>
        = RecordSubfields<'s>
    where
        Self: 's;
    type Fields<'s>
        = RecordFields<'s>
    where
        Self: 's;

    fn leader(&self) -> &[u8] {
        Record::leader(self)
    }

    fn view_fields(&self) -> RecordFields<'_> {
        RecordFields {
            bytes: self.bytes(),
            spans: self.spans().iter(),
        }
    }

    // The tags are in the spans: a field not taken is never sliced or viewed.
    fn view_fields_where<'s, F>(
        &'s self,
        mut keep: F,
    ) -> impl Iterator<Item = FieldView<'s, RecordSubfields<'s>>> + 's
    where
        F: FnMut(&[u8; 3]) -> bool + 's,
    {
        let bytes = self.bytes();
        self.spans()
            .iter()
            .filter(move |span| keep(&span.tag))
            .map(move |span| span_view(bytes, span))
    }

    fn record_bytes(&self) -> Option<&[u8]> {
        Some(self.bytes())
    }

    fn values_are_utf8(&self) -> bool {
        self.utf8_checked()
    }

    fn field_offset(&self, index: usize) -> Option<u32> {
        self.spans().get(index).map(|s| s.start)
    }
}

/// Fields of an [`OwnedRecord`].
pub struct OwnedFields<'s>(std::slice::Iter<'s, OwnedField>);

/// Subfields of an owned data field.
#[derive(Clone)]
pub struct OwnedSubfields<'s>(std::slice::Iter<'s, (u8, Vec<u8>)>);

impl<'s> Iterator for OwnedSubfields<'s> {
    type Item = (u8, &'s [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(c, v)| (*c, v.as_slice()))
    }
}

impl<'s> Iterator for OwnedFields<'s> {
    type Item = FieldView<'s, OwnedSubfields<'s>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.0.next()? {
            OwnedField::Control { tag, value } => FieldView::Control { tag: *tag, value },
            OwnedField::Data {
                tag,
                ind1,
                ind2,
                subfields,
            } => FieldView::Data {
                tag: *tag,
                ind1: *ind1,
                ind2: *ind2,
                subfields: OwnedSubfields(subfields.iter()),
            },
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl RecordView for OwnedRecord {
    type Subfields<'s>
        = OwnedSubfields<'s>
    where
        Self: 's;
    type Fields<'s>
        = OwnedFields<'s>
    where
        Self: 's;

    fn leader(&self) -> &[u8] {
        &self.leader
    }

    fn view_fields(&self) -> OwnedFields<'_> {
        OwnedFields(self.fields.iter())
    }
}

impl<T: RecordView + ?Sized> RecordView for &T {
    type Subfields<'s>
        = T::Subfields<'s>
    where
        Self: 's;
    type Fields<'s>
        = T::Fields<'s>
    where
        Self: 's;

    fn leader(&self) -> &[u8] {
        (**self).leader()
    }

    fn view_fields(&self) -> Self::Fields<'_> {
        (**self).view_fields()
    }

    fn view_fields_where<'s, F>(
        &'s self,
        keep: F,
    ) -> impl Iterator<Item = FieldView<'s, Self::Subfields<'s>>> + 's
    where
        F: FnMut(&[u8; 3]) -> bool + 's,
    {
        (**self).view_fields_where(keep)
    }

    fn record_bytes(&self) -> Option<&[u8]> {
        (**self).record_bytes()
    }

    fn values_are_utf8(&self) -> bool {
        (**self).values_are_utf8()
    }

    fn field_offset(&self, index: usize) -> Option<u32> {
        (**self).field_offset(index)
    }
}
