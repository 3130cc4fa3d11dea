//! Framing plus parsing over a complete buffer, with the three error modes.

use crate::error::{MarcError, Result};
use crate::parse::{parse_record, Origin, ParseOptions};
use crate::record::Record;
use crate::scan::{Frames, Step};

/// What to do with a bad record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The first bad record ends the read with its error.
    #[default]
    Strict,
    /// Each bad record yields its error in place; good records around it still arrive.
    Permissive,
    /// Bad records are dropped and counted.
    Skip,
}

/// One framed item: a record or the error for a bad one.
pub type Item<'a> = Result<Record<'a>>;

/// Frames every record of `buf`, whose first byte is at absolute `base_offset`, numbering
/// records from `first_index`. Calls `sink` with each frame's origin and its bytes (or the
/// error for bytes that hold no record) in order; stops early when `sink` returns `false`.
/// Returns how many frames were produced.
pub fn for_each_frame<'a>(
    buf: &'a [u8],
    base_offset: u64,
    first_index: u64,
    mut sink: impl FnMut(Origin, Result<&'a [u8]>) -> bool,
) -> u64 {
    let mut index = first_index;
    for step in Frames::new(buf) {
        let (origin, frame) = match step {
            Step::Record { start, end } => (
                Origin {
                    index,
                    offset: base_offset + start as u64,
                },
                Ok(&buf[start..end]),
            ),
            Step::Skip { start, end, kind } => (
                Origin {
                    index,
                    offset: base_offset + start as u64,
                },
                Err(MarcError::at(
                    kind,
                    index,
                    base_offset,
                    buf,
                    start,
                    format!("{} bytes that hold no record were skipped", end - start),
                )),
            ),
            Step::NeedMore { .. } | Step::End => break,
        };
        index += 1;
        if !sink(origin, frame) {
            break;
        }
    }
    index - first_index
}

/// Frames and parses every record of `buf` (see [`for_each_frame`]). Calls `sink` with each
/// item in order; stops early when `sink` returns `false`. Returns how many items were
/// produced.
pub fn for_each_item<'a>(
    buf: &'a [u8],
    base_offset: u64,
    first_index: u64,
    opts: ParseOptions,
    mut sink: impl FnMut(Item<'a>) -> bool,
) -> u64 {
    for_each_frame(buf, base_offset, first_index, |origin, frame| {
        sink(frame.and_then(|frame| parse_record(frame, origin, opts)))
    })
}

/// Reads a whole buffer under `mode`: `Ok(items)` where items are records (and, in
/// permissive mode, errors in place), plus the number of bad records skipped in skip mode.
pub fn read_all(buf: &[u8], mode: Mode, opts: ParseOptions) -> Result<(Vec<Item<'_>>, u64)> {
    let mut items = Vec::new();
    let mut skipped = 0u64;
    let mut first_error = None;
    for_each_item(buf, 0, 0, opts, |item| match (item, mode) {
        (Ok(r), _) => {
            items.push(Ok(r));
            true
        }
        (Err(e), Mode::Strict) => {
            first_error = Some(e);
            false
        }
        (Err(e), Mode::Permissive) => {
            items.push(Err(e));
            true
        }
        (Err(_), Mode::Skip) => {
            skipped += 1;
            true
        }
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok((items, skipped)),
    }
}
