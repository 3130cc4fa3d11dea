//! Helpers shared by the integration tests.
#![allow(dead_code)]

use snakepit_core::scan::{next_step, Frames, Step};
use snakepit_core::{
    parse_record, read_all, Item, MarcError, Mode, Origin, OwnedField, OwnedRecord, ParseOptions,
    Record,
};
use std::path::PathBuf;

/// The shared corpus, read in place: /work/shared/corpus from a worktree, ../shared/corpus
/// from the project root in CI.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

pub fn corpus(rel: &str) -> Vec<u8> {
    let path = corpus_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every record of `bytes`, read in strict mode (a bad record fails the test).
pub fn records(bytes: &[u8]) -> Vec<Record<'_>> {
    let (items, skipped) = read_all(bytes, Mode::Strict, ParseOptions::default()).unwrap();
    assert_eq!(skipped, 0);
    items.into_iter().map(|i| i.unwrap()).collect()
}

/// Every ISO 2709 file of the corpus, relative to its root.
pub fn corpus_files() -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["real", "synthetic", "marc8", "formats", "bad"] {
        let dir = corpus_dir().join(sub);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "mrc" || e == "dat") {
                out.push(format!(
                    "{sub}/{}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    out.sort();
    out
}

pub fn permissive(buf: &[u8]) -> Vec<Item<'_>> {
    read_all(buf, Mode::Permissive, ParseOptions::default())
        .expect("permissive mode never fails")
        .0
}

/// Where `record` starts in `buf` (it borrows from it).
pub fn offset_in(buf: &[u8], record: &Record<'_>) -> usize {
    let at = record.bytes().as_ptr() as usize - buf.as_ptr() as usize;
    assert!(at + record.bytes().len() <= buf.len());
    at
}

pub fn first_subfield<'a>(record: &Record<'a>, tag: &[u8; 3], code: u8) -> Option<&'a [u8]> {
    record
        .fields()
        .filter(|f| &f.tag == tag)
        .flat_map(|f| f.subfields())
        .find(|s| s.code == code)
        .map(|s| s.value)
}

pub fn control<'a>(record: &Record<'a>, tag: &[u8; 3]) -> Option<&'a [u8]> {
    record.fields().find(|f| &f.tag == tag).map(|f| f.data)
}

/// What every read of any input must satisfy, in all three modes. Returns the permissive
/// items' summary: `Ok(field count)` or `Err(error)` per framed chunk.
pub fn check_read_invariants(buf: &[u8]) -> Vec<Result<usize, MarcError>> {
    let opts = ParseOptions::default();
    let items = permissive(buf);
    let frames: Vec<Step> = Frames::new(buf).collect();
    assert_eq!(frames.len(), items.len(), "one item per frame");
    let mut errors = Vec::new();
    let mut last_end = 0;
    for (index, (item, frame)) in items.iter().zip(&frames).enumerate() {
        let (start, end) = match *frame {
            Step::Record { start, end } | Step::Skip { start, end, .. } => (start, end),
            _ => unreachable!("Frames yields records and skips"),
        };
        assert!(
            last_end <= start && start < end && end <= buf.len(),
            "{frame:?}"
        );
        last_end = end;
        match item {
            Ok(record) => {
                assert!(matches!(frame, Step::Record { .. }));
                assert_eq!(offset_in(buf, record), start);
                assert_eq!(record.bytes().len(), end - start);
                for span in record.spans() {
                    assert!(span.start <= span.end && (span.end as usize) < record.bytes().len());
                }
                check_reencode(record);
            }
            Err(e) => {
                assert_eq!(e.record_index, index as u64, "{e}");
                let at = e.byte_offset as usize;
                assert!(
                    at >= start && at < end,
                    "{e} outside its chunk {start}..{end}"
                );
                assert_eq!(e.excerpt, &buf[at..(at + e.excerpt.len()).min(buf.len())]);
                assert!(!e.excerpt.is_empty());
                errors.push(e.clone());
            }
        }
    }
    // Framing stops only where nothing but padding is left.
    assert!(buf[last_end..]
        .iter()
        .all(|&b| snakepit_core::scan::is_padding(b)));
    assert_eq!(next_step(buf, last_end, true), Step::End);

    let (kept, skipped) = read_all(buf, Mode::Skip, opts).expect("skip mode never fails");
    assert_eq!(skipped as usize, errors.len());
    let good: Vec<&[u8]> = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .map(|r| r.bytes())
        .collect();
    let kept: Vec<&[u8]> = kept
        .iter()
        .map(|i| i.as_ref().expect("skip mode keeps records only").bytes())
        .collect();
    assert_eq!(kept, good);

    match read_all(buf, Mode::Strict, opts) {
        Ok((all, 0)) => {
            assert!(errors.is_empty());
            assert_eq!(all.len(), items.len());
            assert!(all.iter().all(|i| i.is_ok()));
        }
        Ok((_, n)) => panic!("strict mode skipped {n}"),
        Err(e) => assert_eq!(Some(&e), errors.first()),
    }

    items
        .into_iter()
        .map(|i| i.map(|r| r.spans().len()))
        .collect()
}

/// ISO 2709 bytes for `rec` exactly as given, written here independently of the crate's
/// encoder, which refuses delimiter bytes inside values: framing tests need records that
/// hold 0x1D and 0x1E, as real files do. Lengths must fit (test records are small).
#[allow(dead_code)]
pub fn raw_encode(rec: &OwnedRecord) -> Vec<u8> {
    let mut data = Vec::new();
    let mut directory = Vec::new();
    for field in &rec.fields {
        let start = data.len();
        let tag = match field {
            OwnedField::Control { tag, value } => {
                data.extend_from_slice(value);
                tag
            }
            OwnedField::Data {
                tag,
                ind1,
                ind2,
                subfields,
            } => {
                data.extend_from_slice(&[*ind1, *ind2]);
                for (code, value) in subfields {
                    data.extend_from_slice(&[0x1F, *code]);
                    data.extend_from_slice(value);
                }
                tag
            }
        };
        data.push(0x1E);
        directory.extend_from_slice(tag);
        directory.extend_from_slice(format!("{:04}{start:05}", data.len() - start).as_bytes());
    }
    let base = 24 + directory.len() + 1;
    let total = base + data.len() + 1;
    let mut out = rec.leader.to_vec();
    out[..5].copy_from_slice(format!("{total:05}").as_bytes());
    out[12..17].copy_from_slice(format!("{base:05}").as_bytes());
    out.extend_from_slice(&directory);
    out.push(0x1E);
    out.extend_from_slice(&data);
    out.push(0x1D);
    out
}

/// A good record re-encodes (unless too large for ISO 2709, or holding a delimiter byte
/// inside a value, which the encoder refuses) to bytes that parse to the same fields and
/// re-encode to the same bytes.
pub fn check_reencode(record: &Record<'_>) {
    let owned = record.to_owned_record();
    let encoded = match owned.encode() {
        Ok(encoded) => encoded,
        Err(e) if e.kind == snakepit_core::ErrorKind::InvalidValue => {
            assert!(
                e.excerpt.first().is_some_and(|b| (0x1D..=0x1F).contains(b)),
                "{e}"
            );
            return;
        }
        Err(e) => {
            assert_eq!(e.kind, snakepit_core::ErrorKind::TooLarge);
            return;
        }
    };
    let again = parse_record(&encoded, Origin::default(), ParseOptions::default())
        .unwrap_or_else(|e| panic!("re-encoded record does not parse: {e}"))
        .to_owned_record();
    assert_eq!(again.fields, owned.fields);
    assert_eq!(again.encode().unwrap(), encoded);
}
