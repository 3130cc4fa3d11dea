//! Incremental framing for streams: bytes arrive in chunks of any size (boundaries may fall
//! inside a leader), and leave as batches of whole frames with absolute offsets and record
//! indices. Sans-I/O: the caller reads, the chunker only frames.

use crate::error::ErrorKind;
use crate::scan::{next_step, Step};

/// One framed item of a batch, relative to [`RawBatch::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Record {
        start: usize,
        end: usize,
    },
    Skip {
        start: usize,
        end: usize,
        kind: ErrorKind,
    },
}

/// Whole frames copied out of the stream, ready to be parsed (possibly on another thread).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawBatch {
    pub data: Vec<u8>,
    /// Absolute offset in the source of `data[0]`.
    pub base_offset: u64,
    /// Record index of the first frame.
    pub first_index: u64,
    pub frames: Vec<Frame>,
}

/// Limits on one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_records: usize,
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_records: 100,
            max_bytes: 300_000,
        }
    }
}

#[derive(Debug, Default)]
pub struct Chunker {
    /// `buf[..filled]` holds input; the rest is room for [`read_into`](Self::read_into).
    buf: Vec<u8>,
    filled: usize,
    pos: usize,
    base_offset: u64,
    next_index: u64,
    eof: bool,
    done: bool,
}

impl Chunker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A chunker over the whole input, already finished: takes `bytes` without copying.
    pub fn from_complete(bytes: Vec<u8>) -> Self {
        Chunker {
            filled: bytes.len(),
            buf: bytes,
            eof: true,
            ..Self::default()
        }
    }

    /// Bytes not yet framed (the carry-over between chunks).
    pub fn pending_bytes(&self) -> usize {
        self.filled - self.pos
    }

    /// Appends input. Frees what earlier batches consumed first, so the buffer holds at most
    /// one partial record plus the new chunk.
    pub fn feed(&mut self, data: &[u8]) {
        self.compact();
        self.buf.truncate(self.filled);
        self.buf.extend_from_slice(data);
        self.filled = self.buf.len();
    }

    /// Appends up to `max` bytes that `read` writes straight into the buffer (no copy through
    /// a separate read buffer); `read` returns how many it wrote, as `std::io::Read::read`
    /// does. The buffer is zeroed only when it grows, so reading a file in equal chunks
    /// costs one allocation.
    pub fn read_into<E>(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.compact();
        let end = self.filled + max;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let n = read(&mut self.buf[self.filled..end])?;
        self.filled += n.min(max);
        Ok(n)
    }

    /// Frees what earlier batches consumed: moves the partial record left to the front.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.base_offset += self.pos as u64;
            self.pos = 0;
        }
    }

    /// Index the next framed record will get.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// No more input will come.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// `true` once every byte has been framed after [`finish`](Self::finish).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Frames up to `limits` from the buffered bytes. `None` when more input is needed (or
    /// the stream is done). A batch always holds at least one frame, even an oversized one.
    pub fn next_batch(&mut self, limits: BatchLimits) -> Option<RawBatch> {
        let start = self.pos;
        let mut frames = Vec::new();
        let mut pos = self.pos;
        while frames.len() < limits.max_records.max(1) {
            let step = next_step(&self.buf[..self.filled], pos, self.eof);
            let (frame, end) = match step {
                Step::Record { start, end } => (Frame::Record { start, end }, end),
                Step::Skip { start, end, kind } => (Frame::Skip { start, end, kind }, end),
                Step::End => {
                    self.done = true;
                    break;
                }
                Step::NeedMore { consumed } => {
                    // Padding before the partial record is consumed; keep the rest buffered.
                    if frames.is_empty() {
                        pos = consumed;
                    }
                    break;
                }
            };
            if !frames.is_empty() && end - start > limits.max_bytes {
                break;
            }
            frames.push(frame);
            pos = end;
        }
        if frames.is_empty() {
            self.pos = pos;
            return None;
        }
        let data = self.buf[start..pos].to_vec();
        for f in &mut frames {
            match f {
                Frame::Record { start: s, end: e }
                | Frame::Skip {
                    start: s, end: e, ..
                } => {
                    *s -= start;
                    *e -= start;
                }
            }
        }
        let batch = RawBatch {
            data,
            base_offset: self.base_offset + start as u64,
            first_index: self.next_index,
            frames,
        };
        self.next_index += batch.frames.len() as u64;
        self.pos = pos;
        Some(batch)
    }
}

/// A parsed frame of a batch: plain data, so it can cross threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedItem {
    /// A good record at `data[start..end]` with its field spans.
    Record {
        start: usize,
        end: usize,
        spans: Vec<crate::record::FieldSpan>,
    },
    /// A good record rewritten on the way (MARC-8 converted to UTF-8, or repaired): its
    /// own bytes, and what was repaired.
    Owned {
        bytes: Vec<u8>,
        spans: Vec<crate::record::FieldSpan>,
        repairs: Vec<crate::recover::Repair>,
    },
    /// A bad record or skipped bytes.
    Error(crate::error::MarcError),
}

impl RawBatch {
    /// Parses every frame with [`crate::recover::decode`] (repairs as `recovery` asks,
    /// MARC-8 records converted to UTF-8 when `marc8` is given). Errors carry absolute
    /// offsets and record indices.
    pub fn parse(
        &self,
        opts: crate::parse::ParseOptions,
        recovery: crate::recover::Recovery,
        marc8: Option<&crate::marc8::Marc8Options>,
    ) -> Vec<ParsedItem> {
        use crate::recover::Decoded;
        self.frames
            .iter()
            .enumerate()
            .map(|(i, frame)| {
                let index = self.first_index + i as u64;
                match *frame {
                    Frame::Record { start, end } => {
                        let origin = crate::parse::Origin {
                            index,
                            offset: self.base_offset + start as u64,
                        };
                        let frame = &self.data[start..end];
                        match crate::recover::decode(frame, origin, opts, recovery, marc8) {
                            Ok(Decoded::Borrowed(record)) => ParsedItem::Record {
                                start,
                                end,
                                spans: record.into_spans(),
                            },
                            Ok(Decoded::Owned {
                                bytes,
                                spans,
                                repairs,
                            }) => ParsedItem::Owned {
                                bytes,
                                spans,
                                repairs,
                            },
                            Err(e) => ParsedItem::Error(e),
                        }
                    }
                    Frame::Skip { start, end, kind } => {
                        ParsedItem::Error(crate::error::MarcError::at(
                            kind,
                            index,
                            self.base_offset,
                            &self.data,
                            start,
                            format!("{} bytes that hold no record were skipped", end - start),
                        ))
                    }
                }
            })
            .collect()
    }
}

/// Converts a MARC-8 record (leader/09 blank) to UTF-8 when `marc8` options are given:
/// `Ok(Some((bytes, spans)))` is the rewritten record, `Ok(None)` means keep it as it is.
pub fn to_unicode(
    record: &crate::record::Record<'_>,
    origin: crate::parse::Origin,
    marc8: Option<&crate::marc8::Marc8Options>,
) -> crate::error::Result<Option<(Vec<u8>, Vec<crate::record::FieldSpan>)>> {
    let Some(opts) = marc8 else { return Ok(None) };
    if record.is_utf8() {
        return Ok(None);
    }
    let bytes = crate::marc8::record_to_utf8(record, origin, opts)?;
    let no_recheck = crate::parse::ParseOptions {
        validate_utf8: false,
    };
    let spans = crate::parse::parse_record(&bytes, origin, no_recheck)?.into_spans();
    Ok(Some((bytes, spans)))
}

/// A record read from another format (MARC-in-JSON, MARCXML) as a parsed item: encoded to
/// ISO 2709 (lengths, base address and directory computed) and parsed back for its spans,
/// so it reaches the consumer exactly like a record read from an ISO 2709 file. Text from
/// those formats is already Unicode: no MARC-8 conversion applies. The readers have checked
/// its values; ISO 2709's size limits apply only where it is written as ISO 2709 (those
/// formats have none), so it is encoded as a record that stays in memory
/// ([`OwnedRecord::encode_unbounded`](crate::record::OwnedRecord::encode_unbounded)).
/// `origin` places errors (a record with no fields, a directory past 99,999 bytes).
pub fn owned_item(record: &crate::record::OwnedRecord, origin: crate::parse::Origin) -> ParsedItem {
    let bytes = match encoded(record, origin) {
        Ok(bytes) => bytes,
        Err(item) => return item,
    };
    let no_recheck = crate::parse::ParseOptions {
        validate_utf8: false,
    };
    match crate::parse::parse_record(&bytes, origin, no_recheck) {
        Ok(parsed) => {
            let spans = parsed.into_spans();
            ParsedItem::Owned {
                bytes,
                spans,
                repairs: Vec::new(),
            }
        }
        Err(mut e) => {
            e.byte_offset = origin.offset;
            e.excerpt.clear();
            ParsedItem::Error(e)
        }
    }
}

/// `record` as ISO 2709 held in memory, or the error item placed at `origin`.
fn encoded(
    record: &crate::record::OwnedRecord,
    origin: crate::parse::Origin,
) -> Result<Vec<u8>, ParsedItem> {
    record.encode_unbounded().map_err(|mut e| {
        e.record_index = origin.index;
        e.byte_offset = origin.offset;
        ParsedItem::Error(e)
    })
}

/// [`owned_item`] for a source whose records may hold MARC-8 text (MARCMaker's `.mrk`):
/// a record whose leader/09 is not `a` is read as its ISO 2709 frame is
/// ([`crate::recover::decode`]: MARC-8 to UTF-8 conversion as `marc8` asks, `encoding:
/// :auto` detection under `recovery`), so it comes out as the same record would from an
/// ISO 2709 file. A UTF-8 record is [`owned_item`]'s. A conversion error is placed at
/// `origin` (the record's place in its source: offsets in the encoded frame mean nothing
/// there) with the detail naming the field.
pub fn decoded_owned_item(
    record: &crate::record::OwnedRecord,
    origin: crate::parse::Origin,
    opts: crate::parse::ParseOptions,
    recovery: crate::recover::Recovery,
    marc8: Option<&crate::marc8::Marc8Options>,
) -> ParsedItem {
    use crate::recover::Decoded;
    if record.leader[9] == b'a' {
        return owned_item(record, origin);
    }
    let bytes = match encoded(record, origin) {
        Ok(bytes) => bytes,
        Err(item) => return item,
    };
    let at = crate::parse::Origin {
        index: origin.index,
        offset: 0,
    };
    match crate::recover::decode(&bytes, at, opts, recovery, marc8) {
        Ok(Decoded::Borrowed(parsed)) => {
            let spans = parsed.into_spans();
            ParsedItem::Owned {
                bytes,
                spans,
                repairs: Vec::new(),
            }
        }
        Ok(Decoded::Owned {
            bytes,
            spans,
            repairs,
        }) => ParsedItem::Owned {
            bytes,
            spans,
            repairs,
        },
        Err(mut e) => {
            e.byte_offset = origin.offset;
            e.excerpt.clear();
            ParsedItem::Error(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_fed(input: &[u8], chunk: usize) -> Vec<(u64, u64, Option<ErrorKind>)> {
        let mut chunker = Chunker::new();
        let mut out = Vec::new();
        let mut collect = |chunker: &mut Chunker| {
            while let Some(b) = chunker.next_batch(BatchLimits::default()) {
                for f in &b.frames {
                    let (s, e, k) = match *f {
                        Frame::Record { start, end } => (start, end, None),
                        Frame::Skip { start, end, kind } => (start, end, Some(kind)),
                    };
                    out.push((b.base_offset + s as u64, b.base_offset + e as u64, k));
                }
            }
        };
        for c in input.chunks(chunk) {
            chunker.feed(c);
            collect(&mut chunker);
            assert!(chunker.pending_bytes() <= crate::scan::MAX_LOOKAHEAD + chunk);
        }
        chunker.finish();
        collect(&mut chunker);
        out
    }

    #[test]
    fn an_endless_run_of_nuls_is_reported_as_it_comes_with_bounded_buffering() {
        let mut chunker = Chunker::new();
        let zeros = [0u8; 4096];
        let mut fed = 0usize;
        let batch = loop {
            chunker.feed(&zeros);
            fed += zeros.len();
            assert!(
                chunker.pending_bytes() <= 200_000,
                "buffered {fed} bytes of NULs"
            );
            if let Some(b) = chunker.next_batch(BatchLimits::default()) {
                break b;
            }
            assert!(fed < 1 << 20, "no item after {fed} bytes of NULs");
        };
        assert!(matches!(
            batch.frames[0],
            Frame::Skip {
                start: 0,
                kind: ErrorKind::Garbage,
                ..
            }
        ));
    }

    #[test]
    fn padding_runs_frame_the_same_in_any_chunking() {
        let record = b"00044nam  2200037   4500001000300000\x1eab\x1e\x1d".to_vec();
        let mut input = record.clone();
        input.extend(vec![0u8; 250_000]);
        input.extend(&record);
        input.extend(vec![b' '; 300]);
        input.extend(&record);
        input.extend(vec![0u8; 120_000]);
        let whole = frames_fed(&input, input.len());
        assert_eq!(whole.iter().filter(|f| f.2.is_none()).count(), 3);
        assert_eq!(
            whole
                .iter()
                .filter(|f| f.2 == Some(ErrorKind::Garbage))
                .count(),
            3
        );
        for chunk in [1000, 4096, 65_536, 99_999] {
            assert_eq!(frames_fed(&input, chunk), whole, "chunk {chunk}");
        }
    }
}
