//! MARC-8 decoder behaviour, one property at a time.

use snakepit_core::marc8::{
    marc8_to_utf8, record_to_utf8, Marc8Decoder, Marc8ErrorMode, Marc8Options, Normalization,
};
use snakepit_core::{parse_record, ErrorKind, Origin, OwnedField, OwnedRecord, ParseOptions};

fn opts(normalization: Normalization, on_error: Marc8ErrorMode) -> Marc8Options {
    Marc8Options {
        normalization,
        on_error,
        decode_ncrs: false,
    }
}

fn conv_with(input: &[u8], o: Marc8Options) -> Result<String, snakepit_core::Marc8Error> {
    let mut out = Vec::new();
    marc8_to_utf8(input, &o, &mut out)?;
    Ok(String::from_utf8(out).expect("decoder output is UTF-8"))
}

/// Strict, no normalisation.
fn conv(input: &[u8]) -> String {
    conv_with(input, Marc8Options::default())
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)))
}

fn replace(input: &[u8]) -> String {
    conv_with(input, opts(Normalization::None, Marc8ErrorMode::Replace)).unwrap()
}

fn drop(input: &[u8]) -> String {
    conv_with(input, opts(Normalization::None, Marc8ErrorMode::Drop)).unwrap()
}

#[test]
fn default_options_are_strict_without_normalisation() {
    let o = Marc8Options::default();
    assert_eq!(o.normalization, Normalization::None);
    assert_eq!(o.on_error, Marc8ErrorMode::Strict);
}

#[test]
fn plain_ascii_is_copied() {
    assert_eq!(conv(b""), "");
    assert_eq!(conv(b"Hello, world 123 ~"), "Hello, world 123 ~");
    // Controls other than ESC pass through too.
    assert_eq!(conv(b"a\tb\x7fc"), "a\tb\x7fc");
    let mut out = b"keep:".to_vec();
    marc8_to_utf8(b"abc", &Marc8Options::default(), &mut out).unwrap();
    assert_eq!(out, b"keep:abc");
}

#[test]
fn single_diacritic_moves_after_its_base() {
    // ANSEL 0xE2 = combining acute (U+0301), written before the base in MARC-8.
    assert_eq!(conv(b"caf\xe2e"), "cafe\u{301}");
    assert_eq!(conv(b"\xe1a la"), "a\u{300} la");
}

#[test]
fn several_diacritics_keep_their_order() {
    // circumflex (0xE3), dot below (0xF2), then the base: marks follow the base in the
    // order written.
    assert_eq!(conv(b"\xe3\xf2a"), "a\u{302}\u{323}");
    assert_eq!(conv(b"\xf2\xe3a"), "a\u{323}\u{302}");
    // NFD puts them in canonical order (dot below, class 220, before circumflex, 230);
    // NFC composes both to U+1EAD either way.
    let nfd = opts(Normalization::Nfd, Marc8ErrorMode::Strict);
    assert_eq!(conv_with(b"\xe3\xf2a", nfd).unwrap(), "a\u{323}\u{302}");
    let nfc = opts(Normalization::Nfc, Marc8ErrorMode::Strict);
    assert_eq!(conv_with(b"\xe3\xf2a", nfc).unwrap(), "\u{1ead}");
    assert_eq!(conv_with(b"\xf2\xe3a", nfc).unwrap(), "\u{1ead}");
}

#[test]
fn marks_attach_to_non_ascii_bases_and_survive_at_the_end() {
    // Acute over ANSEL's æ (0xB5).
    assert_eq!(conv(b"\xe2\xb5"), "\u{e6}\u{301}");
    // A mark with no base after it is kept, not lost.
    assert_eq!(conv(b"ab\xe2"), "ab\u{301}");
}

#[test]
fn nfc_option_composes() {
    let nfc = opts(Normalization::Nfc, Marc8ErrorMode::Strict);
    assert_eq!(
        conv_with(b"De la solitude \xe1a la communaut\xe2e.", nfc).unwrap(),
        "De la solitude \u{e0} la communaut\u{e9}."
    );
    let nfd = opts(Normalization::Nfd, Marc8ErrorMode::Strict);
    assert_eq!(conv_with(b"\xe2e", nfd).unwrap(), "e\u{301}");
    // Off by default.
    assert_eq!(conv(b"\xe2e"), "e\u{301}");
}

#[test]
fn ansel_spacing_characters() {
    // pymarc's own checks: Eszett, Euro sign (added June 2004), alif (remapped March 2005).
    assert_eq!(conv(b"\xc7"), "\u{df}");
    assert_eq!(conv(b"\xc8"), "\u{20ac}");
    assert_eq!(conv(b"\xae"), "\u{2bc}");
    assert_eq!(conv(b"\xa1\xb1"), "\u{141}\u{142}"); // Ł ł
}

#[test]
fn greek() {
    assert_eq!(conv(b"\x1b(Sa\x1b(B"), "\u{3b1}");
    assert_eq!(conv(b"\x1b(SABD\x1b(B!"), "\u{391}\u{392}\u{393}!");
}

#[test]
fn greek_symbols_subscripts_superscripts_technique_1() {
    assert_eq!(conv(b"\x1bga\x1bs"), "\u{3b1}");
    assert_eq!(conv(b"CO\x1bb2\x1bs is a gas"), "CO\u{2082} is a gas");
    assert_eq!(conv(b"CO\x1bb2\x1bs"), "CO\u{2082}");
    assert_eq!(conv(b"x\x1bp2\x1bs"), "x\u{b2}");
    assert_eq!(conv(b"\x1bp(+)\x1bs"), "\u{207d}\u{207a}\u{207e}");
}

#[test]
fn cyrillic_basic_and_extended() {
    assert_eq!(conv(b"\x1b(Nabc\x1b(B"), "\u{410}\u{411}\u{426}");
    assert_eq!(conv(b"\x1b(NA\x1b(B"), "\u{430}");
    // Extended Cyrillic designated as G1: 0xC0 = ґ (U+0491).
    assert_eq!(conv(b"\x1b)Q\xc0\xe0"), "\u{491}\u{490}");
}

#[test]
fn hebrew_alef() {
    assert_eq!(conv(b"\x1b(2`\x1b(B"), "\u{5d0}");
}

#[test]
fn arabic_basic_and_extended() {
    assert_eq!(conv(b"\x1b(3G\x1b(B"), "\u{627}");
    // Extended Arabic as G1: 0xA9 = peh (U+067E).
    assert_eq!(conv(b"\x1b)4\xa9"), "\u{67e}");
}

#[test]
fn eacc_ideograph() {
    // ESC $ 1 designates EACC as G0; 21 30 64 is U+4EBA.
    assert_eq!(conv(b"\x1b$1!0d\x1b(B"), "\u{4eba}");
    assert_eq!(conv(b"\x1b$1!0d!0d\x1b(B ok"), "\u{4eba}\u{4eba} ok");
    // Also reachable with ESC $ ( 1 and ESC $ , 1.
    assert_eq!(conv(b"\x1b$(1!0d"), "\u{4eba}");
    assert_eq!(conv(b"\x1b$,1!0d"), "\u{4eba}");
    // Space and controls stay single bytes in EACC.
    assert_eq!(conv(b"\x1b$1!0d !0d"), "\u{4eba} \u{4eba}");
}

#[test]
fn g0_and_g1_switch_independently() {
    // G1 Cyrillic while G0 stays ASCII, then G1 back to ANSEL with ESC ) ! E.
    assert_eq!(conv(b"a\x1b)N\xe1b\x1b)!E\xe2e"), "a\u{410}be\u{301}");
    // ESC - F is a G1 designation too; ESC , F a G0 one.
    assert_eq!(conv(b"\x1b-N\xe1\x1b,Na"), "\u{410}\u{410}");
    // Greek in G0 with ANSEL still in G1: an ANSEL acute over a Greek capital alpha.
    assert_eq!(conv(b"\x1b(Sa\xe2A"), "\u{3b1}\u{391}\u{301}");
}

#[test]
fn c1_controls_from_the_loc_tables() {
    // NSB / NSE around a non-filing article; ZWJ, ZWNJ.
    assert_eq!(conv(b"\x88The \x89cat"), "\u{98}The \u{9c}cat");
    assert_eq!(conv(b"\x8d\x8e"), "\u{200d}\u{200c}");
}

#[test]
fn decoder_keeps_designations_across_calls_until_reset() {
    let mut d = Marc8Decoder::new(Marc8Options::default());
    let mut out = Vec::new();
    d.decode(b"\x1b(Nab", &mut out).unwrap();
    out.push(b'|');
    d.decode(b"ab", &mut out).unwrap(); // still Cyrillic
    d.reset();
    out.push(b'|');
    d.decode(b"ab", &mut out).unwrap(); // ASCII again
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\u{410}\u{411}|\u{410}\u{411}|ab"
    );
}

#[test]
fn bad_escape_in_each_mode() {
    // ESC ( Z: well formed, but Z designates no MARC-8 set.
    let input = b"ab\x1b(Zcd";
    let e = conv_with(input, Marc8Options::default()).unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(e.detail.contains("1B 28 5A"), "{}", e.detail);
    assert!(e.detail.contains("byte 2"), "{}", e.detail);
    assert_eq!(replace(input), "ab\u{fffd}cd");
    assert_eq!(drop(input), "abcd");

    // ESC followed by a byte that starts no sequence: only the ESC is bad, the rest of the
    // text is still decoded (pymarc's bad_marc8_escape.dat has this).
    let input = b"Soci\x1bt\xe2e linn\x1benne";
    let e = conv_with(input, Marc8Options::default()).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(e.detail.contains("1B 74"), "{}", e.detail);
    assert_eq!(replace(input), "Soci\u{fffd}te\u{301} linn\u{fffd}enne");
    assert_eq!(drop(input), "Socite\u{301} linnenne");

    // Cut short by the end of the input.
    assert_eq!(replace(b"ab\x1b"), "ab\u{fffd}");
    assert_eq!(replace(b"ab\x1b("), "ab\u{fffd}(");
    assert_eq!(replace(b"ab\x1b$"), "ab\u{fffd}$");
    assert_eq!(
        conv_with(b"ab\x1b$", Marc8Options::default())
            .unwrap_err()
            .offset,
        2
    );
    assert_eq!(drop(b"ab\x1b,"), "ab,");

    // An unknown set keeps the sets in force.
    assert_eq!(replace(b"\x1b(N\x1b(Za"), "\u{fffd}\u{410}");
}

#[test]
fn unknown_code_in_each_mode() {
    // 0xCC is unassigned in ANSEL.
    let input = b"x\xccy";
    let e = conv_with(input, Marc8Options::default()).unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(e.detail.contains("0xCC"), "{}", e.detail);
    assert!(e.detail.contains("ANSEL"), "{}", e.detail);
    assert_eq!(replace(input), "x\u{fffd}y");
    assert_eq!(drop(input), "xy");
    // 0xA0 and 0xFF are never characters; nor is a C1 byte the tables leave out.
    assert_eq!(replace(b"\xa0\xff\x80"), "\u{fffd}\u{fffd}\u{fffd}");
    // Greek has no digit 6.
    assert_eq!(replace(b"\x1b(S6"), "\u{fffd}");
    // An unassigned EACC code: the three bytes become one U+FFFD.
    assert_eq!(replace(b"\x1b$1!!!!0d"), "\u{fffd}\u{4eba}");
    // A strict error leaves the output as it was.
    let mut out = b"prefix".to_vec();
    assert!(marc8_to_utf8(b"ok\xcc", &Marc8Options::default(), &mut out).is_err());
    assert_eq!(out, b"prefix");
}

#[test]
fn truncated_eacc_at_end() {
    let input = b"\x1b$1!0d!0";
    let e = conv_with(input, Marc8Options::default()).unwrap_err();
    assert_eq!(e.offset, 6);
    assert!(e.detail.contains("21 30"), "{}", e.detail);
    assert!(e.detail.contains("truncated"), "{}", e.detail);
    assert_eq!(replace(input), "\u{4eba}\u{fffd}");
    assert_eq!(drop(input), "\u{4eba}");
    // Broken by an escape: the escape and what follows still decode.
    assert_eq!(replace(b"\x1b$1!0\x1b(Bok"), "\u{fffd}ok");
}

#[test]
fn pending_marks_and_errors() {
    // A replaced byte is a base for the marks before it; a dropped one is not.
    assert_eq!(replace(b"\xe2\xcca"), "\u{fffd}\u{301}a");
    assert_eq!(drop(b"\xe2\xcca"), "a\u{301}");
}

fn marc8_record(fields: Vec<OwnedField>) -> Vec<u8> {
    let mut leader = *b"00000nam  2200000   4500";
    leader[9] = b' ';
    OwnedRecord { leader, fields }.encode().unwrap()
}

fn data(tag: &[u8; 3], subfields: &[(u8, &[u8])]) -> OwnedField {
    OwnedField::Data {
        tag: *tag,
        ind1: b'1',
        ind2: b'0',
        subfields: subfields.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
    }
}

#[test]
fn record_designations_persist_across_subfields_and_reset_per_field() {
    let bytes = marc8_record(vec![
        OwnedField::Control {
            tag: *b"001",
            value: b"id1".to_vec(),
        },
        data(b"245", &[(b'a', b"\x1b(Nab"), (b'b', b"ab\x1b(B!")]),
        data(b"246", &[(b'a', b"ab"), (b'b', b"caf\xe2e")]),
    ]);
    let rec = parse_record(&bytes, Origin::default(), ParseOptions::default()).unwrap();
    assert!(!rec.is_utf8());
    let out = record_to_utf8(&rec, Origin::default(), &Marc8Options::default()).unwrap();
    let got = parse_record(&out, Origin::default(), ParseOptions::default()).unwrap();
    assert!(got.is_utf8());
    let fields: Vec<OwnedField> = got.fields().map(|f| f.to_owned_field()).collect();
    assert_eq!(
        fields,
        vec![
            OwnedField::Control {
                tag: *b"001",
                value: b"id1".to_vec(),
            },
            data(
                b"245",
                &[
                    (b'a', "\u{410}\u{411}".as_bytes()),
                    (b'b', "\u{410}\u{411}!".as_bytes())
                ]
            ),
            data(b"246", &[(b'a', b"ab"), (b'b', "cafe\u{301}".as_bytes())]),
        ]
    );
    // The new record's lengths are its own.
    assert_eq!(
        std::str::from_utf8(&out[..5]).unwrap(),
        format!("{:05}", out.len())
    );
}

#[test]
fn record_errors_name_record_and_absolute_offset() {
    let bytes = marc8_record(vec![
        OwnedField::Control {
            tag: *b"001",
            value: b"id1".to_vec(),
        },
        data(b"245", &[(b'a', b"ok"), (b'b', b"bad \xcc here")]),
    ]);
    let rec = parse_record(&bytes, Origin::default(), ParseOptions::default()).unwrap();
    let origin = Origin {
        index: 7,
        offset: 1000,
    };
    let e = record_to_utf8(&rec, origin, &Marc8Options::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidMarc8);
    assert_eq!(e.record_index, 7);
    let at = bytes.iter().position(|&b| b == 0xCC).unwrap();
    assert_eq!(e.byte_offset, 1000 + at as u64);
    assert_eq!(e.excerpt[0], 0xCC);
    assert!(e.detail.contains("245"), "{}", e.detail);

    // Replace mode: the record converts, with U+FFFD in place.
    let o = opts(Normalization::None, Marc8ErrorMode::Replace);
    let out = record_to_utf8(&rec, origin, &o).unwrap();
    let got = parse_record(&out, origin, ParseOptions::default()).unwrap();
    let f = got.fields().nth(1).unwrap();
    let b = f.subfields().nth(1).unwrap();
    assert_eq!(b.value, "bad \u{fffd} here".as_bytes());
}

#[test]
fn record_already_utf8_is_returned_as_is() {
    let mut bytes = marc8_record(vec![data(b"245", &[(b'a', "caf\u{e9}".as_bytes())])]);
    bytes[9] = b'a';
    let rec = parse_record(&bytes, Origin::default(), ParseOptions::default()).unwrap();
    let out = record_to_utf8(&rec, Origin::default(), &Marc8Options::default()).unwrap();
    assert_eq!(out, bytes);
}
