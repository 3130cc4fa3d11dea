//! Properties of the MARC-8 decoder over arbitrary input.

use proptest::prelude::*;
use snakepit_core::marc8::{
    marc8_to_utf8, record_to_utf8, Marc8ErrorMode, Marc8Options, Normalization,
};
use snakepit_core::{parse_record, Origin, OwnedField, OwnedRecord, ParseOptions};

const MODES: [Marc8ErrorMode; 3] = [
    Marc8ErrorMode::Strict,
    Marc8ErrorMode::Replace,
    Marc8ErrorMode::Drop,
];
const FORMS: [Normalization; 3] = [Normalization::None, Normalization::Nfc, Normalization::Nfd];

/// Bytes biased towards what MARC-8 decoding branches on: escapes and their intermediates
/// and finals, EACC lead bytes, diacritics, C1, as well as anything at all.
fn marc8ish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => Just(0x1Bu8),
        2 => prop::sample::select(b"()$,-!".to_vec()),
        2 => prop::sample::select(b"BE1234NQSgbps".to_vec()),
        2 => 0x21u8..=0x7E,
        1 => 0xE0u8..=0xFE,
        1 => 0x80u8..=0xA0,
    ];
    prop::collection::vec(byte, 0..200)
}

fn run(input: &[u8], normalization: Normalization, on_error: Marc8ErrorMode) -> Option<Vec<u8>> {
    let opts = Marc8Options {
        normalization,
        on_error,
        decode_ncrs: false,
    };
    let mut out = b"<".to_vec();
    match marc8_to_utf8(input, &opts, &mut out) {
        Ok(()) => {
            assert!(out.starts_with(b"<"));
            Some(out[1..].to_vec())
        }
        Err(e) => {
            assert_eq!(on_error, Marc8ErrorMode::Strict, "only strict mode fails");
            assert!(
                e.offset < input.len().max(1),
                "offset {} past input",
                e.offset
            );
            assert_eq!(out, b"<", "a failed conversion leaves the output alone");
            None
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_replace_is_valid_utf8(input in marc8ish()) {
        for form in FORMS {
            let strict = run(&input, form, Marc8ErrorMode::Strict);
            let replace = run(&input, form, Marc8ErrorMode::Replace).expect("replace never fails");
            let drop = run(&input, form, Marc8ErrorMode::Drop).expect("drop never fails");
            prop_assert!(std::str::from_utf8(&replace).is_ok());
            prop_assert!(std::str::from_utf8(&drop).is_ok());
            if let Some(strict) = strict {
                prop_assert!(std::str::from_utf8(&strict).is_ok());
                // Input strict mode accepts converts the same in every mode.
                prop_assert_eq!(&replace, &strict);
                prop_assert_eq!(&drop, &strict);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..300)) {
        for form in FORMS {
            for mode in MODES {
                if let Some(out) = run(&input, form, mode) {
                    prop_assert!(std::str::from_utf8(&out).is_ok());
                }
            }
        }
    }

    /// Whatever comes before, a return to ASCII followed by text gets that text out: a bad
    /// byte never takes the rest of the field with it.
    #[test]
    fn bad_bytes_never_swallow_what_follows(input in marc8ish()) {
        let mut bytes = input.clone();
        bytes.extend_from_slice(b"\x1b(B tail");
        for mode in [Marc8ErrorMode::Replace, Marc8ErrorMode::Drop] {
            let out = run(&bytes, Normalization::None, mode).unwrap();
            prop_assert!(out.ends_with(b"tail"), "{:?}", String::from_utf8_lossy(&out));
        }
    }

    /// Any MARC-8 record converts in replace mode to a record that parses as valid UTF-8.
    #[test]
    fn records_convert_to_valid_utf8_records(
        values in prop::collection::vec(
            prop::collection::vec(any::<u8>().prop_filter("no separators", |b| !(0x1D..=0x1F).contains(b)), 0..60),
            1..6,
        )
    ) {
        let fields = values
            .iter()
            .enumerate()
            .map(|(i, v)| OwnedField::Data {
                tag: *format!("{:03}", 245 + i).as_bytes().first_chunk().unwrap(),
                ind1: b' ',
                ind2: b' ',
                subfields: vec![(b'a', v.clone()), (b'b', v.clone())],
            })
            .collect();
        let bytes = OwnedRecord { leader: *b"00000nam  2200000   4500", fields }.encode().unwrap();
        let rec = parse_record(&bytes, Origin::default(), ParseOptions::default()).unwrap();
        for form in FORMS {
            let opts = Marc8Options { normalization: form, on_error: Marc8ErrorMode::Replace, decode_ncrs: false };
            let out = record_to_utf8(&rec, Origin::default(), &opts).unwrap();
            let got = parse_record(&out, Origin::default(), ParseOptions::default()).unwrap();
            prop_assert!(got.is_utf8());
            prop_assert_eq!(got.spans().len(), values.len());
        }
    }
}
