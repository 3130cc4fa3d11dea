//! Collects the items of one read (records, and errors per `:mode`) as terms. Every NIF
//! that returns records goes through it, so the modes mean the same thing everywhere.

use crate::atoms;
use crate::errors::{marc_error_tuple, NativeError};
use crate::options::Shape;
use crate::terms::{RecordBinary, TermBuilder};
use rustler::{Encoder, Env, OwnedBinary, Term};
use snakepit_core::chunker::{Frame, ParsedItem, RawBatch};
use snakepit_core::record::FieldSpan;
use snakepit_core::recover::Repair;
use snakepit_core::{ErrorKind, MarcError, Mode, Origin, Record};

pub(crate) struct Items<'a> {
    env: Env<'a>,
    builder: TermBuilder<'a>,
    mode: Mode,
    shape: Shape,
    items: Vec<Term<'a>>,
    skipped: u64,
    failure: Option<MarcError>,
    chunk: RecordChunk,
}

/// About how many bytes of records share one binary. A record kept alive (or a value of
/// it) pins the others of its chunk, so this bounds what one record can hold alive (a
/// record of this size or more gets a binary of its own). Sharing makes a read of many
/// records a few allocations, and a process holding them frees a few binaries, not one per
/// record: a process exiting with the 59,058 records of an 80 MB file held a normal
/// scheduler for 14-15 ms (eager) and 7-11 ms (lazy) with a binary each, under 5 ms with
/// chunks (`docs/performance.md`).
const CHUNK_BYTES: usize = 16_384;

/// The chunk being filled: the bytes of its records so far, and for each of them its place
/// in `items` (a placeholder until the chunk is full), its range, its field spans (none
/// for a lazy record) and its repairs.
#[derive(Default)]
struct RecordChunk {
    bytes: Option<OwnedBinary>,
    used: usize,
    records: Vec<ChunkedRecord>,
}

struct ChunkedRecord {
    place: usize,
    offset: usize,
    len: usize,
    spans: Option<Vec<FieldSpan>>,
    repairs: Vec<Repair>,
}

impl<'a> Items<'a> {
    pub(crate) fn new(env: Env<'a>, mode: Mode, shape: Shape) -> Self {
        Items {
            env,
            builder: TermBuilder::new(env),
            mode,
            shape,
            items: Vec::new(),
            skipped: 0,
            failure: None,
            chunk: RecordChunk::default(),
        }
    }

    /// A good record, with what was repaired to read it: its bytes copied into the chunk
    /// being filled (see [`CHUNK_BYTES`]), its term made when the chunk is full or the read
    /// ends.
    pub(crate) fn record(&mut self, record: &Record<'_>, repairs: &[Repair]) {
        let bytes = record.bytes();
        if bytes.len() >= CHUNK_BYTES {
            let own = RecordBinary::copy(self.env, record);
            let term = match self.shape {
                Shape::Struct => self.builder.record_in(own, repairs),
                Shape::Lazy => self.builder.lazy_record(own.binary(), repairs),
            };
            self.items.push(term);
            return;
        }
        if self.chunk.used + bytes.len() > CHUNK_BYTES {
            self.flush_chunk();
        }
        let chunk = &mut self.chunk;
        let data = chunk
            .bytes
            .get_or_insert_with(|| OwnedBinary::new(CHUNK_BYTES));
        data.as_mut_slice()[chunk.used..chunk.used + bytes.len()].copy_from_slice(bytes);
        chunk.records.push(ChunkedRecord {
            place: self.items.len(),
            offset: chunk.used,
            len: bytes.len(),
            spans: matches!(self.shape, Shape::Struct).then(|| record.spans().to_vec()),
            repairs: repairs.to_vec(),
        });
        chunk.used += bytes.len();
        // A placeholder in the record's place, so that items keep their order.
        self.items.push(atoms::nil().encode(self.env));
    }

    /// Makes the terms of the chunk's records, over sub-binaries of it, in their places.
    fn flush_chunk(&mut self) {
        let chunk = std::mem::take(&mut self.chunk);
        let Some(mut data) = chunk.bytes else { return };
        // Only what the records use is kept. (Not `realloc_or_copy`, whose fallback cannot
        // shrink.) Should the VM refuse to shrink it, the unused tail stays: at most one
        // chunk's worth, pinned by these records only.
        let _shrunk = data.realloc(chunk.used);
        let data = data.release(self.env);
        for r in chunk.records {
            let bytes = data
                .make_subbinary(r.offset, r.len)
                .expect("a record's range inside its chunk");
            let term = match r.spans {
                None => self.builder.lazy_record(bytes, &r.repairs),
                Some(spans) => {
                    let record = Record::from_parts(bytes.as_slice(), spans)
                        .expect("spans parsed from these very bytes");
                    let bound = RecordBinary::new(self.env, bytes, &record)
                        .expect("a record over its own bytes");
                    self.builder.record_in(bound, &r.repairs)
                }
            };
            self.items[r.place] = term;
        }
    }

    /// A record's term made by the caller (extraction values rather than a record).
    pub(crate) fn push(&mut self, term: Term<'a>) {
        self.items.push(term);
    }

    /// A bad record: kept in place (permissive), counted (skip), or the end of the read
    /// (strict). Returns whether reading goes on.
    pub(crate) fn error(&mut self, error: MarcError) -> bool {
        match self.mode {
            Mode::Strict => {
                self.failure = Some(error);
                false
            }
            Mode::Permissive => {
                self.items.push(marc_error_tuple(self.env, &error));
                true
            }
            Mode::Skip => {
                self.skipped += 1;
                true
            }
        }
    }

    /// A frame parsed off the scheduler; `data` holds the batch that `Record` items point
    /// into, `origin` is the frame's place in the source. Returns whether reading goes on.
    pub(crate) fn parsed(&mut self, data: &[u8], item: ParsedItem, origin: Origin) -> bool {
        match item {
            ParsedItem::Record { start, end, spans } => {
                self.spans(&data[start..end], spans, &[], origin)
            }
            ParsedItem::Owned {
                bytes,
                spans,
                repairs,
            } => self.spans(&bytes, spans, &repairs, origin),
            ParsedItem::Error(e) => self.error(e),
        }
    }

    fn spans(
        &mut self,
        bytes: &[u8],
        spans: Vec<FieldSpan>,
        repairs: &[Repair],
        origin: Origin,
    ) -> bool {
        match Record::from_parts(bytes, spans) {
            Some(record) => {
                self.record(&record, repairs);
                true
            }
            // Spans always come from parsing these very bytes; say so rather than lose it.
            None => self.error(MarcError::bare(
                ErrorKind::FieldOutOfBounds,
                origin.index,
                origin.offset,
                "internal: field spans do not fit their record",
            )),
        }
    }

    /// `{:ok, items, skipped}`, or `{:error, %ParseError{}}` when strict mode stopped.
    pub(crate) fn into_result(mut self) -> Term<'a> {
        self.flush_chunk();
        let env = self.env;
        match self.failure {
            Some(e) => NativeError::Marc(e).to_term(env),
            None => (atoms::ok(), self.items, self.skipped).encode(env),
        }
    }

    /// The items and the skipped count, for callers that frame the answer themselves.
    pub(crate) fn into_parts(mut self) -> (Vec<Term<'a>>, u64) {
        self.flush_chunk();
        (self.items, self.skipped)
    }
}

/// The terms of a batch parsed off the scheduler (`RawBatch::parse`), and how many bad
/// frames skip mode dropped. Strict mode keeps errors in place here, as permissive does:
/// whoever parsed the batch decides where a strict read ends.
pub(crate) fn batch_items<'a>(
    env: Env<'a>,
    mode: Mode,
    shape: Shape,
    raw: &RawBatch,
    items: Vec<ParsedItem>,
) -> (Vec<Term<'a>>, u64) {
    let mode = match mode {
        Mode::Skip => Mode::Skip,
        Mode::Strict | Mode::Permissive => Mode::Permissive,
    };
    let mut terms = Items::new(env, mode, shape);
    for (i, item) in items.into_iter().enumerate() {
        // JSON and XML batches carry records without ISO 2709 frames.
        let start = match raw.frames.get(i) {
            Some(Frame::Record { start, .. } | Frame::Skip { start, .. }) => *start,
            None => 0,
        };
        let origin = Origin {
            index: raw.first_index + i as u64,
            offset: raw.base_offset + start as u64,
        };
        terms.parsed(&raw.data, item, origin);
    }
    terms.into_parts()
}
