//! The generated MARC 21 tables ([`crate::marc21`]) in the form the checks read
//! ([`Schema`]): built once per process, a few hundred microseconds.

use super::schema::{ByteSet, FieldDef, PackedList, Position, Schema, SubfieldRule};
use crate::marc21::{self, MaterialType};

const MATERIALS: [MaterialType; 7] = [
    MaterialType::Books,
    MaterialType::ContinuingResources,
    MaterialType::Maps,
    MaterialType::Music,
    MaterialType::VisualMaterials,
    MaterialType::ComputerFiles,
    MaterialType::MixedMaterials,
];

pub(crate) fn build() -> Schema {
    let mut schema = Schema::default();
    for def in marc21::fields() {
        let Ok(tag) = <[u8; 3]>::try_from(def.tag.as_bytes()) else {
            continue;
        };
        schema.set_field(&tag, field(def));
    }
    for (tag, label) in marc21::obsolete_fields() {
        if let Ok(tag) = <[u8; 3]>::try_from(tag.as_bytes()) {
            schema.set_obsolete_field(&tag, label);
        }
    }
    schema.leader = compile(marc21::leader().positions);
    schema.layouts_008 = MATERIALS
        .iter()
        .map(|&m| (m, compile(marc21::layout_008(m).positions)))
        .collect();
    schema.layouts_006 = MATERIALS
        .iter()
        .map(|&m| (m, compile(marc21::layout_006(m).positions)))
        .collect();
    for (category, layout) in marc21::layouts_007() {
        schema
            .layouts_007
            .push((category, layout.type_name, compile(layout.positions)));
        schema.categories_007.insert(category);
    }
    let packed = |id| marc21::codelist(id).map(PackedList::new);
    schema.languages = packed("languages");
    schema.countries = packed("countries");
    schema.geographic_areas = packed("geographic_areas");
    schema
}

/// The positions that have code lists (the others hold data: dates, lengths, places).
fn compile(positions: &'static [marc21::PositionDef]) -> Vec<Position> {
    positions
        .iter()
        .filter(|p| !p.codes.is_empty())
        .map(Position::compile)
        .collect()
}

fn field(def: &marc21::FieldDef) -> FieldDef {
    let mut indicators = [ByteSet::of(b" "); 2];
    let mut obsolete = [ByteSet::default(); 2];
    for n in 0..2 {
        if let Some(ind) = &def.indicators[n] {
            let (mut current, mut old) = (ByteSet::default(), ByteSet::default());
            for b in 0u8..128 {
                match ind.lookup(b) {
                    Some(code) if code.obsolete => old.insert(b),
                    Some(_) => current.insert(b),
                    None => {}
                }
            }
            indicators[n] = current;
            obsolete[n] = old;
        }
    }
    let mut subfields = [SubfieldRule::Undefined; 128];
    for sub in def.subfields {
        if let Some(slot) = subfields.get_mut(sub.code as usize) {
            *slot = match (sub.obsolete, sub.repeatable) {
                (true, _) => SubfieldRule::Obsolete,
                (false, true) => SubfieldRule::Repeatable,
                (false, false) => SubfieldRule::NonRepeatable,
            };
        }
    }
    FieldDef {
        repeatable: def.repeatable,
        indicators,
        obsolete_indicators: obsolete,
        subfields,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tables_are_read() {
        let schema = super::build();
        let title = schema.field(b"245").unwrap();
        assert!(!title.repeatable);
        assert!(title.indicators[1].contains(b'4') && !title.indicators[0].contains(b' '));
        assert!(schema.field(b"999").is_none());
        // Obsolete fields are the tags the schema no longer defines: 440 it still does.
        assert!(schema.obsolete_field(b"503").is_some());
        assert!(schema.field(b"440").is_some() && schema.obsolete_field(b"440").is_none());
        assert!(schema.obsolete_field(b"245").is_none() && schema.obsolete_field(b"999").is_none());
        assert!(!schema.leader.is_empty() && schema.layouts_007.len() > 10);
        assert!(schema.languages.is_some_and(|l| l.lookup(b"eng").is_some()));
    }
}
