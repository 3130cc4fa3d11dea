//! Elixir records as a [`RecordView`], borrowed from their terms: no copy of any value.

use crate::atoms;
use crate::errors::NativeError;
use rustler::{Atom, Binary, Encoder, Term};
use snakepit_core::view::{FieldView, RecordView};
use snakepit_core::MarcError;

pub(super) enum TermField<'a> {
    Control {
        tag: [u8; 3],
        value: &'a [u8],
    },
    Data {
        tag: [u8; 3],
        ind1: u8,
        ind2: u8,
        /// Range into [`TermRecord::subfields`].
        start: usize,
        end: usize,
    },
}

/// One Elixir record, borrowed from its terms.
#[derive(Default)]
pub(super) struct TermRecord<'a> {
    /// A `LazyRecord`'s bytes, already parsed and checked: ISO 2709 output copies them.
    pub(super) lazy_bytes: Option<&'a [u8]>,
    leader: &'a [u8],
    fields: Vec<TermField<'a>>,
    subfields: Vec<(u8, &'a [u8])>,
}

#[derive(Clone)]
pub(super) struct TermSubfields<'s, 'a>(std::slice::Iter<'s, (u8, &'a [u8])>);

impl<'s, 'a: 's> Iterator for TermSubfields<'s, 'a> {
    type Item = (u8, &'s [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|&(c, v)| (c, v))
    }
}

pub(super) struct TermFields<'s, 'a> {
    fields: std::slice::Iter<'s, TermField<'a>>,
    subfields: &'s [(u8, &'a [u8])],
}

impl<'s, 'a: 's> Iterator for TermFields<'s, 'a> {
    type Item = FieldView<'s, TermSubfields<'s, 'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        Some(match *self.fields.next()? {
            TermField::Control { tag, value } => FieldView::Control { tag, value },
            TermField::Data {
                tag,
                ind1,
                ind2,
                start,
                end,
            } => FieldView::Data {
                tag,
                ind1,
                ind2,
                subfields: TermSubfields(self.subfields[start..end].iter()),
            },
        })
    }
}

impl<'a> RecordView for TermRecord<'a> {
    type Subfields<'s>
        = TermSubfields<'s, 'a>
    where
        Self: 's;
    type Fields<'s>
        = TermFields<'s, 'a>
    where
        Self: 's;

    fn leader(&self) -> &[u8] {
        self.leader
    }

    fn view_fields(&self) -> TermFields<'_, 'a> {
        TermFields {
            fields: self.fields.iter(),
            subfields: &self.subfields,
        }
    }
}

/// Atoms looked up once per call.
struct Keys {
    struct_: Atom,
    record_module: Atom,
    field_module: Atom,
    lazy_module: Atom,
    bytes: Atom,
    leader: Atom,
    fields: Atom,
    tag: Atom,
    value: Atom,
    ind1: Atom,
    ind2: Atom,
    subfields: Atom,
    nil: Atom,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            struct_: atoms::__struct__(),
            record_module: atoms::record_module(),
            field_module: atoms::field_module(),
            lazy_module: atoms::lazy_module(),
            bytes: atoms::bytes(),
            leader: atoms::leader(),
            fields: atoms::fields(),
            tag: atoms::tag(),
            value: atoms::value(),
            ind1: atoms::ind1(),
            ind2: atoms::ind2(),
            subfields: atoms::subfields(),
            nil: atoms::nil(),
        }
    }
}

fn show(term: Term<'_>) -> String {
    let s = format!("{term:?}");
    if s.len() > 80 {
        let mut cut = 80;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

fn is_struct(term: Term<'_>, keys: &Keys, module: Atom) -> bool {
    term.map_get(keys.struct_.encode(term.get_env()))
        .ok()
        .and_then(|m| m.decode::<Atom>().ok())
        == Some(module)
}

fn get<'a>(map: Term<'a>, key: Atom) -> Option<Term<'a>> {
    map.map_get(key.encode(map.get_env())).ok()
}

fn one_byte(term: Term<'_>, keys: &Keys) -> Option<u8> {
    if term.decode::<Atom>().ok() == Some(keys.nil) {
        return Some(b' ');
    }
    match term.decode::<Binary>() {
        Ok(b) if b.len() == 1 => Some(b.as_slice()[0]),
        _ => None,
    }
}

/// Decodes one `%Snakepit.Marc.Record{}` into `out` (cleared first).
fn decode_record<'a>(
    term: Term<'a>,
    keys: &Keys,
    out: &mut TermRecord<'a>,
) -> Result<(), NativeError> {
    out.fields.clear();
    out.subfields.clear();
    out.lazy_bytes = None;
    if is_struct(term, keys, keys.lazy_module) {
        return decode_lazy_record(term, keys, out);
    }
    if !is_struct(term, keys, keys.record_module) {
        return Err(NativeError::Shape(format!(
            "expected a %Snakepit.Marc.Record{{}}, got: {}",
            show(term)
        )));
    }
    let leader = get(term, keys.leader).and_then(|t| t.decode::<Binary>().ok());
    out.leader = match leader {
        Some(b) if b.len() == 24 => b.as_slice(),
        _ => {
            return Err(NativeError::Shape(format!(
                "the leader must be a 24-byte binary, got: {}",
                get(term, keys.leader).map(show).unwrap_or_default()
            )))
        }
    };
    let fields = get(term, keys.fields)
        .and_then(|t| t.into_list_iterator().ok())
        .ok_or_else(|| "fields must be a list of %Snakepit.Marc.Field{}".to_string())?;
    for (i, field) in fields.enumerate() {
        decode_field(field, keys, out).map_err(|e| format!("field {i}: {e}"))?;
    }
    Ok(())
}

/// A `%Snakepit.Marc.LazyRecord{}`: its bytes are parsed here (structure and, under
/// leader/09 `a`, UTF-8, exactly as `parse/2` reads them back), with no field terms built.
fn decode_lazy_record<'a>(
    term: Term<'a>,
    keys: &Keys,
    out: &mut TermRecord<'a>,
) -> Result<(), NativeError> {
    let bytes = get(term, keys.bytes)
        .and_then(|t| t.decode::<Binary<'a>>().ok())
        .ok_or_else(|| format!("a LazyRecord's bytes must be a binary, got: {}", show(term)))?;
    let record = snakepit_core::parse_record(
        bytes.as_slice(),
        Default::default(),
        snakepit_core::ParseOptions::default(),
    )
    .map_err(|mut e| {
        e.detail = format!(
            "a LazyRecord's bytes are not one ISO 2709 record: {}",
            e.detail
        );
        NativeError::Marc(e)
    })?;
    out.lazy_bytes = Some(bytes.as_slice());
    out.leader = record.leader();
    for field in record.fields() {
        if field.is_control() {
            out.fields.push(TermField::Control {
                tag: field.tag,
                value: field.data,
            });
            continue;
        }
        let (ind1, ind2) = field.indicators();
        let start = out.subfields.len();
        out.subfields
            .extend(field.subfields().map(|sf| (sf.code, sf.value)));
        out.fields.push(TermField::Data {
            tag: field.tag,
            ind1,
            ind2,
            start,
            end: out.subfields.len(),
        });
    }
    Ok(())
}

fn decode_field<'a>(field: Term<'a>, keys: &Keys, out: &mut TermRecord<'a>) -> Result<(), String> {
    if !is_struct(field, keys, keys.field_module) {
        return Err(format!(
            "expected a %Snakepit.Marc.Field{{}}, got: {}",
            show(field)
        ));
    }
    let tag_term = get(field, keys.tag).ok_or("no tag")?;
    let tag: [u8; 3] = match tag_term.decode::<Binary>() {
        Ok(b) if b.len() == 3 => b.as_slice().try_into().expect("3 bytes"),
        _ => {
            return Err(format!(
                "the tag must be a 3-byte binary, got: {}",
                show(tag_term)
            ))
        }
    };
    // Only for error messages: borrowed (no allocation) when the tag is UTF-8, as tags are.
    let tag_s = String::from_utf8_lossy(&tag);
    let value = get(field, keys.value).ok_or("no value key")?;
    if let Ok(value) = value.decode::<Binary>() {
        // A control field has only a value: anything else set would be dropped.
        for (key, name) in [(keys.ind1, "ind1"), (keys.ind2, "ind2")] {
            match get(field, key) {
                Some(t) if t.decode::<Atom>().ok() == Some(keys.nil) => {}
                other => {
                    return Err(format!(
                        "({tag_s}) a control field (a binary value) has no {name}, got: {}",
                        other.map(show).unwrap_or_default()
                    ))
                }
            }
        }
        match get(field, keys.subfields) {
            Some(t) if t.is_empty_list() => {}
            other => {
                return Err(format!(
                    "({tag_s}) a field with a binary value is a control field and has no \
                     subfields, got: {}",
                    other.map(show).unwrap_or_default()
                ))
            }
        }
        out.fields.push(TermField::Control {
            tag,
            value: value.as_slice(),
        });
        return Ok(());
    }
    if value.decode::<Atom>().ok() != Some(keys.nil) {
        return Err(format!(
            "({tag_s}) the value must be a binary or nil, got: {}",
            show(value)
        ));
    }
    let ind = |key: Atom, name: &str| -> Result<u8, String> {
        let t = get(field, key).ok_or_else(|| format!("({tag_s}) no {name}"))?;
        one_byte(t, keys).ok_or_else(|| {
            format!(
                "({tag_s}) {name} must be a one-byte binary (or nil), got: {}",
                show(t)
            )
        })
    };
    let (ind1, ind2) = (ind(keys.ind1, "ind1")?, ind(keys.ind2, "ind2")?);
    let subs = get(field, keys.subfields)
        .and_then(|t| t.into_list_iterator().ok())
        .ok_or_else(|| format!("({tag_s}) subfields must be a list"))?;
    let start = out.subfields.len();
    for (j, sub) in subs.enumerate() {
        let pair = rustler::types::tuple::get_tuple(sub)
            .ok()
            .filter(|t| t.len() == 2)
            .and_then(|t| {
                let code = t[0].decode::<Binary>().ok().filter(|c| c.len() == 1)?;
                let value = t[1].decode::<Binary>().ok()?;
                Some((code.as_slice()[0], value.as_slice()))
            });
        match pair {
            Some(p) => out.subfields.push(p),
            None => {
                return Err(format!(
                    "({tag_s}) subfield {j} must be {{one-byte code, binary}}, got: {}",
                    show(sub)
                ))
            }
        }
    }
    out.fields.push(TermField::Data {
        tag,
        ind1,
        ind2,
        start,
        end: out.subfields.len(),
    });
    Ok(())
}

/// Walks `records` (a list of record terms), decoding each and handing it to `write`, which
/// returns the core's error for a record it cannot write. `base` is the index of the first
/// record in the caller's whole sequence (streams write batch by batch), for errors.
pub(super) fn each_record<'a>(
    records: Term<'a>,
    base: u64,
    mut write: impl FnMut(usize, &TermRecord<'a>) -> Result<(), MarcError>,
) -> Result<(), NativeError> {
    let keys = Keys::new();
    let list = records
        .into_list_iterator()
        .map_err(|_| "expected a list of %Snakepit.Marc.Record{}".to_string())?;
    let mut record = TermRecord::default();
    for (i, term) in list.enumerate() {
        let index = base + i as u64;
        let decoded = decode_record(term, &keys, &mut record)
            .and_then(|()| write(i, &record).map_err(NativeError::Marc));
        match decoded {
            Ok(()) => {}
            Err(NativeError::Shape(e)) => {
                return Err(NativeError::Shape(format!("record {index}: {e}")))
            }
            Err(NativeError::Marc(e)) => {
                return Err(NativeError::Marc(MarcError {
                    record_index: index,
                    ..e
                }))
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}
