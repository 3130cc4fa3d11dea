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

/// The work of parsing and building `records` (ranges of `data`), converting those whose
/// leader/09 says MARC-8 when `marc8` is on: about a quarter term per byte at the
/// converter's speed.
pub(crate) fn terms(
    data: &[u8],
    records: impl Iterator<Item = Range<usize>>,
    marc8: bool,
) -> usize {
    let conversion: usize = if marc8 {
        records
            .map(|r| &data[r])
            .filter(|record| record.get(9) == Some(&b' '))
            .map(|record| record.len() / 4)
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
