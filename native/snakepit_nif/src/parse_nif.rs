//! Whole-binary reading NIFs. All run on dirty CPU schedulers: they do real work.

use crate::budget;
use crate::errors::parse_error_term;
use crate::items::Items;
use crate::options::{Read, ReadConfig};
use rustler::{Binary, Encoder, Env, NifResult, Term};
use snakepit_core::read::{for_each_frame, for_each_item};
use snakepit_core::recover::{decode_parsed, may_rewrite, Decoded, Repair};
use snakepit_core::{parse_record, MarcError, Origin, ParseOptions, Record};

/// Walks every frame of `input`: good records (repaired as `read.recovery` asks and
/// converted to UTF-8 when asked, through `snakepit_core::recover::decode`, as streams do)
/// go to `on_record` with their repairs, bad ones to `on_error`; either returns `false` to
/// stop. The thread profile reaches it through `parse_items` and `error_terms`, so both
/// profiles read identically.
///
/// Each error, each MARC-8 conversion and each record the repairs may rewrite is paid for
/// from `budget` before it is made (the fields and subfields built are paid by the caller,
/// see [`budget::delimiters`]): the walk stops at the first that does not fit and returns
/// `false` (the caller then does the whole read again on a dirty scheduler). Otherwise it
/// returns `true`.
pub(crate) fn walk(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    budget: &mut budget::Budget,
    mut on_record: impl FnMut(&Record<'_>, &[Repair]) -> bool,
    on_error: impl FnMut(MarcError) -> bool,
) -> bool {
    walk_with_origin(
        input,
        base_offset,
        first_index,
        read,
        budget,
        |record, repairs, _origin| on_record(record, repairs),
        on_error,
    )
}

/// [`walk`], telling `on_record` also where each record is (its index and absolute offset
/// in the source, also for a record converted or repaired, whose bytes are new).
pub(crate) fn walk_with_origin(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    budget: &mut budget::Budget,
    mut on_record: impl FnMut(&Record<'_>, &[Repair], Origin) -> bool,
    mut on_error: impl FnMut(MarcError) -> bool,
) -> bool {
    let within_budget = std::cell::Cell::new(true);
    let over_budget = || {
        within_budget.set(false);
        false
    };
    let mut on_error = |e: MarcError, budget: &mut budget::Budget| {
        if !budget.spend(budget::ERROR_TERMS) {
            return over_budget();
        }
        on_error(e)
    };
    for_each_frame(input, base_offset, first_index, |origin, frame| {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return on_error(e, budget),
        };
        let (marc8, recovery) = (read.marc8.as_ref(), read.recovery);
        let parsed = parse_record(frame, origin, read.parse);
        if may_rewrite(&parsed, read.parse, recovery, marc8)
            && !budget.spend(budget::marc8_terms(frame.len()))
        {
            return over_budget();
        }
        match decode_parsed(frame, parsed, origin, read.parse, recovery, marc8) {
            Ok(Decoded::Borrowed(record)) => on_record(&record, &[], origin),
            Ok(Decoded::Owned {
                bytes,
                spans,
                repairs,
            }) => match Record::from_parts(&bytes, spans) {
                Some(rewritten) => on_record(&rewritten, &repairs, origin),
                None => on_error(
                    MarcError::bare(
                        snakepit_core::ErrorKind::InvalidMarc8,
                        origin.index,
                        origin.offset,
                        "conversion produced an inconsistent record",
                    ),
                    budget,
                ),
            },
            Err(e) => on_error(e, budget),
        }
    });
    within_budget.get()
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
    let watch = crate::scheduler_watch::watch("parse_binary_light");
    let read = config.decode()?;
    let input = input.as_slice();
    // Fields and subfields are paid for up front; errors and MARC-8 conversions, which
    // show up only while reading, get what is left.
    let mut budget = budget::Budget::normal_scheduler();
    if !budget.spend(budget::delimiters(input)) {
        return Ok(crate::atoms::dirty().encode(env));
    }
    let items = read_items(env, input, base_offset, first_index, &read, &mut budget);
    watch.account(env, budget.spent());
    Ok(items.unwrap_or_else(|| crate::atoms::dirty().encode(env)))
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
    let mut unlimited = budget::Budget::unlimited();
    read_items(env, input, base_offset, first_index, read, &mut unlimited)
        .expect("a read with no budget always completes")
}

/// `parse_items`, or `None` when its errors and MARC-8 conversions would exceed `budget`
/// (see `walk`).
fn read_items<'a>(
    env: Env<'a>,
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    budget: &mut budget::Budget,
) -> Option<Term<'a>> {
    let items = std::cell::RefCell::new(Items::new(env, read.mode, read.shape));
    let completed = walk(
        input,
        base_offset,
        first_index,
        read,
        budget,
        |record, repairs| {
            items.borrow_mut().record(record, repairs);
            true
        },
        |e| items.borrow_mut().error(e),
    );
    completed.then(|| items.into_inner().into_result())
}

/// `{records, errors}`: counts without building any record term.
#[rustler::nif(schedule = "DirtyCpu")]
fn count_binary(input: Binary, validate_utf8: bool) -> (u64, u64) {
    count_items(input.as_slice(), validate_utf8)
}

/// `(records, errors)` of `input`: `count_binary`, and the `:thread` profile's `count`.
pub(crate) fn count_items(input: &[u8], validate_utf8: bool) -> (u64, u64) {
    let (mut good, mut bad) = (0u64, 0u64);
    for_each_item(input, 0, 0, ParseOptions { validate_utf8 }, |item| {
        if item.is_ok() {
            good += 1
        } else {
            bad += 1
        }
        true
    });
    (good, bad)
}

/// Every error in the input (MARC-8 conversion included, when asked), as `%ParseError{}`
/// terms, without building records; past [`MAX_LISTED_ERRORS`], one `:too_many_errors`
/// item stands for the rest.
#[rustler::nif(schedule = "DirtyCpu")]
fn validate_binary<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    config: ReadConfig,
) -> NifResult<Vec<Term<'a>>> {
    let read = config.decode()?;
    Ok(error_terms(env, input.as_slice(), &read))
}

/// How many errors `validate` lists: a list the caller can hold (a few MB of terms) however
/// bad the input.
pub(crate) const MAX_LISTED_ERRORS: usize = 10_000;

/// The errors of every frame of `input` as terms, the first [`MAX_LISTED_ERRORS`] of them
/// and then a `:too_many_errors` error that counts the others and points at the first of
/// them: `validate_binary`, and the `:thread` profile's `validate`.
pub(crate) fn error_terms<'a>(env: Env<'a>, input: &[u8], read: &Read) -> Vec<Term<'a>> {
    let mut errors = Vec::new();
    let mut unlisted: Option<(MarcError, u64)> = None;
    walk(
        input,
        0,
        0,
        read,
        &mut budget::Budget::unlimited(),
        |_, _| true,
        |e| {
            match &mut unlisted {
                _ if errors.len() < MAX_LISTED_ERRORS => errors.push(parse_error_term(env, &e)),
                None => unlisted = Some((e, 1)),
                Some((_, n)) => *n += 1,
            }
            true
        },
    );
    if let Some((first, n)) = unlisted {
        let summary = MarcError::bare(
            snakepit_core::ErrorKind::TooManyErrors,
            first.record_index,
            first.byte_offset,
            format!(
                "{n} more errors, from this one on, are not listed (validate lists the first \
                 {MAX_LISTED_ERRORS}); the first of them: {first}"
            ),
        );
        errors.push(parse_error_term(env, &summary));
    }
    errors
}

/// Record boundaries: `[{offset, length}]` of each framed chunk, good or bad.
#[rustler::nif(schedule = "DirtyCpu")]
fn scan_binary(input: Binary) -> Vec<(usize, usize)> {
    frames(input.as_slice())
}

/// `[(offset, length)]` of each framed chunk of `input`: `scan_binary`, and the `:thread`
/// profile's `scan`.
pub(crate) fn frames(input: &[u8]) -> Vec<(usize, usize)> {
    snakepit_core::scan::Frames::new(input)
        .filter_map(|step| match step {
            snakepit_core::scan::Step::Record { start, end } => Some((start, end - start)),
            _ => None,
        })
        .collect()
}
