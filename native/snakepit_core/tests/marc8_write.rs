//! The MARC-8 writer: escape sequences, combining marks, unrepresentable characters, NCRs
//! back, and UTF-8 -> MARC-8 -> UTF-8 on every corpus record, in ISO 2709 and in MARCMaker's
//! MARC-8 `.mrk`.

use snakepit_core::chunker::{decoded_owned_item, ParsedItem};
use snakepit_core::marc8::{decode_ncrs, Marc8Encoder, Marc8WriteOptions, Unrepresentable};
use snakepit_core::mrk::{write_record, MrkReader, Style};
use snakepit_core::{
    encode_record_with, marc8_to_utf8, parse_record, read_all, record_to_utf8, EncodeOptions,
    ErrorKind, Marc8Options, Mode, Origin, OwnedField, OwnedRecord, ParseOptions, Record,
};
use unicode_normalization::UnicodeNormalization;
mod common;

use common::{corpus, corpus_files};

fn marc8(text: &str) -> Vec<u8> {
    marc8_with(text, Unrepresentable::Ncr).unwrap()
}

fn marc8_with(text: &str, unrepresentable: Unrepresentable) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    Marc8Encoder::new(Marc8WriteOptions { unrepresentable })
        .encode(text.as_bytes(), &mut out)
        .map_err(|e| format!("{:?} at {}", e.ch, e.offset))?;
    Ok(out)
}

fn utf8(bytes: &[u8], decode_ncrs: bool) -> String {
    let mut out = Vec::new();
    let opts = Marc8Options {
        decode_ncrs,
        ..Default::default()
    };
    marc8_to_utf8(bytes, &opts, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    if decode_ncrs {
        let mut back = Vec::new();
        decode_ncrs_into(&text, &mut back);
        return String::from_utf8(back).unwrap();
    }
    text
}

fn decode_ncrs_into(text: &str, out: &mut Vec<u8>) {
    decode_ncrs(text.as_bytes(), out)
}

fn nfc(s: &str) -> String {
    s.nfc().collect()
}

#[test]
fn ascii_is_itself() {
    assert_eq!(
        marc8("Moby Dick / Herman Melville."),
        b"Moby Dick / Herman Melville."
    );
}

#[test]
fn diacritics_come_before_their_base_in_ansel() {
    // é = e + acute (ANSEL E2); precomposed or not, the same bytes.
    assert_eq!(marc8("Café"), b"Caf\xe2e");
    assert_eq!(marc8("Cafe\u{301}"), b"Caf\xe2e");
    // Two marks keep their (canonical) order, both before the base.
    assert_eq!(marc8("ệ"), b"\xf2\xe3e");
    // ANSEL's own letters: Ł, ø.
    assert_eq!(marc8("Łódź"), b"\xa1\xe2od\xe2z");
    assert_eq!(marc8("ø"), b"\xb2");
}

#[test]
fn precomposed_letters_marc8_has_are_kept_whole() {
    // ư is ANSEL BD; ự is ư + dot below (F2), not u + horn + dot.
    assert_eq!(marc8("ư"), b"\xbd");
    assert_eq!(marc8("ự"), b"\xf2\xbd");
}

#[test]
fn double_diacritics_become_two_halves() {
    // a͡t (U+0361) -> EB a EC t; the halves themselves as they are.
    assert_eq!(marc8("a\u{361}t"), b"\xeba\xect");
    assert_eq!(marc8("a\u{fe20}t\u{fe21}"), b"\xeba\xect");
    assert_eq!(
        nfc(&utf8(&marc8("a\u{fe20}t\u{fe21}"), false)),
        "a\u{fe20}t\u{fe21}"
    );
}

#[test]
fn other_scripts_are_designated_and_released() {
    // Cyrillic G0; punctuation, space and digits stay in it; back to ASCII at the end.
    let m = marc8("Мир, 1917");
    assert_eq!(&m[..3], b"\x1b(N");
    assert!(m.ends_with(b"\x1b(B"), "{m:?}");
    assert_eq!(m.iter().filter(|&&b| b == 0x1b).count(), 2, "{m:?}");
    assert_eq!(utf8(&m, false), "Мир, 1917");
    // Hebrew, Arabic, Greek.
    for text in ["שלום", "كتاب", "Ἀθῆναι", "λόγος"] {
        assert_eq!(nfc(&utf8(&marc8(text), false)), nfc(text), "{text}");
    }
    // Chinese: EACC in G0.
    let m = marc8("中国");
    assert!(m.starts_with(b"\x1b$1"), "{m:?}");
    assert!(m.ends_with(b"\x1b(B"));
    assert_eq!(utf8(&m, false), "中国");
    // A mixed value goes back and forth.
    let text = "Tolstoĭ, Lev: Война и мир = 战争与和平 (1869)";
    assert_eq!(nfc(&utf8(&marc8(text), false)), nfc(text));
}

#[test]
fn superscripts_subscripts_and_greek_symbols_use_technique_1() {
    let m = marc8("H₂O x²");
    assert_eq!(m, b"H\x1bb2\x1bsO x\x1bp2\x1bs");
    assert_eq!(utf8(&m, false), "H₂O x²");
}

#[test]
fn extended_sets_go_to_g1_and_ansel_comes_back() {
    // Ukrainian ґ is in extended Cyrillic (G1).
    let m = marc8("ґ");
    assert!(m.starts_with(b"\x1b)Q"), "{m:?}");
    assert!(m.ends_with(b"\x1b)E"), "{m:?}");
    assert_eq!(utf8(&m, false), "ґ");
}

#[test]
fn unrepresentable_characters() {
    // ☃ and ESC have no MARC-8 code.
    assert_eq!(marc8("snow ☃!"), b"snow &#x2603;!");
    assert_eq!(marc8("a\u{1b}b"), b"a&#x001B;b");
    assert_eq!(marc8("\u{1F600}"), b"&#x1F600;");
    assert_eq!(
        marc8_with("snow ☃!", Unrepresentable::Replace).unwrap(),
        b"snow |!"
    );
    assert_eq!(
        marc8_with("snow ☃!", Unrepresentable::Error).unwrap_err(),
        "'☃' at 5"
    );
    // The marks of an unrepresentable base follow it as references too, so that reading
    // the references back gives the text.
    let m = marc8("\u{2603}\u{301}");
    assert_eq!(m, b"&#x2603;&#x0301;");
    assert_eq!(utf8(&m, true), "\u{2603}\u{301}");
    // Inside another script, the reference is in that set's ASCII-compatible positions or
    // back in ASCII.
    let text = "Мир ☃";
    assert_eq!(utf8(&marc8(text), true), text);
}

#[test]
fn numeric_character_references_read_back() {
    let mut out = Vec::new();
    decode_ncrs(
        b"a&#x2603;b &#x1F600; &#xZZ; &#x1D; &#x110000; &#x41",
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "a☃b \u{1F600} &#xZZ; &#x1D; &#x110000; &#x41"
    );
}

/// Every good record of every corpus file, as UTF-8, is written as MARC-8, read back and
/// converted to UTF-8 again: each value equals the original after NFC.
#[test]
fn every_corpus_record_survives_utf8_to_marc8_to_utf8() {
    let checked = each_corpus_record_in_marc8(|what, original, _marc8, back| {
        assert_same_text(original, back, what);
    });
    assert!(checked > 10_000, "only {checked} records checked");
}

/// MARCMaker's MARC-8 `.mrk` of every corpus record reads back (NCRs decoded) as the MARC-8
/// ISO 2709 record does, byte for byte, and so as the original after NFC.
#[test]
fn every_corpus_record_survives_utf8_to_marc8_mrk_to_utf8() {
    let style = Style::Marc8Mrk(Marc8WriteOptions::default());
    let checked = each_corpus_record_in_marc8(|what, original, marc8, from_iso| {
        let mut text = Vec::new();
        write_record(original, style, &mut text).unwrap_or_else(|e| panic!("{what}: {e}"));
        let read: Vec<_> = MrkReader::new(text.as_slice()).collect();
        assert_eq!(read.len(), 1, "{what}");
        let raw = read[0].as_ref().unwrap_or_else(|e| panic!("{what}: {e}"));
        // The MARC-8 bytes themselves come back.
        assert_eq!(&marc8.to_owned_record(), raw, "{what}");
        let item = decoded_owned_item(
            raw,
            Origin::default(),
            ParseOptions::default(),
            Default::default(),
            Some(&back_options()),
        );
        let ParsedItem::Owned { bytes, spans, .. } = item else {
            panic!("{what}: {item:?}");
        };
        let back = Record::from_parts(&bytes, spans).unwrap().to_owned_record();
        assert_eq!(&back, from_iso, "{what}");
        assert_same_text(original, &back, what);
    });
    assert!(checked > 10_000, "only {checked} records checked");
}

/// How the round trips read MARC-8 back: NCRs turned into their characters.
fn back_options() -> Marc8Options {
    Marc8Options {
        decode_ncrs: true,
        ..Default::default()
    }
}

/// Calls `check(what, original, marc8, back)` for every corpus record the MARC-8 writer
/// accepts: the record as UTF-8 (MARC-8 ones converted, bad bytes replaced), its MARC-8
/// ISO 2709 record, and that read back to UTF-8 with [`back_options`]. Returns how many.
fn each_corpus_record_in_marc8(
    mut check: impl FnMut(&str, &OwnedRecord, &Record<'_>, &OwnedRecord),
) -> usize {
    let opts = EncodeOptions {
        marc8: Some(Marc8WriteOptions::default()),
        ..Default::default()
    };
    let mut checked = 0;
    for file in corpus_files() {
        let bytes = corpus(&file);
        let (items, _) = read_all(&bytes, Mode::Permissive, ParseOptions::default()).unwrap();
        for (i, item) in items.into_iter().enumerate() {
            let Ok(rec) = item else { continue };
            // As UTF-8 (MARC-8 records converted, with replacement for bad bytes).
            let Ok(as_utf8) = record_to_utf8(&rec, Origin::default(), &Default::default()) else {
                continue;
            };
            let original = parse_record(&as_utf8, Origin::default(), ParseOptions::default())
                .unwrap()
                .to_owned_record();
            let mut out = Vec::new();
            if let Err(e) = encode_record_with(&original, 0, &mut out, &opts) {
                // Only what ISO 2709 refuses anyway.
                assert!(
                    matches!(e.kind, ErrorKind::InvalidValue | ErrorKind::TooLarge),
                    "{file} record {i}: {e}"
                );
                continue;
            }
            let written = parse_record(&out, Origin::default(), ParseOptions::default())
                .unwrap_or_else(|e| panic!("{file} record {i}: output does not parse: {e}"));
            assert_eq!(written.leader()[9], b' ', "{file} record {i}");
            let back = record_to_utf8(&written, Origin::default(), &back_options())
                .unwrap_or_else(|e| panic!("{file} record {i}: {e}"));
            let back = parse_record(&back, Origin::default(), ParseOptions::default())
                .unwrap()
                .to_owned_record();
            check(&format!("{file} record {i}"), &original, &written, &back);
            checked += 1;
        }
    }
    checked
}

/// The one documented difference: U+0361 and U+0360 followed by a second base are written
/// as ANSEL's halves, which read back as U+FE20 (U+FE22) before and U+FE21 (U+FE23) after
/// that base.
fn halves(text: &str) -> String {
    let is_mark = |c: char| unicode_normalization::char::canonical_combining_class(c) != 0;
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    // The right half waiting for a base, and then for the end of that base's marks.
    let (mut right, mut on_base) = (None, false);
    for (i, &c) in chars.iter().enumerate() {
        if !is_mark(c) && on_base {
            out.push(right.take().unwrap());
            on_base = false;
        }
        if matches!(c, '\u{361}' | '\u{360}') && right.is_none() {
            let next = chars[i + 1..].iter().find(|&&n| !is_mark(n));
            if next.is_some_and(|&n| n > ' ') {
                out.push(if c == '\u{361}' {
                    '\u{fe20}'
                } else {
                    '\u{fe22}'
                });
                right = Some(if c == '\u{361}' {
                    '\u{fe21}'
                } else {
                    '\u{fe23}'
                });
                continue;
            }
        }
        if !is_mark(c) && right.is_some() {
            on_base = true;
        }
        out.push(c);
    }
    if let Some(r) = right.filter(|_| on_base) {
        out.push(r);
    }
    out
}

fn assert_same_text(want: &OwnedRecord, got: &OwnedRecord, what: &str) {
    assert_eq!(want.fields.len(), got.fields.len(), "{what}");
    let text = |v: &[u8]| nfc(&halves(&nfc(&String::from_utf8_lossy(v))));
    for (w, g) in want.fields.iter().zip(&got.fields) {
        match (w, g) {
            (
                OwnedField::Control { tag, value },
                OwnedField::Control {
                    tag: tag2,
                    value: value2,
                },
            ) => {
                assert_eq!(tag, tag2, "{what}");
                assert_eq!(text(value), text(value2), "{what} field {tag:?}");
            }
            (
                OwnedField::Data {
                    tag,
                    ind1,
                    ind2,
                    subfields,
                },
                OwnedField::Data {
                    tag: tag2,
                    ind1: i1,
                    ind2: i2,
                    subfields: s2,
                },
            ) => {
                assert_eq!((tag, ind1, ind2), (tag2, i1, i2), "{what}");
                assert_eq!(subfields.len(), s2.len(), "{what}");
                for ((c, v), (c2, v2)) in subfields.iter().zip(s2) {
                    assert_eq!(c, c2, "{what}");
                    assert_eq!(
                        text(v),
                        text(v2),
                        "{what} field {} ${}",
                        String::from_utf8_lossy(tag),
                        *c as char
                    );
                }
            }
            _ => panic!("{what}: field kinds differ"),
        }
    }
}

/// Characters of every kind the writer treats apart: ASCII, space and controls, marks
/// (MARC-8's and others), the double diacritics and halves, precomposed Latin, Vietnamese,
/// Cyrillic, Greek, Hebrew, Arabic, CJK, kana, Hangul, sub/superscripts, and characters
/// MARC-8 lacks.
const POOL: &[char] = &[
    'a',
    'z',
    'Q',
    '0',
    '9',
    ' ',
    '.',
    ',',
    '(',
    '&',
    '#',
    ';',
    '|',
    '\u{1}',
    '\u{1b}',
    '\u{7f}',
    '\u{300}',
    '\u{301}',
    '\u{303}',
    '\u{308}',
    '\u{323}',
    '\u{327}',
    '\u{31b}',
    '\u{35c}',
    '\u{361}',
    '\u{360}',
    '\u{fe20}',
    '\u{fe21}',
    '\u{fe22}',
    '\u{fe23}',
    'é',
    'ø',
    'Ł',
    'ư',
    'ự',
    'ệ',
    'й',
    'Я',
    'ґ',
    'λ',
    'ά',
    'ש',
    'ְ',
    'ك',
    'ً',
    '中',
    '国',
    'ン',
    'ヂ',
    '한',
    '₂',
    '²',
    'ß',
    '\u{3000}',
    '☃',
    '\u{1f600}',
    '\u{2026}',
    '\u{200d}',
    '\u{98}',
];

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(2_000))]
    #[test]
    fn any_text_survives_with_references(picks in proptest::collection::vec(0..POOL.len(), 0..24)) {
        let text: String = picks.iter().map(|&i| POOL[i]).collect();
        let written = marc8(&text);
        proptest::prop_assert!(written.iter().all(|b| !matches!(b, 0x1d..=0x1f)));
        proptest::prop_assert_eq!(nfc(&utf8(&written, true)), nfc(&halves(&nfc(&text))), "{:?}", written);
        // Every policy gives valid MARC-8 (or, for :error, an error).
        let replaced = marc8_with(&text, Unrepresentable::Replace).unwrap();
        let _ = utf8(&replaced, false);
        if let Ok(strict) = marc8_with(&text, Unrepresentable::Error) {
            proptest::prop_assert_eq!(strict, written);
        }
    }
}

#[test]
fn every_line_of_pymarc_test_utf8_survives() {
    let text = String::from_utf8(corpus("marc8/pymarc_test_utf8.txt")).unwrap();
    for (n, line) in text.lines().enumerate() {
        assert_eq!(nfc(&utf8(&marc8(line), true)), nfc(line), "line {}", n + 1);
    }
}
