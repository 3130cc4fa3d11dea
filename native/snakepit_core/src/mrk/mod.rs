//! MarcEdit's mnemonic format (`.mrk`, LC's MARCMaker/MARCBreaker), in UTF-8 (`.mrk8`),
//! and the line dump of pymarc's `str(record)`:
//!
//! ```text
//! =LDR  00755cam\\22002414a\4500
//! =001  fol05731351\
//! =245  10$aActivePerl with ASP and ADO /$cTobias Martinsson.
//! ```
//!
//! One line a field: `=`, the tag, two spaces, then the value (leader and control fields)
//! or two indicators and `$`-delimited subfields. Records are separated by a blank line.
//!
//! # Writing
//!
//! [`write_record`] / [`write_records`] / [`MrkWriter`] in [`Style::Mrk`]: blanks of the
//! leader, control fields and indicators are `\`; in values, `$` `{` `}` `\`, ESC and the
//! other C0 controls and DEL are written as MARCMaker mnemonics (`{dollar}`, `{lcub}`,
//! `{rcub}`, `{bsol}`, `{esc}`, `{0A}`, ...), everything else as UTF-8, so every record
//! reads back exactly. A MARC-8 record (leader/09 not `a`) is converted to UTF-8 (NFC) and
//! written with leader/09 `a`. [`Style::Text`] is pymarc's `str(record)`, byte for byte:
//! nothing escaped, the leader as stored.
//!
//! # Reading
//!
//! [`MrkReader`] reads records one at a time (memory bounded by `max_record` bytes of
//! input). `\` is a blank in the leader, control fields and indicators, and a backslash in
//! subfield values; the mnemonics of LC's MARCMaker table (`mnemonic_table.rs`, generated
//! by scripts/gen_mrk_mnemonics.py) become their characters, a combining mark moved after
//! its base character (MARCMaker writes it before, as MARC-8 does); an unknown `{name}`
//! stays as written. Decoding never makes a value longer, so no input expands.
//! Errors are [`crate::ErrorKind::InvalidMrk`] naming the line.

mod mnemonic_table;
mod mnemonics;
mod read;
mod write;

pub use read::{MrkReader, MAX_MRK_RECORD};
pub use write::{write_record, write_records, MrkWriter, Style};

#[cfg(test)]
mod tests;
