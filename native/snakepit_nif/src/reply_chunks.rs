//! Where a large `parse` reply of the `:thread` profile is cut into chunks: at frame
//! boundaries, so each chunk is whole records. Pure (no rustler), tested on its own.

/// A run of whole frames of a parse input: its byte range and the index of its first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameRun {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) first_index: u64,
}

/// Cuts `input` at frame boundaries into runs of at least `min_bytes` (the last may be
/// shorter); one run for an input that is not longer than that. Framing only, no parsing.
pub(crate) fn frame_runs(input: &[u8], min_bytes: usize) -> Vec<FrameRun> {
    use snakepit_core::scan::{next_step, Step};
    let mut runs = Vec::new();
    let mut run = FrameRun {
        start: 0,
        end: input.len(),
        first_index: 0,
    };
    if input.len() > min_bytes {
        let (mut pos, mut index) = (0usize, 0u64);
        while let Step::Record { end, .. } | Step::Skip { end, .. } = next_step(input, pos, true) {
            pos = end;
            index += 1;
            if pos - run.start >= min_bytes && pos < input.len() {
                runs.push(FrameRun { end: pos, ..run });
                run = FrameRun {
                    start: pos,
                    end: input.len(),
                    first_index: index,
                };
            }
        }
    }
    runs.push(run);
    runs
}

/// Whole frames (`frames`, a run of an input or a batch) as a batch of their own, their
/// bytes copied, for parsing off the scheduler as a stream batch is: framed by the one
/// chunker, at `base_offset` and `first_index` in their source.
pub(crate) fn raw_batch(
    frames: &[u8],
    base_offset: u64,
    first_index: u64,
) -> snakepit_core::chunker::RawBatch {
    use snakepit_core::chunker::{BatchLimits, Chunker, RawBatch};
    let whole = BatchLimits {
        max_records: usize::MAX,
        max_bytes: usize::MAX,
    };
    let batch = Chunker::from_complete(frames.to_vec()).next_batch(whole);
    RawBatch {
        base_offset,
        first_index,
        ..batch.unwrap_or_default()
    }
}
