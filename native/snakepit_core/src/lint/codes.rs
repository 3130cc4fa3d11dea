//! The built-in codes: one table, in the order [`Builtin`] numbers them. Names are stable:
//! rule sets, `--only`/`--except` and reports use them.

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn from_name(name: &str) -> Option<Severity> {
        match name {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// One built-in code: its name, default severity and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeDef {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! builtin_codes {
    ($( $variant:ident = $name:literal, $severity:ident, $summary:literal; )*) => {
        /// The built-in codes, numbered as [`BUILTIN`] lists them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Builtin { $( $variant ),* }

        /// Every built-in code, in [`Builtin`] order.
        pub const BUILTIN: &[CodeDef] = &[
            $( CodeDef { name: $name, severity: Severity::$severity, summary: $summary } ),*
        ];
    };
}

builtin_codes! {
    RecordInvalid = "record.invalid", Error,
        "The record's ISO 2709 structure (or its JSON/XML) is broken: the parse error's kind and message.";
    TooManyIssues = "lint.too_many_issues", Warning,
        "A record had more issues than are listed (1000); this one counts the rest.";
    LeaderValue = "leader.value", Error,
        "A leader position holds a value its code list does not allow (bibliographic records).";
    FieldUndefined = "field.undefined", Error,
        "A tag MARC 21 does not define (neither in the tables nor locally defined).";
    FieldLocal = "field.local", Info,
        "A locally defined tag (9XX, or X9X such as 090 and 590): allowed, not checked further.";
    FieldObsolete = "field.obsolete", Warning,
        "A tag the Library of Congress field list gives as obsolete (503, 840, 851...), no longer defined.";
    FieldNotRepeatable = "field.not_repeatable", Error,
        "A non-repeatable field occurs more than once (an 880 counts as the tag its $6 names).";
    FieldMissing = "field.missing", Error,
        "A required field is missing: 245 and 008 in a bibliographic record.";
    FieldMultiple1xx = "field.multiple_1xx", Error,
        "More than one 1XX main entry.";
    FieldNoSubfields = "field.no_subfields", Error,
        "A data field with no subfields.";
    ControlDelimiter = "field.control_delimiter", Warning,
        "A control field (001-009) holds a subfield delimiter (0x1F).";
    IndicatorUndefined = "indicator.undefined", Error,
        "An indicator value not defined for the tag (an undefined indicator must be blank).";
    IndicatorObsolete = "indicator.obsolete", Warning,
        "An indicator value the tables list as obsolete for the tag.";
    SubfieldUndefined = "subfield.undefined", Error,
        "A subfield code not defined for the tag.";
    SubfieldObsolete = "subfield.obsolete", Warning,
        "A subfield code the tables list as historical (obsolete) for the tag.";
    SubfieldNotRepeatable = "subfield.not_repeatable", Error,
        "A non-repeatable subfield occurs more than once in one field.";
    SubfieldEmpty = "subfield.empty", Error,
        "A subfield with no data.";
    SubfieldControlCharacter = "subfield.control_character", Warning,
        "A subfield holding a tab, carriage return or line feed.";
    FixedLength = "fixed.length", Error,
        "An 008 that is not 40 characters, or an 006 that is not 18.";
    FixedValue = "fixed.value", Error,
        "An 006, 007 or 008 position holds a value its material type's code list does not allow.";
    FixedObsolete = "fixed.obsolete", Warning,
        "A leader, 006, 007 or 008 position holds a code the tables list as obsolete.";
    FixedDate = "fixed.date", Error,
        "008/07-10 or 008/11-14 hold something other than digits, u, fill (|) or the blanks 008/06 allows.";
    IsbnInvalid = "isbn.invalid", Error,
        "020 $a does not start with a 10- or 13-digit ISBN.";
    IsbnChecksum = "isbn.checksum", Error,
        "020 $a's ISBN has a wrong check digit.";
    IssnInvalid = "issn.invalid", Error,
        "022 $a is not an ISSN (NNNN-NNNC).";
    IssnChecksum = "issn.checksum", Error,
        "022 $a's ISSN has a wrong check digit.";
    LanguageUndefined = "language.undefined", Error,
        "008/35-37 or a 041 code that is not in the MARC Code List for Languages (041 ind2 7, another source, is not checked).";
    LanguageObsolete = "language.obsolete", Warning,
        "008/35-37 or a 041 code the MARC Code List for Languages lists as obsolete.";
    CountryUndefined = "country.undefined", Error,
        "008/15-17 is not in the MARC Code List for Countries.";
    CountryObsolete = "country.obsolete", Warning,
        "008/15-17 is a code the MARC Code List for Countries lists as obsolete.";
    GeographicAreaUndefined = "geographic_area.undefined", Error,
        "043 $a is not in the MARC Code List for Geographic Areas.";
    GeographicAreaObsolete = "geographic_area.obsolete", Warning,
        "043 $a is a code the MARC Code List for Geographic Areas lists as obsolete.";
    TitleNonfiling = "title.nonfiling", Warning,
        "The nonfiling-characters indicator of 130/240/245/440/630/730/830 disagrees with the title's leading article (MARC::Lint's article list).";
    LinkageUnpaired = "linkage.unpaired", Error,
        "A $6 occurrence number with no partner: a field's $6 880-NN with no 880 pointing back, or an 880's $6 TAG-NN with no such field.";
    LinkageMissing = "linkage.missing", Error,
        "An 880 without a $6.";
    LinkageInvalid = "linkage.invalid", Error,
        "A $6 that is not TAG-NN (a tag, a hyphen, a two-digit occurrence number).";
}

impl Builtin {
    pub fn def(self) -> &'static CodeDef {
        &BUILTIN[self as usize]
    }
}
