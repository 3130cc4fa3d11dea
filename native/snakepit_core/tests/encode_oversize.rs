//! Writing records and fields too large for ISO 2709's length digits: `Oversize::Error`
//! (the default) refuses them; `Oversize::ZeroLength` writes zeros, and the reader frames
//! such records by their terminators.

use snakepit_core::{
    encode_record, encode_record_with, read_all, EncodeOptions, ErrorKind, Mode, Oversize,
    OwnedField, OwnedRecord, ParseOptions,
};

const ZERO: EncodeOptions = EncodeOptions {
    marc8: None,
    oversize: Oversize::ZeroLength,
};

fn data(tag: &[u8; 3], value: Vec<u8>) -> OwnedField {
    OwnedField::Data {
        tag: *tag,
        ind1: b' ',
        ind2: b' ',
        subfields: vec![(b'a', value)],
    }
}

fn record(fields: Vec<OwnedField>) -> OwnedRecord {
    let mut all = vec![OwnedField::Control {
        tag: *b"001",
        value: b"id".to_vec(),
    }];
    all.extend(fields);
    OwnedRecord {
        leader: *b"00000nam a2200000 a 4500",
        fields: all,
    }
}

/// The fields of every record of `bytes` (leaders differ: lengths are recomputed).
fn read_back(bytes: &[u8]) -> Vec<Vec<OwnedField>> {
    let (items, skipped) = read_all(bytes, Mode::Strict, ParseOptions::default()).unwrap();
    assert_eq!(skipped, 0);
    items
        .into_iter()
        .map(|i| i.unwrap().to_owned_record().fields)
        .collect()
}

#[test]
fn a_field_over_9999_bytes_gets_length_0000() {
    let r = record(vec![
        data(b"505", vec![b'x'; 12_000]),
        data(b"245", b"T".to_vec()),
    ]);
    let e = encode_record(&r, 4, &mut Vec::new()).unwrap_err();
    assert_eq!((e.kind, e.record_index), (ErrorKind::TooLarge, 4));
    assert!(
        e.detail.contains("field 1 (505) would be 12005 bytes"),
        "{}",
        e.detail
    );

    let mut out = Vec::new();
    encode_record_with(&r, 0, &mut out, &ZERO).unwrap();
    // Directory: 001 (3 bytes at 0), 505 (not recorded, at 3), 245 (6 bytes) at 12008.
    assert_eq!(&out[24..60], b"001000300000505000000003245000612008");
    assert_eq!(&out[..5], format!("{:05}", out.len()).as_bytes());
    assert!(read_back(&out) == vec![r.fields], "fields differ");
}

#[test]
fn a_record_over_99999_bytes_gets_length_00000() {
    // Thirteen fields of 9,005 bytes: the last starts at 108,063.
    let r = record((0..13).map(|_| data(b"500", vec![b'y'; 9_000])).collect());
    let e = encode_record(&r, 0, &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(e.detail.contains("ISO 2709 allows 99999"), "{}", e.detail);

    let mut out = Vec::new();
    encode_record_with(&r, 0, &mut out, &ZERO).unwrap();
    assert!(out.len() > 99_999);
    assert_eq!(&out[..5], b"00000");
    // The last 500 starts past 99,999: length and start both zero.
    let last = 24 + 13 * 12;
    assert_eq!(&out[last..last + 12], b"500000000000");
    // Read back, alone and between two ordinary records.
    assert!(read_back(&out) == vec![r.fields.clone()], "fields differ");
    let small = record(vec![data(b"245", b"small".to_vec())]);
    let mut file = Vec::new();
    encode_record(&small, 0, &mut file).unwrap();
    file.extend_from_slice(&out);
    encode_record(&small, 0, &mut file).unwrap();
    let want = vec![small.fields.clone(), r.fields, small.fields];
    assert!(read_back(&file) == want, "fields differ");
}

#[test]
fn a_directory_too_long_for_the_base_address_is_refused_even_with_zero_length() {
    let r = record((0..10_000).map(|_| data(b"500", b"x".to_vec())).collect());
    let mut out = b"keep".to_vec();
    let e = encode_record_with(&r, 0, &mut out, &ZERO).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert_eq!(out, b"keep");
}
