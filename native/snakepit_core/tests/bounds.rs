//! Work and output bounded by the size of the input (issue #10): directory amplification,
//! runs of bytes that frame as many tiny pieces, and MARC-8 text that outgrows ISO 2709's
//! limits once converted.

use snakepit_core::chunker::{to_unicode, BatchLimits, Chunker, ParsedItem};
use snakepit_core::scan::{Frames, Step};
use snakepit_core::{
    parse_record, read_all, record_to_utf8, ErrorKind, Marc8Options, Mode, Origin, OwnedField,
    OwnedRecord, ParseOptions,
};

/// Directory entries as `(tag, length, start)`.
type Entries = Vec<(&'static str, usize, usize)>;

/// A record from raw parts: field data (each gets its 0x1E) and directory entries
/// `(tag, length, start)` written as given.
fn raw_record(leader9: u8, fields: &[&[u8]], entries: &[(&str, usize, usize)]) -> Vec<u8> {
    let base = 24 + 12 * entries.len() + 1;
    let mut data = Vec::new();
    for f in fields {
        data.extend_from_slice(f);
        data.push(0x1E);
    }
    let total = base + data.len() + 1;
    let mut out = format!(
        "{:05}nam {}22{base:05}   4500",
        total.min(99_999),
        leader9 as char
    )
    .into_bytes();
    for (tag, len, start) in entries {
        out.extend_from_slice(format!("{tag}{len:04}{start:05}").as_bytes());
    }
    out.push(0x1E);
    out.extend_from_slice(&data);
    out.push(0x1D);
    out
}

/// The record: 99,989 bytes whose 7,497 directory entries all point at the same
/// 9,998-byte field of 4,998 subfields, 37.5 M subfields if each entry were built.
fn directory_bomb(leader9: u8) -> Vec<u8> {
    let mut field = b"10".to_vec();
    field.extend_from_slice(&b"\x1fa".repeat(4_998));
    let entries = vec![("245", field.len() + 1, 0); 7_497];
    let bomb = raw_record(leader9, &[&field], &entries);
    assert_eq!(bomb.len(), 99_989);
    bomb
}

fn parse(bytes: &[u8]) -> Result<usize, (ErrorKind, u64)> {
    parse_record(bytes, Origin::default(), ParseOptions::default())
        .map(|r| r.spans().len())
        .map_err(|e| (e.kind, e.byte_offset))
}

#[test]
fn directory_bomb_is_refused_by_every_reader() {
    let marc8 = Marc8Options::default();
    for leader9 in [b'a', b' '] {
        let bomb = directory_bomb(leader9);
        // The second directory entry claims bytes the first already owns.
        assert_eq!(parse(&bomb), Err((ErrorKind::OverlappingFields, 24 + 12)));

        let strict = read_all(&bomb, Mode::Strict, ParseOptions::default()).unwrap_err();
        assert_eq!(
            (strict.kind, strict.record_index),
            (ErrorKind::OverlappingFields, 0)
        );
        let (items, _) = read_all(&bomb, Mode::Permissive, ParseOptions::default()).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].as_ref().unwrap_err().kind,
            ErrorKind::OverlappingFields
        );
        let (kept, skipped) = read_all(&bomb, Mode::Skip, ParseOptions::default()).unwrap();
        assert_eq!((kept.len(), skipped), (0, 1));

        // Streams (MARC-8 conversion on) parse through the same check.
        let mut chunker = Chunker::from_complete(bomb.clone());
        let batch = chunker.next_batch(BatchLimits::default()).unwrap();
        let parsed = batch.parse(ParseOptions::default(), Default::default(), Some(&marc8));
        assert!(
            matches!(&parsed[..], [ParsedItem::Error(e)] if e.kind == ErrorKind::OverlappingFields),
            "{parsed:?}"
        );
    }
}

#[test]
fn overlapping_spans_of_every_shape_are_refused() {
    let a: &[u8] = b"10\x1faone\x1fbtwo";
    let b: &[u8] = b"20\x1fathree";
    let c: &[u8] = b"30\x1fafour";
    let (la, lb, lc) = (a.len() + 1, b.len() + 1, c.len() + 1);
    let entries = |e: &[(&'static str, usize, usize)]| -> Entries { e.to_vec() };
    let well_formed = entries(&[("100", la, 0), ("245", lb, la), ("650", lc, la + lb)]);
    assert_eq!(parse(&raw_record(b'a', &[a, b, c], &well_formed)), Ok(3));

    let entry_at = |i: usize| 24 + 12 * i as u64;
    let cases: Vec<(&str, Entries, u64)> = vec![
        (
            "duplicate",
            entries(&[("100", la, 0), ("245", la, 0), ("650", lc, la + lb)]),
            entry_at(1),
        ),
        (
            "duplicate, out of order",
            entries(&[("650", lc, la + lb), ("100", la, 0), ("245", lc, la + lb)]),
            entry_at(2),
        ),
        (
            "nested: the tail of a field",
            entries(&[("100", la, 0), ("245", la - 4, 4), ("650", lc, la + lb)]),
            entry_at(1),
        ),
        (
            "nested, listed first",
            entries(&[("245", la - 4, 4), ("100", la, 0), ("650", lc, la + lb)]),
            entry_at(1),
        ),
        (
            "starting inside the previous field",
            entries(&[("100", la, 0), ("245", lb, la - 3), ("650", lc, la + lb)]),
            entry_at(1),
        ),
    ];
    for (what, dir, at) in cases {
        let rec = raw_record(b'a', &[a, b, c], &dir);
        assert_eq!(
            parse(&rec),
            Err((ErrorKind::OverlappingFields, at)),
            "{what}"
        );
    }

    // Disjoint spans in any order are fine, and keep directory order.
    let shuffled = entries(&[("650", lc, la + lb), ("100", la, 0), ("245", lb, la)]);
    let rec = raw_record(b'a', &[a, b, c], &shuffled);
    let parsed = parse_record(&rec, Origin::default(), ParseOptions::default()).unwrap();
    let tags: Vec<_> = parsed.fields().map(|f| f.tag).collect();
    assert_eq!(tags, [*b"650", *b"100", *b"245"]);

    // Empty fields own their terminator: two entries cannot both claim it.
    let empty: &[u8] = b"";
    let rec = raw_record(b'a', &[empty, a], &[("500", 1, 0), ("501", 1, 0)]);
    assert_eq!(
        parse(&rec),
        Err((ErrorKind::OverlappingFields, entry_at(1)))
    );
}

#[test]
fn drifted_directories_in_any_order_still_read() {
    // 8,000 entries, listed last to first, every one off by a byte (lengths counted in
    // characters): each field is found by its terminator without a scan per field.
    let fields: Vec<Vec<u8>> = (0..8_000).map(|i| format!("{i:07}").into_bytes()).collect();
    let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
    let entries: Vec<(&str, usize, usize)> = (0..8_000usize)
        .rev()
        .map(|i| ("001", 8, (i * 8).saturating_sub(1)))
        .collect();
    let rec = raw_record(b'a', &refs, &entries);
    let parsed = parse_record(&rec, Origin::default(), ParseOptions::default()).unwrap();
    let first = parsed.fields().next().unwrap();
    assert_eq!(first.data, b"0007999");
    assert_eq!(parsed.fields().last().unwrap().data, b"0000000");
}

#[test]
fn runs_of_terminators_frame_as_one_garbage_frame_per_span() {
    // 4 MB of 0x1D used to be 4 M one-byte records, each a :truncated_leader error.
    let run = vec![0x1Du8; 4 << 20];
    let frames: Vec<Step> = Frames::new(&run).collect();
    assert!(frames.len() <= run.len() / 99_000 + 1, "{}", frames.len());
    assert!(frames.iter().all(|f| matches!(
        f,
        Step::Skip {
            kind: ErrorKind::Garbage,
            ..
        }
    )));
    let (items, _) = read_all(&run, Mode::Permissive, ParseOptions::default()).unwrap();
    assert_eq!(items.len(), frames.len());

    // Short pieces of anything, then a record: one garbage frame, then the record.
    let good = raw_record(b'a', &[b"id"], &[("001", 3, 0)]);
    let junk = b"ab\x1d\x1dxyz\x1d".repeat(1_000);
    let buf = [&junk[..], &good].concat();
    let frames: Vec<Step> = Frames::new(&buf).collect();
    assert_eq!(
        frames,
        [
            Step::Skip {
                start: 0,
                end: junk.len(),
                kind: ErrorKind::Garbage
            },
            Step::Record {
                start: junk.len(),
                end: buf.len()
            }
        ]
    );

    // Less than a leader at the end of the input is one frame, terminators or not.
    let buf = [&good[..], b"ab\x1dcd\x1d\x1de"].concat();
    let frames: Vec<Step> = Frames::new(&buf).collect();
    assert_eq!(
        frames[1..],
        [Step::Skip {
            start: good.len(),
            end: buf.len(),
            kind: ErrorKind::TruncatedLeader
        }]
    );
}

/// A MARC-8 record of `fields` fields, each `len` bytes of ANSEL 0xC1 (U+2113, three bytes
/// in UTF-8).
fn marc8_expanding(fields: usize, len: usize) -> Vec<u8> {
    let value = [&b"10\x1fa"[..], &vec![0xC1u8; len]].concat();
    let refs: Vec<&[u8]> = (0..fields).map(|_| value.as_slice()).collect();
    let entries: Vec<(&str, usize, usize)> = (0..fields)
        .map(|i| ("245", value.len() + 1, i * (value.len() + 1)))
        .collect();
    raw_record(b' ', &refs, &entries)
}

#[test]
fn marc8_text_may_outgrow_iso2709_limits_once_converted() {
    let opts = Marc8Options::default();
    let origin = Origin::default();
    // A 4.5 KB field of diacritics is 13.5 KB of UTF-8; ten 9 KB fields are 270 KB.
    for (fields, len) in [(1, 4_500), (10, 9_000)] {
        let input = marc8_expanding(fields, len);
        assert!(input.len() <= 99_999);
        let record = parse_record(&input, origin, ParseOptions::default()).unwrap();
        let (bytes, spans) = to_unicode(&record, origin, Some(&opts)).unwrap().unwrap();
        assert!(bytes.len() <= 4 * input.len());
        let converted = snakepit_core::Record::from_parts(&bytes, spans).unwrap();
        assert_eq!(converted.fields().len(), fields);
        let want = "ℓ".repeat(len);
        for field in converted.fields() {
            let sub = field.subfields().next().unwrap();
            assert_eq!((sub.code, sub.value), (b'a', want.as_bytes()));
        }
        // The bytes read back alone (as a LazyRecord's do), with UTF-8 checked.
        assert_eq!(parse(&bytes), Ok(fields));
        // The limits apply where the record is written as ISO 2709.
        let err = converted.to_owned_record().encode().unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge);
        assert_eq!(record_to_utf8(&record, origin, &opts).unwrap(), bytes);
    }
}

#[test]
fn unrecorded_lengths_cannot_hide_a_terminator() {
    // A field found by its terminator would end at one inside it: refused, not cut short.
    let long = OwnedField::Control {
        tag: *b"001",
        value: [&vec![b'x'; 10_000][..], b"\x1etail"].concat(),
    };
    let rec = OwnedRecord {
        leader: *b"00000nam a2200000   4500",
        fields: vec![long],
    };
    assert_eq!(
        rec.encode_unbounded().unwrap_err().kind,
        ErrorKind::TooLarge
    );
    // Without the terminator it is kept, and reads back whole.
    let long = OwnedField::Control {
        tag: *b"001",
        value: vec![b'x'; 10_000],
    };
    let rec = OwnedRecord {
        leader: *b"00000nam a2200000   4500",
        fields: vec![long.clone(), long],
    };
    let bytes = rec.encode_unbounded().unwrap();
    let parsed = parse_record(&bytes, Origin::default(), ParseOptions::default()).unwrap();
    assert!(parsed.to_owned_record().fields == rec.fields);
}
