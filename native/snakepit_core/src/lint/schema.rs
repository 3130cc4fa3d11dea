//! The MARC 21 tables as the checks read them: fields indexed by tag number, subfield and
//! indicator sets as bitsets, fixed-field layouts by material type. Built once per process
//! from the generated tables ([`marc21`]); tests build small ones by hand.

use std::sync::OnceLock;

/// A set of ASCII bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSet(u128);

impl ByteSet {
    pub fn of(bytes: &[u8]) -> ByteSet {
        let mut set = ByteSet::default();
        for &b in bytes {
            set.insert(b);
        }
        set
    }

    pub fn insert(&mut self, b: u8) {
        if b < 128 {
            self.0 |= 1 << b;
        }
    }

    #[inline]
    pub fn contains(self, b: u8) -> bool {
        b < 128 && self.0 & (1 << b) != 0
    }

    /// The members, for messages: `#` stands for blank, as MARC documentation writes it.
    pub fn describe(self) -> String {
        let items: Vec<String> = (0u8..128)
            .filter(|&b| self.contains(b))
            .map(|b| display_byte(b).to_string())
            .collect();
        items.join(" ")
    }
}

/// A byte as MARC documentation shows it: `#` for blank.
pub fn display_byte(b: u8) -> String {
    match b {
        b' ' => "#".to_string(),
        0x20..=0x7e => (b as char).to_string(),
        _ => format!("0x{b:02X}"),
    }
}

/// A subfield code's standing in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubfieldRule {
    #[default]
    Undefined,
    Repeatable,
    NonRepeatable,
    /// Listed as historical (obsolete) for the tag.
    Obsolete,
}

/// One data or control field's definition.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub repeatable: bool,
    /// The values each indicator may take; an undefined indicator allows blank only.
    pub indicators: [ByteSet; 2],
    /// By ASCII code; other bytes are undefined.
    pub subfields: [SubfieldRule; 128],
}

impl FieldDef {
    #[inline]
    pub fn subfield(&self, code: u8) -> SubfieldRule {
        self.subfields
            .get(code as usize)
            .copied()
            .unwrap_or_default()
    }

    pub fn defined_subfields(&self) -> String {
        (0u8..128)
            .filter(|&c| {
                matches!(
                    self.subfield(c),
                    SubfieldRule::Repeatable | SubfieldRule::NonRepeatable
                )
            })
            .map(|c| display_byte(c).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One value a fixed-field position may hold: a code, or an inclusive range of codes of the
/// same length (`001`-`999`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeValue {
    Exact(Vec<u8>),
    Range(Vec<u8>, Vec<u8>),
}

impl CodeValue {
    fn matches(&self, value: &[u8]) -> bool {
        match self {
            CodeValue::Exact(code) => code == value,
            CodeValue::Range(low, high) => {
                value.len() == low.len() && low.as_slice() <= value && value <= high.as_slice()
            }
        }
    }

    fn describe(&self) -> String {
        let show = |v: &[u8]| v.iter().map(|&b| display_byte(b)).collect::<String>();
        match self {
            CodeValue::Exact(code) => show(code),
            CodeValue::Range(low, high) => format!("{}-{}", show(low), show(high)),
        }
    }
}

/// One position (or run of positions) of the leader or of 006/007/008.
#[derive(Debug, Clone)]
pub struct PositionDef {
    /// Byte range within the field (or leader), end exclusive.
    pub start: usize,
    pub end: usize,
    pub label: String,
    /// The allowed values; empty: not checked against a list.
    pub codes: Vec<CodeValue>,
    /// Each byte is a code on its own (008/24-27 nature of contents: up to four codes).
    pub per_byte: bool,
}

impl PositionDef {
    /// Whether `value` (the position's bytes) is allowed.
    pub fn allows(&self, value: &[u8]) -> bool {
        if self.codes.is_empty() {
            return true;
        }
        if self.per_byte {
            value.iter().all(|b| {
                self.codes
                    .iter()
                    .any(|c| c.matches(std::slice::from_ref(b)))
            })
        } else {
            self.codes.iter().any(|c| c.matches(value))
        }
    }

    pub fn describe_codes(&self) -> String {
        const SHOWN: usize = 40;
        let mut shown: Vec<String> = self
            .codes
            .iter()
            .take(SHOWN)
            .map(|c| c.describe())
            .collect();
        if self.codes.len() > SHOWN {
            shown.push(format!("... ({} in all)", self.codes.len()));
        }
        shown.join(" ")
    }
}

/// Material types of 006 and 008 (their positions 18-34 of 008 are 01-17 of 006).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    Books,
    ComputerFiles,
    ContinuingResources,
    Maps,
    MixedMaterials,
    Music,
    VisualMaterials,
}

impl Material {
    pub const ALL: [Material; 7] = [
        Material::Books,
        Material::ComputerFiles,
        Material::ContinuingResources,
        Material::Maps,
        Material::MixedMaterials,
        Material::Music,
        Material::VisualMaterials,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Material::Books => "Books",
            Material::ComputerFiles => "Computer Files",
            Material::ContinuingResources => "Continuing Resources",
            Material::Maps => "Maps",
            Material::MixedMaterials => "Mixed Materials",
            Material::Music => "Music",
            Material::VisualMaterials => "Visual Materials",
        }
    }

    /// The 008 material type of a bibliographic record, from leader/06 and leader/07.
    pub fn of_leader(leader: &[u8]) -> Option<Material> {
        let (kind, level) = (*leader.get(6)?, leader.get(7).copied().unwrap_or(b' '));
        Some(match kind {
            b'a' | b't' if b"bis".contains(&level) => Material::ContinuingResources,
            b'a' | b't' => Material::Books,
            b'm' => Material::ComputerFiles,
            b'e' | b'f' => Material::Maps,
            b'c' | b'd' | b'i' | b'j' => Material::Music,
            b'g' | b'k' | b'o' | b'r' => Material::VisualMaterials,
            b'p' => Material::MixedMaterials,
            _ => return None,
        })
    }

    /// The material type 006/00 names.
    pub fn of_006(form: u8) -> Option<Material> {
        Some(match form {
            b'a' | b't' => Material::Books,
            b'm' => Material::ComputerFiles,
            b's' => Material::ContinuingResources,
            b'e' | b'f' => Material::Maps,
            b'c' | b'd' | b'i' | b'j' => Material::Music,
            b'g' | b'k' | b'o' | b'r' => Material::VisualMaterials,
            b'p' => Material::MixedMaterials,
            _ => return None,
        })
    }
}

/// The tables.
#[derive(Debug, Clone)]
pub struct Schema {
    /// By tag number 000-999.
    fields: Vec<Option<FieldDef>>,
    pub leader: Vec<PositionDef>,
    /// 008 positions per material type, the "All Materials" ones included.
    pub layouts_008: Vec<(Material, Vec<PositionDef>)>,
    /// 006 positions per material type, 006/00 included.
    pub layouts_006: Vec<(Material, Vec<PositionDef>)>,
    /// 007 positions per category of material (007/00), 007/00 included.
    pub layouts_007: Vec<(u8, String, Vec<PositionDef>)>,
    /// The category codes 007/00 may hold.
    pub categories_007: ByteSet,
    /// Language codes (008/35-37, 041) and country codes (008/15-17), when the tables have
    /// them: sorted, for binary search.
    pub languages: Vec<[u8; 3]>,
    pub countries: Vec<Vec<u8>>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            fields: vec![None; 1000],
            leader: Vec::new(),
            layouts_008: Vec::new(),
            layouts_006: Vec::new(),
            layouts_007: Vec::new(),
            categories_007: ByteSet::default(),
            languages: Vec::new(),
            countries: Vec::new(),
        }
    }
}

/// A tag of three ASCII digits as a number.
#[inline]
pub fn tag_number(tag: &[u8; 3]) -> Option<usize> {
    tag.iter().try_fold(0usize, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + (b - b'0') as usize)
    })
}

impl Schema {
    #[inline]
    pub fn field(&self, tag: &[u8; 3]) -> Option<&FieldDef> {
        self.fields[tag_number(tag)?].as_ref()
    }

    pub fn set_field(&mut self, tag: &[u8; 3], def: FieldDef) {
        if let Some(n) = tag_number(tag) {
            self.fields[n] = Some(def);
        }
    }

    pub fn layout_008(&self, material: Material) -> &[PositionDef] {
        layout(&self.layouts_008, material)
    }

    pub fn layout_006(&self, material: Material) -> &[PositionDef] {
        layout(&self.layouts_006, material)
    }

    pub fn layout_007(&self, category: u8) -> Option<(&str, &[PositionDef])> {
        self.layouts_007
            .iter()
            .find(|(c, _, _)| *c == category)
            .map(|(_, name, positions)| (name.as_str(), positions.as_slice()))
    }
}

fn layout(layouts: &[(Material, Vec<PositionDef>)], material: Material) -> &[PositionDef] {
    layouts
        .iter()
        .find(|(m, _)| *m == material)
        .map_or(&[], |(_, p)| p.as_slice())
}

/// The MARC 21 bibliographic tables, built on first use.
pub fn marc21() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(super::tables::build)
}
