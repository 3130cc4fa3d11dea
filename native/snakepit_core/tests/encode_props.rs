//! The encoder's promise, property-tested over arbitrary (mostly invalid) owned records:
//! `encode` gives bytes that `parse_record` reads back to the same record (leader/00-04 and
//! 12-16 recomputed), or a typed error, and it accepts exactly what `check_record` accepts
//! (sizes aside), so the ISO 2709, JSON and XML writers cannot disagree.

use proptest::prelude::*;
use snakepit_core::{
    check_record, encode_record, parse_record, ErrorKind, Origin, OwnedField, OwnedRecord,
    ParseOptions,
};

/// Bytes rich in what matters: delimiters, high bytes, fold leads (0xC3), digits, letters.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => prop::sample::select(b"abcz019 ./".to_vec()),
        1 => prop::sample::select(vec![0x1Du8, 0x1E, 0x1F, 0xC3, 0xA1, 0x80, 0xFF, 0x00, 0x7F]),
        1 => any::<u8>(),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z é中]{0,12}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(byte(), 0..max),
    ]
}

fn tag() -> impl Strategy<Value = [u8; 3]> {
    prop_oneof![
        4 => prop::sample::select(vec![*b"001", *b"008", *b"245", *b"650", *b"ABC", *b"00A"]),
        1 => proptest::array::uniform3(byte()),
    ]
}

fn field() -> impl Strategy<Value = OwnedField> {
    prop_oneof![
        (tag(), bytes(16)).prop_map(|(tag, value)| OwnedField::Control { tag, value }),
        (
            tag(),
            prop_oneof![4 => Just(b' '), 1 => byte()],
            prop_oneof![4 => Just(b'0'), 1 => byte()],
            proptest::collection::vec((prop_oneof![4 => Just(b'a'), 1 => byte()], bytes(16)), 0..4),
        )
            .prop_map(|(tag, ind1, ind2, subfields)| OwnedField::Data {
                tag,
                ind1,
                ind2,
                subfields,
            }),
    ]
}

fn record() -> impl Strategy<Value = OwnedRecord> {
    (
        prop::sample::select(vec![b'a', b' ']),
        prop_oneof![8 => Just(b'n'), 1 => byte()],
        proptest::collection::vec(field(), 0..6),
    )
        .prop_map(|(l9, l5, fields)| {
            let mut leader = *b"00000nam a2200000 a 4500";
            leader[9] = l9;
            leader[5] = l5;
            OwnedRecord { leader, fields }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn encode_round_trips_or_refuses(rec in record()) {
        let checked = check_record(&rec, 7);
        let mut out = b"prefix".to_vec();
        match encode_record(&rec, 7, &mut out) {
            Ok(()) => {
                prop_assert!(checked.is_ok());
                let bytes = &out[6..];
                let parsed = parse_record(bytes, Origin::default(), ParseOptions::default())
                    .map_err(|e| TestCaseError::fail(format!("encoded but unreadable: {e}")))?;
                let back = parsed.to_owned_record();
                prop_assert_eq!(&back.fields, &rec.fields);
                prop_assert_eq!(&back.leader[5..12], &rec.leader[5..12]);
                prop_assert_eq!(&back.leader[17..], &rec.leader[17..]);
            }
            Err(e) => {
                prop_assert_eq!(&out, b"prefix", "nothing written on error");
                prop_assert_eq!(e.record_index, 7);
                prop_assert!(
                    matches!(e.kind, ErrorKind::InvalidValue | ErrorKind::NoFields),
                    "{e}"
                );
                // Same verdict, same words, from the check every writer runs.
                prop_assert_eq!(checked.unwrap_err(), e);
            }
        }
    }
}
