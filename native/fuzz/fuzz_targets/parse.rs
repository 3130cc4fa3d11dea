//! Frames and parses arbitrary bytes in all three modes, then re-encodes every good record.
//! Checks, beyond "no panic": the modes agree with each other, error offsets lie inside the
//! input, and a good record re-encodes to something that parses again to the same fields
//! and re-encodes to the same bytes; and framing the input as a stream, in chunks of a size
//! taken from its first byte, gives the same frames as framing it whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snakepit_core::scan::{next_step, Frames, Step};
use snakepit_core::{parse_record, read_all, Mode, Origin, ParseOptions};

/// Frames `data` as a reader would: append a chunk, call the scanner until it needs more,
/// drop what it consumed. Frames are returned with absolute offsets.
fn streamed(data: &[u8], chunk: usize) -> Vec<Step> {
    let (mut buf, mut base, mut pos, mut fed) = (Vec::new(), 0usize, 0usize, 0usize);
    let mut out = Vec::new();
    loop {
        match next_step(&buf, pos, fed == data.len()) {
            Step::Record { start, end } => {
                out.push(Step::Record {
                    start: base + start,
                    end: base + end,
                });
                pos = end;
            }
            Step::Skip { start, end, kind } => {
                out.push(Step::Skip {
                    start: base + start,
                    end: base + end,
                    kind,
                });
                pos = end;
            }
            Step::NeedMore { consumed } => {
                assert!(fed < data.len(), "NeedMore at end of input");
                buf.drain(..consumed);
                base += consumed;
                pos = 0;
                let next = (fed + chunk).min(data.len());
                buf.extend_from_slice(&data[fed..next]);
                fed = next;
            }
            Step::End => return out,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let chunk = 1 + usize::from(data.first().copied().unwrap_or(0) % 32);
    let whole: Vec<Step> = Frames::new(data).collect();
    assert_eq!(streamed(data, chunk), whole);

    let opts = ParseOptions::default();
    let (items, skipped) = read_all(data, Mode::Permissive, opts).expect("permissive never fails");
    assert_eq!(skipped, 0);
    let errors = items.iter().filter(|i| i.is_err()).count() as u64;
    for (index, item) in items.iter().enumerate() {
        match item {
            Ok(record) => {
                let owned = record.to_owned_record();
                // Too large to encode (a framed record over 99999 bytes) is a clean error.
                if let Ok(encoded) = owned.encode() {
                    let again = parse_record(&encoded, Origin::default(), opts)
                        .expect("an encoded record parses")
                        .to_owned_record();
                    assert_eq!(again.fields, owned.fields);
                    assert_eq!(again.encode().expect("re-encodes"), encoded);
                }
            }
            Err(e) => {
                assert_eq!(e.record_index, index as u64);
                assert!((e.byte_offset as usize) < data.len().max(1));
            }
        }
    }

    let (good, skip_count) = read_all(data, Mode::Skip, opts).expect("skip never fails");
    assert_eq!(skip_count, errors);
    assert_eq!(good.len() + errors as usize, items.len());

    match read_all(data, Mode::Strict, opts) {
        Ok((strict, _)) => {
            assert_eq!(errors, 0);
            assert_eq!(strict.len(), items.len());
        }
        Err(e) => {
            let first = items
                .iter()
                .find_map(|i| i.as_ref().err())
                .expect("an error");
            assert_eq!(&e, first);
        }
    }
});
