//! The fast paths against the plain ones they stand for: a parsed record's subfields split
//! word by word ([`Prepared::from_record_in`]) against the record view's own reading
//! ([`Prepared::new`]), and remembered messages against messages worded afresh, on every
//! corpus record and on generated records of arbitrary bytes.

use super::prepared::{Prepared, Scratch};
use super::*;
use crate::record::{FieldSpan, Record};
use proptest::prelude::*;

/// Every record of every ISO 2709 file of the shared corpus (none when it is absent).
fn corpus() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut files = Vec::new();
    for sub in ["real", "synthetic", "marc8", "formats", "bad"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("mrc" | "dat")
            ) {
                files.push(std::fs::read(path).unwrap());
            }
        }
    }
    files
}

/// `record` read both ways, and linted both ways: the fast split with the messages this
/// thread remembers, and the view's reading with every message worded afresh.
fn same_both_ways(linter: &Linter, record: &Record<'_>) {
    let fast = Prepared::from_record_in(record, &mut Scratch::default());
    assert_eq!(fast, Prepared::new(record), "{:?}", record.bytes());
    let mut remembered = Vec::new();
    linter.lint_record_into(record, &mut remembered);
    forget_messages();
    let afresh = linter.lint(record);
    assert_eq!(remembered, afresh, "{:?}", record.bytes());
}

#[test]
fn every_corpus_record_is_read_and_linted_the_same_by_the_fast_paths() {
    let linter = Linter::new(RuleSet::default());
    let mut records = 0;
    for bytes in corpus() {
        let (items, _) = crate::read_all(&bytes, crate::Mode::Skip, Default::default()).unwrap();
        for record in items.iter().flatten() {
            same_both_ways(&linter, record);
            records += 1;
        }
    }
    // The corpus is optional (tests run without it), but when present it is all read.
    assert!(records == 0 || records > 12_000, "{records} records");
}

/// A record over arbitrary bytes: a leader saying bibliographic (so that every table check
/// runs), then fields whose data mixes delimiters, short values, two-byte code letters and
/// text, in spans that may overlap or come out of order.
fn arbitrary_record() -> impl Strategy<Value = (Vec<u8>, Vec<FieldSpan>)> {
    let byte = prop_oneof![
        4 => Just(0x1f_u8),
        1 => Just(0xc3_u8),
        1 => Just(0xa1_u8),
        1 => Just(b'\n'),
        2 => prop::sample::select(b"0123456789 |-$".to_vec()),
        6 => b'a'..=b'z',
        1 => any::<u8>(),
    ];
    let tag = prop_oneof![
        prop::sample::select(vec![
            *b"008", *b"006", *b"007", *b"020", *b"022", *b"041", *b"043", *b"100", *b"110",
            *b"245", *b"240", *b"650", *b"880", *b"590", *b"999", *b"503", *b"012", *b"001",
        ]),
        any::<[u8; 3]>(),
    ];
    (
        prop::collection::vec(byte, 0..400),
        prop::collection::vec((tag, any::<u16>(), 0u16..60), 0..30),
    )
        .prop_map(|(body, fields)| {
            let mut bytes = b"00000nam a2200000 a 4500".to_vec();
            bytes.extend(body);
            let len = bytes.len() as u32;
            let spans = fields
                .into_iter()
                .map(|(tag, start, width)| {
                    let start = 24 + u32::from(start) % (len - 23);
                    let end = (start + u32::from(width)).min(len);
                    FieldSpan { tag, start, end }
                })
                .collect();
            (bytes, spans)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_records_are_read_and_linted_the_same_by_the_fast_paths(
        (bytes, spans) in arbitrary_record()
    ) {
        let linter = Linter::new(RuleSet::default());
        let record = Record::from_parts(&bytes, spans).expect("spans inside");
        same_both_ways(&linter, &record);
    }
}
