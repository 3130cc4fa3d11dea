//! Builds Elixir terms from parsed records. This is the hot path of every read: each record
//! is copied once into a binary (its own, or a chunk it shares with its neighbours: see
//! `items.rs`), and every value is a sub-binary of it (no copy per field). Small repeated
//! terms (subfield codes, indicators, tags) are made once per call and shared.

use crate::atoms;
use rustler::sys::{self, ErlNifTerm as ERL_NIF_TERM};
use rustler::{Binary, Encoder, Env, OwnedBinary, Term};
use snakepit_core::recover::Repair;
use snakepit_core::Record;

/// A new binary term holding a copy of `data`.
pub(crate) fn binary_term<'a>(env: Env<'a>, data: &[u8]) -> Term<'a> {
    let binary: Binary = rustler::NewBinary::from_slice(env, data).into();
    binary.encode(env)
}

/// A parsed record together with a binary that holds exactly its bytes, so that every
/// span of the record is a valid sub-binary of the binary. The only way to make one is
/// through a constructor that establishes that, which is what makes
/// [`RecordBinary::sub`] safe.
#[derive(Clone, Copy)]
pub(crate) struct RecordBinary<'b, 'r> {
    env: Env<'b>,
    binary: Binary<'b>,
    record: &'r Record<'r>,
}

impl<'b, 'r> RecordBinary<'b, 'r> {
    /// `record` over `binary`, when `binary` holds exactly `record.bytes()` (the same bytes:
    /// a record parsed from this very binary, or a copy); `None` otherwise.
    pub(crate) fn new(env: Env<'b>, binary: Binary<'b>, record: &'r Record<'r>) -> Option<Self> {
        let same = std::ptr::eq(binary.as_slice(), record.bytes()) || *binary == *record.bytes();
        same.then_some(RecordBinary {
            env,
            binary,
            record,
        })
    }

    /// `record` over a new binary holding a copy of its bytes.
    pub(crate) fn copy(env: Env<'b>, record: &'r Record<'r>) -> Self {
        let mut owned = OwnedBinary::new(record.bytes().len());
        owned.as_mut_slice().copy_from_slice(record.bytes());
        RecordBinary {
            env,
            binary: owned.release(env),
            record,
        }
    }

    pub(crate) fn record(&self) -> &'r Record<'r> {
        self.record
    }

    /// The binary that holds the record's bytes.
    pub(crate) fn binary(&self) -> Binary<'b> {
        self.binary
    }

    /// The sub-binary at `offset..offset + len` of the record's bytes.
    ///
    /// Panics (raises) when the range is not inside the record: spans and subfield offsets
    /// come from parsing these bytes, so that would be a parser bug, never memory unsafety.
    fn sub(&self, offset: usize, len: usize) -> ERL_NIF_TERM {
        assert!(
            offset
                .checked_add(len)
                .is_some_and(|end| end <= self.binary.len()),
            "internal: a span ({offset}+{len}) outside its record ({} bytes)",
            self.binary.len()
        );
        // SAFETY: checked just above: the range lies inside `binary`.
        unsafe { self.binary.make_subbinary_unchecked(offset, len) }
            .to_term(self.env)
            .as_c_arg()
    }
}

pub(crate) struct TermBuilder<'a> {
    env: Env<'a>,
    /// One-byte binaries by byte.
    bytes: [Option<ERL_NIF_TERM>; 256],
    /// Numeric tags by number modulo the size, as `(number, term)`. Small, so that a builder
    /// for one record (lazy field access) costs next to nothing to make.
    tags: [Option<(u16, ERL_NIF_TERM)>; TAG_CACHE],
    record_keys: [ERL_NIF_TERM; 4],
    field_keys: [ERL_NIF_TERM; 6],
    record_module: ERL_NIF_TERM,
    field_module: ERL_NIF_TERM,
    lazy_keys: [ERL_NIF_TERM; 3],
    lazy_module: ERL_NIF_TERM,
    nil: ERL_NIF_TERM,
    empty_list: ERL_NIF_TERM,
    field_scratch: Vec<ERL_NIF_TERM>,
    subfield_scratch: Vec<ERL_NIF_TERM>,
}

const TAG_CACHE: usize = 128;

impl<'a> TermBuilder<'a> {
    pub(crate) fn new(env: Env<'a>) -> Self {
        let key = |a: rustler::Atom| a.encode(env).as_c_arg();
        TermBuilder {
            env,
            bytes: [None; 256],
            tags: [None; TAG_CACHE],
            record_keys: [
                key(atoms::__struct__()),
                key(atoms::fields()),
                key(atoms::leader()),
                key(atoms::repairs()),
            ],
            field_keys: [
                key(atoms::__struct__()),
                key(atoms::ind1()),
                key(atoms::ind2()),
                key(atoms::subfields()),
                key(atoms::tag()),
                key(atoms::value()),
            ],
            record_module: key(atoms::record_module()),
            lazy_keys: [
                key(atoms::__struct__()),
                key(atoms::bytes()),
                key(atoms::repairs()),
            ],
            lazy_module: key(atoms::lazy_module()),
            field_module: key(atoms::field_module()),
            nil: key(atoms::nil()),
            // SAFETY: an empty array (NULL, 0) makes `[]`.
            empty_list: unsafe {
                sys::enif_make_list_from_array(env.as_c_arg(), std::ptr::null(), 0)
            },
            field_scratch: Vec::with_capacity(64),
            subfield_scratch: Vec::with_capacity(256),
        }
    }

    fn new_binary(&self, data: &[u8]) -> ERL_NIF_TERM {
        let mut term = ERL_NIF_TERM::default();
        // SAFETY: `term` is a valid out-pointer; the buffer returned, when not NULL, has
        // room for `data.len()` bytes and does not overlap `data`.
        unsafe {
            let ptr = sys::enif_make_new_binary(self.env.as_c_arg(), data.len(), &mut term);
            // NULL when the VM cannot allocate: raise rather than write through it.
            assert!(
                !ptr.is_null(),
                "enif_make_new_binary failed ({} bytes)",
                data.len()
            );
            std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len());
        }
        term
    }

    /// A one-byte binary (subfield code, indicator), made once per call.
    fn byte(&mut self, b: u8) -> ERL_NIF_TERM {
        match self.bytes[b as usize] {
            Some(t) => t,
            None => {
                let t = self.new_binary(&[b]);
                self.bytes[b as usize] = Some(t);
                t
            }
        }
    }

    fn tag(&mut self, tag: [u8; 3]) -> ERL_NIF_TERM {
        if tag.iter().all(u8::is_ascii_digit) {
            let number =
                (tag[0] - b'0') as u16 * 100 + (tag[1] - b'0') as u16 * 10 + (tag[2] - b'0') as u16;
            let slot = number as usize % TAG_CACHE;
            if let Some((cached, t)) = self.tags[slot] {
                if cached == number {
                    return t;
                }
            }
            let t = self.new_binary(&tag);
            self.tags[slot] = Some((number, t));
            return t;
        }
        self.new_binary(&tag)
    }

    fn list(&self, items: &[ERL_NIF_TERM]) -> ERL_NIF_TERM {
        // SAFETY: `items` are terms of this env, read for the call only.
        unsafe {
            sys::enif_make_list_from_array(self.env.as_c_arg(), items.as_ptr(), items.len() as u32)
        }
    }

    fn map(&self, keys: &[ERL_NIF_TERM], values: &[ERL_NIF_TERM]) -> ERL_NIF_TERM {
        let mut out = ERL_NIF_TERM::default();
        // SAFETY: `keys` and `values` are terms of this env, of the same length.
        let ok = unsafe {
            sys::enif_make_map_from_arrays(
                self.env.as_c_arg(),
                keys.as_ptr(),
                values.as_ptr(),
                keys.len(),
                &mut out,
            )
        };
        debug_assert!(ok != 0, "struct keys are unique");
        out
    }

    /// `%Snakepit.Marc.Record{}` whose leader and values are sub-binaries of `bound`'s
    /// binary; `repairs` as read.
    pub(crate) fn record_in(
        &mut self,
        bound: RecordBinary<'a, '_>,
        repairs: &[Repair],
    ) -> Term<'a> {
        let repairs = self.repairs(repairs);
        self.record_with(bound, repairs)
    }

    /// `[]` for none (the usual case, at no cost), else the `%Snakepit.Marc.Repair{}` list.
    fn repairs(&self, repairs: &[Repair]) -> ERL_NIF_TERM {
        if repairs.is_empty() {
            return self.empty_list;
        }
        crate::repair_terms::repairs_term(self.env, repairs).as_c_arg()
    }

    fn record_with(&mut self, bound: RecordBinary<'a, '_>, repairs: ERL_NIF_TERM) -> Term<'a> {
        let fields = self.fields_raw(bound, |_| true);
        let values = [self.record_module, fields, bound.sub(0, 24), repairs];
        let term = self.map(&self.record_keys, &values);
        // SAFETY: made by enif_make_map_from_arrays in this env.
        unsafe { Term::new(self.env, term) }
    }

    /// `%Snakepit.Marc.LazyRecord{}` over `bytes`, a binary holding exactly the record's
    /// bytes (its own, or a sub-binary of a chunk shared with its neighbours: `items.rs`).
    pub(crate) fn lazy_record(&mut self, bytes: Binary<'a>, repairs: &[Repair]) -> Term<'a> {
        let values = [
            self.lazy_module,
            bytes.to_term(self.env).as_c_arg(),
            self.repairs(repairs),
        ];
        let term = self.map(&self.lazy_keys, &values);
        // SAFETY: made by enif_make_map_from_arrays in this env.
        unsafe { Term::new(self.env, term) }
    }

    /// The list of `%Snakepit.Marc.Field{}` whose tag `keep` accepts, in record order, with
    /// values as sub-binaries of `bound`'s binary.
    pub(crate) fn fields_in(
        &mut self,
        bound: RecordBinary<'a, '_>,
        keep: impl Fn(&[u8; 3]) -> bool,
    ) -> Term<'a> {
        let list = self.fields_raw(bound, keep);
        // SAFETY: made by enif_make_list_from_array in this env.
        unsafe { Term::new(self.env, list) }
    }

    fn fields_raw(
        &mut self,
        bound: RecordBinary<'a, '_>,
        keep: impl Fn(&[u8; 3]) -> bool,
    ) -> ERL_NIF_TERM {
        let record = bound.record();
        let bytes = record.bytes();
        let sub = |offset: usize, len: usize| bound.sub(offset, len);

        let mut fields = std::mem::take(&mut self.field_scratch);
        let mut subfields = std::mem::take(&mut self.subfield_scratch);
        fields.clear();
        for span in record.spans().iter().filter(|s| keep(&s.tag)) {
            let (start, end) = (span.start as usize, span.end as usize);
            let tag = self.tag(span.tag);
            let field = if snakepit_core::record::is_control_tag(&span.tag) {
                let values = [
                    self.field_module,
                    self.nil,
                    self.nil,
                    self.empty_list,
                    tag,
                    sub(start, end - start),
                ];
                self.map(&self.field_keys, &values)
            } else {
                let field_ref = snakepit_core::FieldRef {
                    tag: span.tag,
                    data: &bytes[start..end],
                };
                let (i1, i2) = field_ref.indicators();
                subfields.clear();
                for sf in field_ref.subfields() {
                    let pair = [
                        self.byte(sf.code),
                        sub(start + sf.value_offset, sf.value.len()),
                    ];
                    // SAFETY: two terms of this env.
                    subfields.push(unsafe {
                        sys::enif_make_tuple_from_array(self.env.as_c_arg(), pair.as_ptr(), 2)
                    });
                }
                let values = [
                    self.field_module,
                    self.byte(i1),
                    self.byte(i2),
                    self.list(&subfields),
                    tag,
                    self.nil,
                ];
                self.map(&self.field_keys, &values)
            };
            fields.push(field);
        }
        let list = self.list(&fields);
        self.field_scratch = fields;
        self.subfield_scratch = subfields;
        list
    }

    /// Each kept field's text, as `Snakepit.Marc.Field.value/1` gives it: a control field's
    /// value or a lone subfield's value as a sub-binary of `bound`'s binary; several subfield values
    /// joined by a space into a new binary; `""` for a data field with no subfields.
    pub(crate) fn values_in(
        &mut self,
        bound: RecordBinary<'a, '_>,
        keep: impl Fn(&[u8; 3]) -> bool,
    ) -> Term<'a> {
        let record = bound.record();
        let sub = |offset: usize, len: usize| bound.sub(offset, len);
        let mut values = std::mem::take(&mut self.field_scratch);
        values.clear();
        let mut joined = Vec::new();
        for field in record.fields().filter(|f| keep(&f.tag)) {
            let start = field.data.as_ptr() as usize - record.bytes().as_ptr() as usize;
            if field.is_control() {
                values.push(sub(start, field.data.len()));
                continue;
            }
            let mut parts = field.subfields();
            let value = match (parts.next(), parts.next()) {
                (None, _) => self.new_binary(b""),
                (Some(only), None) => sub(start + only.value_offset, only.value.len()),
                (Some(first), Some(second)) => {
                    joined.clear();
                    joined.extend_from_slice(first.value);
                    for part in std::iter::once(second).chain(parts) {
                        joined.push(b' ');
                        joined.extend_from_slice(part.value);
                    }
                    self.new_binary(&joined)
                }
            };
            values.push(value);
        }
        let list = self.list(&values);
        self.field_scratch = values;
        // SAFETY: made by enif_make_list_from_array in this env.
        unsafe { Term::new(self.env, list) }
    }
}
