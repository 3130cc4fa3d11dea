//! Conformance of the MARC-in-JSON and MARCXML readers and writers: against pymarc's own
//! fixtures, by round trip over real and synthetic ISO 2709 files, on escaping, on hostile
//! XML, and by property tests.

use proptest::prelude::*;
use snakepit_core::json::{self, JsonLayout, JsonLinesReader, JsonWriter};
use snakepit_core::xml::{self, XmlReader, XmlWriter};
use snakepit_core::{ErrorKind, OwnedField, OwnedRecord};
use std::io::{BufReader, Cursor};
mod common;

use common::{corpus, records};
use std::time::{Duration, Instant};

fn json_value(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

fn json_of<R: snakepit_core::RecordView>(r: &R) -> Vec<u8> {
    let mut out = Vec::new();
    json::write_record(r, &mut out).unwrap();
    out
}

fn xml_doc<R: snakepit_core::RecordView>(records: &[R]) -> Vec<u8> {
    xml::to_xml_collection(records).unwrap()
}

/// Independent of the crate: escape raw control bytes inside JSON strings the way Python's
/// `json.load(strict=False)` tolerates them, so serde_json can load pymarc's test.json.
fn python_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut in_str, mut esc) = (false, false);
    for &b in input {
        if in_str && !esc && b < 0x20 {
            out.extend_from_slice(format!("\\u{:04x}", b).as_bytes());
            continue;
        }
        out.push(b);
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
        }
    }
    out
}

fn leader(s: &str) -> [u8; 24] {
    s.as_bytes().try_into().unwrap()
}

fn data(tag: &str, ind1: u8, ind2: u8, subs: &[(u8, &[u8])]) -> OwnedField {
    OwnedField::Data {
        tag: tag.as_bytes().try_into().unwrap(),
        ind1,
        ind2,
        subfields: subs.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
    }
}

fn control(tag: &str, value: &[u8]) -> OwnedField {
    OwnedField::Control {
        tag: tag.as_bytes().try_into().unwrap(),
        value: value.to_vec(),
    }
}

fn subfield<'r>(r: &'r OwnedRecord, tag: &str, code: u8) -> Option<&'r [u8]> {
    r.fields.iter().find_map(|f| match f {
        OwnedField::Data {
            tag: t, subfields, ..
        } if t == tag.as_bytes() => subfields
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice()),
        _ => None,
    })
}

/// Equal but for leader/00-04 and 12-16, which ISO 2709 encoding recomputes.
fn assert_same_but_lengths(a: &OwnedRecord, b: &OwnedRecord) {
    let mask = |r: &OwnedRecord| {
        let mut r = r.clone();
        r.leader[0..5].copy_from_slice(b"00000");
        r.leader[12..17].copy_from_slice(b"00000");
        r
    };
    assert_eq!(mask(a), mask(b));
}

fn tags(r: &OwnedRecord) -> Vec<String> {
    r.fields
        .iter()
        .map(|f| String::from_utf8_lossy(&f.tag()).into_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------
// pymarc fixtures
// ---------------------------------------------------------------------------------------

/// pymarc's one.json is the MARC-in-JSON of the first record of test.dat, byte for byte the
/// same record as one.dat except leader/09: one.dat was re-written by pymarc's `as_marc()`,
/// which forces leader/09 to `a` (it writes Unicode text as UTF-8), while one.json was made
/// with `as_dict()`, which keeps the leader as read (blank there). Our writer, like
/// `as_dict()`, keeps the leader as stored; so test.dat record 0 gives one.json exactly, and
/// one.dat gives it except for that byte (pymarc 5.4 gives the same `a`).
#[test]
fn json_writer_matches_pymarc_one_json() {
    let expected = json_value(&corpus("formats/pymarc_one.json"));
    let test_dat = corpus("formats/pymarc_test.dat");
    let recs = records(&test_dat);
    assert_eq!(recs.len(), 10);
    assert_eq!(json_value(&json_of(&recs[0])), expected);
    // Owned records write the same JSON as the borrowed ones.
    assert_eq!(json_of(&recs[0].to_owned_record()), json_of(&recs[0]));

    let one_dat = corpus("formats/pymarc_one.dat");
    let one = records(&one_dat);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].leader()[9], b'a');
    let mut got = json_value(&json_of(&one[0]));
    let l = got["leader"].as_str().unwrap().to_owned();
    assert_eq!(&l[9..10], "a");
    got["leader"] = serde_json::Value::String(format!("{} {}", &l[..9], &l[10..]));
    assert_eq!(got, expected);
}

#[test]
fn json_reader_reads_pymarc_one_json_back() {
    let test_dat = corpus("formats/pymarc_test.dat");
    let recs = records(&test_dat);
    let from_json = json::read_records(&corpus("formats/pymarc_one.json")).unwrap();
    assert_eq!(from_json, vec![recs[0].to_owned_record()]);
    // And it encodes to exactly the original ISO 2709 bytes.
    assert_eq!(from_json[0].encode().unwrap(), recs[0].bytes());

    let one_dat = corpus("formats/pymarc_one.dat");
    let mut one = records(&one_dat)[0].to_owned_record();
    one.leader[9] = b' ';
    assert_eq!(from_json[0], one);

    let r = &from_json[0];
    assert_eq!(&r.leader, b"00755cam  22002414a 4500");
    assert_eq!(r.fields.len(), 18);
    assert_eq!(
        subfield(r, "245", b'a'),
        Some(&b"ActivePerl with ASP and ADO /"[..])
    );
    assert_eq!(subfield(r, "260", b'b'), Some(&b"John Wiley & Sons,"[..]));
    assert_eq!(
        subfield(r, "500", b'a'),
        Some(&b"\"Wiley Computer Publishing.\""[..])
    );
}

/// Every record of test.dat survives ISO 2709 -> JSON -> OwnedRecord -> ISO 2709.
#[test]
fn pymarc_test_dat_round_trips_through_json_and_xml() {
    let bytes = corpus("formats/pymarc_test.dat");
    let recs = records(&bytes);
    let owned: Vec<OwnedRecord> = recs.iter().map(|r| r.to_owned_record()).collect();
    let back = json::read_records(&json::to_json_array(&recs).unwrap()).unwrap();
    assert_eq!(back, owned);
    let back = xml::read_records(&xml_doc(&recs)).unwrap();
    assert_eq!(back, owned);
    for (r, o) in recs.iter().zip(&back) {
        assert_eq!(o.encode().unwrap(), r.bytes());
    }
}

/// pymarc's test.json holds one record (not one of test.dat's) with literal newlines inside
/// strings; pymarc loads it with `strict=False`. pymarc's own test: load it, write it, and
/// compare as data. We do the same.
#[test]
fn pymarc_test_json_reads_and_writes_back_equal() {
    let raw = corpus("formats/pymarc_test.json");
    assert!(serde_json::from_slice::<serde_json::Value>(&raw).is_err());
    let expected = json_value(&python_lenient(&raw));
    let recs = json::read_records(&raw).unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(&r.leader, b"01471cjm a2200349 a 4500");
    assert_eq!(r.fields.len(), 27);
    assert_eq!(tags(r)[..5], ["001", "005", "007", "008", "035"]);
    let name = subfield(r, "100", b'a').unwrap();
    assert!(
        name.starts_with(b"Dylan,\n"),
        "{:?}",
        String::from_utf8_lossy(name)
    );
    assert_eq!(json_value(&json::to_json_array(&recs).unwrap()), expected);
    // And ISO 2709 of it parses back to the same record.
    let iso = r.encode().unwrap();
    assert_same_but_lengths(&records(&iso)[0].to_owned_record(), r);
}

#[test]
fn pymarc_batch_xml() {
    let recs = xml::read_records(&corpus("formats/pymarc_batch.xml")).unwrap();
    assert_eq!(recs.len(), 2);
    let (a, b) = (&recs[0], &recs[1]);
    assert_eq!(&a.leader, b"00925njm  22002777a 4500");
    assert_eq!(&b.leader, b"01832cmma 2200349 a 4500");
    assert_eq!(
        tags(a),
        [
            "001", "003", "005", "007", "008", "010", "028", "040", "050", "245", "260", "300",
            "511", "505", "500", "650", "650", "700"
        ]
    );
    assert_eq!(b.fields.len(), 27);
    assert_eq!(a.fields[0], control("001", b"5637241"));
    assert_eq!(
        a.fields[4],
        control("008", b"910926s1957    nyuuun              eng  ")
    );
    assert_eq!(
        a.fields[9],
        data(
            "245",
            b'0',
            b'4',
            &[
                (b'a', b"The Great Ray Charles"),
                (b'h', b"[sound recording].")
            ]
        )
    );
    // Leading/trailing blanks in values are kept; &amp; is resolved.
    assert_eq!(subfield(a, "010", b'a'), Some(&b"   91758335 "[..]));
    assert_eq!(
        subfield(a, "511", b'a'),
        Some(&b"Ray Charles, piano & celeste."[..])
    );
    assert_eq!(subfield(b, "245", b'a'), Some(&b"The White House"[..]));
    assert_eq!(
        subfield(b, "856", b'u'),
        Some(&b"http://www.whitehouse.gov"[..])
    );
    // The records encode and parse back.
    for r in &recs {
        let iso = r.encode().unwrap();
        assert_same_but_lengths(&records(&iso)[0].to_owned_record(), r);
    }
}

#[test]
fn pymarc_utf8_xml() {
    // Prefixed elements, a record that redeclares the prefix, non-ASCII text.
    let recs = xml::read_records(&corpus("formats/pymarc_utf8.xml")).unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(&r.leader, b"00640njm a2200205uu 4500");
    assert_eq!(
        tags(r),
        ["001", "008", "245", "246", "260", "306", "505", "856"]
    );
    assert_eq!(r.fields[0], control("001", b"ASP925318/clmu"));
    assert_eq!(subfield(r, "505", b't'), Some("Préludes".as_bytes()));
    assert_eq!(subfield(r, "260", b'b'), Some(&b"Virgin Classics"[..]));
    assert_eq!(
        r.fields[3],
        data(
            "246",
            b'1',
            b'0',
            &[(b'a', b"Wilfried Hiller: Book of Stars")]
        )
    );
}

// ---------------------------------------------------------------------------------------
// Round trips over real and synthetic files
// ---------------------------------------------------------------------------------------

fn round_trip_file(rel: &str, expected_count: usize) {
    let bytes = corpus(rel);
    let recs = records(&bytes);
    assert_eq!(recs.len(), expected_count, "{rel}");
    let owned: Vec<OwnedRecord> = recs.iter().map(|r| r.to_owned_record()).collect();

    // XML, streamed through io::Write and read through a small BufReader.
    let mut w = XmlWriter::new(Vec::new());
    for r in &recs {
        w.write_record(r).unwrap();
    }
    assert_eq!(w.count(), expected_count as u64);
    let doc = w.finish().unwrap();
    assert_eq!(doc, xml_doc(&owned), "{rel}: borrowed and owned XML differ");
    let from_xml: Vec<OwnedRecord> = XmlReader::new(BufReader::with_capacity(512, &doc[..]))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(from_xml.len(), owned.len());
    for (i, (a, b)) in from_xml.iter().zip(&owned).enumerate() {
        assert_eq!(a, b, "{rel}: record {i} differs after XML");
    }

    // JSON array.
    let mut w = JsonWriter::new(Vec::new(), JsonLayout::Array);
    for r in &recs {
        w.write_record(r).unwrap();
    }
    let doc = w.finish().unwrap();
    let from_json = json::read_records(&doc).unwrap();
    assert_eq!(from_json, owned, "{rel}: JSON array");

    // JSON Lines.
    let mut w = JsonWriter::new(Vec::new(), JsonLayout::Lines);
    for r in &owned {
        w.write_record(r).unwrap();
    }
    let doc = w.finish().unwrap();
    assert_eq!(doc.iter().filter(|&&b| b == b'\n').count(), expected_count);
    let from_lines: Vec<OwnedRecord> = JsonLinesReader::new(BufReader::new(&doc[..]))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(from_lines, owned, "{rel}: JSON Lines");

    // Encoding after the round trip gives the original bytes wherever the original was
    // well-formed (its own owned form re-encodes to itself).
    let mut well_formed = 0;
    for ((r, o), (x, j)) in recs.iter().zip(&owned).zip(from_xml.iter().zip(&from_json)) {
        let Ok(orig) = o.encode() else { continue };
        if orig != r.bytes() {
            continue;
        }
        well_formed += 1;
        assert_eq!(x.encode().unwrap(), r.bytes());
        assert_eq!(j.encode().unwrap(), r.bytes());
    }
    assert!(
        well_formed * 10 >= expected_count * 9,
        "{rel}: only {well_formed} of {expected_count} records re-encode to themselves"
    );
    eprintln!("{rel}: {expected_count} records, {well_formed} byte-identical after round trip");
}

#[test]
fn loc_bibliographic_round_trips() {
    round_trip_file("real/loc_bibliographic.mrc", 386);
}

#[test]
fn realistic_2000_round_trips() {
    round_trip_file("synthetic/realistic_2000.mrc", 2000);
}

// ---------------------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------------------

/// Leader/09 blank (MARC-8): the invalid UTF-8 in `$e` is allowed, and written as U+FFFD.
fn escaping_record() -> OwnedRecord {
    OwnedRecord {
        leader: leader("00000nam  2200000 a 4500"),
        fields: vec![
            control("001", b"id<&>\"'"),
            data(
                "245",
                b'"',
                b'<',
                &[
                    (b'a', b"Tom & Jerry <b>bold</b> \"quoted\" 'single'"),
                    (b'&', b"code is an ampersand"),
                    (b'b', b"tab\there\nnewline\r\ncrlf\rcr"),
                    (b'c', b"ctl\x01\x08\x0b\x0c\x1b\x7fend"),
                    (b'd', "bmp\u{FFFE}\u{FFFF}ok \u{1F600} \u{1D11E}".as_bytes()),
                    (b'e', b"bad utf8 \xff\xfe x \xe2\x82 y"),
                ],
            ),
        ],
    }
}

/// `escaping_record` without `$c` and `$d`, whose characters XML 1.0 cannot hold.
fn xml_escaping_record() -> OwnedRecord {
    let mut rec = escaping_record();
    if let OwnedField::Data { subfields, .. } = &mut rec.fields[1] {
        subfields.drain(3..5);
    }
    rec
}

#[test]
fn xml_writer_refuses_characters_xml_cannot_hold() {
    // Each control character XML 1.0 forbids (0x1D-0x1F are refused by every writer),
    // U+FFFE and U+FFFF: in a value, an indicator, a code and the leader.
    let forbidden: Vec<Vec<u8>> = (0u8..0x20)
        .filter(|b| !b"\t\n\r".contains(b))
        .map(|b| vec![b])
        .chain(["\u{FFFE}".into(), "\u{FFFF}".into()].map(|s: String| s.into_bytes()))
        .collect();
    for bad in &forbidden {
        let mut value = b"ok ".to_vec();
        value.extend_from_slice(bad);
        let rec = OwnedRecord {
            leader: leader("00000nam a2200000 a 4500"),
            fields: vec![
                control("001", b"1"),
                data("245", b'1', b'0', &[(b'a', &value)]),
            ],
        };
        let mut out = b"kept".to_vec();
        let e = xml::write_record(&rec, &mut out).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue, "{bad:?}");
        assert!(
            e.detail.contains("field 1 (245) subfield 0 (code $a)"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("byte 3"), "{}", e.detail);
        assert_eq!(out, b"kept", "nothing written");
        // The same record as JSON is fine unless the byte is a delimiter.
        let json = json::write_record(&rec, &mut Vec::new());
        assert_eq!(json.is_ok(), !(0x1D..=0x1F).contains(&bad[0]), "{bad:?}");
    }
    let ind = OwnedRecord {
        leader: leader("00000nam a2200000 a 4500"),
        fields: vec![data("245", 0x01, b'0', &[(b'a', b"x")])],
    };
    let e = xml::write_record(&ind, &mut Vec::new()).unwrap_err();
    assert!(e.detail.contains("field 0 (245) ind1"), "{}", e.detail);
    let code = OwnedRecord {
        leader: leader("00000nam a2200000 a 4500"),
        fields: vec![data("245", b'1', b'0', &[(0x02, b"x")])],
    };
    let e = xml::write_record(&code, &mut Vec::new()).unwrap_err();
    assert!(e.detail.contains("code 0x02) code"), "{}", e.detail);
    let mut l = leader("00000nam a2200000 a 4500");
    l[7] = 0x07;
    let e = xml::write_record(
        &OwnedRecord {
            leader: l,
            fields: vec![control("001", b"1")],
        },
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(e.detail.contains("leader/07"), "{}", e.detail);
    // XmlWriter and to_xml_collection name the record.
    let good = xml_escaping_record();
    let recs = [good.clone(), ind];
    assert_eq!(xml::to_xml_collection(&recs).unwrap_err().record_index, 1);
    let mut w = XmlWriter::new(Vec::new());
    w.write_record(&good).unwrap();
    assert_eq!(w.write_record(&recs[1]).unwrap_err().record_index, 1);
}

#[test]
fn xml_escaping() {
    let rec = xml_escaping_record();
    let mut out = Vec::new();
    xml::write_record(&rec, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).expect("the writer emits UTF-8");
    assert!(text.contains("<controlfield tag=\"001\">id&lt;&amp;&gt;&quot;&apos;</controlfield>"));
    assert!(text.contains("<datafield tag=\"245\" ind1=\"&quot;\" ind2=\"&lt;\">"));
    assert!(text
        .contains("Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &apos;single&apos;"));
    assert!(text.contains("<subfield code=\"&amp;\">"));
    assert!(text.contains("tab\there\nnewline&#13;\ncrlf&#13;cr"));
    assert!(text.contains("bad utf8 \u{FFFD}\u{FFFD} x \u{FFFD} y"));
    // No raw control character other than TAB/LF survives (CR is a reference).
    assert!(!out.iter().any(|&b| b < 0x20 && b != b'\t' && b != b'\n'));

    // Well-formed, and reads back with exactly the documented replacements.
    let mut doc = Vec::new();
    xml::write_collection_start(&mut doc);
    doc.extend_from_slice(&out);
    xml::write_collection_end(&mut doc);
    let back = xml::read_records(&doc).unwrap();
    let mut expected = rec.clone();
    if let OwnedField::Data { subfields, .. } = &mut expected.fields[1] {
        subfields[3].1 = "bad utf8 \u{FFFD}\u{FFFD} x \u{FFFD} y".into();
    }
    assert_eq!(back, vec![expected]);
}

#[test]
fn xml_attribute_whitespace_survives() {
    let rec = OwnedRecord {
        leader: leader("00000nam a2200000 a 4500"),
        fields: vec![data("500", b'\t', b'\n', &[(b'\r', b"x")])],
    };
    let doc = xml_doc(&[&rec]);
    let s = String::from_utf8(doc.clone()).unwrap();
    assert!(s.contains("ind1=\"&#9;\" ind2=\"&#10;\""), "{s}");
    assert!(s.contains("code=\"&#13;\""), "{s}");
    assert_eq!(xml::read_records(&doc).unwrap(), vec![rec]);
}

#[test]
fn json_escaping() {
    let rec = escaping_record();
    let out = json_of(&rec);
    let text = std::str::from_utf8(&out).expect("the writer emits UTF-8");
    assert!(text.contains(r#"{"001":"id<&>\"'"}"#), "{text}");
    assert!(text.contains(r#""ind1":"\"","ind2":"<""#));
    assert!(text.contains(r#"{"b":"tab\there\nnewline\r\ncrlf\rcr"}"#));
    assert!(text.contains(r#"{"c":"ctl\u0001\b\u000b\f\u001b"#));
    assert!(
        text.contains("ok \u{1F600} \u{1D11E}"),
        "non-BMP written raw"
    );
    assert!(text.contains("bad utf8 \u{FFFD}\u{FFFD} x \u{FFFD} y"));

    let v = json_value(&out);
    let sub = |i: usize| {
        v["fields"][1]["245"]["subfields"][i]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(sub(2), "tab\there\nnewline\r\ncrlf\rcr");
    assert_eq!(sub(3), "ctl\u{1}\u{8}\u{b}\u{c}\u{1b}\u{7f}end");
    assert_eq!(sub(4), "bmp\u{FFFE}\u{FFFF}ok \u{1F600} \u{1D11E}");

    // Backslashes, and \u escapes with surrogate pairs on input.
    let mut r2 = rec.clone();
    r2.fields.push(control("005", br"C:\path\to \\share"));
    let back = json::read_records(&json_of(&r2)).unwrap();
    let mut expected = r2.clone();
    if let OwnedField::Data { subfields, .. } = &mut expected.fields[1] {
        subfields[5].1 = "bad utf8 \u{FFFD}\u{FFFD} x \u{FFFD} y".into();
    }
    assert_eq!(back, vec![expected]);
    let escaped_input =
        br#"{"leader":"00000nam a2200000 a 4500","fields":[{"001":"\ud83d\ude00 \u00e9 \/ \"q\""}]}"#;
    let back = json::read_records(escaped_input).unwrap();
    assert_eq!(
        back[0].fields[0],
        control("001", "\u{1F600} é / \"q\"".as_bytes())
    );
}

// ---------------------------------------------------------------------------------------
// Hostile XML
// ---------------------------------------------------------------------------------------

fn assert_quick_invalid_xml(doc: &[u8]) -> snakepit_core::MarcError {
    let started = Instant::now();
    let items: Vec<_> = XmlReader::new(doc).collect();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(items.len(), 1, "one error, then the reader stops");
    let e = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidXml);
    e
}

#[test]
fn xxe_is_refused() {
    let doc = br#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<collection xmlns="http://www.loc.gov/MARC21/slim"><record>
<leader>00000nam a2200000 a 4500</leader>
<controlfield tag="001">&x;</controlfield>
</record></collection>"#;
    let e = assert_quick_invalid_xml(doc);
    assert!(e.detail.contains("DOCTYPE"), "{}", e.detail);
    let passwd = std::fs::read("/etc/passwd").unwrap_or_default();
    let all = format!("{e} {:?}", e.excerpt);
    assert!(!all.contains("root:"));
    if let Some(line) = passwd.split(|&b| b == b'\n').next() {
        assert!(line.is_empty() || !all.as_bytes().windows(line.len()).any(|w| w == line));
    }
    assert_eq!(e.byte_offset, 22, "points at <!DOCTYPE");
}

#[test]
fn billion_laughs_is_refused() {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]>\n<collection><record><leader>&lol9;</leader></record></collection>");
    let e = assert_quick_invalid_xml(doc.as_bytes());
    assert!(e.detail.contains("DOCTYPE"));
}

#[test]
fn undeclared_entities_are_never_expanded() {
    let doc = br#"<collection><record><leader>00000nam a2200000 a 4500</leader>
<controlfield tag="001">&x;</controlfield></record></collection>"#;
    let e = assert_quick_invalid_xml(doc);
    assert!(e.detail.contains("undefined entity &x;"), "{}", e.detail);
    assert_eq!(e.record_index, 0);
    // Predefined entities and character references are fine.
    let doc = br#"<record><leader>00000nam a2200000 a 4500</leader>
<controlfield tag="001">&lt;&#65;&#x42;&amp;&quot;&apos;&gt;</controlfield></record>"#;
    let r = xml::read_records(doc).unwrap();
    assert_eq!(r[0].fields[0], control("001", b"<AB&\"'>"));
}

// ---------------------------------------------------------------------------------------
// XML shapes and errors
// ---------------------------------------------------------------------------------------

const LDR: &str = "00000nam a2200000 a 4500";

#[test]
fn xml_shapes() {
    let bare = format!(
        "<record><leader>{LDR}</leader><controlfield tag=\"001\">x</controlfield>\
         <datafield tag=\"245\" ind1=\"1\" ind2=\"0\"><subfield code=\"a\">T</subfield>\
         <subfield code=\"b\"/></datafield><datafield tag=\"246\" ind1=\" \" ind2=\" \"/>\
         <controlfield tag=\"005\"/></record>"
    );
    let expected = OwnedRecord {
        leader: leader(LDR),
        fields: vec![
            control("001", b"x"),
            data("245", b'1', b'0', &[(b'a', b"T"), (b'b', b"")]),
            data("246", b' ', b' ', &[]),
            control("005", b""),
        ],
    };
    assert_eq!(
        xml::read_records(bare.as_bytes()).unwrap(),
        vec![expected.clone()]
    );

    let prefixed = format!(
        "<m:record xmlns:m=\"http://www.loc.gov/MARC21/slim\"><m:leader>{LDR}</m:leader>\
         <m:controlfield tag=\"001\">x</m:controlfield>\
         <m:datafield tag=\"245\" ind1=\"1\" ind2=\"0\"><m:subfield code=\"a\">T</m:subfield>\
         <m:subfield code=\"b\"></m:subfield></m:datafield><m:datafield tag=\"246\" ind1=\" \" ind2=\" \">\n</m:datafield>\
         <m:controlfield tag=\"005\"></m:controlfield></m:record>"
    );
    assert_eq!(
        xml::read_records(prefixed.as_bytes()).unwrap(),
        vec![expected.clone()]
    );

    // OAI-PMH style wrapper: a foreign `record` element holding a MARC record; CDATA and
    // comments inside text.
    let oai = format!(
        "<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><ListRecords><record>\
         <header><identifier>oai:x:1</identifier></header><metadata>\
         <marc:record xmlns:marc=\"http://www.loc.gov/MARC21/slim\">\
         <marc:leader>{LDR}</marc:leader><marc:controlfield tag=\"001\">a<!-- c --><![CDATA[<b>]]>c</marc:controlfield>\
         </marc:record></metadata></record></ListRecords></OAI-PMH>"
    );
    let r = xml::read_records(oai.as_bytes()).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].fields, vec![control("001", b"a<b>c")]);

    // CRLF in content is normalised to LF as XML requires; &#13; keeps a CR.
    let crlf = format!(
        "<record><leader>{LDR}</leader><controlfield tag=\"001\">a\r\nb&#13;c</controlfield></record>"
    );
    let r = xml::read_records(crlf.as_bytes()).unwrap();
    assert_eq!(r[0].fields, vec![control("001", b"a\nb\rc")]);

    // An empty collection is fine.
    assert!(xml::read_records(b"<?xml version=\"1.0\"?><collection/>")
        .unwrap()
        .is_empty());
    assert!(xml::read_records(b"").unwrap().is_empty());
}

#[test]
fn xml_record_errors_recover_and_report_positions() {
    let good = format!(
        "<record><leader>{LDR}</leader><controlfield tag=\"001\">1</controlfield></record>\n"
    );
    let bad_leader =
        "<record><leader>short</leader><datafield tag=\"245\" ind1=\"1\" ind2=\"0\"><subfield code=\"a\">x</subfield></datafield></record>\n";
    let bad_code = format!(
        "<record><leader>{LDR}</leader><datafield tag=\"245\" ind1=\"1\" ind2=\"0\"><subfield code=\"ab\">x</subfield></datafield></record>\n"
    );
    let bad_tag = format!(
        "<record><leader>{LDR}</leader><controlfield tag=\"0001\">x</controlfield></record>\n"
    );
    let bad_ind = format!(
        "<record><leader>{LDR}</leader><datafield tag=\"245\" ind1=\"12\" ind2=\"0\"></datafield></record>\n"
    );
    let nested = format!(
        "<record><leader>{LDR}</leader><controlfield tag=\"001\">x<b>y</b></controlfield></record>\n"
    );
    let no_leader = "<record><controlfield tag=\"001\">x</controlfield></record>\n";
    let doc = format!(
        "<collection>\n{good}{bad_leader}{good}{bad_code}{bad_tag}{bad_ind}{nested}{no_leader}{good}</collection>"
    );
    let items: Vec<_> = XmlReader::new(doc.as_bytes()).collect();
    let shape: Vec<Result<(), (u64, String)>> = items
        .iter()
        .map(|i| match i {
            Ok(_) => Ok(()),
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::InvalidXml);
                Err((e.record_index, e.detail.clone()))
            }
        })
        .collect();
    assert_eq!(shape.len(), 9, "{shape:#?}");
    assert!(
        shape[0].is_ok() && shape[2].is_ok() && shape[8].is_ok(),
        "{shape:#?}"
    );
    let expect = [
        (1, 1, "the leader must be 24 bytes, got 5"),
        (3, 3, "a subfield code must be 1 byte"),
        (4, 4, "a tag must be 3 printable ASCII characters"),
        (5, 5, "ind1 must be 1 byte"),
        (6, 6, "unexpected element <b>"),
        (7, 7, "the record has no <leader>"),
    ];
    for (pos, idx, msg) in expect {
        let (i, d) = shape[pos].clone().unwrap_err();
        assert_eq!(i, idx);
        assert!(d.contains(msg), "{d}");
    }
    // Offsets point into the document: the bad leader's start tag.
    let e = items[1].as_ref().unwrap_err();
    let at = doc.find("<leader>short").unwrap() as u64;
    assert_eq!(e.byte_offset, at);
    assert_eq!(e.excerpt, b"short");
    let e = items[3].as_ref().unwrap_err();
    assert_eq!(
        e.byte_offset,
        doc.find("<subfield code=\"ab\"").unwrap() as u64
    );
}

#[test]
fn xml_syntax_errors_are_fatal() {
    let cases: &[(&str, &str)] = &[
        (
            "mismatched end",
            "<collection><record><leader>x</leadr></record></collection>",
        ),
        (
            "truncated",
            "<collection><record><leader>00000nam a2200000 a 4500</leader>",
        ),
        ("truncated outside", "<collection>"),
        (
            "bad encoding decl",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><collection/>",
        ),
        (
            "invalid utf-8",
            "<collection><record><leader>\u{0}</leader></record></collection>",
        ),
    ];
    for (name, doc) in cases {
        let mut bytes = doc.as_bytes().to_vec();
        if *name == "invalid utf-8" {
            let at = bytes.iter().position(|&b| b == 0).unwrap();
            bytes[at] = 0xFF;
        }
        let items: Vec<_> = XmlReader::new(&bytes[..]).collect();
        assert_eq!(items.len(), 1, "{name}: {items:?}");
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidXml, "{name}: {e}");
        assert_eq!(e.record_index, 0, "{name}");
    }
    // The mismatched end tag is reported where it is.
    let doc = "<collection><record><leader>x</leadr></record></collection>";
    let e = XmlReader::new(doc.as_bytes()).next().unwrap().unwrap_err();
    assert_eq!(e.byte_offset, doc.find("</leadr>").unwrap() as u64, "{e}");
}

// ---------------------------------------------------------------------------------------
// JSON errors
// ---------------------------------------------------------------------------------------

fn json_err(input: &str) -> snakepit_core::MarcError {
    let e = json::read_records(input.as_bytes()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidJson);
    e
}

#[test]
fn json_errors_name_the_place() {
    let good = format!(r#"{{"leader":"{LDR}","fields":[{{"001":"x"}}]}}"#);
    let cases = [
        (
            format!(r#"[{good},{{"leader":"{LDR}","fields":[{{"001":"x"}},{{"245":{{"ind1":"1","ind2":"0","subfields":[{{"a":7}}]}}}}]}}]"#),
            1,
            "record 1, field 1 (245), subfield 0: invalid type: integer `7`, expected a string",
            "7}",
        ),
        (
            format!(r#"[{good},{good},{{"leader":"short","fields":[]}}]"#),
            2,
            "record 2: the leader must be 24 byte(s), got 5",
            "\",\"fields\"",
        ),
        (
            format!(r#"[{{"leader":"{LDR}","fields":[{{"001":"x","002":"y"}}]}}]"#),
            0,
            "record 0, field 0 (001): expected a one-key object {\"TAG\": value}, got a second key \"002\"",
            "",
        ),
        (
            format!(r#"[{good},{{"leader":"{LDR}","fields":[{{"001":"x"}},["245"]]}}]"#),
            1,
            "record 1, field 1: invalid type: sequence, expected a one-key object {\"TAG\": value}",
            "",
        ),
        (
            format!(r#"{{"leader":"{LDR}","fields":[{{"2450":{{}}}}]}}"#),
            0,
            "record 0, field 0: a tag must be 3 printable ASCII characters, got \"2450\"",
            "",
        ),
        (
            format!(r#"{{"leader":"{LDR}","fields":[{{"245":{{"ind1":"10","ind2":" ","subfields":[]}}}}]}}"#),
            0,
            "record 0, field 0 (245): the indicator must be 1 byte(s), got 2",
            "",
        ),
        (
            format!(r#"{{"leader":"{LDR}","fields":[{{"245":{{"ind1":"1","ind2":" ","subfields":[{{"ab":"x"}}]}}}}]}}"#),
            0,
            "record 0, field 0 (245), subfield 0: a subfield code must be 1 byte, got \"ab\"",
            "",
        ),
        (
            format!(r#"{{"leader":"{LDR}","fields":[{{"245":{{"ind1":"1","subfields":[]}}}}]}}"#),
            0,
            "record 0, field 0 (245): data field has no \"ind2\"",
            "",
        ),
        (
            r#"{"fields":[]}"#.to_string(),
            0,
            "record 0: missing key \"leader\"",
            "",
        ),
        (
            format!(r#"{{"leader":"{LDR}","fields":[{{"001":null}}]}}"#),
            0,
            "record 0, field 0 (001): invalid type: null, expected a string (control field) or an object",
            "",
        ),
        (format!("[{good},"), 1, "record 1: EOF while parsing", ""),
        (format!("{good} x"), 0, "trailing characters", "x"),
        ("42".to_string(), 0, "invalid type: integer `42`, expected an array of record objects or one record object", ""),
    ];
    for (input, index, detail, excerpt_start) in cases {
        let e = json_err(&input);
        assert_eq!(e.record_index, index, "{input}\n{e}");
        assert!(e.detail.contains(detail), "{input}\n{}", e.detail);
        assert!(e.byte_offset <= input.len() as u64);
        assert!(
            e.excerpt.starts_with(excerpt_start.as_bytes()),
            "{input}\n{e}: excerpt {:?}",
            String::from_utf8_lossy(&e.excerpt)
        );
    }
}

#[test]
fn json_accepts_raw_control_characters_like_pymarc() {
    let input = format!("{{\"leader\":\"{LDR}\",\"fields\":[{{\"001\":\"a\tb\nc\"}}]}}");
    let r = json::read_records(input.as_bytes()).unwrap();
    assert_eq!(r[0].fields, vec![control("001", b"a\tb\nc")]);
    // Offsets of later errors still point into the original input.
    let input = format!(
        "[{{\"leader\":\"{LDR}\",\"fields\":[{{\"001\":\"a\n\n\nb\"}}]}},\n{{\"leader\":\"{LDR}\",\"fields\":[{{\"001\":5}}]}}]"
    );
    let e = json_err(&input);
    assert_eq!(e.record_index, 1);
    // serde_json reports the last byte of the offending token.
    assert_eq!(e.byte_offset, input.rfind('5').unwrap() as u64, "{e}");
}

#[test]
fn json_lines_reader() {
    let good = |id: &str| format!(r#"{{"leader":"{LDR}","fields":[{{"001":"{id}"}}]}}"#);
    let bad = format!(r#"{{"leader":"{LDR}","fields":[{{"001":1}}]}}"#);
    let input = format!(
        "{}\n\n  \n{}\n{}\r\n{}",
        good("a"),
        bad,
        good("b"),
        good("c")
    );
    let items: Vec<_> = JsonLinesReader::new(Cursor::new(input.as_bytes())).collect();
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[0].as_ref().unwrap().fields,
        vec![control("001", b"a")]
    );
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidJson);
    assert_eq!(e.record_index, 1);
    assert!(
        e.detail
            .starts_with("line 4, record 1, field 0 (001): invalid type: integer"),
        "{}",
        e.detail
    );
    assert_eq!(e.byte_offset, input.find(":1}").unwrap() as u64 + 1, "{e}");
    assert_eq!(
        items[2].as_ref().unwrap().fields,
        vec![control("001", b"b")]
    );
    assert_eq!(
        items[3].as_ref().unwrap().fields,
        vec![control("001", b"c")]
    );
    // Raw control characters (here a TAB) inside strings are accepted, as in arrays.
    let input = format!("{{\"leader\":\"{LDR}\",\"fields\":[{{\"001\":\"a\tb\"}}]}}\n");
    let items: Vec<_> = JsonLinesReader::new(input.as_bytes()).collect();
    assert_eq!(
        items[0].as_ref().unwrap().fields,
        vec![control("001", b"a\tb")]
    );
    // A line holding an array is not a record.
    let input = format!("[{}]\n", good("a"));
    let items: Vec<_> = JsonLinesReader::new(input.as_bytes()).collect();
    assert_eq!(items[0].as_ref().unwrap_err().kind, ErrorKind::InvalidJson);
}

#[test]
fn json_writer_layouts() {
    let rec = OwnedRecord {
        leader: leader(LDR),
        fields: vec![control("001", b"x")],
    };
    let one = String::from_utf8(json_of(&rec)).unwrap();
    assert_eq!(
        one,
        format!(r#"{{"leader":"{LDR}","fields":[{{"001":"x"}}]}}"#)
    );
    let w = JsonWriter::new(Vec::new(), JsonLayout::Array);
    assert_eq!(w.finish().unwrap(), b"[]\n");
    let mut w = JsonWriter::new(Vec::new(), JsonLayout::Array);
    w.write_record(&rec).unwrap();
    w.write_record(&rec).unwrap();
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        format!("[{one},\n{one}]\n")
    );
    let mut w = JsonWriter::new(Vec::new(), JsonLayout::Lines);
    w.write_record(&rec).unwrap();
    w.write_record(&rec).unwrap();
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        format!("{one}\n{one}\n")
    );
    assert!(JsonWriter::new(Vec::new(), JsonLayout::Lines)
        .finish()
        .unwrap()
        .is_empty());
    let empty: [OwnedRecord; 0] = [];
    assert_eq!(
        json::read_records(&json::to_json_array(&empty).unwrap()).unwrap(),
        vec![]
    );
    let w = XmlWriter::new(Vec::new());
    assert!(xml::read_records(&w.finish().unwrap()).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// Characters XML 1.0 can carry.
fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => prop::sample::select(vec!['\t', '\n', '\r', '&', '<', '>', '"', '\'', 'é', '\u{1F600}', '\u{FFFD}']),
        1 => any::<char>().prop_filter("legal in XML 1.0", |c| {
            matches!(*c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        }),
    ]
}

fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(xml_char(), 0..max)
        .prop_map(|cs| cs.into_iter().collect::<String>().into_bytes())
}

fn printable() -> std::ops::Range<u8> {
    0x20u8..0x7F
}

/// Fields that can be written: control fields tagged 001-009, data fields any other
/// printable tag.
fn field() -> impl Strategy<Value = OwnedField> {
    let control_tag = (b'0'..=b'9').prop_map(|d| [b'0', b'0', d]);
    let data_tag = proptest::array::uniform3(printable()).prop_filter("not a control tag", |t| {
        !(t[0] == b'0' && t[1] == b'0' && t[2].is_ascii_digit())
    });
    prop_oneof![
        (control_tag, text(20)).prop_map(|(tag, value)| OwnedField::Control { tag, value }),
        (
            data_tag,
            printable(),
            printable(),
            proptest::collection::vec((printable(), text(20)), 0..5)
        )
            .prop_map(|(tag, ind1, ind2, subfields)| OwnedField::Data {
                tag,
                ind1,
                ind2,
                subfields
            }),
    ]
}

fn owned_record() -> impl Strategy<Value = OwnedRecord> {
    (
        proptest::array::uniform24(printable()),
        proptest::collection::vec(field(), 1..8),
    )
        .prop_map(|(leader, fields)| OwnedRecord { leader, fields })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_records_round_trip(recs in proptest::collection::vec(owned_record(), 0..4)) {
        let j = json::to_json_array(&recs).unwrap();
        prop_assert_eq!(json::read_records(&j).unwrap(), recs.clone());
        let x = xml_doc(&recs);
        prop_assert_eq!(xml::read_records(&x).unwrap(), recs.clone());
        let mut lines = JsonWriter::new(Vec::new(), JsonLayout::Lines);
        for r in &recs { lines.write_record(r).unwrap(); }
        let lines = lines.finish().unwrap();
        let back: Vec<_> = JsonLinesReader::new(&lines[..]).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, recs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = json::read_records(&bytes);
        let _ = JsonLinesReader::new(&bytes[..]).count();
        let _ = XmlReader::new(&bytes[..]).take(1000).count();
    }

    #[test]
    fn mutated_documents_never_panic(
        recs in proptest::collection::vec(owned_record(), 1..3),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut j = json::to_json_array(&recs).unwrap();
        let mut x = xml_doc(&recs);
        for (i, b) in &edits {
            let at = i.index(j.len());
            j[at] = *b;
            let at = i.index(x.len());
            x[at] = *b;
        }
        let _ = json::read_records(&j);
        let _ = XmlReader::new(&x[..]).take(1000).count();
    }

    #[test]
    fn writers_never_panic_on_arbitrary_bytes(
        value in proptest::collection::vec(any::<u8>(), 0..64),
        ind in any::<u8>(),
        code in any::<u8>(),
    ) {
        let rec = OwnedRecord {
            leader: *b"00000nam a2200000 a 4500",
            fields: vec![
                OwnedField::Control { tag: *b"001", value: value.clone() },
                OwnedField::Data { tag: *b"245", ind1: ind, ind2: ind, subfields: vec![(code, value.clone())] },
            ],
        };
        // Each writer either refuses the record with a typed error, or writes it so that it
        // reads back. JSON carries every byte but delimiters; XML also refuses what XML 1.0
        // cannot hold. Leader/09 is `a`: invalid UTF-8, a non-ASCII indicator or code is
        // refused by both.
        let delimiter = |b: u8| (0x1D..=0x1F).contains(&b);
        let utf8 = std::str::from_utf8(&value).is_ok();
        let writable = utf8
            && ind.is_ascii()
            && code.is_ascii()
            && ![ind, code].into_iter().chain(value.iter().copied()).any(delimiter);
        let mut j = Vec::new();
        match json::write_record(&rec, &mut j) {
            Ok(()) => {
                prop_assert!(writable);
                prop_assert_eq!(json::read_record(&j).unwrap(), rec.clone());
            }
            Err(e) => {
                prop_assert!(!writable);
                prop_assert_eq!(e.kind, ErrorKind::InvalidValue);
                prop_assert!(j.is_empty());
            }
        }
        let xml_ok = |b: u8| b >= 0x20 || b"\t\n\r".contains(&b);
        let in_xml = writable
            && xml_ok(ind)
            && xml_ok(code)
            && value.iter().all(|&b| xml_ok(b))
            && !std::str::from_utf8(&value).is_ok_and(|s| s.contains(['\u{FFFE}', '\u{FFFF}']));
        match xml::to_xml_collection(std::slice::from_ref(&rec)) {
            Ok(x) => {
                prop_assert!(in_xml);
                prop_assert_eq!(xml::read_records(&x).unwrap(), vec![rec.clone()]);
            }
            Err(e) => {
                prop_assert!(!in_xml);
                prop_assert_eq!(e.kind, ErrorKind::InvalidValue);
            }
        }
    }
}

/// A source that makes a MARCXML collection of `n` records on the fly, so the document is
/// never in memory as a whole; starts with a UTF-8 byte order mark.
struct Generated {
    n: usize,
    made: usize,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            self.chunk.clear();
            self.at = 0;
            if self.made == 0 && !self.done {
                self.chunk.extend_from_slice(b"\xEF\xBB\xBF");
                xml::write_collection_start(&mut self.chunk);
            }
            if self.made < self.n {
                let rec = OwnedRecord {
                    leader: leader(LDR),
                    fields: vec![
                        control("001", self.made.to_string().as_bytes()),
                        data(
                            "245",
                            b'1',
                            b'0',
                            &[(b'a', b"A title & more"), (b'c', b"x")],
                        ),
                    ],
                };
                xml::write_record(&rec, &mut self.chunk).unwrap();
                self.made += 1;
            } else if !self.done {
                xml::write_collection_end(&mut self.chunk);
                self.done = true;
            } else {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn xml_reader_streams_a_large_collection() {
    let n = 50_000;
    let src = BufReader::with_capacity(
        4096,
        Generated {
            n,
            made: 0,
            chunk: Vec::new(),
            at: 0,
            done: false,
        },
    );
    let mut count = 0;
    for (i, r) in XmlReader::new(src).enumerate() {
        let r = r.unwrap();
        assert_eq!(r.fields[0], control("001", i.to_string().as_bytes()));
        assert_eq!(subfield(&r, "245", b'a'), Some(&b"A title & more"[..]));
        count += 1;
    }
    assert_eq!(count, n);
}
