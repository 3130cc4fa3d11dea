//! The .mrk writer's promise, property-tested: every UTF-8 record it accepts reads back
//! from its `.mrk` as the same record (fields and leader), and from its MARC-8 `.mrk` as the
//! MARC-8 writer's record; and no input makes the reader panic or buffer past its cap.

use proptest::prelude::*;
use snakepit_core::mrk::{write_record, MrkReader, Style};
use snakepit_core::{
    encode_record_with, parse_record, EncodeOptions, Marc8WriteOptions, OwnedField, OwnedRecord,
};

/// Text rich in what .mrk reserves: `$ { } \`, blanks, controls, mnemonic-like names.
fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z $\\{\\}\\\\é中Жα\u{2603}\u{301}\u{1b}\n\t]{0,16}".prop_map(String::into_bytes),
        1 => "(\\{(dollar|acute|1B|0A|lcub|x)\\}|[ab\\\\$ ]){0,8}".prop_map(String::into_bytes),
    ]
}

fn field() -> impl Strategy<Value = OwnedField> {
    prop_oneof![
        (prop::sample::select(vec![*b"001", *b"008"]), text())
            .prop_map(|(tag, value)| OwnedField::Control { tag, value }),
        (
            prop::sample::select(vec![*b"245", *b"650", *b"ABC"]),
            prop::sample::select(b" 019a".to_vec()),
            prop::sample::select(b" 019a".to_vec()),
            proptest::collection::vec((prop::sample::select(b"a0z9".to_vec()), text()), 0..4),
        )
            .prop_map(|(tag, ind1, ind2, subfields)| OwnedField::Data {
                tag,
                ind1,
                ind2,
                subfields,
            }),
    ]
}

proptest! {
    #[test]
    fn records_read_back_from_their_mrk(fields in proptest::collection::vec(field(), 1..6)) {
        let record = OwnedRecord { leader: *b"00000nam a2200000 a 4500", fields };
        let mut out = Vec::new();
        write_record(&record, Style::Mrk, &mut out).unwrap();
        let back: Vec<_> = MrkReader::new(out.as_slice()).collect();
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(back[0].as_ref().unwrap(), &record);
    }

    #[test]
    fn records_read_back_from_their_marc8_mrk_as_the_marc8_writer_wrote_them(
        fields in proptest::collection::vec(field(), 1..6)
    ) {
        let record = OwnedRecord { leader: *b"00000nam a2200000 a 4500", fields };
        let marc8 = Marc8WriteOptions::default();
        let mut iso = Vec::new();
        let opts = EncodeOptions { marc8: Some(marc8), ..Default::default() };
        let written = encode_record_with(&record, 0, &mut iso, &opts);
        let mut out = Vec::new();
        let mrk = write_record(&record, Style::Marc8Mrk(marc8), &mut out);
        // The same records refused, and for the same reason.
        prop_assert_eq!(written.as_ref().err().map(|e| e.kind), mrk.as_ref().err().map(|e| e.kind));
        if written.is_ok() {
            let back: Vec<_> = MrkReader::new(out.as_slice()).collect();
            prop_assert_eq!(back.len(), 1);
            let want = parse_record(&iso, Default::default(), Default::default()).unwrap();
            prop_assert_eq!(back[0].as_ref().unwrap(), &want.to_owned_record());
        }
    }

    #[test]
    fn any_marc8_input_reads_without_panicking(body in proptest::collection::vec(
        prop::sample::select(b"=245 10\\${}#x0Dacutealpha\n\x1b\xe2\xc3".to_vec()), 0..400)) {
        let mut input = b"=LDR  00000nam  2200000   4500\n".to_vec();
        input.extend_from_slice(&body);
        let reader = MrkReader::new(input.as_slice()).with_max_record(256);
        prop_assert!(reader.take(1000).count() <= input.len() + 1);
    }

    #[test]
    fn any_input_reads_without_panicking(input in proptest::collection::vec(
        prop::sample::select(b"=LDR 0245\\${}\n\r$ab".to_vec()), 0..400)) {
        let reader = MrkReader::new(input.as_slice()).with_max_record(128);
        prop_assert!(reader.take(1000).count() <= input.len() + 1);
    }
}
