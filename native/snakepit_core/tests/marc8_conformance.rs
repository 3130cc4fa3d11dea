//! MARC-8 conversion against pymarc's published conversions, and the corpus's other MARC-8
//! files in strict mode.
//!
//! Normalisation: pymarc's `marc8_to_unicode` ends with `unicodedata.normalize("NFC", ...)`
//! and every expected text here (pymarc_marc8-to-unicode.dat, pymarc_test_utf8.txt) is in
//! NFC, so the conformance comparisons use `Normalization::Nfc`. Without normalisation the
//! output differs only in composition: its NFD equals the expected text's NFD, which the
//! tests check too.

use snakepit_core::marc8::{record_to_utf8, Marc8ErrorMode, Marc8Options, Normalization};
use snakepit_core::{
    marc8_to_utf8, parse_record, read_all, Mode, Origin, OwnedField, ParseOptions, Record,
};
mod common;

use common::{corpus, records};
use unicode_normalization::UnicodeNormalization;

const NFC: Marc8Options = Marc8Options {
    normalization: Normalization::Nfc,
    on_error: Marc8ErrorMode::Strict,
    decode_ncrs: false,
};
const RAW: Marc8Options = Marc8Options {
    normalization: Normalization::None,
    on_error: Marc8ErrorMode::Strict,
    decode_ncrs: false,
};

/// Converts every record of a MARC-8 file, checks each result parses as a valid UTF-8
/// record (leader/09 `a`, valid UTF-8 everywhere), and returns the converted bytes.
fn convert_file(bytes: &[u8], opts: &Marc8Options) -> Vec<Vec<u8>> {
    let (items, _) = read_all(bytes, Mode::Strict, ParseOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, item) in items.into_iter().enumerate() {
        let rec = item.unwrap();
        assert!(!rec.is_utf8(), "record {i} is not MARC-8");
        let origin = Origin {
            index: i as u64,
            offset,
        };
        offset += rec.bytes().len() as u64;
        let converted = record_to_utf8(&rec, origin, opts)
            .unwrap_or_else(|e| panic!("record {i}: {e} (excerpt {:?})", e.excerpt));
        let reparsed = parse_record(&converted, origin, ParseOptions::default())
            .unwrap_or_else(|e| panic!("converted record {i} does not parse: {e}"));
        assert!(reparsed.is_utf8());
        assert_eq!(reparsed.spans().len(), rec.spans().len());
        out.push(converted);
    }
    out
}

/// Compares two records field by field: tag, indicators, subfield codes and values.
fn assert_same_fields(got: &Record<'_>, want: &Record<'_>) {
    let got: Vec<OwnedField> = got.fields().map(|f| f.to_owned_field()).collect();
    let want: Vec<OwnedField> = want.fields().map(|f| f.to_owned_field()).collect();
    assert_eq!(got.len(), want.len(), "field count");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            g,
            w,
            "field {}:\n got  {:?}\n want {:?}",
            String::from_utf8_lossy(&g.tag()),
            show(g),
            show(w)
        );
    }
}

fn show(f: &OwnedField) -> String {
    match f {
        OwnedField::Control { value, .. } => String::from_utf8_lossy(value).into_owned(),
        OwnedField::Data {
            ind1,
            ind2,
            subfields,
            ..
        } => {
            let mut s = format!("{}{}", *ind1 as char, *ind2 as char);
            for (c, v) in subfields {
                s.push_str(&format!(" ${}{}", *c as char, String::from_utf8_lossy(v)));
            }
            s
        }
    }
}

#[test]
fn pymarc_marc8_record_converts_to_pymarc_unicode_record() {
    let marc8 = corpus("marc8/pymarc_marc8.dat");
    let unicode = corpus("marc8/pymarc_marc8-to-unicode.dat");
    let converted = convert_file(&marc8, &NFC);
    assert_eq!(converted.len(), 1);
    let want = records(&unicode);
    assert_eq!(want.len(), 1);
    assert!(want[0].is_utf8());
    let got = parse_record(&converted[0], Origin::default(), ParseOptions::default()).unwrap();
    assert_same_fields(&got, &want[0]);
    // The leader, lengths and directory come out the same too.
    assert_eq!(got.bytes(), want[0].bytes());
    // 240 $a spelled out: "De la solitude \xe1a la communaut\xe2e." in MARC-8.
    let f240 = got.fields().find(|f| &f.tag == b"240").unwrap();
    let a = f240.subfields().next().unwrap();
    assert_eq!(
        std::str::from_utf8(a.value).unwrap(),
        "De la solitude \u{e0} la communaut\u{e9}."
    );
}

#[test]
fn pymarc_marc8_record_without_normalisation_is_the_decomposed_form() {
    let converted = convert_file(&corpus("marc8/pymarc_marc8.dat"), &RAW);
    let got = parse_record(&converted[0], Origin::default(), ParseOptions::default()).unwrap();
    let f240 = got.fields().find(|f| &f.tag == b"240").unwrap();
    let a = f240.subfields().next().unwrap();
    // Marks follow their base: a + U+0300, e + U+0301.
    assert_eq!(
        std::str::from_utf8(a.value).unwrap(),
        "De la solitude a\u{300} la communaute\u{301}."
    );
}

fn lines(rel: &str) -> Vec<Vec<u8>> {
    let bytes = corpus(rel);
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

#[test]
fn pymarc_line_pairs_convert_exactly() {
    let marc8 = lines("marc8/pymarc_test_marc8.txt");
    let utf8 = lines("marc8/pymarc_test_utf8.txt");
    assert_eq!(marc8.len(), utf8.len());
    // pymarc's test_marc8_to_unicode counts 1515 pairs.
    assert_eq!(marc8.len(), 1515);
    let mut failures = Vec::new();
    let mut differ_without_nfc = 0;
    for (n, (m, u)) in marc8.iter().zip(&utf8).enumerate() {
        let mut out = Vec::new();
        if let Err(e) = marc8_to_utf8(m, &NFC, &mut out) {
            failures.push(format!("line {}: {e}", n + 1));
            continue;
        }
        if &out != u {
            failures.push(format!(
                "line {}:\n got  {:?}\n want {:?}",
                n + 1,
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(u)
            ));
            continue;
        }
        // Unnormalised output: same text up to composition.
        let mut raw = Vec::new();
        marc8_to_utf8(m, &RAW, &mut raw).unwrap();
        if raw != out {
            differ_without_nfc += 1;
        }
        let raw = String::from_utf8(raw).unwrap();
        let want = std::str::from_utf8(u).unwrap();
        assert_eq!(
            raw.nfd().collect::<String>(),
            want.nfd().collect::<String>(),
            "line {}",
            n + 1
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} lines differ:\n{}",
        failures.len(),
        marc8.len(),
        failures[..failures.len().min(20)].join("\n")
    );
    println!(
        "{} line pairs convert exactly under NFC; {differ_without_nfc} differ without it",
        marc8.len()
    );
}

/// The record as it would be with leader/09 set to `a` and nothing else changed.
fn relabelled(rec: &Record<'_>) -> Vec<u8> {
    let mut bytes = rec.bytes().to_vec();
    bytes[9] = b'a';
    bytes
}

#[test]
fn pymarc_marc_dat_converts_strictly() {
    let bytes = corpus("marc8/pymarc_marc.dat");
    let converted = convert_file(&bytes, &RAW);
    assert_eq!(converted.len(), 20);
    // All ASCII: each record comes back unchanged but for leader/09.
    for (got, rec) in converted.iter().zip(records(&bytes)) {
        assert_eq!(got, &relabelled(&rec));
    }
    assert_eq!(convert_file(&bytes, &NFC), converted);
}

#[test]
fn synthetic_marc8_ascii_converts_strictly() {
    let bytes = corpus("synthetic/encoding_marc8_ascii.mrc");
    let converted = convert_file(&bytes, &RAW);
    assert_eq!(converted.len(), 3);
    for (got, rec) in converted.iter().zip(records(&bytes)) {
        assert_eq!(got, &relabelled(&rec));
    }
}

#[test]
fn rustmarc_sample_converts_strictly() {
    // Leader/09 is blank, but the field data is UTF-8 (transliterated Arabic with U+0323,
    // U+0304, U+02BB...): no ESC, valid UTF-8 throughout. record_to_utf8 takes it for the
    // mislabelled UTF-8 it is and keeps the text; decoding those bytes as MARC-8 would
    // fail (0xCC, 0xCA are unassigned in ANSEL).
    let bytes = corpus("marc8/rustmarc_marc8_sample.mrc");
    let converted = convert_file(&bytes, &RAW);
    assert_eq!(converted.len(), 1);
    let rec = &records(&bytes)[0];
    let got = parse_record(&converted[0], Origin::default(), ParseOptions::default()).unwrap();
    assert_same_fields(&got, rec);
    // Decoding one of its fields as MARC-8 directly is refused in strict mode.
    let f245 = rec.fields().find(|f| &f.tag == b"245").unwrap();
    let mut out = Vec::new();
    assert!(marc8_to_utf8(f245.data, &RAW, &mut out).is_err());
    // Converted under NFC the record still parses, and its text is NFC.
    let nfc = convert_file(&bytes, &NFC);
    let got = parse_record(&nfc[0], Origin::default(), ParseOptions::default()).unwrap();
    for f in got.fields() {
        let s = std::str::from_utf8(f.data).unwrap();
        assert_eq!(s, s.nfc().collect::<String>());
    }
}

#[test]
fn utf8_records_are_returned_unchanged() {
    let bytes = corpus("marc8/pymarc_marc8-to-unicode.dat");
    let rec = &records(&bytes)[0];
    assert!(rec.is_utf8());
    let got = record_to_utf8(rec, Origin::default(), &NFC).unwrap();
    assert_eq!(got, rec.bytes());
}
