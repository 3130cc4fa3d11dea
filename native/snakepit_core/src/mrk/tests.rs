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

#[test]
fn a_marc8_record_is_written_as_utf8() {
    let mut r = record();
    r.leader[9] = b' ';
    r.fields[1] = OwnedField::Data {
        tag: *b"245",
        ind1: b'0',
        ind2: b'0',
        subfields: vec![(b'a', b"Caf\xE2e".to_vec())],
    };
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
