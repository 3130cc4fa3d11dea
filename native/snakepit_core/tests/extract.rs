//! Extraction semantics (traject's `extract_marc`) on hand-made records, and the borrowed
//! and owned views agreeing on real ones.

use snakepit_core::extract::{AlternateScript, Extractor, Output, OutputOptions};
use snakepit_core::{read_all, Mode, OwnedField, OwnedRecord, ParseOptions};

fn data(tag: &str, ind: &str, subfields: &[(char, &str)]) -> OwnedField {
    let t = tag.as_bytes();
    let i = ind.as_bytes();
    OwnedField::Data {
        tag: [t[0], t[1], t[2]],
        ind1: i[0],
        ind2: i[1],
        subfields: subfields
            .iter()
            .map(|(c, v)| (*c as u8, v.as_bytes().to_vec()))
            .collect(),
    }
}

fn control(tag: &str, value: &str) -> OwnedField {
    let t = tag.as_bytes();
    OwnedField::Control {
        tag: [t[0], t[1], t[2]],
        value: value.as_bytes().to_vec(),
    }
}

fn record() -> OwnedRecord {
    let mut leader = [b' '; 24];
    leader.copy_from_slice(b"00000nam a2200000 a 4500");
    OwnedRecord {
        leader,
        fields: vec![
            control("001", "ocm123"),
            control("008", "850101s1984    nyu           000 0 eng d"),
            data(
                "020",
                "  ",
                &[('a', "0123456789"), ('a', "9780123456786"), ('q', "pbk.")],
            ),
            data("100", "1 ", &[('a', "Smith, John,"), ('d', "1950-")]),
            data(
                "245",
                "10",
                &[
                    ('6', "880-01"),
                    ('a', "Title :"),
                    ('b', "sub /"),
                    ('c', "by J."),
                ],
            ),
            data("650", " 0", &[('a', "Cats."), ('x', "History.")]),
            data("650", " 0", &[('a', "Cats.")]),
            data("651", " 7", &[('a', "Paris.")]),
            data(
                "880",
                "10",
                &[('6', "245-01"), ('a', "题名 :"), ('b', "副题")],
            ),
            data("880", "1 ", &[('6', "100-00"), ('a', "史密斯")]),
            data("880", "  ", &[('a', "no linkage")]),
        ],
    }
}

fn run(spec: &str, options: OutputOptions) -> Vec<String> {
    let output = Output::parse(spec, options).unwrap();
    Extractor::new(vec![output]).extract(&record()).remove(0)
}

fn default() -> OutputOptions {
    OutputOptions::default()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn one_code_gives_each_subfield_more_codes_join() {
    assert_eq!(
        run("020a", default()),
        strs(&["0123456789", "9780123456786"])
    );
    assert_eq!(run("020aa", default()), strs(&["0123456789 9780123456786"]));
    assert_eq!(
        run("020aq", default()),
        strs(&["0123456789 9780123456786 pbk."])
    );
    // No codes: every subfield, joined; the 880 for 100 comes in record order.
    assert_eq!(
        run("100", default()),
        strs(&["Smith, John, 1950-", "100-00 史密斯"])
    );
    // Absent tags and absent codes give nothing.
    assert_eq!(run("500a:245z", default()), Vec::<String>::new());
}

#[test]
fn separator_option() {
    let sep = |s: Option<&str>| OutputOptions {
        separator: s.map(str::to_string),
        ..default()
    };
    assert_eq!(
        run("245ab", sep(Some(" -- "))),
        strs(&["Title : -- sub /", "题名 : -- 副题"])
    );
    assert_eq!(
        run("245ab", sep(None)),
        strs(&["Title :", "sub /", "题名 :", "副题"])
    );
}

#[test]
fn alternatives_keep_record_order() {
    // The 880 (linked to 100) stands after 651: record order, not spec order.
    assert_eq!(
        run("651a:100a:650a", default()),
        strs(&["Smith, John,", "Cats.", "Paris.", "史密斯"])
    );
}

#[test]
fn indicators() {
    assert_eq!(run("650| 0|a", default()), strs(&["Cats."]));
    assert_eq!(run("65X|*7|a", default()), strs(&["Paris."]));
    assert_eq!(run("245|1*|a", default()), strs(&["Title :", "题名 :"]));
    assert_eq!(run("245|0*|a", default()), Vec::<String>::new());
}

#[test]
fn control_fields_leader_and_wildcards() {
    assert_eq!(run("001", default()), strs(&["ocm123"]));
    assert_eq!(run("008[35-37]", default()), strs(&["eng"]));
    assert_eq!(run("008[7-10]:008[38]", default()), strs(&["1984", " "]));
    assert_eq!(run("008[60-70]", default()), Vec::<String>::new());
    assert_eq!(run("LDR[6-7]", default()), strs(&["am"]));
    // A slice on a data field gives all its subfields, as traject does.
    assert_eq!(run("651[2]", default()), strs(&["Paris."]));
    let dedupe_off = OutputOptions {
        dedupe: false,
        ..default()
    };
    assert_eq!(run("6XXa", dedupe_off), strs(&["Cats.", "Cats.", "Paris."]));
}

#[test]
fn alternate_script_modes() {
    let alt = |a| OutputOptions {
        alternate_script: a,
        ..default()
    };
    assert_eq!(
        run("245a", alt(AlternateScript::Include)),
        strs(&["Title :", "题名 :"])
    );
    assert_eq!(run("245a", alt(AlternateScript::Only)), strs(&["题名 :"]));
    assert_eq!(
        run("245a", alt(AlternateScript::Ignore)),
        strs(&["Title :"])
    );
    // An 880 spec: with Include, only 880s without a $6 stay 880s; with Ignore, all.
    assert_eq!(
        run("880a", alt(AlternateScript::Include)),
        strs(&["no linkage"])
    );
    assert_eq!(
        run("880a", alt(AlternateScript::Ignore)),
        strs(&["题名 :", "史密斯", "no linkage"])
    );
}

#[test]
fn first_trim_dedupe_default_in_traject_order() {
    let o = |first, trim, dedupe, default_value: Option<&str>| OutputOptions {
        first,
        trim_punctuation: trim,
        dedupe,
        default: default_value.map(str::to_string),
        ..default()
    };
    assert_eq!(run("650a", o(false, false, true, None)), strs(&["Cats."]));
    assert_eq!(
        run("650a", o(false, false, false, None)),
        strs(&["Cats.", "Cats."])
    );
    assert_eq!(
        run("650a:651a", o(false, true, true, None)),
        strs(&["Cats", "Paris"])
    );
    assert_eq!(
        run("245ab", o(true, true, true, None)),
        strs(&["Title : sub"])
    );
    assert_eq!(
        run("100a", o(false, true, true, None)),
        strs(&["Smith, John", "史密斯"])
    );
    assert_eq!(
        run("500a", o(false, false, true, Some("none"))),
        strs(&["none"])
    );
    assert_eq!(
        run("001", o(false, false, true, Some("none"))),
        strs(&["ocm123"])
    );
}

#[test]
fn several_outputs_at_once() {
    let outputs = vec![
        Output::parse("245abnp", default()).unwrap(),
        Output::parse("100a:110a:111a", default()).unwrap(),
        Output::parse("020a", default()).unwrap(),
        Output::parse("600a:610a:611a:630a:650a:651a", default()).unwrap(),
    ];
    let values = Extractor::new(outputs).extract(&record());
    assert_eq!(values[0], strs(&["Title : sub /", "题名 : 副题"]));
    assert_eq!(values[1], strs(&["Smith, John,", "史密斯"]));
    assert_eq!(values[2], strs(&["0123456789", "9780123456786"]));
    assert_eq!(values[3], strs(&["Cats.", "Paris."]));
}

#[test]
fn borrowed_and_owned_records_agree_on_real_files() {
    let outputs = vec![
        Output::parse("001:005:008[35-37]:LDR[5-9]", default()).unwrap(),
        Output::parse("245abnp", default()).unwrap(),
        Output::parse("1XXa", default()).unwrap(),
        Output::parse(
            "6XX|*0|",
            OutputOptions {
                separator: None,
                trim_punctuation: true,
                ..default()
            },
        )
        .unwrap(),
        Output::parse(
            "020a:022a:035a",
            OutputOptions {
                first: true,
                ..default()
            },
        )
        .unwrap(),
    ];
    let extractor = Extractor::new(outputs);
    let mut seen = 0;
    for name in [
        "loc_bibliographic.mrc",
        "loc_authority.mrc",
        "loc_edge_cases.mrc",
    ] {
        let path = format!(
            "{}/../../../shared/corpus/real/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        let (items, _skipped) = read_all(&bytes, Mode::Skip, ParseOptions::default()).unwrap();
        for record in items.into_iter().flatten() {
            let borrowed = extractor.extract(&record);
            let owned = extractor.extract(&record.to_owned_record());
            assert_eq!(borrowed, owned);
            seen += borrowed.iter().filter(|v| !v.is_empty()).count();
        }
    }
    assert!(seen > 100, "only {seen} non-empty value lists");
}

// An ISO 2709 record of `fields` (tag and data, terminator added) with leader/09 `coding`.
fn iso(coding: u8, fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut directory = Vec::new();
    let mut data = Vec::new();
    for (tag, bytes) in fields {
        let start = data.len();
        data.extend_from_slice(bytes);
        data.push(0x1E);
        directory
            .extend_from_slice(format!("{tag}{:04}{:05}", data.len() - start, start).as_bytes());
    }
    directory.push(0x1E);
    let base = 24 + directory.len();
    let len = base + data.len() + 1;
    let mut out = format!("{len:05}nam {}22{base:05} a 4500", coding as char).into_bytes();
    out.extend_from_slice(&directory);
    out.extend_from_slice(&data);
    out.push(0x1D);
    out
}

fn parsed_values(bytes: &[u8], spec: &str) -> (bool, Vec<String>) {
    let extractor = Extractor::new(vec![Output::parse(spec, default()).unwrap()]);
    let (items, _) = read_all(bytes, Mode::Strict, ParseOptions::default()).unwrap();
    let record = items.into_iter().next().unwrap().unwrap();
    let owned = extractor.extract(&record.to_owned_record()).remove(0);
    let borrowed = extractor.extract(&record).remove(0);
    // The owned view checks every value; the borrowed one trusts the parser's check.
    assert_eq!(borrowed, owned);
    (record.utf8_checked(), borrowed)
}

#[test]
fn values_the_parser_checked_as_utf8_are_taken_as_text_unchanged() {
    // Non-ASCII values, a folded two-byte code (`á` read as `a`), a joined field and a
    // control field: the parser's UTF-8 check covers all of them.
    let bytes = iso(
        b'a',
        &[
            ("001", "ocm1 é".as_bytes()),
            ("245", "10\x1Fa题名 :\x1Fb副题 /\x1Fcby J.".as_bytes()),
            ("650", " 0\x1F\u{e1}Café.\x1FxHistoire.".as_bytes()),
        ],
    );
    assert_eq!(
        parsed_values(&bytes, "001:245ab:650a"),
        (true, strs(&["ocm1 é", "题名 : 副题 /", "Café."]))
    );
    // A slice may cut a character: it is checked, and the broken end replaced.
    assert_eq!(
        parsed_values(&bytes, "001[0-5]"),
        (true, strs(&["ocm1 \u{FFFD}"]))
    );
}

#[test]
fn values_the_parser_did_not_check_are_checked_here() {
    // leader/09 blank (MARC-8): the parser does not check UTF-8, so bad bytes reach the
    // extractor, which replaces them.
    let bytes = iso(b' ', &[("245", b"10\x1FaBad \xE9 byte")]);
    assert_eq!(
        parsed_values(&bytes, "245a"),
        (false, strs(&["Bad \u{FFFD} byte"]))
    );
}

#[test]
fn every_value_of_a_record_the_parser_checked_is_utf8_on_real_files() {
    use snakepit_core::{FieldView, RecordView};
    let root = format!("{}/../../../shared/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["real", "synthetic", "bad"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let Ok((items, _)) = read_all(&bytes, Mode::Skip, ParseOptions::default()) else {
                continue;
            };
            for record in items.into_iter().flatten().filter(|r| r.utf8_checked()) {
                checked += 1;
                for field in record.view_fields() {
                    let ok = match field {
                        FieldView::Control { value, .. } => std::str::from_utf8(value).is_ok(),
                        FieldView::Data { mut subfields, .. } => {
                            subfields.all(|(_, v)| std::str::from_utf8(v).is_ok())
                        }
                    };
                    assert!(
                        ok,
                        "{}: a checked record has a value that is not UTF-8",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(checked > 1_000, "only {checked} checked records");
}

/// A field as `(tag, [(ind1, [ind2]), (code, value)...])`, or a control field's
/// `(tag, [(0, value)])`, to compare views.
type Described = (Vec<u8>, Vec<(u8, Vec<u8>)>);

fn described<'s, S: Iterator<Item = (u8, &'s [u8])>>(
    fields: impl Iterator<Item = snakepit_core::view::FieldView<'s, S>>,
) -> Vec<Described> {
    use snakepit_core::view::FieldView;
    fields
        .map(|field| match field {
            FieldView::Control { tag, value } => (tag.to_vec(), vec![(0, value.to_vec())]),
            FieldView::Data {
                tag,
                ind1,
                ind2,
                subfields,
            } => (
                tag.to_vec(),
                std::iter::once((ind1, vec![ind2]))
                    .chain(subfields.map(|(c, v)| (c, v.to_vec())))
                    .collect(),
            ),
        })
        .collect()
}

#[test]
fn a_parsed_records_fields_taken_by_tag_are_those_a_filter_of_all_keeps() {
    use snakepit_core::view::RecordView;
    let path = format!(
        "{}/../../../shared/corpus/real/loc_bibliographic.mrc",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    let (items, _) = read_all(&bytes, Mode::Skip, ParseOptions::default()).unwrap();
    let keeps: [fn(&[u8; 3]) -> bool; 3] = [
        |tag| tag[0] == b'6' || tag == b"245",
        |tag| tag == b"008",
        |_| false,
    ];
    let mut kept = 0;
    for record in items.iter().flatten() {
        for keep in keeps {
            let taken = described(record.view_fields_where(keep));
            let filtered = described(record.view_fields().filter(|f| keep(f.tag())));
            assert_eq!(taken, filtered);
            kept += taken.len();
        }
    }
    assert!(kept > 1000, "only {kept} fields kept");
}
