//! Property tests: the boundary scanner against a naive reference framer, streaming in
//! arbitrary chunks against framing the whole input, no panics (and sound errors) on
//! arbitrary bytes and on mutated corpus records, encode/parse round trips, and directories
//! that cannot make a record build more than its size.

mod common;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use snakepit_core::chunker::{BatchLimits, Chunker, RawBatch};
use snakepit_core::scan::{next_step, Frames, Step, MAX_LOOKAHEAD};
use snakepit_core::{parse_record, Origin, OwnedField, OwnedRecord, ParseOptions};
use std::sync::OnceLock;

// ---------------------------------------------------------------- generators

/// The padding bytes real files put between records (README), spelled out here rather
/// than taken from the scanner under test.
const PADDING: &[u8] = &[0x00, 0x1A, b'\n', b'\r', b' ', b'\t'];

/// Values for records that are well-formed *and* unambiguous to frame: they may hold 0x1D
/// and 0x1E (the directory says where fields end), but no digits, so nothing inside a
/// record can pass for the leader of another one.
fn framing_value(utf8: bool) -> BoxedStrategy<Vec<u8>> {
    if utf8 {
        "[a-zA-Z ,.:;/()é中\u{1d}\u{1e}]{0,24}"
            .prop_map(String::into_bytes)
            .boxed()
    } else {
        vec(
            prop_oneof![
                4 => select(b"abcdefghijklmnopqrstuvwxyz ABCXYZ.,:;/()".to_vec()),
                1 => select(vec![0x1Du8, 0x1E, 0x80, 0xC3, 0xE1, 0xFF]),
            ],
            0..24,
        )
        .boxed()
    }
}

/// Values for the round trip: anything but the three delimiters (which the encoder
/// refuses).
fn any_value(utf8: bool) -> BoxedStrategy<Vec<u8>> {
    if utf8 {
        any::<String>()
            .prop_map(|s| s.replace(['\u{1d}', '\u{1e}', '\u{1f}'], "").into_bytes())
            .boxed()
    } else {
        vec(any::<u8>(), 0..40)
            .prop_map(|mut v| {
                v.retain(|b| !(0x1D..=0x1F).contains(b));
                v
            })
            .boxed()
    }
}

fn field(tag: [u8; 3], value: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<OwnedField> {
    let ascii_no_delimiter =
        (0u8..0x80).prop_filter("not a delimiter", |b| !(0x1D..=0x1F).contains(b));
    let indicator = prop_oneof![
        4 => select(b"0123456789 ".to_vec()),
        1 => ascii_no_delimiter.clone(),
    ];
    let code = prop_oneof![
        4 => select(b"abcdefghijklmnopqrstuvwxyz0123456789".to_vec()),
        1 => ascii_no_delimiter,
    ];
    if tag[0] == b'0' && tag[1] == b'0' && tag[2].is_ascii_digit() {
        value
            .prop_map(move |value| OwnedField::Control { tag, value })
            .boxed()
    } else {
        (indicator.clone(), indicator, vec((code, value), 0..5))
            .prop_map(move |(ind1, ind2, subfields)| OwnedField::Data {
                tag,
                ind1,
                ind2,
                subfields,
            })
            .boxed()
    }
}

fn tag() -> impl Strategy<Value = [u8; 3]> {
    prop_oneof![
        3 => (0u16..1000).prop_map(|n| {
            let s = format!("{n:03}");
            [s.as_bytes()[0], s.as_bytes()[1], s.as_bytes()[2]]
        }),
        1 => "[0-9A-Za-z ]{3}".prop_map(|s| [s.as_bytes()[0], s.as_bytes()[1], s.as_bytes()[2]]),
    ]
}

/// A well-formed record: at least one field, canonical leader structure bytes.
fn record(framing: bool) -> impl Strategy<Value = OwnedRecord> {
    (any::<bool>(), "[a-z ]{4}", "[a-z0-9 ]{3}").prop_flat_map(move |(utf8, l5, l17)| {
        let value = move || {
            if framing {
                framing_value(utf8)
            } else {
                any_value(utf8)
            }
        };
        let fields = vec(tag().prop_flat_map(move |t| field(t, value())), 1..8);
        fields.prop_map(move |fields| {
            let mut leader = *b"00000     2200000   4500";
            leader[5..9].copy_from_slice(l5.as_bytes());
            leader[9] = if utf8 { b'a' } else { b' ' };
            leader[17..20].copy_from_slice(l17.as_bytes());
            OwnedRecord { leader, fields }
        })
    })
}

/// Well-formed records with optional padding before each, and the records' bytes.
fn concatenation() -> impl Strategy<Value = (Vec<u8>, Vec<(usize, usize)>)> {
    vec((vec(select(PADDING.to_vec()), 0..4), record(true)), 0..6).prop_map(|parts| {
        let mut buf = Vec::new();
        let mut frames = Vec::new();
        for (padding, rec) in parts {
            buf.extend_from_slice(&padding);
            let start = buf.len();
            buf.extend_from_slice(&raw_encode(&rec));
            frames.push((start, buf.len()));
        }
        (buf, frames)
    })
}

/// A record whose framing evidence disagrees: leader length off (by a little or a lot),
/// terminator dropped or replaced, a 0x1D inserted, or cut short.
fn damaged_record() -> impl Strategy<Value = Vec<u8>> {
    (record(true), 0u8..6, any::<Index>(), 25usize..100_000).prop_map(|(r, how, at, claim)| {
        let mut b = raw_encode(&r);
        let n = b.len();
        match how {
            0 => b[..5].copy_from_slice(format!("{claim:05}").as_bytes()),
            1 => {
                let near = (n as isize + (claim % 41) as isize - 20).clamp(25, 99_999);
                b[..5].copy_from_slice(format!("{near:05}").as_bytes());
            }
            2 => {
                b.pop();
            }
            3 => b[n - 1] = b'x',
            4 => b.insert(24 + at.index(n - 24), 0x1D),
            _ => b.truncate(at.index(n)),
        }
        b
    })
}

/// Good records one of which claims to end at a later 0x1D: its own, one embedded in a
/// field, or another record's. Which end is right depends on what follows each candidate.
fn misleading_claim() -> impl Strategy<Value = Vec<u8>> {
    (vec(record(true), 2..5), any::<Index>(), any::<Index>()).prop_map(|(recs, which, target)| {
        let parts: Vec<Vec<u8>> = recs.iter().map(raw_encode).collect();
        let i = which.index(parts.len());
        let start: usize = parts[..i].iter().map(Vec::len).sum();
        let mut buf = parts.concat();
        let ends: Vec<usize> = (start + 24..buf.len())
            .filter(|&j| buf[j] == 0x1D && j + 1 - start <= 99_999)
            .collect();
        let end = ends[target.index(ends.len())] + 1;
        buf[start..start + 5].copy_from_slice(format!("{:05}", end - start).as_bytes());
        buf
    })
}

/// Bytes rich in what the scanner looks for: digits, terminators, delimiters, padding,
/// leader-shaped runs and whole records, in any order.
fn structured_noise() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        4 => vec(select(b"0123456789 \x1d\x1e\x1fa\n\0".to_vec()), 1..8),
        2 => (1usize..400, 20usize..100_000, "[a-z ]{5}").prop_map(|(len, base, mid)| {
            format!("{len:05}{mid}22{:05}   4500", base % 100_000).into_bytes()
        }),
        1 => Just(b"99999nam  2200025   4500".to_vec()),
        2 => record(true).prop_map(|r| raw_encode(&r)),
        3 => damaged_record(),
        1 => vec(any::<u8>(), 0..30),
    ];
    vec(token, 0..12).prop_map(|t| t.concat())
}

/// A record whose directory points at its fields' bytes any number of times: exact entries
/// (picked again: repeats), tails of a field (nested), spans across several fields and
/// spans anywhere (overlaps). Returns the record and the length of its data area.
fn amplifying_directory() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let byte = prop_oneof![
        3 => select(b"abc 01&<".to_vec()),
        2 => Just(0x1Fu8),
    ];
    let entry = (0u8..4, any::<Index>(), any::<Index>(), any::<Index>());
    (
        any::<bool>(),
        vec(vec(byte, 0..40), 1..6),
        vec(entry, 1..12),
    )
        .prop_map(|(utf8, fields, picks)| {
            let mut data = Vec::new();
            let mut bounds = Vec::new();
            for field in &fields {
                let start = data.len();
                data.extend_from_slice(field);
                data.push(0x1E);
                bounds.push((start, data.len()));
            }
            let entries: Vec<(usize, usize)> = picks
                .iter()
                .map(|(how, field, a, b)| {
                    let (s, e) = bounds[field.index(bounds.len())];
                    match how {
                        0 => (s, e - s),
                        1 => {
                            let from = s + a.index(e - s);
                            (from, e - from)
                        }
                        2 => {
                            let (_, last) = bounds[a.index(bounds.len())].max((s, e));
                            (s, last - s)
                        }
                        _ => {
                            let from = a.index(data.len());
                            (from, 1 + b.index(data.len() - from))
                        }
                    }
                })
                .collect();
            let base = 24 + 12 * entries.len() + 1;
            let total = base + data.len() + 1;
            let coding = if utf8 { 'a' } else { ' ' };
            let mut out = format!("{total:05}nam {coding}22{base:05}   4500").into_bytes();
            for (start, len) in entries {
                out.extend_from_slice(format!("245{len:04}{start:05}").as_bytes());
            }
            out.push(0x1E);
            out.extend_from_slice(&data);
            out.push(0x1D);
            (out, data.len())
        })
}

fn corpus_samples() -> &'static Vec<Vec<u8>> {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| corpus_files().iter().map(|f| corpus(f)).collect())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = select(vec![0x1Du8, 0x1E, 0x1F, b'0', b'9', b' ', 0x00]);
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<Index>(), special.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), special).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(buf: &mut Vec<u8>, mutations: Vec<Mutation>) {
    for m in mutations {
        let n = buf.len();
        if n == 0 {
            return;
        }
        match m {
            Mutation::Flip(i, mask) => buf[i.index(n)] ^= mask,
            Mutation::Set(i, b) => buf[i.index(n)] = b,
            Mutation::Insert(i, b) => buf.insert(i.index(n + 1), b),
            Mutation::Delete(i) => {
                buf.remove(i.index(n));
            }
            Mutation::Truncate(i) => buf.truncate(i.index(n)),
        }
    }
}

/// A window of a corpus file (a few records) with a handful of mutations applied.
fn mutated_corpus() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<Index>(),
        any::<Index>(),
        1usize..4000,
        vec(mutation(), 0..8),
    )
        .prop_map(|(file, start, len, mutations)| {
            let files = corpus_samples();
            let src = &files[file.index(files.len())];
            let start = start.index(src.len().max(1)).min(src.len());
            let mut buf = src[start..(start + len).min(src.len())].to_vec();
            apply(&mut buf, mutations);
            buf
        })
}

/// Corpus windows that start on a record boundary, so mutations hit real structure.
fn mutated_records() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<Index>(),
        any::<Index>(),
        1usize..4,
        vec(mutation(), 1..4),
    )
        .prop_map(|(file, first, count, mutations)| {
            let files = corpus_samples();
            let src = &files[file.index(files.len())];
            let frames: Vec<(usize, usize)> = Frames::new(src)
                .filter_map(|s| match s {
                    Step::Record { start, end } => Some((start, end)),
                    _ => None,
                })
                .collect();
            if frames.is_empty() {
                return src.clone();
            }
            let a = first.index(frames.len());
            let b = (a + count).min(frames.len()) - 1;
            let mut buf = src[frames[a].0..frames[b].1].to_vec();
            apply(&mut buf, mutations);
            buf
        })
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..600),
        structured_noise(),
        concatenation().prop_map(|(b, _)| b),
        misleading_claim(),
        mutated_corpus(),
        mutated_records(),
    ]
}

// ---------------------------------------------------------------- references

/// The obviously correct framer for well-formed input: skip padding, read the five-digit
/// length, take that many bytes, repeat.
fn naive_frames(buf: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        while pos < buf.len() && PADDING.contains(&buf[pos]) {
            pos += 1;
        }
        if pos == buf.len() {
            return out;
        }
        let len: usize = std::str::from_utf8(&buf[pos..pos + 5])
            .unwrap()
            .parse()
            .unwrap();
        out.push((pos, pos + len));
        pos += len;
    }
}

fn whole_frames(buf: &[u8]) -> Vec<Step> {
    Frames::new(buf).collect()
}

/// One frame as a chunker gave it: record index, absolute start, bytes, and the error
/// kind for skipped bytes.
type AbsoluteFrame = (u64, u64, Vec<u8>, Option<snakepit_core::ErrorKind>);

/// Every frame a chunker gives, calling `more(chunker, turn)` whenever it needs input
/// (which must end with `finish`).
fn chunker_batches(
    mut chunker: Chunker,
    limits: BatchLimits,
    mut more: impl FnMut(&mut Chunker, usize),
) -> Vec<AbsoluteFrame> {
    let mut frames = Vec::new();
    let mut turn = 0;
    while !chunker.is_done() {
        match chunker.next_batch(limits) {
            Some(batch) => frames.extend(absolute_frames(&batch)),
            None => {
                more(&mut chunker, turn);
                turn += 1;
            }
        }
    }
    frames
}

fn absolute_frames(batch: &RawBatch) -> Vec<AbsoluteFrame> {
    use snakepit_core::chunker::Frame;
    (batch.first_index..)
        .zip(&batch.frames)
        .map(|(index, frame)| {
            let (start, end, kind) = match *frame {
                Frame::Record { start, end } => (start, end, None),
                Frame::Skip { start, end, kind } => (start, end, Some(kind)),
            };
            let bytes = batch.data[start..end].to_vec();
            (index, batch.base_offset + start as u64, bytes, kind)
        })
        .collect()
}

/// `[start, end)` of the `turn`th chunk when `input` is cut in sizes cycling through
/// `chunks`; empty once the input is used up.
fn chunk_at(input: &[u8], chunks: &[usize], turn: usize) -> (usize, usize) {
    let mut start = 0;
    for t in 0..turn {
        start = (start + chunks[t % chunks.len()]).min(input.len());
    }
    (
        start,
        (start + chunks[turn % chunks.len()]).min(input.len()),
    )
}

/// Frames `input` the way a streaming reader does: append the next chunk (sizes cycle
/// through `chunks`), call the scanner until it asks for more, and, when `compact`, drop
/// the consumed prefix so later calls see shifted buffers. Offsets come back absolute.
fn streamed_frames(input: &[u8], chunks: &[usize], compact: bool) -> Vec<Step> {
    let mut buf: Vec<u8> = Vec::new();
    let (mut base, mut pos, mut fed, mut turn) = (0usize, 0usize, 0usize, 0usize);
    let mut out = Vec::new();
    loop {
        let eof = fed == input.len();
        match next_step(&buf, pos, eof) {
            Step::Record { start, end } => {
                assert!(start >= pos && end <= buf.len());
                out.push(Step::Record {
                    start: base + start,
                    end: base + end,
                });
                pos = end;
            }
            Step::Skip { start, end, kind } => {
                assert!(start >= pos && end <= buf.len());
                out.push(Step::Skip {
                    start: base + start,
                    end: base + end,
                    kind,
                });
                pos = end;
            }
            Step::NeedMore { consumed } => {
                assert!(!eof, "NeedMore with the whole input given");
                assert!(consumed >= pos && consumed <= buf.len());
                assert!(buf.len() - consumed < MAX_LOOKAHEAD);
                if compact {
                    buf.drain(..consumed);
                    base += consumed;
                    pos = 0;
                } else {
                    pos = consumed;
                }
                let next = (fed + chunks[turn % chunks.len()]).min(input.len());
                turn += 1;
                buf.extend_from_slice(&input[fed..next]);
                fed = next;
            }
            Step::End => {
                assert!(eof);
                return out;
            }
        }
    }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (a) On well-formed concatenations the scanner frames exactly what the naive framer
    /// does, and every frame parses to the record that was encoded.
    #[test]
    fn scanner_agrees_with_naive_framer((buf, want) in concatenation()) {
        prop_assert_eq!(naive_frames(&buf), want.clone());
        let got: Vec<(usize, usize)> = whole_frames(&buf)
            .into_iter()
            .map(|s| match s {
                Step::Record { start, end } => Ok((start, end)),
                other => Err(other),
            })
            .collect::<Result<_, _>>()
            .map_err(|s| TestCaseError::fail(format!("{s:?}")))?;
        prop_assert_eq!(got, want);
        let summary = check_read_invariants(&buf);
        prop_assert!(summary.iter().all(|s| s.is_ok()), "{:?}", summary);
    }

    /// (4) Streaming in arbitrary chunks gives the frames of the whole input.
    #[test]
    fn streaming_equals_whole(
        input in any_input(),
        chunks in vec(prop_oneof![1usize..8, 1usize..300, 1usize..5000], 1..6),
        compact in any::<bool>(),
    ) {
        prop_assert_eq!(streamed_frames(&input, &chunks, compact), whole_frames(&input));
    }

    /// (4) The chunker gives the same frames (bytes, absolute offsets, indices) whether its
    /// input comes whole, pushed in chunks (`feed`) or read straight into its buffer in
    /// chunks (`read_into`). Batches may be cut differently: a batch ends where input does.
    #[test]
    fn chunker_inputs_agree(
        input in any_input(),
        chunks in vec(prop_oneof![1usize..8, 1usize..300, 1usize..5000], 1..6),
        max_records in 1usize..20,
    ) {
        let limits = BatchLimits { max_records, max_bytes: 2_000 };
        let whole = chunker_batches(Chunker::from_complete(input.clone()), limits, |_, _| {});
        let fed = chunker_batches(Chunker::new(), limits, |c, turn| {
            let (start, end) = chunk_at(&input, &chunks, turn);
            if start == end { c.finish() } else { c.feed(&input[start..end]) }
        });
        let read = chunker_batches(Chunker::new(), limits, |c, turn| {
            let (start, end) = chunk_at(&input, &chunks, turn);
            // A read that fills less than the room it is given, as short reads do.
            let n = c
                .read_into(end - start + 7, |room| {
                    room[..end - start].copy_from_slice(&input[start..end]);
                    Ok::<_, ()>(end - start)
                })
                .unwrap();
            if n == 0 { c.finish() }
        });
        prop_assert_eq!(&fed, &whole);
        prop_assert_eq!(&read, &whole);
    }

    /// (4) The same with small chunks on the inputs where the scanner must look past a
    /// claimed end to decide (whether a record follows an earlier 0x1D).
    #[test]
    fn streaming_equals_whole_on_misleading_claims(
        input in misleading_claim(),
        chunk in 1usize..16,
        compact in any::<bool>(),
    ) {
        prop_assert_eq!(streamed_frames(&input, &[chunk], compact), whole_frames(&input));
    }

    /// (b) Arbitrary and mutated input never panics in any mode; errors are sound.
    #[test]
    fn any_input_reads_cleanly(input in any_input()) {
        check_read_invariants(&input);
    }

    /// (e) However a directory repeats, nests or overlaps its entries, what a record builds
    /// stays within a constant factor of its size: each byte of field data belongs to one
    /// field at most (else the record is an error), so the subfields are at most the
    /// delimiters, and the XML, JSON and ISO 2709 written from it are bounded by the input.
    #[test]
    fn directories_cannot_amplify((bytes, data_len) in amplifying_directory()) {
        check_read_invariants(&bytes);
        // An error is what a bad directory may give (check_read_invariants checks it is sound).
        let Ok(record) = parse_record(&bytes, Origin::default(), ParseOptions::default()) else {
            return Ok(());
        };
        let owned: usize = record.spans().iter().map(|s| (s.end - s.start + 1) as usize).sum();
        prop_assert!(owned <= data_len, "{} bytes of fields from {} of data", owned, data_len);
        let subfields: usize = record.fields().map(|f| f.subfields().count()).sum();
        let delimiters = bytes.iter().filter(|&&b| b == 0x1F).count();
        prop_assert!(subfields <= delimiters);
        let bound = 32 * bytes.len() + 1024;
        let mut xml = Vec::new();
        // A writer may refuse the record (a delimiter byte in a value); what it wrote before
        // refusing must stay bounded too, so the output is checked either way.
        let _refused = snakepit_core::xml::write_record(&record, &mut xml);
        prop_assert!(xml.len() <= bound, "{} bytes of XML from {}", xml.len(), bytes.len());
        let mut json = Vec::new();
        let _refused = snakepit_core::json::write_record(&record, &mut json);
        prop_assert!(json.len() <= bound, "{} bytes of JSON from {}", json.len(), bytes.len());
        // Re-encoding adds at most the two blank indicators a short field lacked; a value
        // that holds a delimiter byte the parser let through is refused, never written.
        match record.to_owned_record().encode() {
            Ok(encoded) => prop_assert!(encoded.len() <= bytes.len() + 2 * record.spans().len()),
            Err(e) => prop_assert_eq!(e.kind, snakepit_core::ErrorKind::InvalidValue),
        }
    }

    /// (c) encode -> parse -> to_owned_record gives back the record.
    #[test]
    fn round_trip(rec in record(false)) {
        let bytes = rec.encode().unwrap();
        let parsed = parse_record(&bytes, Origin::default(), ParseOptions::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.bytes().len(), bytes.len());
        let back = parsed.to_owned_record();
        prop_assert_eq!(&back.fields, &rec.fields);
        // The leader is the original but for the recomputed length and base address.
        prop_assert_eq!(&back.leader[5..12], &rec.leader[5..12]);
        prop_assert_eq!(&back.leader[17..], &rec.leader[17..]);
        let len = format!("{:05}", bytes.len());
        prop_assert_eq!(&back.leader[..5], len.as_bytes());
        let base = format!("{:05}", 24 + 12 * rec.fields.len() + 1);
        prop_assert_eq!(&back.leader[12..17], base.as_bytes());
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }
}

/// (d) Leaders, base addresses and directory entries that claim far more than the input
/// holds are taken as claims, never as sizes: see tests/alloc.rs for the measured version.
#[test]
fn huge_claims_on_tiny_inputs() {
    for input in [
        &b"99999nam  2200025   4500\x1d"[..],
        b"99999nam  2299999   4500\x1e\x1d",
        b"99999nam  2200037   4500245999999999\x1ex\x1e\x1d",
        b"00100nam  2200037   4500",
        b"99999",
        b"99999nam  22",
    ] {
        let summary = check_read_invariants(input);
        assert!(summary.iter().all(|s| s.is_err()), "{summary:?}");
        assert_eq!(streamed_frames(input, &[1], true), whole_frames(input));
    }
}

/// (4) Streaming on inputs longer than any single decision may look at: long garbage, an
/// oversize record written as 99999, long runs of leaders without terminators.
#[test]
fn streaming_equals_whole_on_long_inputs() {
    let rec = |id: &str| {
        OwnedRecord {
            leader: *b"00000nam  2200000   4500",
            fields: vec![OwnedField::Control {
                tag: *b"001",
                value: id.as_bytes().to_vec(),
            }],
        }
        .encode()
        .unwrap()
    };
    // Too long for ISO 2709's five digits: written as 99999 (the encoder refuses it).
    let oversize = [
        &b"99999nam  2200037   4500001999900000\x1e"[..],
        &vec![b'x'; 150_000],
        b"\x1e\x1d",
    ]
    .concat();
    let inputs: Vec<Vec<u8>> = vec![
        [vec![0xFF; 150_000], rec("a"), rec("b")].concat(),
        [rec("a"), oversize.clone(), rec("b"), oversize].concat(),
        [
            b"x".to_vec(),
            b"00100nam  2200037   4500".repeat(12_000),
            rec("tail"),
        ]
        .concat(),
        [
            rec("a"),
            b"99999nam  2200037   4500".repeat(10_000),
            rec("b"),
        ]
        .concat(),
        [vec![b'7'; 250_000], rec("a")].concat(),
    ];
    for input in &inputs {
        let whole = whole_frames(input);
        assert!(matches!(whole.last(), Some(Step::Record { .. })));
        for chunk in [997, 4096, 65_536] {
            for compact in [false, true] {
                assert_eq!(
                    streamed_frames(input, &[chunk], compact),
                    whole,
                    "chunk {chunk}"
                );
            }
        }
        check_read_invariants(input);
    }
}
