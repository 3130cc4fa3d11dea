//! The built-in MARC 21 checks. Table-driven ones (tags, indicators, subfields, leader and
//! fixed-field code lists) apply to bibliographic records, the format the tables describe;
//! the rest to every record.

use super::codes::Builtin as C;
use super::content::{self, IsbnProblem, IssnProblem, Nonfiling};
use super::prepared::{Field, Kind, Prepared};
use super::schema::{display_byte, PackedList, Position, Schema, Standing, SubfieldRule};
use super::{emit, emit_as, pack, pack_tag, Sink};

/// One number per [`emit_as!`] call: which check a remembered message comes from.
mod site {
    pub const FIELD_MISSING: u8 = 1;
    pub const POSITION: u8 = 2;
    pub const CONTROL_DELIMITER: u8 = 3;
    pub const FORM_006: u8 = 4;
    pub const CATEGORY_007: u8 = 5;
    pub const LENGTH: u8 = 6;
    pub const IN_LIST_OBSOLETE: u8 = 7;
    pub const IN_LIST_UNDEFINED: u8 = 8;
    pub const LANGUAGE_041_LENGTH: u8 = 9;
    pub const DATE: u8 = 10;
    pub const NO_SUBFIELDS: u8 = 11;
    pub const SUBFIELD_EMPTY: u8 = 12;
    pub const CONTROL_CHARACTER: u8 = 13;
    pub const INDICATOR_OBSOLETE: u8 = 14;
    pub const INDICATOR_UNDEFINED: u8 = 15;
    pub const SUBFIELD_UNDEFINED: u8 = 16;
    pub const SUBFIELD_OBSOLETE: u8 = 17;
    pub const SUBFIELD_NOT_REPEATABLE: u8 = 18;
    pub const TAG_FORM: u8 = 19;
    pub const FIELD_NOT_REPEATABLE: u8 = 20;
    pub const FIELD_LOCAL: u8 = 21;
    pub const FIELD_OBSOLETE: u8 = 22;
    pub const FIELD_UNDEFINED: u8 = 23;
}

/// A field's own tag and the tag it is checked as (they differ for an 880), as one word.
fn pack_tags(field: &Field<'_>, tag: &[u8; 3]) -> u64 {
    pack_tag(&field.tag) | pack_tag(tag) << 24
}
use crate::marc21::{material_type_006, PositionDef, RecordKind};
use std::collections::HashSet;

pub(crate) fn check(record: &Prepared<'_>, schema: &Schema, sink: &mut Sink<'_>) {
    let kind = record.kind();
    let bibliographic = matches!(kind, RecordKind::Bibliographic(_));
    record_level(record, bibliographic, sink);
    if bibliographic {
        leader(record, schema, sink);
    }
    // Occurrences of each tag so far (an 880 as the tag its $6 names, counted apart), up
    // to 255: only the first and second count.
    let mut seen = [0u8; 1000];
    let mut seen_880 = [0u8; 1000];
    for field in &record.fields {
        let effective = effective_tag(record, field);
        match &field.kind {
            Kind::Control(value) => {
                control_field(record, schema, field, value, kind, sink);
            }
            Kind::Data { ind1, ind2, .. } => {
                data_field(record, schema, field, bibliographic, sink);
                if bibliographic {
                    if let Some(tag) = effective {
                        defined_data_field(record, schema, field, &tag, *ind1, *ind2, sink);
                    }
                }
            }
        }
        if bibliographic {
            if let Some(tag) = effective {
                repeatability(record, schema, field, &tag, &mut seen, &mut seen_880, sink);
            }
        }
    }
    linkage(record, sink);
}

/// The tag a field is checked as: its own, or for an 880 the one its `$6` names (`None` for
/// an 880 without a readable one: the linkage check reports it).
fn effective_tag(record: &Prepared<'_>, field: &Field<'_>) -> Option<[u8; 3]> {
    if &field.tag != b"880" {
        return Some(field.tag);
    }
    record
        .subfields_of(field)
        .iter()
        .find(|(code, _)| *code == b'6')
        .and_then(|(_, v)| content::parse_linkage(v))
        .map(|l| l.tag)
}

fn record_level(record: &Prepared<'_>, bibliographic: bool, sink: &mut Sink<'_>) {
    if bibliographic {
        for tag in [b"245", b"008"] {
            if record.first(tag).is_none() {
                emit_as!(
                    sink,
                    C::FieldMissing,
                    Default::default(),
                    (site::FIELD_MISSING, Some((pack_tag(tag), 0))),
                    "no {} field: a bibliographic record must have one",
                    std::str::from_utf8(tag).unwrap_or("?")
                );
            }
        }
    }
    let mut main = record.fields.iter().filter(|f| f.tag[0] == b'1');
    // Listed only when there are two: a record has one or none.
    if main.nth(1).is_some() {
        let main_entries: Vec<&Field<'_>> =
            record.fields.iter().filter(|f| f.tag[0] == b'1').collect();
        let tags: Vec<String> = main_entries
            .iter()
            .map(|f| tag_str(&f.tag).to_string())
            .collect();
        emit!(
            sink,
            C::FieldMultiple1xx,
            record.at_field(main_entries[1]),
            "{} 1XX fields ({}): at most one main entry is allowed",
            main_entries.len(),
            tags.join(", ")
        );
    }
}

fn leader(record: &Prepared<'_>, schema: &Schema, sink: &mut Sink<'_>) {
    positions(
        record,
        None,
        record.leader,
        &schema.leader,
        &"leader",
        sink,
        C::LeaderValue,
    );
}

/// Each position of `value` against its code list (each code of a position holding several).
fn positions(
    record: &Prepared<'_>,
    field: Option<&Field<'_>>,
    value: &[u8],
    layout: &[Position],
    what: &dyn std::fmt::Display,
    sink: &mut Sink<'_>,
    code: C,
) {
    for position in layout {
        let def = position.def;
        let Some(bytes) = value.get(def.start..def.end) else {
            continue;
        };
        if position.all_current(bytes) {
            continue;
        }
        for unit in def.units(bytes) {
            let found = match position.standing(unit) {
                Standing::Current => continue,
                Standing::Obsolete => C::FixedObsolete,
                Standing::Undefined => code,
            };
            let obsolete = if found == C::FixedObsolete {
                " (obsolete)"
            } else {
                ""
            };
            // The position (of one layout, so of one `what`) and the unit decide the message.
            let key = pack(unit).map(|u| (position as *const Position as u64, u));
            emit_as!(
                sink,
                found,
                record.at_position(field, def.start),
                (site::POSITION, key),
                "{what}/{} ({}) is {:?}{obsolete}; allowed: {}",
                position_name(def),
                def.label,
                show(unit),
                position.allowed
            );
        }
    }
}

/// A control field's positions against its layout.
fn fixed(
    record: &Prepared<'_>,
    field: &Field<'_>,
    value: &[u8],
    layout: &[Position],
    what: &dyn std::fmt::Display,
    sink: &mut Sink<'_>,
) {
    positions(
        record,
        Some(field),
        value,
        layout,
        what,
        sink,
        C::FixedValue,
    );
}

/// `07` or `07-10`: a position's number in messages.
fn position_name(p: &PositionDef) -> PositionName<'_> {
    PositionName(p)
}

struct PositionName<'a>(&'a PositionDef);

impl std::fmt::Display for PositionName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.0;
        if p.end - p.start <= 1 {
            write!(f, "{:02}", p.start)
        } else {
            write!(f, "{:02}-{:02}", p.start, p.end - 1)
        }
    }
}

fn control_field(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    value: &[u8],
    kind: RecordKind,
    sink: &mut Sink<'_>,
) {
    let bibliographic = matches!(kind, RecordKind::Bibliographic(_));
    if memchr::memchr(0x1f, value).is_some() {
        emit_as!(
            sink,
            C::ControlDelimiter,
            record.at_field(field),
            (site::CONTROL_DELIMITER, Some((pack_tag(&field.tag), 0))),
            "{} is a control field but holds a subfield delimiter (0x1F)",
            tag_str(&field.tag)
        );
    }
    let authority = kind == RecordKind::Authority;
    match &field.tag {
        b"008" if bibliographic || authority => {
            length(record, field, value, 40, sink);
            if let RecordKind::Bibliographic(material) = kind {
                let layout = schema.layout_008(material);
                let what = Described("008", material.key());
                fixed(record, field, value, layout, &what, sink);
                dates(record, field, value, sink);
                codes_008(record, schema, field, value, sink);
            }
        }
        b"006" if bibliographic => {
            length(record, field, value, 18, sink);
            match value.first().and_then(|&b| material_type_006(b)) {
                Some(material) => {
                    let what = Described("006", material.key());
                    let layout = schema.layout_006(material);
                    fixed(record, field, value, layout, &what, sink);
                }
                None => emit_as!(
                    sink,
                    C::FixedValue,
                    record.at_position(Some(field), 0),
                    (
                        site::FORM_006,
                        pack(&value[..value.len().min(1)]).map(|v| (v, 0))
                    ),
                    "006/00 (form of material) is {:?}; allowed: a c d e f g i j k m o p r s t",
                    show(&value[..value.len().min(1)])
                ),
            }
        }
        b"007" if bibliographic => {
            let category = value.first().copied().unwrap_or(b' ');
            match schema.layout_007(category) {
                Some((name, layout)) => {
                    let what = Described("007", name);
                    fixed(record, field, value, layout, &what, sink);
                }
                None if !schema.layouts_007.is_empty() => emit_as!(
                    sink,
                    C::FixedValue,
                    record.at_position(Some(field), 0),
                    (site::CATEGORY_007, Some((u64::from(category), 0))),
                    "007/00 (category of material) is {:?}; allowed: {}",
                    display_byte(category),
                    schema.categories_007.describe()
                ),
                None => {}
            }
        }
        _ => {}
    }
}

fn length(
    record: &Prepared<'_>,
    field: &Field<'_>,
    value: &[u8],
    want: usize,
    sink: &mut Sink<'_>,
) {
    if value.len() != want {
        let key = (
            pack_tag(&field.tag) | (want as u64) << 32,
            value.len() as u64,
        );
        emit_as!(
            sink,
            C::FixedLength,
            record.at_field(field),
            (site::LENGTH, Some(key)),
            "{} is {} characters long; it must be {want}",
            tag_str(&field.tag),
            value.len()
        );
    }
}

/// 008/15-17 (country) and 008/35-37 (language) against the MARC code lists. Blanks and
/// fill characters mean "not coded".
fn codes_008(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    value: &[u8],
    sink: &mut Sink<'_>,
) {
    let uncoded = |v: &[u8]| v.iter().all(|&b| b == b' ' || b == b'|');
    if let (Some(list), Some(place)) = (&schema.countries, value.get(15..18)) {
        // Two-letter codes are stored with a trailing blank.
        let code = place.strip_suffix(b" ").unwrap_or(place);
        if !uncoded(place) {
            let at = record.at_position(Some(field), 15);
            let codes = (C::CountryUndefined, C::CountryObsolete);
            let what: (&dyn std::fmt::Display, u64) =
                (&"008/15-17 (place of publication)", WHAT_PLACE_008);
            in_list(sink, at, list, code, what, codes);
        }
    }
    if let (Some(list), Some(language)) = (&schema.languages, value.get(35..38)) {
        if !uncoded(language) {
            let at = record.at_position(Some(field), 35);
            let codes = (C::LanguageUndefined, C::LanguageObsolete);
            let what: (&dyn std::fmt::Display, u64) = (&"008/35-37 (language)", WHAT_LANGUAGE_008);
            in_list(sink, at, list, language, what, codes);
        }
    }
}

/// What an [`in_list`] check names, for its memo key (a 041 subfield adds its code).
const WHAT_PLACE_008: u64 = 1;
const WHAT_LANGUAGE_008: u64 = 2;
const WHAT_AREA_043: u64 = 3;
const WHAT_041: u64 = 0x100;

/// `code` against `list`: undefined, obsolete or fine. `what` names the value in messages,
/// with a number that stands for that name in memo keys (one list goes with each name).
fn in_list(
    sink: &mut Sink<'_>,
    at: super::At,
    list: &PackedList,
    code: &[u8],
    (what, what_key): (&dyn std::fmt::Display, u64),
    (undefined, obsolete): (C, C),
) {
    let key = pack(code).map(|c| (what_key, c));
    match list.lookup(code) {
        Some(def) if !def.obsolete => {}
        Some(_) => emit_as!(
            sink,
            obsolete,
            at,
            (site::IN_LIST_OBSOLETE, key),
            "{what} is {:?}, which the {} lists as obsolete",
            show(code),
            list.list.name
        ),
        None => emit_as!(
            sink,
            undefined,
            at,
            (site::IN_LIST_UNDEFINED, key),
            "{what} is {:?}; allowed: a code of the {} ({})",
            show(code),
            list.list.name,
            list.list.url
        ),
    }
}

/// 041: each subfield a run of three-letter language codes, unless indicator 2 is 7 (codes
/// from the source in $2).
fn languages_041(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    subfields: &[(u8, &[u8])],
    sink: &mut Sink<'_>,
) {
    let (Some(list), Kind::Data { ind2, .. }) = (&schema.languages, &field.kind) else {
        return;
    };
    if *ind2 == b'7' {
        return;
    }
    for &(code, value) in subfields.iter().filter(|(c, _)| c.is_ascii_lowercase()) {
        let at = record.at_subfield(field, code, value);
        let what = Subfield041(code);
        if value.len() % 3 != 0 {
            let key = pack(value).map(|v| (u64::from(code), v));
            emit_as!(
                sink,
                C::LanguageUndefined,
                at,
                (site::LANGUAGE_041_LENGTH, key),
                "{what} is {:?}; allowed: three-letter codes of the {}",
                show(value),
                list.list.name
            );
            continue;
        }
        for language in value.chunks(3) {
            let codes = (C::LanguageUndefined, C::LanguageObsolete);
            let what = (&what as &dyn std::fmt::Display, WHAT_041 | u64::from(code));
            in_list(sink, at, list, language, what, codes);
        }
    }
}

/// `041 $a`: a 041 subfield's name in messages, written only into one.
struct Subfield041(u8);

impl std::fmt::Display for Subfield041 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "041 ${}", display_byte(self.0))
    }
}

/// 043 $a: a seven-character geographic area code (trailing hyphens included).
fn geographic_areas(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    subfields: &[(u8, &[u8])],
    sink: &mut Sink<'_>,
) {
    let Some(list) = &schema.geographic_areas else {
        return;
    };
    for &(code, value) in subfields.iter().filter(|(c, _)| *c == b'a') {
        let at = record.at_subfield(field, code, value);
        let codes = (C::GeographicAreaUndefined, C::GeographicAreaObsolete);
        in_list(sink, at, list, value, (&"043 $a", WHAT_AREA_043), codes);
    }
}

/// 008/07-10 and 11-14: digits or `u`, or fill; blanks where 008/06 says there is no such
/// date (`b`: none; `s`, `e`... : no Date 2).
fn dates(record: &Prepared<'_>, field: &Field<'_>, value: &[u8], sink: &mut Sink<'_>) {
    let Some(kind) = value.get(6).copied() else {
        return;
    };
    for (start, name, blank_ok) in [
        (7, "Date 1", b"b|".contains(&kind)),
        (11, "Date 2", b"bes|".contains(&kind)),
    ] {
        let Some(date) = value.get(start..start + 4) else {
            continue;
        };
        let fine = date.iter().all(|&b| b.is_ascii_digit() || b == b'u')
            || date == b"||||"
            || (blank_ok && date == b"    ");
        if !fine {
            // 008/06 and the position decide whether blanks are allowed.
            let key = pack(date).map(|d| (start as u64 | u64::from(kind) << 8, d));
            emit_as!(
                sink,
                C::FixedDate,
                record.at_position(Some(field), start),
                (site::DATE, key),
                "008/{:02}-{:02} ({name}) is {:?}; allowed: four digits or u{}, or ||||",
                start,
                start + 3,
                show(date),
                if blank_ok {
                    format!(", or blanks (008/06 is {})", display_byte(kind))
                } else {
                    String::new()
                }
            );
        }
    }
}

fn data_field(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    bibliographic: bool,
    sink: &mut Sink<'_>,
) {
    let subfields = record.subfields_of(field);
    if subfields.is_empty() {
        emit_as!(
            sink,
            C::FieldNoSubfields,
            record.at_field(field),
            (site::NO_SUBFIELDS, Some((pack_tag(&field.tag), 0))),
            "{} has no subfields; a data field needs at least one",
            tag_str(&field.tag)
        );
    }
    for &(code, value) in subfields {
        if value.is_empty() {
            emit_as!(
                sink,
                C::SubfieldEmpty,
                record.at_subfield(field, code, value),
                (
                    site::SUBFIELD_EMPTY,
                    Some((pack_tag(&field.tag), u64::from(code)))
                ),
                "{} ${} is empty",
                tag_str(&field.tag),
                display_byte(code)
            );
        } else if record.may_hold_line_breaks
            && memchr::memchr3(b'\t', b'\r', b'\n', value).is_some()
        {
            emit_as!(
                sink,
                C::SubfieldControlCharacter,
                record.at_subfield(field, code, value),
                (
                    site::CONTROL_CHARACTER,
                    Some((pack_tag(&field.tag), u64::from(code)))
                ),
                "{} ${} holds a tab, carriage return or line feed",
                tag_str(&field.tag),
                display_byte(code)
            );
        }
    }
    match &field.tag {
        b"020" => isbn(record, field, subfields, sink),
        b"022" => issn(record, field, subfields, sink),
        b"041" if bibliographic => languages_041(record, schema, field, subfields, sink),
        b"043" if bibliographic => geographic_areas(record, schema, field, subfields, sink),
        _ => {}
    }
    let tag = if &field.tag == b"880" {
        effective_tag(record, field)
    } else {
        Some(field.tag)
    };
    if let Some(which) = tag.as_ref().and_then(content::nonfiling_indicator) {
        nonfiling(record, field, which, subfields, sink);
    }
}

fn isbn(record: &Prepared<'_>, field: &Field<'_>, subfields: &[(u8, &[u8])], sink: &mut Sink<'_>) {
    for &(code, value) in subfields.iter().filter(|(c, _)| *c == b'a') {
        let at = record.at_subfield(field, code, value);
        match content::check_isbn(value) {
            Ok(()) => {}
            Err(IsbnProblem::Length(n)) => emit!(
                sink,
                C::IsbnInvalid,
                at,
                "020 $a {:?} starts with {n} digits; an ISBN has 10 or 13",
                show(value)
            ),
            Err(IsbnProblem::Checksum { expected }) => emit!(
                sink,
                C::IsbnChecksum,
                at,
                "020 $a {:?} has a wrong check digit; the digits before it give {}",
                show(value),
                expected as char
            ),
        }
    }
}

fn issn(record: &Prepared<'_>, field: &Field<'_>, subfields: &[(u8, &[u8])], sink: &mut Sink<'_>) {
    for &(code, value) in subfields.iter().filter(|(c, _)| *c == b'a') {
        let at = record.at_subfield(field, code, value);
        match content::check_issn(value) {
            Ok(()) => {}
            Err(IssnProblem::Form) => emit!(
                sink,
                C::IssnInvalid,
                at,
                "022 $a {:?} is not an ISSN; allowed: NNNN-NNNC (C a digit or X)",
                show(value)
            ),
            Err(IssnProblem::Checksum { expected }) => emit!(
                sink,
                C::IssnChecksum,
                at,
                "022 $a {:?} has a wrong check digit; the digits before it give {}",
                show(value),
                expected as char
            ),
        }
    }
}

fn nonfiling(
    record: &Prepared<'_>,
    field: &Field<'_>,
    which: u8,
    subfields: &[(u8, &[u8])],
    sink: &mut Sink<'_>,
) {
    let Kind::Data { ind1, ind2, .. } = field.kind else {
        return;
    };
    let ind = if which == 1 { ind1 } else { ind2 };
    let title = subfields
        .iter()
        .find(|(c, _)| *c == b'a')
        .map_or(&[][..], |(_, v)| *v);
    let tag = tag_str(&field.tag);
    let at = record.at_field(field);
    match content::check_nonfiling(title, ind) {
        Nonfiling::Fine => {}
        Nonfiling::NotNumeric => emit!(
            sink,
            C::TitleNonfiling,
            at,
            "{tag} indicator {which} (nonfiling characters) is {:?}; allowed: 0-9",
            display_byte(ind)
        ),
        Nonfiling::Article { word, expected } => emit!(
            sink,
            C::TitleNonfiling,
            at,
            "{tag} $a starts with the article {word:?}, which with what follows it is {expected} \
             nonfiling characters, but indicator {which} is {}",
            display_byte(ind)
        ),
        Nonfiling::NotArticle { word } => emit!(
            sink,
            C::TitleNonfiling,
            at,
            "{tag} $a starts with {word:?}, not an article, but indicator {which} (nonfiling \
             characters) is {}; allowed: 0",
            display_byte(ind)
        ),
    }
}

fn defined_data_field(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    tag: &[u8; 3],
    ind1: u8,
    ind2: u8,
    sink: &mut Sink<'_>,
) {
    let Some(def) = schema.field(tag) else {
        return;
    };
    let shown = Shown(field, tag);
    for (n, (ind, allowed)) in [ind1, ind2].into_iter().zip(def.indicators).enumerate() {
        // Made only for an issue, as every memo key.
        let key = || Some((pack_tags(field, tag) | (n as u64) << 48, u64::from(ind)));
        if def.obsolete_indicators[n].contains(ind) {
            emit_as!(
                sink,
                C::IndicatorObsolete,
                record.at_field(field),
                (site::INDICATOR_OBSOLETE, key()),
                "{shown} indicator {} is {}, which is obsolete; current: {}",
                n + 1,
                display_byte(ind),
                allowed.describe()
            );
        } else if !allowed.contains(ind) {
            emit_as!(
                sink,
                C::IndicatorUndefined,
                record.at_field(field),
                (site::INDICATOR_UNDEFINED, key()),
                "{shown} indicator {} is {}; allowed: {}",
                n + 1,
                display_byte(ind),
                allowed.describe()
            );
        }
    }
    let subfields = record.subfields_of(field);
    // Codes seen so far in this field, one bit each (codes are ASCII).
    let mut seen = 0u128;
    for &(code, value) in subfields {
        let at = || record.at_subfield(field, code, value);
        let key = || Some((pack_tags(field, tag), u64::from(code)));
        let bit = if code < 128 { 1u128 << code } else { 0 };
        match def.subfield(code) {
            SubfieldRule::Undefined => emit_as!(
                sink,
                C::SubfieldUndefined,
                at(),
                (site::SUBFIELD_UNDEFINED, key()),
                "{shown} ${} is not defined; allowed: {}",
                display_byte(code),
                def.defined_subfields()
            ),
            SubfieldRule::Obsolete => emit_as!(
                sink,
                C::SubfieldObsolete,
                at(),
                (site::SUBFIELD_OBSOLETE, key()),
                "{shown} ${} is obsolete; current: {}",
                display_byte(code),
                def.defined_subfields()
            ),
            SubfieldRule::NonRepeatable if seen & bit != 0 => emit_as!(
                sink,
                C::SubfieldNotRepeatable,
                at(),
                (site::SUBFIELD_NOT_REPEATABLE, key()),
                "{shown} ${} occurs more than once; it is not repeatable",
                display_byte(code)
            ),
            _ => {}
        }
        seen |= bit;
    }
}

/// A field's name in messages, made only when one is: `245`, or `880 (245)` for an
/// alternate graphic representation.
struct Shown<'a, 'r>(&'a Field<'r>, &'a [u8; 3]);

impl std::fmt::Display for Shown<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (field, tag) = (self.0, self.1);
        if &field.tag == tag {
            write!(f, "{}", tag_str(tag))
        } else {
            write!(f, "{} ({})", tag_str(&field.tag), tag_str(tag))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn repeatability(
    record: &Prepared<'_>,
    schema: &Schema,
    field: &Field<'_>,
    tag: &[u8; 3],
    seen: &mut [u8; 1000],
    seen_880: &mut [u8; 1000],
    sink: &mut Sink<'_>,
) {
    let Some(n) = super::schema::tag_number(tag) else {
        emit_as!(
            sink,
            C::FieldUndefined,
            record.at_field(field),
            (site::TAG_FORM, Some((pack_tag(tag), 0))),
            "tag {:?} is not a MARC 21 tag; tags are three digits",
            tag_str(tag)
        );
        return;
    };
    let counts = if &field.tag == b"880" { seen_880 } else { seen };
    let key = || Some((pack_tags(field, tag), 0));
    counts[n] = counts[n].saturating_add(1);
    match schema.field(tag) {
        Some(def) => {
            if !def.repeatable && counts[n] == 2 {
                emit_as!(
                    sink,
                    C::FieldNotRepeatable,
                    record.at_field(field),
                    (site::FIELD_NOT_REPEATABLE, key()),
                    "{} occurs more than once; it is not repeatable",
                    Shown(field, tag)
                );
            }
        }
        None if tag[0] == b'9' || tag[1] == b'9' => {
            if counts[n] == 1 {
                emit_as!(
                    sink,
                    C::FieldLocal,
                    record.at_field(field),
                    (site::FIELD_LOCAL, key()),
                    "{} is a locally defined tag (9XX or X9X); not checked",
                    Shown(field, tag)
                );
            }
        }
        None => match schema.obsolete_field(tag) {
            Some(label) => emit_as!(
                sink,
                C::FieldObsolete,
                record.at_field(field),
                (site::FIELD_OBSOLETE, key()),
                "{} is obsolete in MARC 21 bibliographic (formerly {label})",
                Shown(field, tag)
            ),
            None => emit_as!(
                sink,
                C::FieldUndefined,
                record.at_field(field),
                (site::FIELD_UNDEFINED, key()),
                "{} is not defined in MARC 21 bibliographic",
                Shown(field, tag)
            ),
        },
    }
}

/// `$6` pairs: a field's `880-NN` needs an 880 whose `$6` is `TAG-NN` (TAG the field's own),
/// and the reverse; occurrence `00` is an 880 with no partner by design.
fn linkage(record: &Prepared<'_>, sink: &mut Sink<'_>) {
    // (field, linkage) of every readable $6.
    let mut links: Vec<(&Field<'_>, content::Linkage)> = Vec::new();
    for field in &record.fields {
        let sixes = record
            .subfields_of(field)
            .iter()
            .filter(|(c, _)| *c == b'6');
        let mut any = false;
        for &(code, value) in sixes {
            any = true;
            match content::parse_linkage(value) {
                Some(link) => links.push((field, link)),
                None => emit!(
                    sink,
                    C::LinkageInvalid,
                    record.at_subfield(field, code, value),
                    "{} $6 is {:?}; allowed: TAG-NN (a tag, a hyphen, a two-digit occurrence)",
                    tag_str(&field.tag),
                    show(value)
                ),
            }
        }
        if !any && &field.tag == b"880" && matches!(field.kind, Kind::Data { .. }) {
            emit!(
                sink,
                C::LinkageMissing,
                record.at_field(field),
                "880 has no $6; an alternate graphic representation must name its field"
            );
        }
    }
    if links.is_empty() {
        return;
    }
    // (tag, occurrence) of every 880 linkage, and of every regular field pointing at an 880:
    // one set each, so pairing is linear in the number of $6.
    let mut from_880 = HashSet::new();
    let mut to_880 = HashSet::new();
    for (field, link) in &links {
        if &field.tag == b"880" {
            from_880.insert((link.tag, link.occurrence));
        } else if &link.tag == b"880" {
            to_880.insert((field.tag, link.occurrence));
        }
    }
    for (field, link) in &links {
        let is_880 = &field.tag == b"880";
        let occurrence = String::from_utf8_lossy(&link.occurrence);
        let message = if is_880 {
            if &link.occurrence == b"00" || to_880.contains(&(link.tag, link.occurrence)) {
                continue;
            }
            format!(
                "880 $6 {}-{occurrence} names a {} with $6 880-{occurrence}, and there is none",
                tag_str(&link.tag),
                tag_str(&link.tag)
            )
        } else {
            // A $6 of a regular field naming another regular tag is a different (rare) use.
            if &link.tag != b"880" || from_880.contains(&(field.tag, link.occurrence)) {
                continue;
            }
            format!(
                "{} $6 880-{occurrence} names an 880 with $6 {}-{occurrence}, and there is none",
                tag_str(&field.tag),
                tag_str(&field.tag)
            )
        };
        emit!(
            sink,
            C::LinkageUnpaired,
            record.at_field(field),
            "{message}"
        );
    }
}

fn tag_str(tag: &[u8]) -> Lossy<'_> {
    Lossy(tag)
}

fn show(bytes: &[u8]) -> Lossy<'_> {
    Lossy(bytes)
}

/// Bytes as text (invalid UTF-8 replaced), read only when a message is worded: a
/// remembered message needs none of its arguments.
#[derive(Clone, Copy)]
struct Lossy<'a>(&'a [u8]);

impl std::fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*String::from_utf8_lossy(self.0), f)
    }
}

impl std::fmt::Debug for Lossy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*String::from_utf8_lossy(self.0), f)
    }
}

/// `008 (books)`: a fixed field and its layout's name, written only into a message.
struct Described<'a>(&'a str, &'a str);

impl std::fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0, self.1)
    }
}
