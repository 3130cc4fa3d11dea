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

/// Every code of the lists the checks search, found by word as by the list's own search,
/// and values near them (a byte off, a byte short or long) missed or found alike.
#[test]
fn packed_code_lists_find_what_the_lists_find() {
    let schema = schema::marc21();
    let lists = [
        &schema.languages,
        &schema.countries,
        &schema.geographic_areas,
    ];
    let mut searched = 0;
    for packed in lists.into_iter().flatten() {
        for def in packed.list.codes {
            let code = def.code.as_bytes();
            let mut near = vec![code.to_vec(), code[..code.len() - 1].to_vec()];
            near.push([code, b" "].concat());
            near.push([code, b"xxxxxxx"].concat());
            let mut off = code.to_vec();
            off[0] ^= 1;
            near.push(off);
            for value in near {
                let want = packed.list.lookup(&value).map(|d| d as *const _);
                assert_eq!(
                    packed.lookup(&value).map(|d| d as *const _),
                    want,
                    "{value:?}"
                );
                searched += 1;
            }
        }
    }
    assert!(searched > 1000, "{searched}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_values_are_found_by_word_as_by_the_list(
        value in prop::collection::vec(prop_oneof![3 => b'a'..=b'z', 1 => Just(b'-'), 1 => any::<u8>()], 0..9)
    ) {
        let schema = schema::marc21();
        for packed in [&schema.languages, &schema.countries, &schema.geographic_areas]
            .into_iter()
            .flatten()
        {
            let want = packed.list.lookup(&value).map(|d| d as *const _);
            prop_assert_eq!(packed.lookup(&value).map(|d| d as *const _), want);
        }
    }

    #[test]
    fn titles_are_judged_alike_at_a_glance_and_in_full(
        title in prop::collection::vec(prop_oneof![
            4 => prop::sample::select(b"theTHEaAnlLsde".to_vec()),
            2 => prop::sample::select(b" \"'[]()*-&".to_vec()),
            1 => Just(0xc3_u8),
            1 => any::<u8>(),
        ], 0..12),
        ind in prop_oneof![3 => Just(b'0'), 1 => b'0'..=b'9', 1 => any::<u8>()],
    ) {
        prop_assert_eq!(
            content::check_nonfiling(&title, ind),
            content::nonfiling_in_full(&title, ind)
        );
    }
}
