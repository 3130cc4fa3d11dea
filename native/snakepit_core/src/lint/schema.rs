//! The MARC 21 tables as the checks read them: fields indexed by tag number, subfield and
//! indicator sets as bitsets, fixed-field layouts by material type. Built once per process
//! from the generated tables ([`marc21`]); tests build small ones by hand.

use crate::marc21::{CodeDef, CodeList, MaterialType, PositionDef};
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
        // One 64-bit half and one shift: cheaper than shifting a 128-bit mask.
        let half = if b < 64 {
            self.0 as u64
        } else {
            (self.0 >> 64) as u64
        };
        b < 128 && (half >> (b & 63)) & 1 != 0
    }

    /// The members, for messages: `#` stands for blank, as MARC documentation writes it.
    /// Written straight into the message, only when one is made.
    pub fn describe(self) -> Members {
        Members(self)
    }
}

/// [`ByteSet::describe`]: the members separated by blanks.
#[derive(Debug, Clone, Copy)]
pub struct Members(ByteSet);

impl std::fmt::Display for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Members are printable or `0xNN`; worded in one buffer and written once.
        let mut text = String::with_capacity(64);
        for b in (0u8..128).filter(|&b| self.0.contains(b)) {
            if !text.is_empty() {
                text.push(' ');
            }
            match b {
                b' ' => text.push('#'),
                0x21..=0x7e => text.push(b as char),
                _ => text.push_str(&format!("0x{b:02X}")),
            }
        }
        f.write_str(&text)
    }
}

/// A byte as MARC documentation shows it: `#` for blank.
pub fn display_byte(b: u8) -> DisplayByte {
    DisplayByte(b)
}

/// [`display_byte`]: formatted only when a message is made.
#[derive(Debug, Clone, Copy)]
pub struct DisplayByte(u8);

impl std::fmt::Display for DisplayByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        match self.0 {
            b' ' => f.write_char('#'),
            b @ 0x21..=0x7e => f.write_char(b as char),
            b => write!(f, "0x{b:02X}"),
        }
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

/// One data or control field's definition, in the form checked per field: sets and a
/// table by code rather than lists to search.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub repeatable: bool,
    /// The current values each indicator may take; an undefined indicator allows blank only.
    pub indicators: [ByteSet; 2],
    /// Indicator values listed as obsolete.
    pub obsolete_indicators: [ByteSet; 2],
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

    /// The current subfield codes, for messages (written only when one is made).
    pub fn defined_subfields(&self) -> DefinedSubfields<'_> {
        DefinedSubfields(self)
    }
}

/// [`FieldDef::defined_subfields`]: the codes separated by blanks.
#[derive(Debug, Clone, Copy)]
pub struct DefinedSubfields<'a>(&'a FieldDef);

impl std::fmt::Display for DefinedSubfields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for c in (0u8..128).filter(|&c| {
            matches!(
                self.0.subfield(c),
                SubfieldRule::Repeatable | SubfieldRule::NonRepeatable
            )
        }) {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            display_byte(c).fmt(f)?;
        }
        Ok(())
    }
}

/// Whether `value` is a current code of `codes`, an obsolete one, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Current,
    Obsolete,
    Undefined,
}

pub fn standing(codes: &[CodeDef], value: &[u8]) -> Standing {
    if codes.iter().any(|c| !c.obsolete && c.matches(value)) {
        Standing::Current
    } else if codes.iter().any(|c| c.obsolete && c.matches(value)) {
        Standing::Obsolete
    } else {
        Standing::Undefined
    }
}

/// A fixed-field position ready to check: its one-character codes as sets (the usual case,
/// checked without a search), and its list of allowed codes worded once for messages.
#[derive(Debug, Clone)]
pub struct Position {
    pub def: &'static PositionDef,
    /// Every code is one character: (current, obsolete).
    single: Option<(ByteSet, ByteSet)>,
    /// The allowed codes, for messages.
    pub allowed: String,
}

impl Position {
    pub fn compile(def: &'static PositionDef) -> Position {
        let single = def
            .codes
            .iter()
            .all(|c| c.code.len() == 1 && c.code_end.is_none());
        let single = single.then(|| {
            let (mut current, mut obsolete) = (ByteSet::default(), ByteSet::default());
            for c in def.codes {
                let set = if c.obsolete {
                    &mut obsolete
                } else {
                    &mut current
                };
                set.insert(c.code.as_bytes()[0]);
            }
            (current, obsolete)
        });
        Position {
            def,
            single,
            allowed: describe_codes(def.codes),
        }
    }

    /// Whether a code of the position (or a unit of one) is current, obsolete or undefined.
    #[inline]
    pub fn standing(&self, value: &[u8]) -> Standing {
        match (self.single, value) {
            (Some((current, _)), [b]) if current.contains(*b) => Standing::Current,
            (Some((_, obsolete)), [b]) if obsolete.contains(*b) => Standing::Obsolete,
            (Some(_), [_]) => Standing::Undefined,
            _ => standing(self.def.codes, value),
        }
    }

    /// Whether every byte of `value` is a current one-character code: the common case of a
    /// position holding one code or several, settled without splitting it.
    #[inline]
    pub fn all_current(&self, value: &[u8]) -> bool {
        self.single
            .is_some_and(|(current, _)| value.iter().all(|&b| current.contains(b)))
            && (value.len() == 1 || self.def.repeatable_content)
    }
}

/// The current codes of a list, for messages (`#` for blank, ranges as `001-999`), the first
/// 40 of a long list.
pub fn describe_codes(codes: &[CodeDef]) -> String {
    const SHOWN: usize = 40;
    let show = |v: &str| {
        v.bytes()
            .map(|b| display_byte(b).to_string())
            .collect::<String>()
    };
    let current: Vec<&CodeDef> = codes.iter().filter(|c| !c.obsolete).collect();
    let mut shown: Vec<String> = current
        .iter()
        .take(SHOWN)
        .map(|c| match c.code_end {
            Some(end) => format!("{}-{}", show(c.code), show(end)),
            None => show(c.code),
        })
        .collect();
    if current.len() > SHOWN {
        shown.push(format!("... ({} in all)", current.len()));
    }
    shown.join(" ")
}

/// The tables.
#[derive(Debug, Clone)]
pub struct Schema {
    /// By tag number 000-999.
    fields: Vec<Option<FieldDef>>,
    /// By tag number: the label of a tag given as obsolete (and not defined).
    obsolete_fields: Vec<Option<&'static str>>,
    pub leader: Vec<Position>,
    /// 008 positions per material type, the "All Materials" ones included.
    pub layouts_008: Vec<(MaterialType, Vec<Position>)>,
    /// 006 positions per material type, 006/00 included.
    pub layouts_006: Vec<(MaterialType, Vec<Position>)>,
    /// 007 positions per category of material (007/00), 007/00 included.
    pub layouts_007: Vec<(u8, &'static str, Vec<Position>)>,
    /// The category codes 007/00 may hold.
    pub categories_007: ByteSet,
    /// Language codes (008/35-37, 041), country codes (008/15-17), geographic area codes
    /// (043), when the tables have them.
    pub languages: Option<PackedList>,
    pub countries: Option<PackedList>,
    pub geographic_areas: Option<PackedList>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            fields: vec![None; 1000],
            obsolete_fields: vec![None; 1000],
            leader: Vec::new(),
            layouts_008: Vec::new(),
            layouts_006: Vec::new(),
            layouts_007: Vec::new(),
            categories_007: ByteSet::default(),
            languages: None,
            countries: None,
            geographic_areas: None,
        }
    }
}

/// A code list searched by words: its codes packed into one word each ([`super::pack`])
/// and sorted, so that a search compares words, not strings. Finds what
/// [`CodeList::lookup`] finds (the fast path tests compare them).
#[derive(Debug, Clone)]
pub struct PackedList {
    pub list: &'static CodeList,
    /// (packed code, its index in `list.codes`), sorted by word, codes of one spelling in
    /// the list's order (the current one first); `None` when a code is too long to pack.
    words: Option<Vec<(u64, u32)>>,
}

impl PackedList {
    pub fn new(list: &'static CodeList) -> PackedList {
        let words: Option<Vec<(u64, u32)>> = list
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| super::pack(c.code.as_bytes()).map(|w| (w, i as u32)))
            .collect();
        let words = words.map(|mut words| {
            // Stable: codes of one spelling keep the list's order.
            words.sort_by_key(|&(w, _)| w);
            words
        });
        PackedList { list, words }
    }

    /// The code's definition, the current one when the code was also used before with
    /// another meaning.
    #[inline]
    pub fn lookup(&self, code: &[u8]) -> Option<&'static CodeDef> {
        let Some(words) = &self.words else {
            return self.list.lookup(code);
        };
        // Every code of the list packs: a value too long to pack is none of them.
        let word = super::pack(code)?;
        let i = words.partition_point(|&(w, _)| w < word);
        let codes = self.list.codes;
        words
            .get(i)
            .filter(|&&(w, _)| w == word)
            .map(|&(_, j)| &codes[j as usize])
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

    /// The label of an obsolete field, for a tag no longer defined.
    #[inline]
    pub fn obsolete_field(&self, tag: &[u8; 3]) -> Option<&'static str> {
        self.obsolete_fields[tag_number(tag)?]
    }

    pub fn set_obsolete_field(&mut self, tag: &[u8; 3], label: &'static str) {
        if let Some(n) = tag_number(tag) {
            self.obsolete_fields[n] = Some(label);
        }
    }

    pub fn set_field(&mut self, tag: &[u8; 3], def: FieldDef) {
        if let Some(n) = tag_number(tag) {
            self.fields[n] = Some(def);
        }
    }

    pub fn layout_008(&self, material: MaterialType) -> &[Position] {
        layout(&self.layouts_008, material)
    }

    pub fn layout_006(&self, material: MaterialType) -> &[Position] {
        layout(&self.layouts_006, material)
    }

    pub fn layout_007(&self, category: u8) -> Option<(&'static str, &[Position])> {
        self.layouts_007
            .iter()
            .find(|(c, _, _)| *c == category)
            .map(|(_, name, positions)| (*name, positions.as_slice()))
    }
}

fn layout(layouts: &[(MaterialType, Vec<Position>)], material: MaterialType) -> &[Position] {
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
