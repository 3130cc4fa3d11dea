//! How much work building a batch's terms is, so that small batches are built on the
//! caller's normal scheduler (no switch to a dirty one and back) and large ones are not.
//! Measured in terms: fields and subfields, at roughly 50 ns each. Pure (no rustler: the
//! scheduler is told by `scheduler_watch::account`), so `tests/pure.rs` tests it.

use std::ops::Range;

/// Terms a batch may hold and still be built on a normal scheduler: a fifth of a
/// millisecond by the estimate, which first touches of fresh heap pages (a few hundred per
/// call) can stretch several times over. A default batch of 100 typical records holds about
/// 5,000, so most batches of full records are built on a dirty scheduler. At 10,000,
/// `bench/scheduler.exs` measured a probe p99 of 7 ms beside streams and fan-out on 2 cores
/// (idle: 1.3-1.7 ms); at 4,000, within 2 ms of idle.
pub(crate) const NORMAL_SCHEDULER_TERMS: usize = 4_000;

/// An upper bound on the fields and subfields that parsing `bytes` builds: their
/// delimiters. Exact as a bound because the parser lets each byte of field data belong to
/// one field only (`:overlapping_fields`), so no delimiter is built twice.
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

/// What making one error costs, in terms: the error itself (its detail and excerpt) and its
/// `%ParseError{}` map of seven keys and two binaries, measured at 0.7 us (parsing included)
/// for 10,000 broken 25-byte records in permissive mode; rounded up.
pub(crate) const ERROR_TERMS: usize = 20;

/// The work a call may still do, in terms: limited on a normal scheduler, not on a dirty
/// one. Spent as the work is done, so that what is counted is what is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    left: Option<usize>,
    spent: usize,
}

impl Budget {
    /// No limit: the call runs on a dirty scheduler.
    pub(crate) fn unlimited() -> Self {
        Budget {
            left: None,
            spent: 0,
        }
    }

    /// A normal scheduler's [`NORMAL_SCHEDULER_TERMS`].
    pub(crate) fn normal_scheduler() -> Self {
        Budget {
            left: Some(NORMAL_SCHEDULER_TERMS),
            spent: 0,
        }
    }

    /// Takes `terms` from what is left; `false`, taking nothing, when they do not fit.
    pub(crate) fn spend(&mut self, terms: usize) -> bool {
        match self.left {
            Some(left) if terms > left => false,
            left => {
                self.left = left.map(|l| l - terms);
                self.spent += terms;
                true
            }
        }
    }

    /// What was spent so far, for `scheduler_watch::account`.
    pub(crate) fn spent(&self) -> usize {
        self.spent
    }
}

/// The work of converting `bytes` of MARC-8, in terms.
pub(crate) fn marc8_terms(bytes: usize) -> usize {
    bytes.div_ceil(MARC8_BYTES_PER_TERM)
}

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
            .map(|record| marc8_terms(record.len()))
            .sum()
    } else {
        0
    };
    delimiters(data) + conversion
}

/// The share of a process's time slice (about 1 ms), in percent from 1 to 100, that
/// building `terms` takes.
pub(crate) fn timeslice_percent(terms: usize) -> i32 {
    (terms.saturating_mul(100) / (2 * NORMAL_SCHEDULER_TERMS)).clamp(1, 100) as i32
}

/// The share of a time slice, in percent from 1 to 100, that `elapsed` is (a slice is
/// taken as 1 ms).
pub(crate) fn timeslice_percent_of(elapsed: std::time::Duration) -> i32 {
    (elapsed.as_micros() / 10).clamp(1, 100) as i32
}
