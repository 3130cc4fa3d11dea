//! Collects the items of one read (records, and errors per `:mode`) as terms. Every NIF
//! that returns records goes through it, so the modes mean the same thing everywhere.

use crate::atoms;
use crate::errors::{marc_error_tuple, NativeError};
use crate::options::Shape;
use crate::terms::TermBuilder;
use rustler::{Encoder, Env, Term};
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
        }
    }

    /// A good record, with what was repaired to read it.
    pub(crate) fn record(&mut self, record: &Record<'_>, repairs: &[Repair]) {
        let term = match self.shape {
            Shape::Struct => self.builder.record(record, repairs),
            Shape::Lazy => self.builder.lazy_record(record, repairs),
        };
        self.items.push(term);
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
    pub(crate) fn into_result(self) -> Term<'a> {
        let env = self.env;
        match self.failure {
            Some(e) => NativeError::Marc(e).to_term(env),
            None => (atoms::ok(), self.items, self.skipped).encode(env),
        }
    }

    /// The items and the skipped count, for callers that frame the answer themselves.
    pub(crate) fn into_parts(self) -> (Vec<Term<'a>>, u64) {
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
