//! Records parsed natively and held until the process that receives them builds their
//! terms. A big `parse` reply of a `:thread` pool arrives as small messages, each carrying
//! one of these, and the caller builds the terms in its own heap on a dirty scheduler, as
//! `parse/2` does. Built by the pool's threads instead, the terms arrived in heap fragments
//! that the caller's collections then copied on a normal scheduler, tens of ms at a time.

use crate::errors::NativeError;
use crate::items::batch_items;
use crate::options::{Read, ReadConfig, Shape};
use crate::reply_chunks::raw_batch;
use rustler::{Binary, Encoder, Env, NifResult, ResourceArc, Term};
use snakepit_core::chunker::{ParsedItem, RawBatch};
use snakepit_core::{MarcError, Mode};
use std::sync::Mutex;

pub(crate) struct PreparedBatch {
    /// Taken by the one `prepared_items` call that builds the terms.
    parsed: Mutex<Option<(RawBatch, Vec<ParsedItem>)>>,
    mode: Mode,
    shape: Shape,
}

#[rustler::resource_impl]
impl rustler::Resource for PreparedBatch {}

/// Parses every frame of `raw` under `read`: the batch, and how many bad frames skip mode
/// dropped; in strict mode, the first bad frame's error instead.
pub(crate) fn prepare(
    raw: RawBatch,
    read: &Read,
) -> Result<(ResourceArc<PreparedBatch>, u64), MarcError> {
    let items = raw.parse(read.parse, read.recovery, read.marc8.as_ref());
    let mut errors = items.iter().filter_map(|item| match item {
        ParsedItem::Error(e) => Some(e),
        _ => None,
    });
    let skipped = match read.mode {
        Mode::Strict => match errors.next() {
            Some(e) => return Err(e.clone()),
            None => 0,
        },
        Mode::Skip => errors.count() as u64,
        Mode::Permissive => 0,
    };
    let batch = PreparedBatch {
        parsed: Mutex::new(Some((raw, items))),
        mode: read.mode,
        shape: read.shape,
    };
    Ok((ResourceArc::new(batch), skipped))
}

/// `{:ok, prepared, skipped}` for the whole frames of `input` (a batch of
/// `Snakepit.Marc.batches/2`, at `base_offset` and `first_index` in its source), or
/// `{:error, %ParseError{}}` in strict mode: `parse_binary/4`, with the terms left to
/// `prepared_items/2`.
#[rustler::nif(schedule = "DirtyCpu")]
fn prepare_binary<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    config: ReadConfig,
    base_offset: u64,
    first_index: u64,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let raw = raw_batch(input.as_slice(), base_offset, first_index);
    Ok(match prepare(raw, &read) {
        Ok((batch, skipped)) => (crate::atoms::ok(), batch, skipped).encode(env),
        Err(e) => NativeError::Marc(e).to_term(env),
    })
}

/// The batch's items (records, and errors kept in place in permissive mode) in front of
/// `tail`. Raises `ArgumentError` if they were already built: each batch is built once.
#[rustler::nif(schedule = "DirtyCpu")]
fn prepared_items<'a>(
    env: Env<'a>,
    batch: ResourceArc<PreparedBatch>,
    tail: Term<'a>,
) -> NifResult<Term<'a>> {
    let taken = batch.parsed.lock().ok().and_then(|mut p| p.take());
    let Some((raw, items)) = taken else {
        return Err(rustler::Error::BadArg);
    };
    let (terms, _skipped) = batch_items(env, batch.mode, batch.shape, &raw, items);
    // Dropped here, on a dirty scheduler, not in a destructor on a normal one.
    drop(raw);
    Ok(terms
        .into_iter()
        .rev()
        .fold(tail, |list, item| list.list_prepend(item)))
}
