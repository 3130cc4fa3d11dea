use super::schema::{ByteSet, FieldDef, Schema, SubfieldRule};
use super::*;
use crate::marc21::{CodeDef, PositionDef};
use crate::record::{OwnedField, OwnedRecord};

fn data(tag: &str, ind: &str, subfields: &[(u8, &str)]) -> OwnedField {
    let ind = ind.as_bytes();
    OwnedField::Data {
        tag: tag.as_bytes().try_into().unwrap(),
        ind1: ind[0],
        ind2: ind[1],
        subfields: subfields
            .iter()
            .map(|(c, v)| (*c, v.as_bytes().to_vec()))
            .collect(),
    }
}

fn control(tag: &str, value: &str) -> OwnedField {
    OwnedField::Control {
        tag: tag.as_bytes().try_into().unwrap(),
        value: value.as_bytes().to_vec(),
    }
}

fn record(fields: Vec<OwnedField>) -> OwnedRecord {
    OwnedRecord {
        leader: *b"00000nam a2200000 a 4500",
        fields,
    }
}

fn def(repeatable: bool, ind1: &[u8], ind2: &[u8], subfields: &[(u8, bool)]) -> FieldDef {
    let mut rules = [SubfieldRule::Undefined; 128];
    for &(code, repeatable) in subfields {
        rules[code as usize] = if repeatable {
            SubfieldRule::Repeatable
        } else {
            SubfieldRule::NonRepeatable
        };
    }
    FieldDef {
        repeatable,
        indicators: [ByteSet::of(ind1), ByteSet::of(ind2)],
        obsolete_indicators: [ByteSet::default(); 2],
        subfields: rules,
    }
}

// A few fields of the MARC 21 tables, by hand: the checks, not the tables, are tested here.
fn schema() -> Schema {
    let mut s = Schema::default();
    s.set_field(b"001", def(false, b" ", b" ", &[]));
    s.set_field(b"008", def(false, b" ", b" ", &[]));
    s.set_field(
        b"020",
        def(
            true,
            b" ",
            b" ",
            &[(b'a', false), (b'z', true), (b'6', false)],
        ),
    );
    s.set_field(b"022", def(true, b" 01", b" ", &[(b'a', false)]));
    s.set_field(
        b"100",
        def(false, b"013", b" ", &[(b'a', false), (b'6', false)]),
    );
    s.set_field(b"110", def(false, b"012", b" ", &[(b'a', false)]));
    let mut title = def(
        false,
        b"01",
        b"0123456789",
        &[(b'a', false), (b'b', false), (b'c', false), (b'6', false)],
    );
    title.subfields[b'd' as usize] = SubfieldRule::Obsolete;
    s.set_field(b"245", title);
    s.leader = LEADER
        .iter()
        .map(super::schema::Position::compile)
        .collect();
    s
}

const fn code(code: &'static str, obsolete: bool) -> CodeDef {
    CodeDef {
        code,
        code_end: None,
        obsolete,
        label: "",
    }
}

static LEADER: &[PositionDef] = &[PositionDef {
    start: 5,
    end: 6,
    label: "Record status",
    url: "",
    repeatable_content: false,
    unit_length: 0,
    codes: &[
        code("a", false),
        code("c", false),
        code("d", false),
        code("n", false),
        code("p", false),
        code("o", true),
    ],
}];

fn linter_with(schema: &'static Schema, set: RuleSet) -> Linter {
    Linter {
        codes: set.codes,
        schema: set.builtin.then_some(schema),
        rules: set.rules,
    }
}

fn names(linter: &Linter, issues: &[Issue]) -> Vec<String> {
    issues
        .iter()
        .map(|i| linter.codes()[i.code as usize].name.clone())
        .collect()
}

fn lint_names(rec: &OwnedRecord) -> Vec<String> {
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let linter = linter_with(schema, RuleSet::default());
    names(&linter, &linter.lint(rec))
}

const GOOD_008: &str = "850101s1985    nyu           000 0 eng d";

fn good() -> Vec<OwnedField> {
    vec![
        control("001", "1"),
        control("008", GOOD_008),
        data("100", "1 ", &[(b'a', "Wall, Larry.")]),
        data(
            "245",
            "10",
            &[(b'a', "Programming Perl /"), (b'c', "Larry Wall.")],
        ),
    ]
}

#[test]
fn a_sound_record_has_no_issues() {
    assert_eq!(lint_names(&record(good())), Vec::<String>::new());
}

#[test]
fn field_checks() {
    let mut fields = good();
    fields.push(data("110", "2 ", &[(b'a', "O'Reilly.")]));
    fields.push(data("245", "10", &[(b'a', "Again.")]));
    fields.push(data("123", "  ", &[(b'a', "x")]));
    fields.push(data("590", "  ", &[(b'a', "local note")]));
    fields.push(data("020", "  ", &[]));
    let found = lint_names(&record(fields));
    assert_eq!(
        found,
        [
            "field.multiple_1xx",
            "field.not_repeatable",
            "field.undefined",
            "field.local",
            "field.no_subfields"
        ]
    );
}

#[test]
fn missing_fields_only_in_bibliographic_records() {
    let rec = record(vec![control("001", "1")]);
    assert_eq!(lint_names(&rec), ["field.missing", "field.missing"]);
    let mut authority = rec.clone();
    authority.leader[6] = b'z';
    assert_eq!(lint_names(&authority), Vec::<String>::new());
}

#[test]
fn indicator_and_subfield_checks() {
    let mut fields = good();
    fields[3] = data(
        "245",
        "90",
        &[
            (b'a', "Perl /"),
            (b'a', "again"),
            (b'x', "?"),
            (b'd', "old"),
            (b'c', ""),
        ],
    );
    let found = lint_names(&record(fields));
    assert_eq!(
        found,
        [
            "subfield.empty",
            "indicator.undefined",
            "subfield.not_repeatable",
            "subfield.undefined",
            "subfield.obsolete"
        ]
    );
}

/// A good record but for its 245's first indicator (9), with a linter of the small tables.
fn bad_245_indicator() -> (Linter, OwnedRecord) {
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let mut fields = good();
    fields[3] = data("245", "90", &[(b'a', "Perl")]);
    (linter_with(schema, RuleSet::default()), record(fields))
}

#[test]
fn messages_name_what_was_found_and_what_is_allowed() {
    let (linter, bad) = bad_245_indicator();
    let issues = linter.lint(&bad);
    assert_eq!(&*issues[0].message, "245 indicator 1 is 9; allowed: 0 1");
    assert_eq!(issues[0].at.tag, Some(*b"245"));
    assert_eq!(issues[0].at.field_index, Some(3));
}

// The NIF tells repeated messages apart by address (lint_nif.rs): a remembered message is
// shared by every issue that repeats it, and a message worded afresh is its own.
#[test]
fn a_repeated_message_is_one_shared_allocation() {
    let (linter, bad) = bad_245_indicator();
    let first = linter.lint(&bad);
    let again = linter.lint(&bad);
    assert_eq!(first, again);
    assert!(std::sync::Arc::ptr_eq(&first[0].message, &again[0].message));
    forget_messages();
    let afresh = linter.lint(&bad);
    assert_eq!(afresh, first);
    assert!(!std::sync::Arc::ptr_eq(
        &afresh[0].message,
        &first[0].message
    ));
}

#[test]
fn leader_and_fixed_fields() {
    let mut rec = record(good());
    rec.leader[5] = b'x';
    rec.fields[1] = control("008", "850101s19x5");
    let found = lint_names(&rec);
    assert_eq!(found, ["leader.value", "fixed.length", "fixed.date"]);
    rec.leader[5] = b'o';
    assert_eq!(lint_names(&rec)[0], "fixed.obsolete");
}

#[test]
fn content_checks() {
    let mut fields = good();
    fields.push(data("020", "  ", &[(b'a', "0471383148")]));
    fields.push(data("020", "  ", &[(b'a', "12345")]));
    fields.push(data("022", "  ", &[(b'a', "0378-5954")]));
    fields[3] = data("245", "10", &[(b'a', "The Perl book")]);
    let found = lint_names(&record(fields));
    assert_eq!(
        found,
        [
            "title.nonfiling",
            "isbn.checksum",
            "isbn.invalid",
            "issn.checksum"
        ]
    );
}

#[test]
fn linkage_pairs() {
    let mut fields = good();
    fields[2] = data("100", "1 ", &[(b'6', "880-01"), (b'a', "Wall")]);
    fields.push(data("880", "1 ", &[(b'6', "100-01"), (b'a', "Уолл")]));
    assert_eq!(lint_names(&record(fields.clone())), Vec::<String>::new());
    fields.push(data("880", "10", &[(b'6', "245-02"), (b'a', "x")]));
    fields.push(data("880", "1 ", &[(b'a', "no link")]));
    fields.push(data("880", "1 ", &[(b'6', "24x")]));
    let found = lint_names(&record(fields));
    assert_eq!(
        found,
        ["linkage.missing", "linkage.invalid", "linkage.unpaired"]
    );
}

#[test]
fn parsed_records_carry_byte_offsets() {
    let rec = record(good());
    let bytes = rec.encode().unwrap();
    let parsed = crate::parse_record(&bytes, Default::default(), Default::default()).unwrap();
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let linter = linter_with(
        schema,
        RuleSet::from_json(r#"{"rules": [{"code": "t.a", "at": "245c", "pattern": "^X"}]}"#)
            .unwrap(),
    );
    let issues = linter.lint(&parsed);
    assert_eq!(names(&linter, &issues), ["t.a"]);
    let offset = issues[0].at.byte_offset.unwrap() as usize;
    assert_eq!(&bytes[offset..offset + 2], b"\x1fc");
}

#[test]
fn rule_sets() {
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let set = RuleSet::from_json(
        r#"{
          "disable": ["field.local"],
          "severity": {"subfield.*": "warning"},
          "rules": [
            {"code": "local.035", "require": "035", "record_types": "a"},
            {"code": "local.no9", "forbid": "9XX", "severity": "info"},
            {"code": "local.lang", "at": "008[35-37]", "allowed": ["fre", "ger"]},
            {"code": "local.240", "if": "100:110", "then": "240", "message": "uniform title"}
          ]
        }"#,
    )
    .unwrap();
    let linter = linter_with(schema, set);
    let mut fields = good();
    fields.push(data("590", "  ", &[(b'a', "x")]));
    fields.push(data("950", "  ", &[(b'a', "x")]));
    let issues = linter.lint(&record(fields));
    assert_eq!(
        names(&linter, &issues),
        ["local.035", "local.no9", "local.lang", "local.240"]
    );
    assert_eq!(issues[1].severity, Severity::Info);
    assert_eq!(
        &*issues[2].message,
        "008/35-37 is \"eng\"; rule local.lang allows: fre, ger"
    );
    assert!(issues[3]
        .message
        .starts_with("uniform title (100 is present"));
    let sub = linter.code_index("subfield.empty").unwrap();
    assert_eq!(linter.codes()[sub as usize].severity, Severity::Warning);
}

#[test]
fn bad_rule_sets_say_where() {
    let cases = [
        ("{\"rules\": [", "not valid JSON at line 1 column 11"),
        (r#"{"rulez": []}"#, "rulez: unknown key"),
        (
            r#"{"disable": ["field.nope"]}"#,
            "disable[0]: \"field.nope\" names no code",
        ),
        (
            r#"{"rules": [{"code": "x", "at": "245a", "pattern": "("}]}"#,
            "rules[0].pattern: not a valid regular expression",
        ),
        (
            r#"{"rules": [{"code": "x", "at": "24", "allowed": ["a"]}]}"#,
            "rules[0].at: \"24\": at position 2",
        ),
        (
            r#"{"rules": [{"code": "x", "require": "035"}, {"code": "x", "forbid": "1"}]}"#,
            "rules[1].code: \"x\" is already a code",
        ),
        (
            r#"{"rules": [{"code": "x", "require": "035", "forbid": "036"}]}"#,
            "rules[0]: a rule has exactly one of",
        ),
        (
            r#"{"rules": [{"code": "x", "at": "245a", "pattern": "a{1000}{1000}"}]}"#,
            "rules[0].pattern: not a valid regular expression",
        ),
    ];
    for (text, expected) in cases {
        let message = RuleSet::from_json(text).unwrap_err().to_string();
        assert!(message.starts_with(expected), "{text}: {message}");
    }
}

#[test]
fn builtin_off_keeps_only_the_rules() {
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let set =
        RuleSet::from_json(r#"{"builtin": false, "rules": [{"code": "r", "forbid": "590"}]}"#)
            .unwrap();
    let linter = linter_with(schema, set);
    let rec = record(vec![data("590", "  ", &[])]);
    assert_eq!(names(&linter, &linter.lint(&rec)), ["r"]);
}

#[test]
fn issues_per_record_are_capped() {
    let fields = (0..2000)
        .map(|_| data("500", "  ", &[(b'a', "")]))
        .collect();
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let linter = linter_with(schema, RuleSet::default());
    let issues = linter.lint(&record(fields));
    assert_eq!(issues.len(), MAX_ISSUES_PER_RECORD + 1);
    // 2000 fields, each with an undefined tag and an empty subfield, and no 245 or 008.
    assert_eq!(
        &*issues.last().unwrap().message,
        "3002 more issues in this record were not listed (at most 1000 are)"
    );
}

#[test]
fn the_marc21_tables_drive_the_checks() {
    let linter = Linter::new(RuleSet::default());
    let mut fields = good();
    fields.push(data("041", "0 ", &[(b'a', "engxxx")]));
    fields.push(data("043", "  ", &[(b'a', "n-us---"), (b'a', "zz-zz--")]));
    fields[1] = control("008", "850101s1985    xx#           000 0 qqq d");
    fields[3] = data("245", "10", &[(b'a', "Perl"), (b'q', "?")]);
    let issues = linter.lint(&record(fields));
    let found = names(&linter, &issues);
    assert_eq!(
        found,
        [
            "country.undefined",
            "language.undefined",
            "subfield.undefined",
            "language.undefined",
            "geographic_area.undefined"
        ],
        "{issues:#?}"
    );
    assert!(
        issues[2]
            .message
            .starts_with("245 $q is not defined; allowed: 6 8 a b c f g h k n p s"),
        "{}",
        issues[2].message
    );
}

/// Not a test: `cargo test --release -p snakepit_core lint_timing -- --ignored --nocapture`
/// prints how long linting takes against parsing alone, per corpus file.
#[test]
#[ignore]
fn lint_timing() {
    let linter = Linter::new(RuleSet::default());
    for file in [
        "real/loc_bibliographic.mrc",
        "synthetic/records_10k.mrc",
        "synthetic/realistic_2000.mrc",
    ] {
        let bytes = std::fs::read(format!("../../../shared/corpus/{file}")).unwrap();
        let (items, _) =
            crate::read_all(&bytes, crate::Mode::Permissive, Default::default()).unwrap();
        let records: Vec<_> = items.into_iter().filter_map(Result::ok).collect();
        let start = std::time::Instant::now();
        let mut issues = Vec::new();
        let mut total = 0;
        for _ in 0..20 {
            for r in &records {
                linter.lint_into(r, &mut issues);
                total += issues.len();
            }
        }
        let lint = start.elapsed() / 20;
        let only_builtin = Linter::new(RuleSet::from_json(r#"{"disable": ["*"]}"#).unwrap());
        let start = std::time::Instant::now();
        for _ in 0..20 {
            for r in &records {
                only_builtin.lint_into(r, &mut issues);
            }
        }
        let silent = start.elapsed() / 20;
        let start = std::time::Instant::now();
        for _ in 0..20 {
            let _ = crate::read_all(&bytes, crate::Mode::Permissive, Default::default());
        }
        let parse = start.elapsed() / 20;
        println!("{file}: {} records, {} issues; parse {parse:?}, lint {lint:?}, lint with every code off {silent:?}", records.len(), total / 20);
    }
}

/// One rule set, written as JSON and as TOML (the Elixir tests read them too).
const TWIN_JSON: &str = include_str!("../../../../test/fixtures/rules/twin.json");
const TWIN_TOML: &str = include_str!("../../../../test/fixtures/rules/twin.toml");

#[test]
fn a_toml_rule_set_compiles_to_its_json_twin() {
    let as_json: serde_json::Value =
        serde_json::from_str(&RuleSet::toml_to_json(TWIN_TOML).unwrap()).unwrap();
    assert_eq!(
        as_json,
        serde_json::from_str::<serde_json::Value>(TWIN_JSON).unwrap()
    );
    let schema: &'static Schema = Box::leak(Box::new(schema()));
    let from_json = linter_with(schema, RuleSet::from_json(TWIN_JSON).unwrap());
    let from_toml = linter_with(schema, RuleSet::from_toml(TWIN_TOML).unwrap());
    assert_eq!(from_json.codes(), from_toml.codes());
    let rec = record(vec![
        control("008", &format!("{:35}eng{:2}", "", "")),
        data("020", "  ", &[(b'a', "0123456789")]),
        data("100", "1 ", &[(b'a', "Someone")]),
        data("245", "10", &[(b'a', "Title"), (b'q', "odd")]),
        data("990", "  ", &[(b'a', "local")]),
    ]);
    let issues = from_json.lint(&rec);
    for code in [
        "local.035",
        "local.no9",
        "local.isbn",
        "local.lang",
        "local.240",
    ] {
        let found = names(&from_json, &issues);
        assert!(found.iter().any(|n| n == code), "{code}: {found:?}");
    }
    assert_eq!(issues, from_toml.lint(&rec));
}

#[test]
fn a_toml_syntax_error_names_its_line_and_column() {
    let text = "disable = [\"field.local\"]\n[severity]\n\"subfield.*\" = warning\n";
    let message = RuleSet::from_toml(text).unwrap_err().to_string();
    assert!(
        message.starts_with("not valid TOML at line 3 column 16:"),
        "{message}"
    );
    // A wrong value is reported where the JSON form's would be.
    let message = RuleSet::from_toml("[[rules]]\ncode = 7\nrequire = \"035\"\n")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("rules[0].code:"), "{message}");
}

#[test]
fn obsolete_tags_are_classed_apart_from_undefined_and_local_ones() {
    let linter = Linter::new(RuleSet::from_json("{}").unwrap());
    let rec = record(vec![
        data("245", "00", &[(b'a', "Title")]),
        data("503", "  ", &[(b'a', "History")]),
        data("590", "  ", &[(b'a', "Local")]),
        data("012", "  ", &[(b'a', "x")]),
        data("880", "  ", &[(b'6', "840-01"), (b'a', "Series")]),
    ]);
    let issues = linter.lint(&rec);
    let of = |tag: &[u8; 3]| -> Vec<&Issue> {
        issues.iter().filter(|i| i.at.tag == Some(*tag)).collect()
    };
    let name = |i: &Issue| linter.codes()[i.code as usize].name.clone();
    let obsolete = of(b"503");
    assert_eq!(
        obsolete.iter().map(|i| name(i)).collect::<Vec<_>>(),
        ["field.obsolete"]
    );
    assert_eq!(obsolete[0].severity, Severity::Warning);
    assert_eq!(
        &*obsolete[0].message,
        "503 is obsolete in MARC 21 bibliographic (formerly BIBLIOGRAPHIC HISTORY NOTE (R) (BK CF MU))"
    );
    assert_eq!(
        of(b"590").iter().map(|i| name(i)).collect::<Vec<_>>(),
        ["field.local"]
    );
    assert_eq!(
        of(b"012").iter().map(|i| name(i)).collect::<Vec<_>>(),
        ["field.undefined"]
    );
    let alternate: Vec<&Issue> = of(b"880")
        .into_iter()
        .filter(|i| name(i) == "field.obsolete")
        .collect();
    assert_eq!(alternate.len(), 1, "{issues:?}");
    assert!(alternate[0].message.starts_with("880 (840) is obsolete"));
}
