//! Whole-binary reading NIFs. All run on dirty CPU schedulers: they do real work.

use crate::budget;
use crate::items::Items;
use crate::options::{Read, ReadConfig};
use crate::terms::error_term;
use rustler::{Binary, Encoder, Env, NifResult, Term};
use snakepit_core::chunker::to_unicode;
use snakepit_core::read::for_each_item;
use snakepit_core::{MarcError, Origin, ParseOptions, Record};

/// Walks every frame of `input`: good records (converted to UTF-8 when asked) go to
/// `on_record`, bad ones to `on_error`; either returns `false` to stop. The thread profile
/// reaches it through `parse_items` and `error_terms`, so both profiles read identically.
///
/// With `conversion_budget`, MARC-8 records may be converted only while their bytes fit in
/// it: the walk stops at the first that does not and returns `false` (the caller then does
/// the whole read again on a dirty scheduler). Otherwise it returns `true`.
fn walk(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    mut conversion_budget: Option<usize>,
    mut on_record: impl FnMut(&Record<'_>) -> bool,
    mut on_error: impl FnMut(MarcError) -> bool,
) -> bool {
    let mut index = first_index;
    let mut within_budget = true;
    for_each_item(input, base_offset, first_index, read.parse, |item| {
        let origin = Origin { index, offset: 0 };
        index += 1;
        let record = match item {
            Ok(record) => record,
            Err(e) => return on_error(e),
        };
        let origin = Origin {
            offset: base_offset
                + (record.bytes().as_ptr() as usize - input.as_ptr() as usize) as u64,
            ..origin
        };
        if let Some(left) = conversion_budget.as_mut() {
            if read.marc8.is_some() && !record.is_utf8() {
                match left.checked_sub(record.bytes().len()) {
                    Some(rest) => *left = rest,
                    None => {
                        within_budget = false;
                        return false;
                    }
                }
            }
        }
        match to_unicode(&record, origin, read.marc8.as_ref()) {
            Ok(None) => on_record(&record),
            Ok(Some((bytes, spans))) => match Record::from_parts(&bytes, spans) {
                Some(converted) => on_record(&converted),
                None => on_error(MarcError::bare(
                    snakepit_core::ErrorKind::InvalidMarc8,
                    origin.index,
                    origin.offset,
                    "conversion produced an inconsistent record",
                )),
            },
            Err(e) => on_error(e),
        }
    });
    within_budget
}

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}`. In permissive mode `items` holds
/// `{:error, error}` in place of each bad record.
#[rustler::nif(schedule = "DirtyCpu")]
fn parse_binary<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    config: ReadConfig,
    base_offset: u64,
    first_index: u64,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    Ok(parse_items(
        env,
        input.as_slice(),
        base_offset,
        first_index,
        &read,
    ))
}

/// `parse_binary/4` on the caller's normal scheduler, for inputs that build quickly (a
/// batch for a fan-out worker, a few records): `:dirty` when `input` holds too many fields
/// and subfields for that, and the caller uses `parse_binary/4`. Saves two scheduler
/// switches per call, and scales better across processes than dirty-scheduler calls.
#[rustler::nif]
fn parse_binary_light<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    config: ReadConfig,
    base_offset: u64,
    first_index: u64,
) -> NifResult<Term<'a>> {
    let _watch = crate::scheduler_watch::watch("parse_binary_light");
    let read = config.decode()?;
    let input = input.as_slice();
    let terms = budget::delimiters(input);
    if terms > budget::NORMAL_SCHEDULER_TERMS {
        return Ok(crate::atoms::dirty().encode(env));
    }
    // MARC-8 records show up only while reading: converting them gets what is left.
    let conversion_budget = (budget::NORMAL_SCHEDULER_TERMS - terms) * budget::MARC8_BYTES_PER_TERM;
    match read_items(
        env,
        input,
        base_offset,
        first_index,
        &read,
        Some(conversion_budget),
    ) {
        Some(items) => {
            budget::account(env, terms);
            Ok(items)
        }
        None => Ok(crate::atoms::dirty().encode(env)),
    }
}

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}` for every frame of `input`, under
/// `read.mode`: the result of `parse_binary`, and of the `:thread` profile's `parse`.
pub(crate) fn parse_items<'a>(
    env: Env<'a>,
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
) -> Term<'a> {
    read_items(env, input, base_offset, first_index, read, None)
        .expect("a read with no conversion budget always completes")
}

/// `parse_items`, or `None` when MARC-8 conversions would exceed `conversion_budget`
/// (bytes; see `walk`).
fn read_items<'a>(
    env: Env<'a>,
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    conversion_budget: Option<usize>,
) -> Option<Term<'a>> {
    let items = std::cell::RefCell::new(Items::new(env, read.mode, read.shape));
    let completed = walk(
        input,
        base_offset,
        first_index,
        read,
        conversion_budget,
        |record| {
            items.borrow_mut().record(record);
            true
        },
        |e| items.borrow_mut().error(e),
    );
    completed.then(|| items.into_inner().into_result())
}

/// `{records, errors}`: counts without building any record term.
#[rustler::nif(schedule = "DirtyCpu")]
fn count_binary(input: Binary, validate_utf8: bool) -> (u64, u64) {
    let (mut good, mut bad) = (0u64, 0u64);
    for_each_item(
        input.as_slice(),
        0,
        0,
        ParseOptions { validate_utf8 },
        |item| {
            if item.is_ok() {
                good += 1
            } else {
                bad += 1
            }
            true
        },
    );
    (good, bad)
}

/// Every error in the input (MARC-8 conversion included, when asked), as `%ParseError{}`
/// terms, without building records.
#[rustler::nif(schedule = "DirtyCpu")]
fn validate_binary<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    config: ReadConfig,
) -> NifResult<Vec<Term<'a>>> {
    let read = config.decode()?;
    Ok(error_terms(env, input.as_slice(), &read))
}

/// The errors of every frame of `input` as terms: `validate_binary`, and the `:thread`
/// profile's `validate`.
pub(crate) fn error_terms<'a>(env: Env<'a>, input: &[u8], read: &Read) -> Vec<Term<'a>> {
    let mut errors = Vec::new();
    walk(
        input,
        0,
        0,
        read,
        None,
        |_| true,
        |e| {
            errors.push(error_term(env, &e));
            true
        },
    );
    errors
}

/// Record boundaries: `[{offset, length}]` of each framed chunk, good or bad.
#[rustler::nif(schedule = "DirtyCpu")]
fn scan_binary(input: Binary) -> Vec<(usize, usize)> {
    snakepit_core::scan::Frames::new(input.as_slice())
        .filter_map(|step| match step {
            snakepit_core::scan::Step::Record { start, end } => Some((start, end - start)),
            _ => None,
        })
        .collect()
}

/// Spins on the calling (normal) scheduler for `ms` milliseconds. Exists so the test suite
/// can prove its scheduler probe detects a NIF that holds a normal scheduler; never use it.
#[rustler::nif]
fn debug_hold_scheduler(ms: u64) -> u64 {
    let _watch = crate::scheduler_watch::watch("debug_hold_scheduler");
    let start = std::time::Instant::now();
    let mut spins = 0u64;
    while start.elapsed() < std::time::Duration::from_millis(ms.min(1_000)) {
        spins = std::hint::black_box(spins + 1);
    }
    spins
}
