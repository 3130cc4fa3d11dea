//! The serde visitors that read MARC-in-JSON tokens straight into [`OwnedRecord`]s.

use crate::record::{OwnedField, OwnedRecord, LEADER_LEN};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

type DeResult<T, E> = std::result::Result<T, E>;

/// What a visitor asks the deserializer for.
pub(super) enum Wants {
    Map,
    Seq,
    Any,
    Str,
    String,
}

/// A visitor that says what it asks for; [`Seed`] drives it. The one piece of serde glue
/// every visitor here shares, in place of a `DeserializeSeed` impl each.
pub(super) trait Drive<'de>: Visitor<'de> {
    const WANTS: Wants;
}

/// Any [`Drive`] visitor as a `DeserializeSeed`.
pub(super) struct Seed<V>(pub(super) V);

impl<'de, V: Drive<'de>> DeserializeSeed<'de> for Seed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> DeResult<V::Value, D::Error> {
        match V::WANTS {
            Wants::Map => d.deserialize_map(self.0),
            Wants::Seq => d.deserialize_seq(self.0),
            Wants::Any => d.deserialize_any(self.0),
            Wants::Str => d.deserialize_str(self.0),
            Wants::String => d.deserialize_string(self.0),
        }
    }
}

/// Reads `slot`'s key once: a second occurrence is a "duplicate key" error.
fn set_once<T, E: de::Error>(
    slot: &mut Option<T>,
    key: &str,
    value: impl FnOnce() -> DeResult<T, E>,
) -> DeResult<(), E> {
    if slot.is_some() {
        return Err(E::custom(format!("duplicate key \"{key}\"")));
    }
    *slot = Some(value()?);
    Ok(())
}

/// The elements of a sequence, each read with `seed()`, `enter(i)` told before element `i`
/// (and once more, with the count, before the end is seen).
fn collect<'de, A: SeqAccess<'de>, S: DeserializeSeed<'de>>(
    mut seq: A,
    min_capacity: usize,
    mut enter: impl FnMut(usize),
    mut seed: impl FnMut() -> S,
) -> DeResult<Vec<S::Value>, A::Error> {
    let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(min_capacity));
    loop {
        enter(items.len());
        match seq.next_element_seed(seed())? {
            Some(item) => items.push(item),
            None => return Ok(items),
        }
    }
}

/// A one-key object `{"K": v}` (`shape` names it in errors): `read` gets the key and reads
/// the value; an empty object or a second key is an error.
fn one_key<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    shape: &str,
    read: impl FnOnce(&str, &mut A) -> DeResult<T, A::Error>,
) -> DeResult<T, A::Error> {
    let Some(key) = map.next_key_seed(Seed(Key))? else {
        return Err(de::Error::custom(format!(
            "expected a one-key object {shape}, got an empty object"
        )));
    };
    let value = read(key.as_str(), map)?;
    if let Some(extra) = map.next_key_seed(Seed(Key))? {
        return Err(de::Error::custom(format!(
            "expected a one-key object {shape}, got a second key {:?}",
            truncate(extra.as_str())
        )));
    }
    Ok(value)
}
use std::cell::Cell;
use std::fmt;

/// Where the deserializer is, for error details. Updated as parsing goes.
#[derive(Default)]
pub(super) struct Ctx {
    pub(super) record: Cell<u64>,
    field: Cell<Option<usize>>,
    tag: Cell<[u8; 3]>,
    tag_known: Cell<bool>,
    subfield: Cell<Option<usize>>,
}

impl Ctx {
    pub(super) fn enter_record(&self, index: u64) {
        self.record.set(index);
        self.field.set(None);
        self.subfield.set(None);
    }

    fn enter_field(&self, index: usize) {
        self.field.set(Some(index));
        self.tag_known.set(false);
        self.subfield.set(None);
    }

    pub(super) fn describe(&self) -> String {
        let mut s = format!("record {}", self.record.get());
        if let Some(f) = self.field.get() {
            s.push_str(&format!(", field {f}"));
            if self.tag_known.get() {
                s.push_str(&format!(" ({})", String::from_utf8_lossy(&self.tag.get())));
            }
            if let Some(sf) = self.subfield.get() {
                s.push_str(&format!(", subfield {sf}"));
            }
        }
        s
    }
}

/// A JSON string as bytes.
struct Bytes;

impl Drive<'_> for Bytes {
    const WANTS: Wants = Wants::String;
}

impl<'de> Visitor<'de> for Bytes {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> DeResult<Vec<u8>, E> {
        Ok(v.as_bytes().to_vec())
    }

    fn visit_string<E: de::Error>(self, v: String) -> DeResult<Vec<u8>, E> {
        Ok(v.into_bytes())
    }
}

/// A JSON string of exactly `N` bytes (leader, indicator), named `what` in errors.
struct Fixed<const N: usize> {
    what: &'static str,
}

impl<const N: usize> Drive<'_> for Fixed<N> {
    const WANTS: Wants = Wants::Str;
}

impl<'de, const N: usize> Visitor<'de> for Fixed<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string of {N} byte(s) for the {}", self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> DeResult<[u8; N], E> {
        v.as_bytes().try_into().map_err(|_| {
            E::custom(format!(
                "the {} must be {N} byte(s), got {} ({:?})",
                self.what,
                v.len(),
                truncate(v)
            ))
        })
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A field tag given as an object key: three printable ASCII characters.
fn check_tag<E: de::Error>(key: &str) -> DeResult<[u8; 3], E> {
    match <[u8; 3]>::try_from(key.as_bytes()) {
        Ok(tag) if tag.iter().all(|b| (0x20..0x7F).contains(b)) => Ok(tag),
        _ => Err(E::custom(format!(
            "a tag must be 3 printable ASCII characters, got {:?}",
            truncate(key)
        ))),
    }
}

/// Object keys as borrowed-or-owned text.
struct Key;

impl Drive<'_> for Key {
    const WANTS: Wants = Wants::Str;
}

impl<'de> Visitor<'de> for Key {
    type Value = KeyBuf<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> DeResult<KeyBuf<'de>, E> {
        Ok(KeyBuf::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> DeResult<KeyBuf<'de>, E> {
        Ok(KeyBuf::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> DeResult<KeyBuf<'de>, E> {
        Ok(KeyBuf::Owned(v))
    }
}

enum KeyBuf<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl KeyBuf<'_> {
    fn as_str(&self) -> &str {
        match self {
            KeyBuf::Borrowed(s) => s,
            KeyBuf::Owned(s) => s,
        }
    }
}

/// One record object.
struct RecordSeed<'c> {
    ctx: &'c Ctx,
}

impl Drive<'_> for RecordSeed<'_> {
    const WANTS: Wants = Wants::Map;
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = OwnedRecord;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object {\"leader\": ..., \"fields\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> DeResult<OwnedRecord, A::Error> {
        let mut leader: Option<[u8; LEADER_LEN]> = None;
        let mut fields: Option<Vec<OwnedField>> = None;
        while let Some(key) = map.next_key_seed(Seed(Key))? {
            match key.as_str() {
                "leader" => set_once(&mut leader, "leader", || {
                    map.next_value_seed(Seed(Fixed::<LEADER_LEN> { what: "leader" }))
                })?,
                "fields" => {
                    set_once(&mut fields, "fields", || {
                        map.next_value_seed(Seed(FieldsSeed { ctx: self.ctx }))
                    })?;
                    self.ctx.field.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.ctx.field.set(None);
        let leader = leader.ok_or_else(|| de::Error::custom("missing key \"leader\""))?;
        let fields = fields.ok_or_else(|| de::Error::custom("missing key \"fields\""))?;
        Ok(OwnedRecord { leader, fields })
    }
}

struct FieldsSeed<'c> {
    ctx: &'c Ctx,
}

impl Drive<'_> for FieldsSeed<'_> {
    const WANTS: Wants = Wants::Seq;
}

impl<'de> Visitor<'de> for FieldsSeed<'_> {
    type Value = Vec<OwnedField>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of fields")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> DeResult<Self::Value, A::Error> {
        let ctx = self.ctx;
        let fields = collect(seq, 16, |i| ctx.enter_field(i), || Seed(FieldSeed { ctx }))?;
        ctx.field.set(None);
        Ok(fields)
    }
}

/// One `{"TAG": value}` object.
struct FieldSeed<'c> {
    ctx: &'c Ctx,
}

impl Drive<'_> for FieldSeed<'_> {
    const WANTS: Wants = Wants::Map;
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = OwnedField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a one-key object {\"TAG\": value}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> DeResult<OwnedField, A::Error> {
        one_key(&mut map, "{\"TAG\": value}", |key, map| {
            let tag = check_tag(key)?;
            self.ctx.tag.set(tag);
            self.ctx.tag_known.set(true);
            map.next_value_seed(Seed(FieldValueSeed { tag, ctx: self.ctx }))
        })
    }
}

/// A field's value: a string (control field) or `{"ind1", "ind2", "subfields"}`.
struct FieldValueSeed<'c> {
    tag: [u8; 3],
    ctx: &'c Ctx,
}

impl Drive<'_> for FieldValueSeed<'_> {
    const WANTS: Wants = Wants::Any;
}

impl<'de> Visitor<'de> for FieldValueSeed<'_> {
    type Value = OwnedField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a string (control field) or an object {\"ind1\", \"ind2\", \"subfields\"} (data field)",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> DeResult<OwnedField, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> DeResult<OwnedField, E> {
        Ok(OwnedField::Control {
            tag: self.tag,
            value: v.into_bytes(),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> DeResult<OwnedField, A::Error> {
        let mut ind1: Option<[u8; 1]> = None;
        let mut ind2: Option<[u8; 1]> = None;
        let mut subfields: Option<Vec<(u8, Vec<u8>)>> = None;
        let indicator = || Seed(Fixed::<1> { what: "indicator" });
        while let Some(key) = map.next_key_seed(Seed(Key))? {
            match key.as_str() {
                "ind1" => set_once(&mut ind1, "ind1", || map.next_value_seed(indicator()))?,
                "ind2" => set_once(&mut ind2, "ind2", || map.next_value_seed(indicator()))?,
                "subfields" => {
                    set_once(&mut subfields, "subfields", || {
                        map.next_value_seed(Seed(SubfieldsSeed { ctx: self.ctx }))
                    })?;
                    self.ctx.subfield.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |k: &str| de::Error::custom(format!("data field has no \"{k}\""));
        Ok(OwnedField::Data {
            tag: self.tag,
            ind1: ind1.ok_or_else(|| missing("ind1"))?[0],
            ind2: ind2.ok_or_else(|| missing("ind2"))?[0],
            subfields: subfields.ok_or_else(|| missing("subfields"))?,
        })
    }
}

struct SubfieldsSeed<'c> {
    ctx: &'c Ctx,
}

impl Drive<'_> for SubfieldsSeed<'_> {
    const WANTS: Wants = Wants::Seq;
}

impl<'de> Visitor<'de> for SubfieldsSeed<'_> {
    type Value = Vec<(u8, Vec<u8>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of subfields [{\"CODE\": \"value\"}, ...]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> DeResult<Self::Value, A::Error> {
        let ctx = self.ctx;
        let subfields = collect(seq, 4, |i| ctx.subfield.set(Some(i)), || Seed(SubfieldSeed))?;
        ctx.subfield.set(None);
        Ok(subfields)
    }
}

/// One `{"CODE": "value"}` object.
struct SubfieldSeed;

impl Drive<'_> for SubfieldSeed {
    const WANTS: Wants = Wants::Map;
}

impl<'de> Visitor<'de> for SubfieldSeed {
    type Value = (u8, Vec<u8>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a one-key object {\"CODE\": \"value\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> DeResult<Self::Value, A::Error> {
        one_key(&mut map, "{\"CODE\": \"value\"}", |key, map| {
            let code = match key.as_bytes() {
                [c] => *c,
                _ => {
                    return Err(de::Error::custom(format!(
                        "a subfield code must be 1 byte, got {:?}",
                        truncate(key)
                    )))
                }
            };
            Ok((code, map.next_value_seed(Seed(Bytes))?))
        })
    }
}

/// A whole document: an array of records or one record object.
pub(super) struct DocumentSeed<'c> {
    pub(super) ctx: &'c Ctx,
    pub(super) allow_array: bool,
}

impl Drive<'_> for DocumentSeed<'_> {
    const WANTS: Wants = Wants::Any;
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = Vec<OwnedRecord>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.allow_array {
            f.write_str("an array of record objects or one record object")
        } else {
            f.write_str("a record object")
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> DeResult<Self::Value, A::Error> {
        if !self.allow_array {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let ctx = self.ctx;
        let first = ctx.record.get();
        collect(
            seq,
            0,
            |i| ctx.enter_record(first + i as u64),
            || Seed(RecordSeed { ctx }),
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> DeResult<Self::Value, A::Error> {
        Ok(vec![RecordSeed { ctx: self.ctx }.visit_map(map)?])
    }
}
