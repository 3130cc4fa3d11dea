//! Unit tests of the readers' framing and offset mapping.

use super::offsets::{escape_raw_controls, unescaped_offset};
use super::*;
use crate::error::ErrorKind;
use crate::error::Result;
use crate::record::{OwnedField, OwnedRecord};
use std::io;

#[test]
fn offsets_map_back_through_rewrites() {
    let input = b"[\"a\nb\", \"c\td\"] x";
    let (text, rw) = escape_raw_controls(input).unwrap();
    assert_eq!(rw, vec![3, 10]);
    assert_eq!(&text[..], &b"[\"a\\u000ab\", \"c\\u0009d\"] x"[..]);
    // 'x' in text maps to 'x' in input.
    let x_text = text.iter().position(|&b| b == b'x').unwrap();
    let x_input = input.iter().position(|&b| b == b'x').unwrap();
    assert_eq!(unescaped_offset(x_text, &rw), x_input);
    assert_eq!(unescaped_offset(0, &rw), 0);
    assert_eq!(unescaped_offset(5, &rw), 3);
}

fn rec(id: &str, title: &str) -> String {
    format!(
        r#"{{"leader":"00000nam a2200000 a 4500","fields":[{{"001":"{id}"}},{{"245":{{"ind1":"1","ind2":"0","subfields":[{{"a":"{title}"}}]}}}}]}}"#
    )
}

fn read_all_with(input: &[u8], cap: usize) -> Vec<Result<OwnedRecord>> {
    JsonRecordReader::new(io::BufReader::with_capacity(cap, input)).collect()
}

#[test]
fn record_reader_reads_every_layout_at_every_buffer_size() {
    let (a, b) = (
        rec("1", r#"a \"quoted\" {brace} [bracket] \\"#),
        rec("2", "b"),
    );
    let layouts = [
        format!("{a}\n{b}\n"),
        format!("[{a},\n{b}]\n"),
        format!("  [ {a} , {b} ]"),
        format!("{a}{b}"),
        format!("\n\n{a}\n\n{b}"),
    ];
    let expected = read_records(format!("[{a},{b}]").as_bytes()).unwrap();
    assert_eq!(expected.len(), 2);
    for doc in &layouts {
        for cap in [1, 2, 3, 7, 64, 8192] {
            let got: Vec<OwnedRecord> = read_all_with(doc.as_bytes(), cap)
                .into_iter()
                .collect::<Result<_>>()
                .unwrap_or_else(|e| panic!("{doc:?} cap {cap}: {e}"));
            assert_eq!(got, expected, "{doc:?} cap {cap}");
        }
    }
    // A single object.
    let one: Vec<_> = read_all_with(a.as_bytes(), 5);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].as_ref().unwrap(), &expected[0]);
}

#[test]
fn record_reader_keeps_raw_newlines_in_strings() {
    let doc = "[{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":[{\"500\":{\"ind1\":\" \",\"ind2\":\" \",\"subfields\":[{\"a\":\"two\nlines\"}]}}]}]";
    let got: Vec<_> = read_all_with(doc.as_bytes(), 4);
    assert_eq!(got.len(), 1);
    let r = got[0].as_ref().unwrap();
    assert!(
        matches!(&r.fields[0], OwnedField::Data { subfields, .. } if subfields[0].1 == b"two\nlines")
    );
}

#[test]
fn record_reader_errors_carry_index_and_offset_and_go_on() {
    let (a, b) = (rec("1", "a"), rec("2", "b"));
    let bad = r#"{"leader":"short","fields":[]}"#;
    let doc = format!("{a}\n{bad}\n{b}\n");
    let got = read_all_with(doc.as_bytes(), 16);
    assert_eq!(got.len(), 3);
    assert!(got[0].is_ok() && got[2].is_ok());
    let e = got[1].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidJson);
    assert_eq!(e.record_index, 1);
    let start = (a.len() + 1) as u64;
    assert!(e.byte_offset >= start && e.byte_offset < start + bad.len() as u64);

    // Garbage between records ends the reading with an error at its offset.
    let doc = format!("{a}\nnope {b}");
    let got = read_all_with(doc.as_bytes(), 8192);
    assert_eq!(got.len(), 2);
    let e = got[1].as_ref().unwrap_err();
    assert_eq!((e.record_index, e.byte_offset), (1, (a.len() + 1) as u64));

    // A truncated object.
    let doc = format!("{a}\n{}", &b[..b.len() - 3]);
    let got = read_all_with(doc.as_bytes(), 8192);
    assert_eq!(got.len(), 2);
    let e = got[1].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidJson);
    assert!(e.detail.contains("ends inside"), "{}", e.detail);
    assert_eq!(e.byte_offset, (a.len() + 1) as u64);
}
