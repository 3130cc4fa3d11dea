use super::*;
use crate::record::OwnedField;

/// Encoded as MARC-8 and then labelled `leader9`: the encoder refuses invalid UTF-8 under
/// leader/09 `a`, and these tests need such records.
fn record(leader9: u8, fields: Vec<OwnedField>) -> Vec<u8> {
    let leader = *b"00000nam  2200000   4500";
    let mut bytes = OwnedRecord { leader, fields }.encode().unwrap();
    bytes[9] = leader9;
    bytes
}

fn data(tag: &[u8; 3], subfields: &[(u8, &[u8])]) -> OwnedField {
    OwnedField::Data {
        tag: *tag,
        ind1: b' ',
        ind2: b' ',
        subfields: subfields.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
    }
}

fn control(tag: &[u8; 3], value: &[u8]) -> OwnedField {
    OwnedField::Control {
        tag: *tag,
        value: value.to_vec(),
    }
}

const ORIGIN: Origin = Origin {
    index: 3,
    offset: 1000,
};

fn read(bytes: &[u8], recovery: Recovery) -> Result<(OwnedRecord, Vec<Repair>)> {
    read_with(bytes, recovery, None)
}

fn read_with(
    bytes: &[u8],
    recovery: Recovery,
    marc8: Option<&Marc8Options>,
) -> Result<(OwnedRecord, Vec<Repair>)> {
    Ok(
        match decode(bytes, ORIGIN, ParseOptions::default(), recovery, marc8)? {
            Decoded::Borrowed(r) => (r.to_owned_record(), Vec::new()),
            Decoded::Owned {
                bytes,
                spans,
                repairs,
            } => (
                Record::from_parts(&bytes, spans).unwrap().to_owned_record(),
                repairs,
            ),
        },
    )
}

fn first_value(r: &OwnedRecord) -> Vec<u8> {
    match &r.fields[0] {
        OwnedField::Control { value, .. } => value.clone(),
        OwnedField::Data { subfields, .. } => subfields[0].1.clone(),
    }
}

fn utf8(policy: Utf8Errors) -> Recovery {
    Recovery {
        utf8_errors: policy,
        ..Recovery::default()
    }
}

#[test]
fn invalid_utf8_stays_an_error_by_default() {
    let bytes = record(b'a', vec![data(b"245", &[(b'a', b"a\xffb")])]);
    let err = read(&bytes, Recovery::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidUtf8);
}

#[test]
fn replace_writes_one_replacement_per_maximal_subpart() {
    // Truncated 4-byte sequence (one subpart), a lone continuation byte, and E0 80 80 (E0
    // needs A0..BF next: three subparts), as String::from_utf8_lossy counts them.
    let value: &[u8] = b"a\xF0\x9F\x98 b\x80c\xE0\x80\x80d";
    let bytes = record(
        b'a',
        vec![control(b"001", b"id"), data(b"245", &[(b'a', value)])],
    );
    let (rec, repairs) = read(&bytes, utf8(Utf8Errors::Replace)).unwrap();
    let OwnedField::Data { subfields, .. } = &rec.fields[1] else {
        panic!()
    };
    assert_eq!(
        subfields[0].1,
        "a\u{FFFD} b\u{FFFD}c\u{FFFD}\u{FFFD}\u{FFFD}d".as_bytes()
    );
    assert_eq!(
        String::from_utf8_lossy(value).as_bytes(),
        &subfields[0].1[..]
    );
    assert_eq!(repairs.len(), 1);
    let repair = &repairs[0];
    assert_eq!(
        (repair.kind, repair.tag),
        (RepairKind::Utf8Replaced, Some(*b"245"))
    );
    // The first bad byte: after the leader, a 2-entry directory, 001 (3 bytes), the
    // indicators, the delimiter, the code and "a".
    let base = 24 + 2 * 12 + 1;
    assert_eq!(repair.byte_offset, 1000 + (base + 3 + 2 + 2 + 1) as u64);
    assert_eq!(bytes[repair.byte_offset as usize - 1000], 0xF0);
    assert!(repair.detail.contains("5 invalid"), "{}", repair.detail);
}

#[test]
fn drop_leaves_invalid_sequences_out() {
    let bytes = record(b'a', vec![control(b"001", b"i\xC3d")]);
    let (rec, repairs) = read(&bytes, utf8(Utf8Errors::Drop)).unwrap();
    assert_eq!(first_value(&rec), b"id");
    assert_eq!(repairs[0].kind, RepairKind::Utf8Dropped);
    assert_eq!(rec.leader[9], b'a');
}

#[test]
fn an_unreadable_subfield_code_reads_as_pymarc_reads_it() {
    // pymarc_utf8_invalid.mrc's 260: a delimiter, then U+FFFD, then "bAssociation".
    let mut bytes = record(b'a', vec![data(b"260", &[(b'a', b"x"), (b'?', b"bAssoc")])]);
    let at = bytes.iter().position(|&b| b == b'?').unwrap();
    bytes.splice(at..at + 1, "\u{FFFD}".bytes());
    let len = format!("{:05}", bytes.len());
    bytes[..5].copy_from_slice(len.as_bytes());
    let (rec, repairs) = read(&bytes, utf8(Utf8Errors::Replace)).unwrap();
    let OwnedField::Data { subfields, .. } = &rec.fields[0] else {
        panic!()
    };
    assert_eq!(subfields[1], (b'b', b"bAssoc".to_vec()));
    assert_eq!(repairs[0].kind, RepairKind::SubfieldCode);
}

#[test]
fn non_ascii_indicators_read_as_blanks() {
    let mut bytes = record(b'a', vec![data(b"245", &[(b'a', b"x")])]);
    let base = 24 + 12 + 1;
    bytes[base] = 0xE9;
    let (rec, repairs) = read(&bytes, utf8(Utf8Errors::Replace)).unwrap();
    let OwnedField::Data { ind1, .. } = &rec.fields[0] else {
        panic!()
    };
    assert_eq!(*ind1, b' ');
    assert_eq!(repairs[0].kind, RepairKind::Indicator);
}

#[test]
fn auto_reads_utf8_labelled_marc8_as_utf8() {
    let bytes = record(b' ', vec![data(b"245", &[(b'a', "café".as_bytes())])]);
    let auto = Recovery {
        encoding: EncodingPolicy::Auto,
        ..Recovery::default()
    };
    let (rec, repairs) = read(&bytes, auto).unwrap();
    assert_eq!(rec.leader[9], b'a');
    assert_eq!(first_value(&rec), "café".as_bytes());
    assert_eq!(repairs[0].kind, RepairKind::EncodingUtf8);
    assert_eq!(repairs[0].byte_offset, 1009);
    // Converted when asked, normalised as asked, with the same repair.
    let nfd = Marc8Options {
        normalization: crate::marc8::Normalization::Nfd,
        ..Marc8Options::default()
    };
    let (rec, repairs) = read_with(&bytes, auto, Some(&nfd)).unwrap();
    assert_eq!(first_value(&rec), "cafe\u{301}".as_bytes());
    assert_eq!(repairs[0].kind, RepairKind::EncodingUtf8);
    // Declared: the bytes stay as they were, labelled MARC-8, with no repair.
    let (rec, repairs) = read(&bytes, Recovery::default()).unwrap();
    assert_eq!((rec.leader[9], repairs.len()), (b' ', 0));
    // Plain ASCII says nothing either way.
    let ascii = record(b' ', vec![data(b"245", &[(b'a', b"cafe")])]);
    assert_eq!(read(&ascii, auto).unwrap().1, []);
}

#[test]
fn auto_reads_marc8_labelled_utf8_as_marc8() {
    // ANSEL E2 is the combining acute accent, written before its base letter.
    let bytes = record(b'a', vec![data(b"245", &[(b'a', b"caf\xE2e")])]);
    let auto = Recovery {
        encoding: EncodingPolicy::Auto,
        ..Recovery::default()
    };
    let (rec, repairs) = read(&bytes, auto).unwrap();
    assert_eq!(
        (rec.leader[9], first_value(&rec)),
        (b' ', b"caf\xE2e".to_vec())
    );
    assert_eq!(repairs[0].kind, RepairKind::EncodingMarc8);
    let marc8 = Marc8Options {
        normalization: crate::marc8::Normalization::Nfc,
        ..Marc8Options::default()
    };
    let (rec, _) = read_with(&bytes, auto, Some(&marc8)).unwrap();
    assert_eq!(
        (rec.leader[9], first_value(&rec)),
        (b'a', "café".as_bytes().to_vec())
    );
    // A field with a real multibyte UTF-8 character keeps the record UTF-8: its damage is
    // invalid UTF-8, left to `utf8_errors`.
    let mixed = record(
        b'a',
        vec![
            data(b"100", &[(b'a', "José".as_bytes())]),
            data(b"245", &[(b'a', b"caf\xE2e")]),
        ],
    );
    assert_eq!(read(&mixed, auto).unwrap_err().kind, ErrorKind::InvalidUtf8);
    let both = Recovery {
        utf8_errors: Utf8Errors::Replace,
        ..auto
    };
    let (rec, repairs) = read(&mixed, both).unwrap();
    assert_eq!(rec.leader[9], b'a');
    assert_eq!(repairs[0].kind, RepairKind::Utf8Replaced);
}

fn rebuild() -> Recovery {
    Recovery {
        rebuild_directory: true,
        ..Recovery::default()
    }
}

#[test]
fn a_directory_that_points_past_the_data_is_rebuilt_from_the_terminators() {
    // testbed_bad_directory.mrc, record 5: 001 at start 99999.
    let bytes = b"00043nam  2200037   4500001005099999\x1etest\x1e\x1d";
    assert_eq!(
        read(bytes, Recovery::default()).unwrap_err().kind,
        ErrorKind::FieldOutOfBounds
    );
    let (rec, repairs) = read(bytes, rebuild()).unwrap();
    assert_eq!(rec.fields, vec![control(b"001", b"test")]);
    assert_eq!(
        (repairs[0].kind, repairs[0].tag, repairs[0].byte_offset),
        (RepairKind::Directory, None, 1024)
    );
}

#[test]
fn a_rebuilt_directory_pairs_entries_and_pieces_in_order() {
    // Three entries with non-digit lengths; two terminated pieces: two fields.
    let bytes =
        b"00075nam  2200061   4500001XXXX00000245XXXX00000500XXXX00000\x1eid\x1e10\x1fax\x1e\x1d";
    let (rec, _) = read(bytes, rebuild()).unwrap();
    assert_eq!(
        rec.fields,
        vec![control(b"001", b"id"), {
            let mut f = data(b"245", &[(b'a', b"x")]);
            if let OwnedField::Data { ind1, ind2, .. } = &mut f {
                (*ind1, *ind2) = (b'1', b'0');
            }
            f
        }]
    );
}

#[test]
fn rebuilding_keeps_refusing_overlapping_spans() {
    // testbed_bad_directory.mrc, record 4: 245 and 650 both claim the same bytes.
    let bytes = b"00059nam  2200049   4500245000900000650000900000\x1e10\x1fatest\x1e\x1d";
    assert_eq!(
        read(bytes, rebuild()).unwrap_err().kind,
        ErrorKind::OverlappingFields
    );
}

#[test]
fn rebuilding_is_bounded_by_the_frame() {
    // 5,000 directory entries and no data: nothing to pair them with.
    let mut bytes = b"00000nam  2200000   4500".to_vec();
    for _ in 0..5000 {
        bytes.extend_from_slice(b"245XXXX00000");
    }
    bytes.extend_from_slice(b"\x1e\x1d");
    let e = read(&bytes, rebuild()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BaseAddressOutOfRange);
    // Many pieces, one entry: one field.
    let mut bytes = b"00000nam  2200037   4500001XXXX00000\x1e".to_vec();
    for _ in 0..5000 {
        bytes.extend_from_slice(b"x\x1e");
    }
    bytes.push(0x1d);
    let (rec, _) = read(&bytes, rebuild()).unwrap();
    assert_eq!(rec.fields.len(), 1);
}

#[test]
fn repair_kind_names_are_unique_snake_case() {
    let names: std::collections::HashSet<_> = RepairKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names.len(), RepairKind::ALL.len());
    assert!(names.iter().all(|n| n
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())));
}

#[test]
fn damaged_corpus_records_never_panic_and_stay_bounded() {
    // Every record of two corpus files, each with bytes overwritten at pseudo-random places
    // by bytes that break UTF-8, directories and terminators, read with every repair on.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let all = Recovery {
        utf8_errors: Utf8Errors::Replace,
        encoding: EncodingPolicy::Auto,
        rebuild_directory: true,
    };
    let marc8 = Marc8Options {
        on_error: Marc8ErrorMode::Replace,
        ..Marc8Options::default()
    };
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let nasty = [0x1E, 0x1F, 0x1D, 0xC3, 0xE2, 0xFF, 0x80, 0x1B, b'X', b'9'];
    let (mut read, mut repaired) = (0, 0);
    for file in ["real/loc_bibliographic.mrc", "marc8/pymarc_marc.dat"] {
        let Ok(buf) = std::fs::read(root.join(file)) else {
            continue;
        };
        for step in crate::scan::Frames::new(&buf) {
            let crate::scan::Step::Record { start, end } = step else {
                continue;
            };
            for _ in 0..8 {
                let mut frame = buf[start..end].to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = next() as usize % frame.len();
                    frame[at] = nasty[next() as usize % nasty.len()];
                }
                for marc8 in [None, Some(&marc8)] {
                    match decode(&frame, ORIGIN, ParseOptions::default(), all, marc8) {
                        Ok(Decoded::Owned { bytes, repairs, .. }) => {
                            // U+FFFD is 3 bytes for at most 1; MARC-8 text grows less.
                            assert!(bytes.len() <= 3 * frame.len() + 64);
                            repaired += usize::from(!repairs.is_empty());
                            read += 1;
                        }
                        Ok(Decoded::Borrowed(_)) => read += 1,
                        Err(_) => {}
                    }
                }
            }
        }
    }
    assert!(read == 0 || repaired > 0, "{read} read, none repaired");
}
