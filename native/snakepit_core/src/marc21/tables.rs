//! The generated tables (build_marc21.rs) and the lookups over them.

use super::{
    CodeDef, CodeList, FieldDef, IndicatorDef, Layout, MaterialRule, MaterialType, PositionDef,
    RecordKind, SubfieldDef,
};

include!(concat!(env!("OUT_DIR"), "/marc21_tables.rs"));

/// Every field of the bibliographic format, sorted by tag.
pub fn fields() -> &'static [FieldDef] {
    &FIELDS
}

/// The definition of a field, `None` for a tag MARC 21 does not define (local 9XX fields,
/// fields made obsolete before the schema, typos).
pub fn field(tag: impl AsRef<[u8]>) -> Option<&'static FieldDef> {
    let tag = tag.as_ref();
    FIELDS
        .binary_search_by(|f| f.tag.as_bytes().cmp(tag))
        .ok()
        .map(|i| &FIELDS[i])
}

/// The label of a field the Library of Congress field list gives as obsolete, for a tag
/// the tables do not define (data/marc21/obsolete_fields.tsv).
pub fn obsolete_field(tag: impl AsRef<[u8]>) -> Option<&'static str> {
    let tag = tag.as_ref();
    OBSOLETE_FIELDS
        .binary_search_by(|(t, _)| t.as_bytes().cmp(tag))
        .ok()
        .map(|i| OBSOLETE_FIELDS[i].1)
}

/// Every obsolete field of [`obsolete_field`], sorted by tag: (tag, label).
pub fn obsolete_fields() -> &'static [(&'static str, &'static str)] {
    &OBSOLETE_FIELDS
}

/// The leader's positions (24 characters).
pub fn leader() -> &'static Layout {
    &LEADER
}

fn by_material(
    layouts: &'static [(MaterialType, Layout)],
    material: MaterialType,
) -> &'static Layout {
    layouts
        .iter()
        .find(|(m, _)| *m == material)
        .map(|(_, l)| l)
        .expect("build_marc21.rs writes a layout for every material type")
}

/// The 008 (40 characters) of a material type.
pub fn layout_008(material: MaterialType) -> &'static Layout {
    by_material(&LAYOUTS_008, material)
}

/// The 006 (18 characters) of a material type; 006/00 is its form of material.
pub fn layout_006(material: MaterialType) -> &'static Layout {
    by_material(&LAYOUTS_006, material)
}

/// The 007 of a category of material (007/00: `a` map, `c` electronic resource, ...),
/// `None` for an undefined category.
pub fn layout_007(category: u8) -> Option<&'static Layout> {
    LAYOUTS_007
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, l)| l)
}

/// Every 007 category with its layout, in 007/00 code order.
pub fn layouts_007() -> impl Iterator<Item = (u8, &'static Layout)> {
    LAYOUTS_007.iter().map(|(c, l)| (*c, l))
}

/// What a record is, from its leader (leader/06, and leader/07 for bibliographic records).
///
/// ```
/// use snakepit_core::marc21::{record_kind, MaterialType, RecordKind};
/// assert_eq!(record_kind(b"01234nas a2200000 a 4500"),
///            RecordKind::Bibliographic(MaterialType::ContinuingResources));
/// assert_eq!(record_kind(b"01234nz  a2200000n  4500"), RecordKind::Authority);
/// assert_eq!(record_kind(b"0123"), RecordKind::Unknown);
/// ```
pub fn record_kind(leader: &[u8]) -> RecordKind {
    let (Some(&l06), Some(&l07)) = (leader.get(6), leader.get(7)) else {
        return RecordKind::Unknown;
    };
    match l06 {
        b'z' => RecordKind::Authority,
        b'u' | b'v' | b'x' | b'y' => RecordKind::Holdings,
        b'w' => RecordKind::Classification,
        b'q' => RecordKind::CommunityInformation,
        _ => MATERIAL_RULES
            .iter()
            .find(|r| {
                r.leader06.contains(&l06) && (r.leader07 == b"*" || r.leader07.contains(&l07))
            })
            .map_or(RecordKind::Unknown, |r| {
                RecordKind::Bibliographic(r.material)
            }),
    }
}

/// The material type of a 006, from its form of material (006/00); `None` when undefined.
pub fn material_type_006(form: u8) -> Option<MaterialType> {
    MATERIAL_RULES
        .iter()
        .find(|r| r.form006.contains(&form))
        .map(|r| r.material)
}

/// Every code list, sorted by id.
pub fn codelists() -> &'static [CodeList] {
    &CODELISTS
}

/// A code list by id (`languages`, `countries`, `geographic_areas`, `relators`, ...).
pub fn codelist(id: &str) -> Option<&'static CodeList> {
    CODELISTS
        .binary_search_by(|l| l.id.cmp(id))
        .ok()
        .map(|i| &CODELISTS[i])
}

fn list(id: &str) -> &'static CodeList {
    codelist(id).expect("the schema carries this code list")
}

/// A MARC language code (008/35-37, 041): `language("eng")`.
pub fn language(code: impl AsRef<[u8]>) -> Option<&'static CodeDef> {
    list("languages").lookup(code.as_ref())
}

/// A MARC country code (008/15-17, 044). 008/15-17 pads two-letter codes with a blank;
/// trailing blanks are ignored.
pub fn country(code: impl AsRef<[u8]>) -> Option<&'static CodeDef> {
    let code = code.as_ref();
    let end = code.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    list("countries").lookup(&code[..end])
}

/// A MARC geographic area code (043 $a), in its seven-character form (`n-us---`); shorter
/// forms are padded with hyphens first (`n-us`).
pub fn geographic_area(code: impl AsRef<[u8]>) -> Option<&'static CodeDef> {
    let code = code.as_ref();
    if code.len() >= 7 {
        return list("geographic_areas").lookup(code);
    }
    let mut padded = [b'-'; 7];
    padded[..code.len()].copy_from_slice(code);
    list("geographic_areas").lookup(&padded)
}
