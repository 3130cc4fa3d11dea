//! MARC 21 bibliographic format definitions: every field with its indicators and subfields,
//! the leader, and the 006/007/008 layouts, with their codes and labels.
//!
//! The tables are compiled at build time from data/marc21/*.tsv, which
//! scripts/gen_marc21_tables.py generates from the Avram schema of Debian's
//! libmarc-schema-perl (a transcription of the Library of Congress format documentation; see
//! NOTICE). The Elixir module `Snakepit.Marc.MARC21` reads the same files.
//!
//! ```
//! use snakepit_core::marc21::{self, MaterialType, RecordKind};
//!
//! let title = marc21::field("245").unwrap();
//! assert_eq!(title.label, "Title Statement");
//! assert!(!title.repeatable);
//! assert_eq!(title.indicator(2).unwrap().lookup(b'4').unwrap().label,
//!            "Number of nonfiling characters");
//! assert!(title.subfield(b'n').unwrap().repeatable);
//!
//! assert_eq!(marc21::record_kind(b"00714cam a2200205 a 4500"),
//!            RecordKind::Bibliographic(MaterialType::Books));
//! let form = marc21::layout_008(MaterialType::Books).position(23).unwrap();
//! assert_eq!(form.label, "Form of item");
//! assert_eq!(form.lookup(b"o").unwrap().label, "Online");
//! assert_eq!(marc21::language("fre").unwrap().label, "French");
//! ```

mod tables;

pub use tables::{
    codelist, codelists, country, field, fields, geographic_area, language, layout_006, layout_007,
    layout_008, layouts_007, leader, material_type_006, obsolete_field, obsolete_fields,
    record_kind,
};

/// One code (or range of codes) of an indicator, a fixed-length position or a code list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeDef {
    /// The code; the first of the range when `code_end` is set.
    pub code: &'static str,
    /// The last code of an inclusive range of same-length digit strings ("1".."9",
    /// "001".."999").
    pub code_end: Option<&'static str>,
    /// The code is obsolete (the schema's historical codes): still met in old records, no
    /// longer valid for new ones.
    pub obsolete: bool,
    /// The code's meaning, as the format documentation words it.
    pub label: &'static str,
}

impl CodeDef {
    /// Whether `value` is this code, or falls in its range.
    ///
    /// ```
    /// let running_time = snakepit_core::marc21::layout_008(
    ///     snakepit_core::marc21::MaterialType::VisualMaterials).position(18).unwrap();
    /// let code = running_time.lookup(b"095").unwrap();
    /// assert!(code.matches(b"120") && !code.matches(b"000") && !code.matches(b"12"));
    /// ```
    pub fn matches(&self, value: &[u8]) -> bool {
        match self.code_end {
            None => value == self.code.as_bytes(),
            Some(end) => {
                value.len() == self.code.len()
                    && value.iter().all(u8::is_ascii_digit)
                    && value >= self.code.as_bytes()
                    && value <= end.as_bytes()
            }
        }
    }
}

/// Finds the code `value` matches: current codes first, then obsolete ones.
fn lookup_code<'a>(codes: &'a [CodeDef], value: &[u8]) -> Option<&'a CodeDef> {
    codes
        .iter()
        .find(|c| !c.obsolete && c.matches(value))
        .or_else(|| codes.iter().find(|c| c.obsolete && c.matches(value)))
}

/// A variable field of the bibliographic format (control fields 001-009 included).
#[derive(Debug)]
pub struct FieldDef {
    /// The three-digit tag.
    pub tag: &'static str,
    /// The field's name ("Title Statement").
    pub label: &'static str,
    /// Its page in the Library of Congress documentation (empty for a few control fields).
    pub url: &'static str,
    /// Whether a record may hold the field more than once.
    pub repeatable: bool,
    /// First and second indicator; `None` is an undefined indicator (to be left blank).
    /// Control fields have neither.
    pub indicators: [Option<IndicatorDef>; 2],
    /// The subfields, current and obsolete, in the documentation's order. Empty for
    /// control fields.
    pub subfields: &'static [SubfieldDef],
}

impl FieldDef {
    /// Indicator 1 or 2; `None` when it is undefined (or `n` is neither 1 nor 2).
    pub fn indicator(&self, n: usize) -> Option<&IndicatorDef> {
        match n {
            1 | 2 => self.indicators[n - 1].as_ref(),
            _ => None,
        }
    }

    /// The subfield of that code, current or obsolete.
    pub fn subfield(&self, code: u8) -> Option<&SubfieldDef> {
        self.subfields.iter().find(|s| s.code == code)
    }

    /// Whether this is a control field (00X: no indicators, no subfields).
    pub fn is_control(&self) -> bool {
        self.tag.starts_with("00")
    }
}

/// A defined indicator.
#[derive(Debug)]
pub struct IndicatorDef {
    /// What the indicator says ("Nonfiling characters").
    pub label: &'static str,
    /// Its codes, current then obsolete; ranges cover digit runs ("1".."9").
    pub codes: &'static [CodeDef],
}

impl IndicatorDef {
    /// The definition of an indicator value, `None` when the value is not defined.
    pub fn lookup(&self, value: u8) -> Option<&CodeDef> {
        lookup_code(self.codes, &[value])
    }
}

/// A subfield of a data field.
#[derive(Debug)]
pub struct SubfieldDef {
    /// The subfield code (`b'a'`).
    pub code: u8,
    /// Its name ("Title").
    pub label: &'static str,
    /// Whether a field may hold the subfield more than once. The schema does not say for
    /// obsolete subfields; they are given as not repeatable.
    pub repeatable: bool,
    /// The subfield is obsolete.
    pub obsolete: bool,
    /// The id of the code list its values come from, when the schema names one.
    pub codelist: Option<&'static str>,
}

impl SubfieldDef {
    /// The code list the values come from, when the schema names one.
    pub fn codelist(&self) -> Option<&'static CodeList> {
        self.codelist.and_then(codelist)
    }
}

/// A code list (languages, countries, geographic areas, relators, source codes...).
#[derive(Debug)]
pub struct CodeList {
    /// Short id: `languages`, `countries`, `geographic_areas`, `relators`, ...
    pub id: &'static str,
    /// The list's name ("MARC Code List for Languages").
    pub name: &'static str,
    /// Where the Library of Congress publishes it.
    pub url: &'static str,
    /// Codes sorted by code, a current code before an obsolete one with the same spelling.
    /// Empty for lists the schema only names (organizations).
    pub codes: &'static [CodeDef],
}

impl CodeList {
    /// The code's definition, the current one when the code was also used before with
    /// another meaning.
    pub fn lookup(&self, code: &[u8]) -> Option<&'static CodeDef> {
        let codes = self.codes;
        let i = codes.partition_point(|c| c.code.as_bytes() < code);
        codes.get(i).filter(|c| c.code.as_bytes() == code)
    }
}

/// One position (or run of positions) of the leader, 006, 007 or 008.
#[derive(Debug)]
pub struct PositionDef {
    /// First character position (0-based).
    pub start: usize,
    /// One past the last character position.
    pub end: usize,
    /// The position's name ("Form of item").
    pub label: &'static str,
    /// Its page in the Library of Congress documentation.
    pub url: &'static str,
    /// The position holds several codes of `unit_length` characters each (008/24-27,
    /// nature of contents: up to four one-character codes).
    pub repeatable_content: bool,
    /// Length of one code when `repeatable_content`; 0 otherwise.
    pub unit_length: usize,
    /// Its codes, current then obsolete. Empty for positions holding data rather than codes
    /// (dates, place of publication, language, record length...).
    pub codes: &'static [CodeDef],
}

impl PositionDef {
    /// Number of characters.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Always false: a position has at least one character.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The definition of a code (one unit of a repeatable-content position), `None` when it
    /// is not defined.
    pub fn lookup(&self, value: &[u8]) -> Option<&CodeDef> {
        lookup_code(self.codes, value)
    }

    /// The codes a value holds: the whole value, or each unit of a repeatable-content
    /// position, unless the whole value is a code of its own (`||`, no attempt to code, of
    /// the maps' 008/33-34).
    pub fn units<'v>(&self, value: &'v [u8]) -> impl Iterator<Item = &'v [u8]> {
        let split = self.repeatable_content && self.unit_length > 0;
        let size = if split && self.lookup(value).is_none() {
            self.unit_length
        } else {
            value.len().max(1)
        };
        value.chunks(size)
    }
}

/// The defined positions of one fixed-length structure: the leader, the 008 or 006 of one
/// material type, or the 007 of one category. Positions not listed are undefined.
#[derive(Debug)]
pub struct Layout {
    /// `LDR`, `006`, `007` or `008`.
    pub tag: &'static str,
    /// The schema's name for the material type or category ("Books", "Map"); "Leader".
    pub type_name: &'static str,
    /// The length MARC 21 defines (24, 18, 40; 2 to 23 for a 007 by category).
    pub length: usize,
    /// Defined positions in order, including the shared ones (008/00-17 and 35-39, 006/00,
    /// 007/00).
    pub positions: &'static [PositionDef],
}

impl Layout {
    /// The defined position starting at `start`.
    pub fn position(&self, start: usize) -> Option<&PositionDef> {
        self.positions.iter().find(|p| p.start == start)
    }
}

/// The kind of 008 (and 006) a bibliographic record has, from leader/06-07.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaterialType {
    /// Language material: leader/06 `a` (with leader/07 not `b`, `i`, `s`) or `t`.
    Books,
    /// Leader/06 `a` with leader/07 `b`, `i` or `s`.
    ContinuingResources,
    /// Leader/06 `e`, `f`.
    Maps,
    /// Leader/06 `c`, `d`, `i`, `j`.
    Music,
    /// Leader/06 `g`, `k`, `o`, `r`.
    VisualMaterials,
    /// Leader/06 `m`.
    ComputerFiles,
    /// Leader/06 `p`.
    MixedMaterials,
}

impl MaterialType {
    /// snake_case name, as the tables and the Elixir side spell it (`visual_materials`).
    pub fn key(self) -> &'static str {
        match self {
            MaterialType::Books => "books",
            MaterialType::ContinuingResources => "continuing_resources",
            MaterialType::Maps => "maps",
            MaterialType::Music => "music",
            MaterialType::VisualMaterials => "visual_materials",
            MaterialType::ComputerFiles => "computer_files",
            MaterialType::MixedMaterials => "mixed_materials",
        }
    }
}

/// What a record is, from leader/06 (and 07 for bibliographic records). Only bibliographic
/// records have the layouts of this module; the others are recognised, not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A bibliographic record and its material type.
    Bibliographic(MaterialType),
    /// Leader/06 `z`.
    Authority,
    /// Leader/06 `u`, `v`, `x`, `y`.
    Holdings,
    /// Leader/06 `w`.
    Classification,
    /// Leader/06 `q`.
    CommunityInformation,
    /// Any other leader/06 (or a leader shorter than 8 bytes).
    Unknown,
}

/// One row of the material-type rule (material_types.tsv).
#[derive(Debug)]
pub(crate) struct MaterialRule {
    pub(crate) material: MaterialType,
    pub(crate) leader06: &'static [u8],
    /// `*` matches any leader/07.
    pub(crate) leader07: &'static [u8],
    pub(crate) form006: &'static [u8],
}

#[cfg(test)]
mod tests;
