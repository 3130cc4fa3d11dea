//! How much work building a batch's terms is, so that small batches are built on the
//! caller's normal scheduler (no switch to a dirty one and back) and large ones are not.
//! Measured in terms: fields and subfields, at roughly 50 ns each.

use rustler::Env;
use std::ops::Range;

/// Terms a batch may hold and still be built on a normal scheduler: half a millisecond at
/// most. A default batch of 100 typical records holds about 5,000.
pub(crate) const NORMAL_SCHEDULER_TERMS: usize = 10_000;

/// An upper bound on the fields and subfields in `bytes`: their delimiters.
pub(crate) fn delimiters(bytes: &[u8]) -> usize {
    // 0x1E and 0x1F are the bytes with `b | 1 == 0x1F`. Counting in u8 lanes over chunks of
    // 255 lets the compiler vectorise it: 10x faster than a plain filter and count.
    bytes
        .chunks(255)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(((b | 1) == 0x1F) as u8)) as usize
        })
        .sum()
}

/// Bytes of MARC-8 converted in the time of building one term (the converter runs at about
/// 70 MiB/s).
pub(crate) const MARC8_BYTES_PER_TERM: usize = 4;

/// The work of parsing and building `records` (ranges of `data`), converting those that are
/// not UTF-8 (leader/09 other than `a`) when `marc8` is on.
pub(crate) fn terms(
    data: &[u8],
    records: impl Iterator<Item = Range<usize>>,
    marc8: bool,
) -> usize {
    let conversion: usize = if marc8 {
        records
            .map(|r| &data[r])
            .filter(|record| record.get(9) != Some(&b'a'))
            .map(|record| record.len() / MARC8_BYTES_PER_TERM)
            .sum()
    } else {
        0
    };
    delimiters(data) + conversion
}

/// Tells the scheduler how much of the process's time slice (about 1 ms) building `terms`
/// took, so that the process yields accordingly afterwards.
pub(crate) fn account(env: Env<'_>, terms: usize) {
    let percent = (terms * 100 / (2 * NORMAL_SCHEDULER_TERMS)).clamp(1, 100) as i32;
    rustler::schedule::consume_timeslice(env, percent);
}
