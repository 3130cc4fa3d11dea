//! The .mrk writer's promise, property-tested: every UTF-8 record it accepts reads back
//! from its `.mrk` as the same record (fields and leader), and no input makes the reader
//! panic or buffer past its cap.

use proptest::prelude::*;
use snakepit_core::mrk::{write_record, MrkReader, Style};
use snakepit_core::{OwnedField, OwnedRecord};

/// Text rich in what .mrk reserves: `$ { } \`, blanks, controls, mnemonic-like names.
fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z $\\{\\}\\\\é中\u{1b}\n\t]{0,16}".prop_map(String::into_bytes),
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
    fn any_input_reads_without_panicking(input in proptest::collection::vec(
        prop::sample::select(b"=LDR 0245\\${}\n\r$ab".to_vec()), 0..400)) {
        let reader = MrkReader::new(input.as_slice()).with_max_record(128);
        prop_assert!(reader.take(1000).count() <= input.len() + 1);
    }
}
