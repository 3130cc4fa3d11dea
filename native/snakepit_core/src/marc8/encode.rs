//! UTF-8 to MARC-8, for writers: the inverse of the decoder, from the same generated data
//! (build.rs turns data/marc8/marc8.tsv around into `REV_KEYS`/`REV_VALUES`).
//!
//! Each value (a control field's value or one subfield's) is encoded on its own, starting
//! with ASCII as G0 and ANSEL as G1 and returning to them at its end, as MARC 21 asks, so a
//! value can be read whatever came before it.
//!
//! - Text is composed (NFC) and then each character that MARC-8 lacks as a whole is
//!   decomposed (NFD). A precomposed character MARC-8 has (Cyrillic `й`, Vietnamese `ư`,
//!   Arabic `آ`) is written as itself; one it lacks becomes its base and combining marks,
//!   keeping the longest precomposed prefix MARC-8 has (`ự` is `ư` + dot below).
//! - Combining marks are written before their base, in their order, as MARC-8 orders them.
//!   The double diacritics U+0361 and U+0360, which MARC-8 lacks as such, become ANSEL's
//!   two halves (`EB`/`EC`, `FA`/`FB`) before the first and the second base, as
//!   MARC::Charset writes them (they read back as U+FE20/U+FE21, U+FE22/U+FE23); with no
//!   second base after them in the value they are unrepresentable.
//! - A character in several sets is taken from the G0 or G1 set in force when it has it
//!   (digits and punctuation inside Cyrillic or Hebrew text need no escape), else from the
//!   first of ASCII, ANSEL, Hebrew, Arabic, extended Arabic, Cyrillic, extended Cyrillic,
//!   Greek, subscripts, Greek symbols, superscripts, EACC (lowest code first within a set).
//! - Designations: ANSEL, extended Arabic and extended Cyrillic go to G1 (`ESC ) F`); other
//!   single-byte sets to G0 (`ESC ( F`, or `ESC g` / `ESC b` / `ESC p` for Greek symbols,
//!   subscripts and superscripts); EACC to G0 (`ESC $ 1`). Back to ASCII is `ESC s` after
//!   `ESC g`/`b`/`p`, `ESC ( B` otherwise; back to ANSEL is `ESC ) E`.
//! - Space and C0 controls are themselves in every set (in EACC they are written after a
//!   return to ASCII, since some readers, pymarc among them, take EACC three bytes at a
//!   time); ESC, which would start an escape sequence, is a character MARC-8 cannot hold.
//!
//! A character with no MARC-8 code is handled as [`Unrepresentable`] says. Its combining
//! marks follow it in the same form (a mark written before `&#x...;` would split the
//! reference when read), and an unrepresentable mark is written after its base. A mark
//! with no base before it in its value (MARC-8 would put it on the next character) is
//! unrepresentable too.

use super::tables::SINGLE_FINALS;
use unicode_normalization::char::{compose, decompose_canonical};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

include!(concat!(env!("OUT_DIR"), "/marc8_reverse.rs"));

const ESC: u8 = 0x1B;
const COMBINING: u32 = 1 << 31;
/// The MARC 21 fill character, written for `Unrepresentable::Replace`.
pub const FILL: u8 = b'|';

/// What the writer does with a character MARC-8 has no code for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Unrepresentable {
    /// The Library of Congress numeric character reference `&#xHHHH;` (uppercase hex, at
    /// least four digits), so nothing is lost: readers that know the convention turn it
    /// back into the character.
    #[default]
    Ncr,
    /// The fill character `|`.
    Replace,
    /// An error naming the character.
    Error,
}

/// Options of the MARC-8 writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Marc8WriteOptions {
    pub unrepresentable: Unrepresentable,
}

/// A character MARC-8 cannot hold, under [`Unrepresentable::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnrepresentableChar {
    /// Byte offset of the character in the value (of the first character that holds it,
    /// when it is a mark that composition or decomposition produced).
    pub offset: usize,
    pub ch: char,
}

/// The set number of a reverse entry.
#[inline(always)]
fn set_of(entry: u32) -> u8 {
    ((entry >> 24) & 0x0F) as u8
}

/// Where a set is designated, and how.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Graphic {
    G0,
    G1,
}

fn graphic_of(set: u8) -> Graphic {
    match SINGLE_FINALS.get(set as usize) {
        Some(b'E' | b'4' | b'Q') => Graphic::G1,
        _ => Graphic::G0,
    }
}

/// Technique 1 sets (`ESC g`, `ESC b`, `ESC p`): designated, and left, by one byte.
fn technique1(set: u8) -> bool {
    matches!(SINGLE_FINALS.get(set as usize), Some(b'g' | b'b' | b'p'))
}

fn set_index(final_byte: u8) -> u8 {
    SINGLE_FINALS
        .iter()
        .position(|&f| f == final_byte)
        .expect("final byte in the generated tables") as u8
}

/// Candidates (reverse entries, best first) for `c`; empty when MARC-8 lacks it.
#[inline]
fn candidates(c: char) -> &'static [u32] {
    let key = c as u32;
    let from = REV_KEYS.partition_point(|&k| k < key);
    let to = from + REV_KEYS[from..].partition_point(|&k| k == key);
    &REV_VALUES[from..to]
}

/// One thing to write: a character with its candidates, or one MARC-8 cannot hold.
#[derive(Clone, Copy)]
enum Unit {
    Mapped(&'static [u32]),
    /// A space or C0 control: the same byte in every set.
    Raw(u8),
    Missing(char, usize),
}

impl Unit {
    fn combining(self) -> bool {
        match self {
            Unit::Mapped(c) => c[0] & COMBINING != 0,
            Unit::Raw(_) => false,
            // Only its place matters: a missing mark is placed after its base.
            Unit::Missing(c, _) => is_mark(c),
        }
    }
}

/// A Unicode combining mark (canonical combining class above 0, or one of the classless
/// marks the MARC-8 tables treat as combining).
fn is_mark(c: char) -> bool {
    unicode_normalization::char::canonical_combining_class(c) != 0
        || unicode_normalization::char::is_combining_mark(c)
}

/// Encodes UTF-8 values to MARC-8. Reusable: holds scratch space and the designations of
/// the value being written (reset at the end of each).
#[derive(Debug, Default)]
pub struct Marc8Encoder {
    opts: Marc8WriteOptions,
    ascii: u8,
    ansel: u8,
    g0: u8,
    g1: u8,
    composed: String,
    cluster: Vec<Unit>,
    /// The right half of a double diacritic, waiting for the next base.
    right_half: Option<char>,
    /// The right half for the cluster being built, written after its other marks.
    cluster_right: Option<char>,
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unit::Mapped(c) => write!(f, "Mapped({c:X?})"),
            Unit::Raw(b) => write!(f, "Raw({b:02X})"),
            Unit::Missing(c, at) => write!(f, "Missing({c:?} at {at})"),
        }
    }
}

impl Marc8Encoder {
    pub fn new(opts: Marc8WriteOptions) -> Self {
        let (ascii, ansel) = (set_index(b'B'), set_index(b'E'));
        Marc8Encoder {
            opts,
            ascii,
            ansel,
            g0: ascii,
            g1: ansel,
            ..Default::default()
        }
    }

    /// Appends the MARC-8 form of `value` (UTF-8) to `out`. Invalid UTF-8 is taken as
    /// U+FFFD (writers check values first). On error `out` is left as it was.
    pub fn encode(&mut self, value: &[u8], out: &mut Vec<u8>) -> Result<(), UnrepresentableChar> {
        if value.is_ascii() && memchr::memchr(ESC, value).is_none() {
            out.extend_from_slice(value);
            return Ok(());
        }
        let start = out.len();
        let text = String::from_utf8_lossy(value);
        let mut composed = std::mem::take(&mut self.composed);
        composed.clear();
        let text: &str = if is_nfc_quick(text.chars()) == IsNormalized::Yes {
            &text
        } else {
            composed.extend(text.nfc());
            &composed
        };
        let result = self.encode_text(text, out);
        self.composed = composed;
        self.cluster.clear();
        self.right_half = None;
        self.cluster_right = None;
        if result.is_err() {
            out.truncate(start);
        }
        self.end_value(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_text(&mut self, text: &str, out: &mut Vec<u8>) -> Result<(), UnrepresentableChar> {
        for (at, c) in text.char_indices() {
            if c.is_ascii() && c != ESC as char && self.cluster.is_empty() && self.g0 == self.ascii
            {
                // The common case: ASCII in ASCII, nothing waiting. A mark may follow it, so
                // it starts a cluster only when the next character is not ASCII.
                let next_is_ascii = text.as_bytes().get(at + 1).is_none_or(|b| b.is_ascii());
                if next_is_ascii && self.right_half.is_none() {
                    out.push(c as u8);
                    continue;
                }
            }
            if matches!(c, '\u{0361}' | '\u{0360}') {
                // A double diacritic needs a second base after it, in this value, and one
                // right half at a time.
                let next = text[at + c.len_utf8()..].chars().find(|&n| !is_mark(n));
                let pending = self.right_half.is_some() || self.cluster_right.is_some();
                if next.is_some_and(|n| n > ' ') && !pending {
                    self.push_double_diacritic(c, at, out)?;
                } else {
                    self.push_unit(Unit::Missing(c, at), at, out)?;
                }
                continue;
            }
            self.push_char(c, at, out)?;
        }
        self.flush(out)
    }

    /// Adds `c` (at byte `at` of the composed text) to the cluster being built.
    fn push_char(
        &mut self,
        c: char,
        at: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), UnrepresentableChar> {
        if c == ' ' || (c < ' ' && c != ESC as char) {
            return self.push_unit(Unit::Raw(c as u8), at, out);
        }
        let direct = candidates(c);
        if !direct.is_empty() {
            return self.push_unit(Unit::Mapped(direct), at, out);
        }
        let mut parts: [char; 8] = ['\0'; 8];
        let mut n = 0;
        decompose_canonical(c, |d| {
            if n < parts.len() {
                parts[n] = d;
                n += 1;
            }
        });
        if n <= 1 {
            return self.push_unit(Unit::Missing(c, at), at, out);
        }
        // The longest precomposed prefix MARC-8 has: `ự` = `ư` + dot below.
        let mut base = parts[0];
        let mut first_mark = 1;
        while first_mark < n {
            match compose(base, parts[first_mark]) {
                Some(b) if !candidates(b).is_empty() => {
                    base = b;
                    first_mark += 1;
                }
                _ => break,
            }
        }
        for &part in [base].iter().chain(&parts[first_mark..n]) {
            let found = candidates(part);
            let unit = if found.is_empty() {
                Unit::Missing(part, at)
            } else {
                Unit::Mapped(found)
            };
            self.push_unit(unit, at, out)?;
        }
        Ok(())
    }

    /// U+0361 or U+0360 with a base after it: ANSEL's left half now, the right half before
    /// the next base (as MARC::Charset writes them; they read back as U+FE20..U+FE23).
    fn push_double_diacritic(
        &mut self,
        c: char,
        at: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), UnrepresentableChar> {
        let (left, right) = if c == '\u{0361}' {
            ('\u{FE20}', '\u{FE21}')
        } else {
            ('\u{FE22}', '\u{FE23}')
        };
        self.push_unit(Unit::Mapped(candidates(left)), at, out)?;
        self.right_half = Some(right);
        Ok(())
    }

    fn push_unit(
        &mut self,
        unit: Unit,
        at: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), UnrepresentableChar> {
        if unit.combining() {
            if self.cluster.is_empty() {
                // A mark with no base before it in the value: in MARC-8 it would go onto
                // the character after it, so it cannot be written as a mark.
                let missing = match unit {
                    Unit::Mapped(found) => Unit::Missing(
                        char::from_u32(REV_KEYS[index_of(found)]).unwrap_or('\u{FFFD}'),
                        at,
                    ),
                    other => other,
                };
                return self.write_units(&[missing], out);
            }
            self.cluster.push(unit);
            return Ok(());
        }
        self.flush(out)?;
        self.cluster.push(unit);
        // The right half of a double diacritic goes on this base, after its own marks
        // (`x͡é` reads back as x U+FE20 e U+0301 U+FE21).
        self.cluster_right = self.right_half.take();
        Ok(())
    }

    /// Writes the cluster: marks MARC-8 has, then the base, then what MARC-8 lacks. The
    /// base is the cluster's one non-combining unit (the right half of a double diacritic,
    /// a mark, may come before it).
    fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), UnrepresentableChar> {
        if self.cluster.is_empty() {
            return Ok(());
        }
        let mut cluster = std::mem::take(&mut self.cluster);
        if let Some(right) = self.cluster_right.take() {
            cluster.push(Unit::Mapped(candidates(right)));
        }
        let base = cluster.iter().position(|u| !u.combining());
        let result = match base.map(|b| cluster[b]) {
            // An unrepresentable base: its marks follow it in the same form.
            Some(Unit::Missing(c, at)) => {
                let mut units = vec![Unit::Missing(c, at)];
                units.extend(
                    cluster
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| Some(i) != base)
                        .map(|(_, &u)| match u {
                            Unit::Mapped(found) => Unit::Missing(
                                char::from_u32(REV_KEYS[index_of(found)]).unwrap_or('\u{FFFD}'),
                                at,
                            ),
                            other => other,
                        }),
                );
                self.write_units(&units, out)
            }
            _ => {
                let mut ordered: Vec<Unit> = Vec::with_capacity(cluster.len());
                ordered.extend(
                    cluster
                        .iter()
                        .enumerate()
                        .filter(|&(i, u)| Some(i) != base && matches!(u, Unit::Mapped(_)))
                        .map(|(_, &u)| u),
                );
                ordered.extend(base.map(|b| cluster[b]));
                ordered.extend(
                    cluster
                        .iter()
                        .enumerate()
                        .filter(|&(i, u)| Some(i) != base && !matches!(u, Unit::Mapped(_)))
                        .map(|(_, &u)| u),
                );
                self.write_units(&ordered, out)
            }
        };
        cluster.clear();
        self.cluster = cluster;
        result
    }

    fn write_units(
        &mut self,
        units: &[Unit],
        out: &mut Vec<u8>,
    ) -> Result<(), UnrepresentableChar> {
        for &unit in units {
            match unit {
                Unit::Raw(b) => {
                    // MARC-8 makes space and controls single bytes in every set, but some
                    // readers (pymarc) take three bytes at a time in EACC: leave it first.
                    if self.g0 == REV_EACC {
                        self.designate_g0(self.ascii, out);
                    }
                    out.push(b)
                }
                Unit::Mapped(found) => self.write_mapped(found, out),
                Unit::Missing(c, at) => match self.opts.unrepresentable {
                    Unrepresentable::Error => {
                        return Err(UnrepresentableChar { offset: at, ch: c })
                    }
                    Unrepresentable::Replace => self.write_ascii(FILL, out),
                    Unrepresentable::Ncr => {
                        for b in format!("&#x{:04X};", c as u32).bytes() {
                            self.write_ascii(b, out);
                        }
                    }
                },
            }
        }
        Ok(())
    }

    fn write_ascii(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.g0 == self.ascii {
            out.push(b);
        } else {
            self.write_mapped(candidates(b as char), out);
        }
    }

    /// Writes one character, from the set in force when it has it.
    fn write_mapped(&mut self, found: &[u32], out: &mut Vec<u8>) {
        let entry = found
            .iter()
            .copied()
            .find(|&e| {
                let s = set_of(e);
                s == self.g0 || (s == self.g1 && s != REV_C1)
            })
            .unwrap_or(found[0]);
        let set = set_of(entry);
        let code = entry & 0xFF_FFFF;
        if set == REV_C1 {
            out.push(code as u8);
            return;
        }
        if set == REV_EACC {
            if self.g0 != REV_EACC {
                out.extend_from_slice(&[ESC, b'$', b'1']);
                self.g0 = REV_EACC;
            }
            out.extend_from_slice(&[(code >> 16) as u8, (code >> 8) as u8, code as u8]);
            return;
        }
        if set == self.g0 {
            out.push(code as u8);
            return;
        }
        if set == self.g1 {
            out.push(code as u8 | 0x80);
            return;
        }
        match graphic_of(set) {
            Graphic::G1 => {
                out.extend_from_slice(&[ESC, b')', SINGLE_FINALS[set as usize]]);
                self.g1 = set;
                out.push(code as u8 | 0x80);
            }
            Graphic::G0 => {
                self.designate_g0(set, out);
                out.push(code as u8);
            }
        }
    }

    fn designate_g0(&mut self, set: u8, out: &mut Vec<u8>) {
        let f = SINGLE_FINALS[set as usize];
        if technique1(set) {
            out.extend_from_slice(&[ESC, f]);
        } else if set == self.ascii && self.g0 != REV_EACC && technique1(self.g0) {
            out.extend_from_slice(&[ESC, b's']);
        } else {
            out.extend_from_slice(&[ESC, b'(', f]);
        }
        self.g0 = set;
    }

    /// Back to ASCII and ANSEL at the end of a value.
    fn end_value(&mut self, out: &mut Vec<u8>) {
        if self.g0 != self.ascii {
            self.designate_g0(self.ascii, out);
        }
        if self.g1 != self.ansel {
            out.extend_from_slice(&[ESC, b')', b'E']);
            self.g1 = self.ansel;
        }
    }
}

/// Index in `REV_VALUES` of a candidate slice (to name its character).
fn index_of(found: &'static [u32]) -> usize {
    (found.as_ptr() as usize - REV_VALUES.as_ptr() as usize) / std::mem::size_of::<u32>()
}

/// Turns the Library of Congress numeric character references `&#xHHHH;` in `text` into
/// the characters they name, appending to `out`. A reference to something that is not a
/// Unicode scalar value (or to a delimiter or NUL) is left as it is.
pub fn decode_ncrs(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(k) = memchr::memmem::find(&text[i..], b"&#x") {
        let at = i + k;
        out.extend_from_slice(&text[i..at]);
        let digits = &text[at + 3..];
        let n = digits
            .iter()
            .take(7)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let scalar = (1..=6)
            .contains(&n)
            .then(|| digits.get(n) == Some(&b';'))
            .filter(|&semi| semi)
            .and_then(|_| u32::from_str_radix(std::str::from_utf8(&digits[..n]).ok()?, 16).ok())
            .and_then(char::from_u32)
            .filter(|&c| !matches!(c, '\0' | '\u{1D}' | '\u{1E}' | '\u{1F}'));
        match scalar {
            Some(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i = at + 3 + n + 1;
            }
            None => {
                out.extend_from_slice(b"&#x");
                i = at + 3;
            }
        }
    }
    out.extend_from_slice(&text[i..]);
}
