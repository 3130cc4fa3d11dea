//! MARCMaker character mnemonics (`{dollar}`, `{esc}`, `{acute}`, `{1B}`, ...): decoding
//! them in values read, and escaping the characters `.mrk` reserves in values written.
//! The table is generated data (`mnemonic_table.rs`, from scripts/gen_mrk_mnemonics.py).
//!
//! A mnemonic stands for a character in UTF-8 text (`.mrk8`) and for a MARC-8 byte in
//! MARC-8 text (MARCMaker's `.mrk`), where the MARC-8 decoder makes characters of the bytes.

use super::mnemonic_table::{MARC8_BYTE_NAMES, MNEMONICS};
use crate::marc8::Marc8Encoder;

/// Longest mnemonic name in the table, braces excluded: a `{` further than this from its
/// `}` is never a mnemonic, so a lookup scans a bounded number of bytes.
const MAX_NAME: usize = 8;

/// One row of the table: what a name stands for in each text.
#[derive(Clone, Copy)]
struct Mnemonic {
    /// Its character in UTF-8 text (none for the hex forms of bytes 0x80-0xFF).
    char: Option<char>,
    combining: bool,
    /// Its byte in MARC-8 text (none for the SGML names MARCMaker lacks, which stand for
    /// characters only).
    marc8: Option<u8>,
}

fn entry(name: &[u8]) -> Option<Mnemonic> {
    MNEMONICS
        .binary_search_by(|(n, ..)| n.as_bytes().cmp(name))
        .ok()
        .map(|i| {
            let (_, char, combining, marc8) = MNEMONICS[i];
            Mnemonic {
                char,
                combining,
                marc8,
            }
        })
}

/// The name MARCMaker writes for a MARC-8 (or ASCII) byte, if it has one.
pub(super) fn byte_name(byte: u8) -> Option<&'static str> {
    MARC8_BYTE_NAMES
        .binary_search_by(|(b, _)| b.cmp(&byte))
        .ok()
        .map(|i| MARC8_BYTE_NAMES[i].1)
}

/// What text a `.mrk` value holds, and so what its mnemonics stand for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Charset {
    /// UTF-8 (`.mrk8`, leader/09 `a`): mnemonics are characters.
    Utf8,
    /// MARC-8 (leader/09 blank): mnemonics are MARC-8 bytes, every byte outside printable
    /// ASCII is written as one.
    Marc8,
}

/// How blanks are spelt in a value: `\` in the leader and control fields, a space in
/// subfield values (where a `\` is a backslash).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Blanks {
    Backslash,
    Space,
}

/// Decodes one `.mrk` value into `out`: mnemonics become their characters (an unknown
/// `{name}` stays as written, as MarcEdit leaves it), and under [`Blanks::Backslash`] a `\`
/// is a blank. A combining mark written as a mnemonic comes before its base character, as
/// in MARC-8; in the UTF-8 output it goes after it. Never longer than `value`: every
/// mnemonic is longer than the UTF-8 of its character.
pub(super) fn decode_value(value: &[u8], blanks: Blanks, out: &mut Vec<u8>) {
    // Combining marks waiting for their base character.
    let mut pending: Vec<char> = Vec::new();
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'{' {
            if let Some((c, combining, used)) = char_mnemonic_at(&value[i..]) {
                i += used;
                if combining {
                    pending.push(c);
                } else {
                    push_char(c, out);
                    flush(&mut pending, out);
                }
                continue;
            }
        }
        let len = utf8_len(b).min(value.len() - i);
        if blanks == Blanks::Backslash && b == b'\\' {
            out.push(b' ');
        } else {
            out.extend_from_slice(&value[i..i + len]);
        }
        i += len;
        flush(&mut pending, out);
    }
    flush(&mut pending, out);
}

/// The mnemonic at the start of `s` (which starts with `{`) and the bytes it takes.
fn mnemonic_at(s: &[u8]) -> Option<(Mnemonic, usize)> {
    let window = &s[1..s.len().min(MAX_NAME + 2)];
    let end = memchr::memchr(b'}', window)?;
    Some((entry(&window[..end])?, end + 2))
}

/// The length of `{#xHHHH}` or `{#DDDD}` (a numeric character reference as MARCMaker writes
/// it, its name within [`MAX_NAME`]) at the start of `s`, which starts with `{`.
fn reference_at(s: &[u8]) -> Option<usize> {
    let window = &s[1..s.len().min(MAX_NAME + 2)];
    let end = memchr::memchr(b'}', window)?;
    let digits_ok = match &window[..end] {
        [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', dec @ ..] => !dec.is_empty() && dec.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    digits_ok.then_some(end + 2)
}

/// The mnemonic of a character at the start of `s`: its character, whether it combines,
/// and the bytes it takes.
fn char_mnemonic_at(s: &[u8]) -> Option<(char, bool, usize)> {
    let (m, used) = mnemonic_at(s)?;
    Some((m.char?, m.combining, used))
}

/// Decodes one value of a MARC-8 `.mrk` into the MARC-8 bytes it spells, for the MARC-8
/// decoder: MARCMaker's mnemonics (and hex forms) become their bytes, other characters
/// are copied as they are (nothing is reordered: MARC-8 puts marks before their base),
/// and under [`Blanks::Backslash`] a `\` is a blank. `{#xHHHH}` and `{#DDDD}`, which is how
/// MARC::File::MARCMaker writes the numeric character reference `&#xHHHH;` it finds in
/// MARC-8 text, are that reference again (same length). An SGML name MARCMaker lacks
/// (`{aacute}`) becomes its character as `encoder` writes it (`E2 61`, escape sequences
/// for Greek), taking the default sets to be in force there as they are outside escape
/// sequences; one MARC-8 cannot hold, and an unknown `{name}`, stay as written. `encoder`
/// must refuse what it cannot write ([`crate::marc8::Unrepresentable::Error`]). At most
/// twice as long as `value` (the longest output, 7 bytes for Greek, comes from a 4-byte
/// mnemonic).
pub(super) fn decode_marc8_value(
    value: &[u8],
    blanks: Blanks,
    encoder: &mut Marc8Encoder,
    out: &mut Vec<u8>,
) {
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'{' {
            if let Some((m, used)) = mnemonic_at(&value[i..]) {
                let written = match (m.marc8, m.char) {
                    (Some(byte), _) => {
                        out.push(byte);
                        true
                    }
                    (None, Some(c)) => {
                        let mut buf = [0u8; 4];
                        encoder
                            .encode(c.encode_utf8(&mut buf).as_bytes(), out)
                            .is_ok()
                    }
                    (None, None) => false,
                };
                if written {
                    i += used;
                    continue;
                }
            } else if let Some(used) = reference_at(&value[i..]) {
                out.push(b'&');
                out.extend_from_slice(&value[i + 1..i + used - 1]);
                out.push(b';');
                i += used;
                continue;
            }
        }
        out.push(if blanks == Blanks::Backslash && b == b'\\' {
            b' '
        } else {
            b
        });
        i += 1;
    }
}

fn flush(pending: &mut Vec<char>, out: &mut Vec<u8>) {
    for c in pending.drain(..) {
        push_char(c, out);
    }
}

fn push_char(c: char, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Bytes of the UTF-8 sequence a lead byte starts (1 for a stray continuation byte, so
/// that text that is not UTF-8 is copied through byte by byte).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// What a byte of a value written becomes: itself, a blank spelt `\`, or a mnemonic.
/// `$`, `{`, `}`, `\`, ESC and the other C0 controls and DEL are written as mnemonics, so
/// that every value reads back exactly, and in MARC-8 text every byte above 0x7F, as
/// MARCMaker writes them; everything else (UTF-8 included) as it is.
#[inline]
fn needs_escape(b: u8, charset: Charset) -> bool {
    matches!(b, b'$' | b'{' | b'}' | b'\\' | 0x00..=0x1F | 0x7F)
        || (b > 0x7F && charset == Charset::Marc8)
}

/// Appends `value` (text in `charset`) escaped for `.mrk`.
pub(super) fn escape_value(value: &[u8], blanks: Blanks, charset: Charset, out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        let blank = b == b' ' && blanks == Blanks::Backslash;
        if !blank && !needs_escape(b, charset) {
            continue;
        }
        out.extend_from_slice(&value[start..i]);
        start = i + 1;
        if blank {
            out.push(b'\\');
            continue;
        }
        push_mnemonic(b, out);
    }
    out.extend_from_slice(&value[start..]);
}

/// `{name}` for a byte with a name, else `{XX}` (MARCMaker's hex form).
pub(super) fn push_mnemonic(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'{');
    match byte_name(b) {
        Some(name) => out.extend_from_slice(name.as_bytes()),
        None => out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 0xF) as usize]]),
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str, blanks: Blanks) -> String {
        let mut out = Vec::new();
        decode_value(s.as_bytes(), blanks, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn escape(s: &str, blanks: Blanks) -> String {
        let mut out = Vec::new();
        escape_value(s.as_bytes(), blanks, Charset::Utf8, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn decode_marc8(s: &str, blanks: Blanks) -> Vec<u8> {
        let mut encoder = Marc8Encoder::new(crate::marc8::Marc8WriteOptions {
            unrepresentable: crate::marc8::Unrepresentable::Error,
        });
        let mut out = Vec::new();
        decode_marc8_value(s.as_bytes(), blanks, &mut encoder, &mut out);
        out
    }

    fn escape_marc8(bytes: &[u8], blanks: Blanks) -> String {
        let mut out = Vec::new();
        escape_value(bytes, blanks, Charset::Marc8, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_table_is_sorted_and_every_name_fits_the_scan_window() {
        assert!(MNEMONICS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(MARC8_BYTE_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(MNEMONICS.iter().all(|(n, ..)| n.len() <= MAX_NAME));
        // Every name is longer than its character's UTF-8 (+2 braces): decoding never grows.
        assert!(MNEMONICS
            .iter()
            .all(|(n, c, ..)| c.is_none_or(|c| n.len() + 2 > c.len_utf8())));
        // Every byte MARCMaker writes by name reads back as that byte.
        for &(byte, name) in MARC8_BYTE_NAMES {
            assert_eq!(entry(name.as_bytes()).and_then(|m| m.marc8), Some(byte));
        }
    }

    #[test]
    fn in_marc8_text_mnemonics_are_bytes() {
        // MARCMaker's names, aliases and hex forms; no reordering; `\` a blank where blanks
        // are spelt so.
        assert_eq!(
            decode_marc8(
                "Caf{acute}e {dollar}5{24}{curren} {uml}{diaer}{C7}{esc}(N",
                Blanks::Space
            ),
            b"Caf\xE2e $5$$ \xE8\xE8\xC7\x1B(N"
        );
        assert_eq!(decode_marc8("a\\b{bsol}", Blanks::Backslash), b"a b\\");
        // SGML names MARCMaker lacks: their MARC-8 form; unknown and unrepresentable stay.
        assert_eq!(
            decode_marc8("{aacute}{alpha}", Blanks::Space),
            b"\xE2a\x1B(Sa\x1B(B"
        );
        assert_eq!(
            decode_marc8("{nosuch}{1B}{loz}", Blanks::Space),
            b"{nosuch}{1B}{loz}"
        );
        // MARCMaker's spelling of a numeric character reference is the reference.
        assert_eq!(
            decode_marc8("{#x00D0}{#X1F600}{#208}{#x}{#12a}", Blanks::Space),
            b"&#x00D0;&#X1F600;&#208;{#x}{#12a}"
        );
        // Hex forms of bytes above 0x7F have no character in UTF-8 text.
        assert_eq!(decode("{C7}", Blanks::Space), "{C7}");
    }

    #[test]
    fn marc8_text_is_written_as_marcmaker_writes_it() {
        assert_eq!(
            escape_marc8(b"Caf\xE2e $5 \x1B(NAB\x1B(B \xC7\xFF|~", Blanks::Space),
            "Caf{acute}e {dollar}5 {esc}(NAB{esc}(B {C7}{FF}|~"
        );
        assert_eq!(escape_marc8(b"a b\\", Blanks::Backslash), "a\\b{bsol}");
        for b in 0u8..=255 {
            // The delimiters are never in a value.
            if matches!(b, 0x1D..=0x1F) {
                continue;
            }
            let written = escape_marc8(&[b], Blanks::Space);
            assert_eq!(decode_marc8(&written, Blanks::Space), [b], "{written}");
        }
    }

    #[test]
    fn mnemonics_decode_and_unknown_ones_stay() {
        // MARCMaker's table: `{24}` and `{curren}` are `$` too; ESC's hex form is not in it.
        assert_eq!(
            decode("US{dollar}5{24}{curren} {esc}{1A}", Blanks::Space),
            "US$5$$ \u{1b}\u{1a}"
        );
        assert_eq!(decode("{1B}", Blanks::Space), "{1B}");
        assert_eq!(decode("{lcub}x{rcub} {bsol}", Blanks::Space), "{x} \\");
        assert_eq!(
            decode("{nosuch} {dollar", Blanks::Space),
            "{nosuch} {dollar"
        );
        assert_eq!(
            decode("{copy}2001 {pound}", Blanks::Space),
            "\u{a9}2001 \u{a3}"
        );
        assert_eq!(decode("{}{{dollar}}", Blanks::Space), "{}{$}");
    }

    #[test]
    fn combining_mnemonics_go_after_their_base_character() {
        assert_eq!(decode("Caf{acute}e", Blanks::Space), "Cafe\u{301}");
        assert_eq!(decode("{acute}{dotb}é!", Blanks::Space), "é\u{301}\u{323}!");
        assert_eq!(decode("x{acute}", Blanks::Space), "x\u{301}");
        assert_eq!(decode("{acute}{lcub}", Blanks::Space), "{\u{301}");
    }

    #[test]
    fn backslashes_are_blanks_only_where_blanks_are_spelt_so() {
        assert_eq!(decode("a\\b", Blanks::Backslash), "a b");
        assert_eq!(decode("a\\b", Blanks::Space), "a\\b");
        assert_eq!(decode("{bsol}", Blanks::Backslash), "\\");
    }

    #[test]
    fn escaping_round_trips_every_reserved_byte() {
        let value = "A $1 {x} \\ \u{1b}\n\t\u{7f} é";
        for blanks in [Blanks::Space, Blanks::Backslash] {
            let escaped = escape(value, blanks);
            assert!(!escaped.contains('$') && !escaped.contains('\n'));
            assert_eq!(decode(&escaped, blanks), value);
        }
        assert_eq!(escape("a b$", Blanks::Backslash), "a\\b{dollar}");
        assert_eq!(escape("\n", Blanks::Space), "{0A}");
    }
}
