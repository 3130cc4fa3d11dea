//! Whole-binary reading NIFs. All run on dirty CPU schedulers: they do real work.

use crate::atoms;
use crate::options;
use crate::terms::{error_term, TermBuilder};
use rustler::{Atom, Binary, Encoder, Env, NifResult, Term};
use snakepit_core::read::for_each_item;
use snakepit_core::{Mode, ParseOptions};

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}`. In permissive mode `items` holds
/// `{:error, error}` in place of each bad record.
#[rustler::nif(schedule = "DirtyCpu")]
fn parse_binary<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    mode: Atom,
    validate_utf8: bool,
    base_offset: u64,
    first_index: u64,
) -> NifResult<Term<'a>> {
    let mode = options::mode(mode)?;
    let opts = ParseOptions { validate_utf8 };
    let mut builder = TermBuilder::new(env);
    let mut items = Vec::new();
    let mut skipped = 0u64;
    let mut failure = None;
    for_each_item(
        input.as_slice(),
        base_offset,
        first_index,
        opts,
        |item| match item {
            Ok(record) => {
                items.push(builder.record(&record));
                true
            }
            Err(e) => match mode {
                Mode::Strict => {
                    failure = Some(e);
                    false
                }
                Mode::Permissive => {
                    items.push((atoms::error(), error_term(env, &e)).encode(env));
                    true
                }
                Mode::Skip => {
                    skipped += 1;
                    true
                }
            },
        },
    );
    Ok(match failure {
        Some(e) => (atoms::error(), error_term(env, &e)).encode(env),
        None => (atoms::ok(), items, skipped).encode(env),
    })
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

/// Every error in the input, as `%ParseError{}` terms, without building records.
#[rustler::nif(schedule = "DirtyCpu")]
fn validate_binary<'a>(env: Env<'a>, input: Binary<'a>, validate_utf8: bool) -> Vec<Term<'a>> {
    let mut errors = Vec::new();
    for_each_item(
        input.as_slice(),
        0,
        0,
        ParseOptions { validate_utf8 },
        |item| {
            if let Err(e) = item {
                errors.push(error_term(env, &e));
            }
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
    let start = std::time::Instant::now();
    let mut spins = 0u64;
    while start.elapsed() < std::time::Duration::from_millis(ms.min(1_000)) {
        spins = std::hint::black_box(spins + 1);
    }
    spins
}
