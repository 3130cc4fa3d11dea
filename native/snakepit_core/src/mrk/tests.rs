use super::*;
use crate::error::ErrorKind;
use crate::record::{OwnedField, OwnedRecord};

fn record() -> OwnedRecord {
    OwnedRecord {
        leader: *b"00000cam a2200000 a 4500",
        fields: vec![
            OwnedField::Control {
                tag: *b"001",
                value: b"fol 05731351 ".to_vec(),
            },
            OwnedField::Data {
                tag: *b"245",
                ind1: b'1',
                ind2: b' ',
                subfields: vec![
                    (b'a', "Caf\u{e9} US$5 {x} a\\b".as_bytes().to_vec()),
                    (b'c', b"T. M.".to_vec()),
                ],
            },
            OwnedField::Data {
                tag: *b"500",
                ind1: b' ',
                ind2: b' ',
                subfields: vec![],
            },
        ],
    }
}

fn mrk(records: &[OwnedRecord], style: Style) -> String {
    let mut out = Vec::new();
    write_records(records, style, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn read(input: &str) -> Vec<crate::Result<OwnedRecord>> {
    MrkReader::new(input.as_bytes()).collect()
}

#[test]
fn writes_marcedit_lines_with_mnemonics() {
    assert_eq!(
        mrk(&[record()], Style::Mrk),
        "=LDR  00000cam\\a2200000\\a\\4500\n\
         =001  fol\\05731351\\\n\
         =245  1\\$aCaf\u{e9} US{dollar}5 {lcub}x{rcub} a{bsol}b$cT. M.\n\
         =500  \\\\\n\n"
    );
}

#[test]
fn the_line_dump_is_pymarcs_str() {
    assert_eq!(
        mrk(&[record()], Style::Text),
        "=LDR  00000cam a2200000 a 4500\n\
         =001  fol\\05731351\\\n\
         =245  1\\$aCaf\u{e9} US$5 {x} a\\b$cT. M.\n\
         =500  \\\\\n\n"
    );
}

#[test]
fn records_read_back_exactly() {
    let records = vec![record(), record()];
    let text = mrk(&records, Style::Mrk);
    let back: Vec<_> = read(&text).into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(back, records);
    // CRLF line ends, a byte order mark, no blank line between records, extra blank lines.
    let crlf = format!(
        "\u{feff}\n\n{}",
        text.replace("\n\n", "\n").replace('\n', "\r\n")
    );
    let back: Vec<_> = read(&crlf).into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(back, records);
}

/// `r` made a MARC-8 record (leader/09 blank) whose second field is a 245 `$a` of `value`.
fn as_marc8(mut r: OwnedRecord, value: &[u8]) -> OwnedRecord {
    r.leader[9] = b' ';
    r.fields[1] = OwnedField::Data {
        tag: *b"245",
        ind1: b'0',
        ind2: b'0',
        subfields: vec![(b'a', value.to_vec())],
    };
    r
}

#[test]
fn a_marc8_record_is_written_as_utf8() {
    let r = as_marc8(record(), b"Caf\xE2e");
    let text = mrk(&[r], Style::Mrk);
    assert!(text.starts_with("=LDR  00000cam\\a2200000"), "{text}");
    assert!(text.contains("=245  00$aCaf\u{e9}\n"), "{text}");
}

#[test]
fn bad_lines_name_their_line_and_the_reader_goes_on() {
    let input = "=LDR  00000nam a2200000 a 4500\n=001  1\n\n\
                 =LDR  00000nam a2200000 a 4500\n=245  10 $aNo\n=500  \\\\$aGone\n\n\
                 =LDR  00000nam a2200000 a 4500\n=001  3\n";
    let items = read(input);
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[2].is_ok());
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidMrk);
    assert_eq!(e.record_index, 1);
    assert!(e.detail.starts_with("line 5: expected `$`"), "{}", e.detail);
    assert_eq!(e.byte_offset, input.find("=245").unwrap() as u64);
    for (bad, why) in [
        ("=LDR  short\n", "line 1: the leader must be 24"),
        ("=001  x\n", "line 1: a record must start with its =LDR"),
        (
            "=LDR  00000nam a2200000 a 4500\n245  10$a\n",
            "line 2: a line must start",
        ),
        (
            "=LDR  00000nam a2200000 a 4500\n=245 10$a\n",
            "line 2: the tag must be",
        ),
        (
            "=LDR  00000nam a2200000 a 4500\n=245  10$$a\n",
            "line 2: subfield 0: a `$`",
        ),
        (
            "=LDR  00000nam a2200000 a 4500\n=245  1\n",
            "line 2: a data field needs",
        ),
        (
            "=LDR  00000nam a2200000 a 4500\n=LDR  00000nam a2200000 a 4500\n",
            "",
        ),
    ] {
        let items = read(bad);
        let e = items.iter().find_map(|r| r.as_ref().err());
        match e {
            Some(e) => assert!(e.detail.starts_with(why), "{bad:?}: {}", e.detail),
            // Two leader lines in a row are two records, the first with no fields.
            None => assert!(why.is_empty(), "{bad:?}"),
        }
    }
    let items = read("=LDR  00000nam a2200000 a 4500\n=LDR  00000nam a2200000 a 4500\n");
    assert_eq!(items[0].as_ref().unwrap_err().kind, ErrorKind::NoFields);
}

#[test]
fn hostile_input_stops_at_the_cap() {
    // One endless line, one endless record of short lines, and a mnemonic bomb: each is
    // refused at the cap, with nothing longer buffered.
    let cap = 4096;
    let long_line = format!(
        "=LDR  00000nam a2200000 a 4500\n=500  \\\\$a{}\n",
        "x".repeat(10_000)
    );
    let many_lines = format!(
        "=LDR  00000nam a2200000 a 4500\n{}",
        "=500  \\\\$ax\n".repeat(10_000)
    );
    let bomb = format!(
        "=LDR  00000nam a2200000 a 4500\n=500  \\\\$a{}\n",
        "{dollar}".repeat(10_000)
    );
    for input in [long_line, many_lines, bomb] {
        let mut reader = MrkReader::new(input.as_bytes()).with_max_record(cap);
        let e = reader.next().unwrap().unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge, "{}", e.detail);
        assert!(reader.next().is_none());
        assert!(reader.line.capacity() <= cap.max(4096) * 2);
    }
}

#[test]
fn the_writer_streams_what_write_records_gives() {
    let records = vec![record(), record()];
    let mut w = MrkWriter::new(Vec::new(), Style::Mrk);
    for r in &records {
        w.write_record(r).unwrap();
    }
    assert_eq!(w.count(), 2);
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        mrk(&records, Style::Mrk)
    );
}

#[test]
fn an_unwritable_record_writes_nothing() {
    let mut r = record();
    r.fields.push(OwnedField::Control {
        tag: *b"005",
        value: b"a\x1fb".to_vec(),
    });
    let mut out = b"keep".to_vec();
    let e = write_record(&r, Style::Mrk, &mut out).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_eq!(out, b"keep");
}

fn marc8_style(unrepresentable: crate::marc8::Unrepresentable) -> Style {
    Style::Marc8Mrk(crate::marc8::Marc8WriteOptions { unrepresentable })
}

fn utf8_record(text: &str) -> OwnedRecord {
    OwnedRecord {
        leader: *b"00000nam a2200000 a 4500",
        fields: vec![
            OwnedField::Control {
                tag: *b"001",
                value: b"ocm 1".to_vec(),
            },
            OwnedField::Data {
                tag: *b"245",
                ind1: b'1',
                ind2: b'0',
                subfields: vec![(b'a', text.as_bytes().to_vec()), (b'c', b"US$5".to_vec())],
            },
        ],
    }
}

/// A record's MARC-8 `.mrk` read back to UTF-8 as the readers do it.
fn read_marc8_back(text: &[u8], marc8: &crate::marc8::Marc8Options) -> OwnedRecord {
    let read: Vec<_> = MrkReader::new(text).collect();
    assert_eq!(read.len(), 1);
    let raw = read[0].as_ref().unwrap();
    assert_eq!(raw.leader[9], b' ');
    let item = crate::chunker::decoded_owned_item(
        raw,
        crate::parse::Origin::default(),
        Default::default(),
        Default::default(),
        Some(marc8),
    );
    let crate::chunker::ParsedItem::Owned { bytes, spans, .. } = item else {
        panic!("not a record: {item:?}");
    };
    crate::record::Record::from_parts(&bytes, spans)
        .unwrap()
        .to_owned_record()
}

#[test]
fn marc8_mrk_is_the_marc8_writers_record_in_mnemonics() {
    use crate::marc8::Unrepresentable;
    let record = utf8_record("Café Москва");
    let mut out = Vec::new();
    write_record(&record, marc8_style(Unrepresentable::Ncr), &mut out).unwrap();
    // The leader of the ISO 2709 MARC-8 record: lengths recomputed, leader/09 blank.
    // (MARC-8 Cyrillic has capitals at 0x60-0x7F: `М` is `m`.)
    let mut iso = Vec::new();
    let opts = crate::encode::EncodeOptions {
        marc8: Some(Default::default()),
        ..Default::default()
    };
    crate::encode::encode_record_with(&record, 0, &mut iso, &opts).unwrap();
    let leader = String::from_utf8(iso[..24].to_vec())
        .unwrap()
        .replace(' ', "\\");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "=LDR  {leader}\n=001  ocm\\1\n\
             =245  10$aCaf{{acute}}e {{esc}}(NmOSKWA{{esc}}(B$cUS{{dollar}}5\n"
        )
    );
    assert_eq!(&leader[9..10], "\\");
}

#[test]
fn marc8_mrk_follows_the_unrepresentable_policy() {
    use crate::marc8::Unrepresentable;
    let record = utf8_record("\u{2603} snow");
    let write = |u| {
        let mut out = Vec::new();
        write_record(&record, marc8_style(u), &mut out).map(|()| String::from_utf8(out).unwrap())
    };
    assert!(write(Unrepresentable::Ncr)
        .unwrap()
        .contains("$a&#x2603; snow$c"));
    assert!(write(Unrepresentable::Replace)
        .unwrap()
        .contains("$a| snow$c"));
    let e = write(Unrepresentable::Error).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert!(e.detail.contains("U+2603"), "{}", e.detail);
    // And a record that cannot be written at all writes nothing.
    let mut bad = record.clone();
    bad.fields.push(OwnedField::Control {
        tag: *b"005",
        value: b"a\x1fb".to_vec(),
    });
    let mut out = b"keep".to_vec();
    let style = marc8_style(Unrepresentable::Ncr);
    assert!(write_records([&bad], style, &mut out).is_err());
    assert_eq!(out, b"keep");
}

#[test]
fn a_marc8_record_goes_out_as_it_is() {
    // Leader/09 blank: its bytes are MARC-8 already; nothing is converted.
    let r = as_marc8(utf8_record(""), b"Caf\xE2e \x1B(NAB\x1B(B \xC7");
    let mut out = Vec::new();
    write_record(&r, marc8_style(Default::default()), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("=245  00$aCaf{acute}e {esc}(NAB{esc}(B {C7}\n"),
        "{text}"
    );
}

#[test]
fn marc8_mrk_reads_as_its_iso_2709_record_does() {
    use crate::marc8::{Marc8Options, Normalization};
    let record = utf8_record("Café Москва \u{2603} Ελλάς 中文");
    let mut out = Vec::new();
    write_record(&record, marc8_style(Default::default()), &mut out).unwrap();
    let opts = Marc8Options {
        decode_ncrs: true,
        normalization: Normalization::Nfc,
        ..Default::default()
    };
    let back = read_marc8_back(&out, &opts);
    // As the MARC-8 ISO 2709 record reads.
    let mut iso = Vec::new();
    let enc = crate::encode::EncodeOptions {
        marc8: Some(Default::default()),
        ..Default::default()
    };
    crate::encode::encode_record_with(&record, 0, &mut iso, &enc).unwrap();
    let parsed = crate::parse::parse_record(&iso, Default::default(), Default::default()).unwrap();
    let from_iso = crate::marc8::record_to_utf8(&parsed, Default::default(), &opts).unwrap();
    let from_iso = crate::parse::parse_record(&from_iso, Default::default(), Default::default())
        .unwrap()
        .to_owned_record();
    assert_eq!(back.fields, from_iso.fields);
    assert_eq!(back.fields, record.fields);
    assert_eq!(back.leader[9], b'a');
    // Without NCR decoding the reference stays text.
    let plain = read_marc8_back(&out, &Marc8Options::default());
    let OwnedField::Data { subfields, .. } = &plain.fields[1] else {
        panic!()
    };
    assert!(String::from_utf8_lossy(&subfields[0].1).contains("&#x2603;"));
}

#[test]
fn marcmakers_own_mrk_reads() {
    // As MARC::File::MARCMaker writes MARC-8: spaces in the leader, `{acute}e`.
    let input = "=LDR  00000nam  2200000   4500\n=245  10$aCaf{acute}e {aacute} {dollar}5\n";
    let back = read_marc8_back(input.as_bytes(), &Default::default());
    let OwnedField::Data { subfields, .. } = &back.fields[0] else {
        panic!()
    };
    assert_eq!(subfields[0].1, "Cafe\u{301} a\u{301} $5".as_bytes());
}
