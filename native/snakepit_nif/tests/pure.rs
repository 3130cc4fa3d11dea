//! Tests of the NIF crate's own logic. The crate is a cdylib whose code calls enif_*
//! functions that only the BEAM provides, so a test binary of the whole crate cannot link;
//! the logic that decides things (budgets, option decoding, where replies are cut) lives in
//! modules that do not touch rustler, and they are compiled into this test on their own.

#[allow(dead_code)]
#[path = "../src/budget.rs"]
mod budget;
#[allow(dead_code)]
#[path = "../src/read_options.rs"]
mod read_options;
#[allow(dead_code)]
#[path = "../src/reply_chunks.rs"]
mod reply_chunks;

use read_options::{Names, ReadValues, Shape};
use snakepit_core::{Marc8ErrorMode, Mode, Normalization, OwnedField, OwnedRecord};

// ---------------------------------------------------------------------------------------
// budget.rs
// ---------------------------------------------------------------------------------------

#[test]
fn delimiters_counts_field_and_subfield_delimiters_only() {
    // Every byte value, several times over, across the 255-byte lanes.
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    let naive = bytes.iter().filter(|&&b| b == 0x1E || b == 0x1F).count();
    assert!(naive > 0);
    assert_eq!(budget::delimiters(&bytes), naive);
    // A lane of 255 delimiters must not wrap its u8 counter.
    assert_eq!(budget::delimiters(&[0x1F; 255]), 255);
    assert_eq!(budget::delimiters(&[0x1E; 1000]), 1000);
    assert_eq!(budget::delimiters(b"\x1d\x1c\x1b no delimiters"), 0);
}

#[test]
fn a_normal_scheduler_budget_refuses_what_does_not_fit_and_takes_nothing() {
    let mut b = budget::Budget::normal_scheduler();
    assert!(b.spend(budget::NORMAL_SCHEDULER_TERMS - 10));
    assert!(!b.spend(11), "over the limit");
    assert_eq!(b.spent(), budget::NORMAL_SCHEDULER_TERMS - 10);
    assert!(b.spend(10));
    assert!(!b.spend(1));
    assert_eq!(b.spent(), budget::NORMAL_SCHEDULER_TERMS);
}

#[test]
fn an_unlimited_budget_takes_everything_and_counts_it() {
    let mut b = budget::Budget::unlimited();
    assert!(b.spend(usize::MAX / 2));
    assert!(b.spend(5));
    assert_eq!(b.spent(), usize::MAX / 2 + 5);
}

#[test]
fn marc8_work_is_counted_only_for_records_that_are_not_utf8() {
    assert_eq!(budget::marc8_terms(0), 0);
    assert_eq!(budget::marc8_terms(1), 1);
    assert_eq!(budget::marc8_terms(budget::MARC8_BYTES_PER_TERM + 1), 2);
    // Two 40-byte "records": leader/09 `a` (UTF-8) and ` ` (MARC-8), one delimiter each.
    let mut data = vec![b' '; 80];
    data[9] = b'a';
    data[20] = 0x1E;
    data[60] = 0x1F;
    let ranges = || [0..40, 40..80].into_iter();
    assert_eq!(budget::terms(&data, ranges(), false), 2);
    assert_eq!(
        budget::terms(&data, ranges(), true),
        2 + budget::marc8_terms(40)
    );
}

#[test]
fn the_timeslice_share_grows_with_the_work_within_1_and_100() {
    assert_eq!(budget::timeslice_percent(0), 1);
    assert_eq!(
        budget::timeslice_percent(budget::NORMAL_SCHEDULER_TERMS),
        50
    );
    assert_eq!(
        budget::timeslice_percent(2 * budget::NORMAL_SCHEDULER_TERMS),
        100
    );
    assert_eq!(budget::timeslice_percent(usize::MAX), 100);
}

#[test]
fn the_timeslice_share_of_a_measured_call_is_its_part_of_a_millisecond() {
    use std::time::Duration;
    assert_eq!(budget::timeslice_percent_of(Duration::ZERO), 1);
    assert_eq!(budget::timeslice_percent_of(Duration::from_micros(250)), 25);
    assert_eq!(budget::timeslice_percent_of(Duration::from_millis(1)), 100);
    assert_eq!(budget::timeslice_percent_of(Duration::from_secs(3)), 100);
}

// ---------------------------------------------------------------------------------------
// read_options.rs
// ---------------------------------------------------------------------------------------

const NAMES: Names<&str> = Names {
    strict: "strict",
    permissive: "permissive",
    skip: "skip",
    nfc: "nfc",
    nfd: "nfd",
    replace: "replace",
    drop: "drop",
    lazy: "lazy",
    auto: "auto",
};

fn values(mode: &'static str) -> ReadValues<&'static str> {
    ReadValues {
        mode,
        validate_utf8: false,
        to_unicode: false,
        normalize: "none",
        marc8_errors: "strict",
        decode_ncrs: false,
        records: "struct",
        utf8_errors: "error",
        encoding: "declared",
        repair_directory: false,
    }
}

#[test]
fn modes_decode_and_an_unknown_mode_is_refused() {
    for (name, mode) in [
        ("strict", Mode::Strict),
        ("permissive", Mode::Permissive),
        ("skip", Mode::Skip),
    ] {
        assert_eq!(values(name).decode(&NAMES).unwrap().mode, mode);
    }
    assert!(values("lenient").decode(&NAMES).is_none());
}

#[test]
fn marc8_options_exist_only_with_to_unicode() {
    let read = values("skip").decode(&NAMES).unwrap();
    assert!(read.marc8.is_none());
    assert!(!read.parse.validate_utf8);
    assert_eq!(read.shape, Shape::Struct);

    let read = ReadValues {
        to_unicode: true,
        validate_utf8: true,
        normalize: "nfd",
        marc8_errors: "drop",
        decode_ncrs: false,
        records: "lazy",
        ..values("strict")
    }
    .decode(&NAMES)
    .unwrap();
    let marc8 = read.marc8.expect("to_unicode: true");
    assert_eq!(marc8.normalization, Normalization::Nfd);
    assert_eq!(marc8.on_error, Marc8ErrorMode::Drop);
    assert!(read.parse.validate_utf8);
    assert_eq!(read.shape, Shape::Lazy);
}

#[test]
fn other_option_values_fall_back_to_the_defaults() {
    for (normalize, expected) in [
        ("nfc", Normalization::Nfc),
        ("nfd", Normalization::Nfd),
        ("none", Normalization::None),
    ] {
        let read = ReadValues {
            to_unicode: true,
            normalize,
            ..values("strict")
        };
        assert_eq!(
            read.decode(&NAMES).unwrap().marc8.unwrap().normalization,
            expected
        );
    }
    for (marc8_errors, expected) in [
        ("replace", Marc8ErrorMode::Replace),
        ("drop", Marc8ErrorMode::Drop),
        ("strict", Marc8ErrorMode::Strict),
    ] {
        let read = ReadValues {
            to_unicode: true,
            marc8_errors,
            decode_ncrs: false,
            ..values("strict")
        };
        assert_eq!(
            read.decode(&NAMES).unwrap().marc8.unwrap().on_error,
            expected
        );
    }
}

// ---------------------------------------------------------------------------------------
// reply_chunks.rs
// ---------------------------------------------------------------------------------------

/// `n` ISO 2709 records of about `size` bytes each, encoded by the core.
fn records(n: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let record = OwnedRecord {
            leader: *b"00000nam a2200000 a 4500",
            fields: vec![
                OwnedField::Control {
                    tag: *b"001",
                    value: format!("{i:08}").into_bytes(),
                },
                OwnedField::Data {
                    tag: *b"245",
                    ind1: b'0',
                    ind2: b'0',
                    subfields: vec![(b'a', vec![b'x'; size])],
                },
            ],
        };
        snakepit_core::encode_record(&record, i as u64, &mut out).unwrap();
    }
    out
}

#[test]
fn a_short_input_is_one_run() {
    let input = records(3, 100);
    let runs = reply_chunks::frame_runs(&input, input.len());
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].start, runs[0].end, runs[0].first_index),
        (0, input.len(), 0)
    );
}

#[test]
fn runs_cover_the_input_at_frame_boundaries_and_count_frames() {
    let input = records(48, 300);
    let one = input.len() / 48;
    let runs = reply_chunks::frame_runs(&input, 1000);
    assert!(runs.len() > 1);
    let mut expected_start = 0;
    let mut index = 0;
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.start, expected_start, "runs are contiguous");
        assert_eq!(run.first_index, index);
        assert_eq!((run.end - run.start) % one, 0, "whole frames only");
        if i + 1 < runs.len() {
            assert!(
                run.end - run.start >= 1000,
                "every run but the last is at least min_bytes"
            );
        }
        index += ((run.end - run.start) / one) as u64;
        expected_start = run.end;
    }
    assert_eq!(expected_start, input.len());
    assert_eq!(index, 48);
    assert!(
        runs.iter().all(|r| r.end > r.start),
        "no empty run: {runs:?}"
    );
}

#[test]
fn bad_bytes_between_records_stay_inside_a_run() {
    let mut input = records(10, 300);
    let one = input.len() / 10;
    input.splice(one..one, b"garbage".iter().copied());
    let runs = reply_chunks::frame_runs(&input, one);
    assert_eq!(
        runs.iter().map(|r| r.end - r.start).sum::<usize>(),
        input.len()
    );
    assert!(runs.windows(2).all(|w| w[0].end == w[1].start));
}

#[test]
fn a_run_as_a_batch_frames_as_the_whole_input_does() {
    // Garbage between records, so a run also holds skipped frames.
    let mut input = records(40, 300);
    let one = input.len() / 40;
    input.splice(3 * one..3 * one, b"garbage".iter().copied());
    let whole = snakepit_core::chunker::Chunker::from_complete(input.clone())
        .next_batch(snakepit_core::chunker::BatchLimits {
            max_records: usize::MAX,
            max_bytes: usize::MAX,
        })
        .unwrap();
    let mut frames = Vec::new();
    for run in reply_chunks::frame_runs(&input, 2000) {
        let batch = reply_chunks::raw_batch(
            &input[run.start..run.end],
            run.start as u64,
            run.first_index,
        );
        assert_eq!(batch.data, input[run.start..run.end]);
        assert_eq!(
            (batch.base_offset, batch.first_index),
            (run.start as u64, run.first_index)
        );
        assert_eq!(frames.len() as u64, run.first_index);
        frames.extend(batch.frames.iter().map(|f| shift(*f, run.start)));
    }
    assert_eq!(frames, whole.frames);
}

fn shift(frame: snakepit_core::chunker::Frame, by: usize) -> snakepit_core::chunker::Frame {
    use snakepit_core::chunker::Frame;
    match frame {
        Frame::Record { start, end } => Frame::Record {
            start: start + by,
            end: end + by,
        },
        Frame::Skip { start, end, kind } => Frame::Skip {
            start: start + by,
            end: end + by,
            kind,
        },
    }
}

#[test]
fn repair_options_decode_and_default_to_none() {
    use snakepit_core::recover::{EncodingPolicy, Recovery, Utf8Errors};
    let read = values("permissive").decode(&NAMES).unwrap();
    assert_eq!(read.recovery, Recovery::default());
    for (name, policy) in [
        ("replace", Utf8Errors::Replace),
        ("drop", Utf8Errors::Drop),
        ("error", Utf8Errors::Error),
    ] {
        let read = ReadValues {
            utf8_errors: name,
            encoding: "auto",
            repair_directory: true,
            ..values("permissive")
        }
        .decode(&NAMES)
        .unwrap();
        assert_eq!(
            read.recovery,
            Recovery {
                utf8_errors: policy,
                encoding: EncodingPolicy::Auto,
                rebuild_directory: true,
            }
        );
    }
}
