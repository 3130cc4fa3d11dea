//! Field access for `%Snakepit.Marc.LazyRecord{}`: the record's bytes are parsed again
//! (structure only; they were checked when read) and only what is asked for is built, with
//! values as sub-binaries of those bytes. `lazy` runs on the caller's scheduler and answers
//! `:dirty` for a record with more fields and subfields than that budget allows (see
//! `budget`); the Elixir side then, and for records over 100 KB at once, calls `lazy_dirty`.

use crate::atoms;
use crate::budget;
use crate::errors::marc_error_tuple;
use crate::terms::{RecordBinary, TermBuilder};
use rustler::{Atom, Binary, Encoder, Env, NifResult, Term};
use snakepit_core::{parse_record, Origin, ParseOptions};

mod lazy_atoms {
    rustler::atoms! { fields, values, record }
}

/// `{:ok, result}` or `{:error, %ParseError{}}`. `op` is `:fields` (a list of
/// `%Field{}`), `:values` (each field's text) or `:record` (a `%Record{}`); `tags` is `nil`
/// for every field, else a list of three-byte tags to keep. `:dirty` when the record holds
/// too many fields and subfields to build on a normal scheduler: call `lazy_dirty/3`.
#[rustler::nif]
fn lazy<'a>(env: Env<'a>, op: Atom, bytes: Binary<'a>, tags: Term<'a>) -> NifResult<Term<'a>> {
    let watch = crate::scheduler_watch::watch("lazy");
    let terms = budget::delimiters(bytes.as_slice());
    if terms > budget::NORMAL_SCHEDULER_TERMS {
        return Ok(atoms::dirty().encode(env));
    }
    let result = run(env, op, bytes, tags);
    watch.account(env, terms);
    result
}

/// `lazy/3` on a dirty CPU scheduler, for records too large to parse on a normal one.
#[rustler::nif(schedule = "DirtyCpu")]
fn lazy_dirty<'a>(
    env: Env<'a>,
    op: Atom,
    bytes: Binary<'a>,
    tags: Term<'a>,
) -> NifResult<Term<'a>> {
    run(env, op, bytes, tags)
}

fn run<'a>(env: Env<'a>, op: Atom, bytes: Binary<'a>, tags: Term<'a>) -> NifResult<Term<'a>> {
    let wanted: Option<Vec<[u8; 3]>> = if tags == atoms::nil().encode(env) {
        None
    } else {
        let list: Vec<Binary> = tags.decode()?;
        let tags = list
            .iter()
            .map(|t| <[u8; 3]>::try_from(t.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| rustler::Error::BadArg)?;
        Some(tags)
    };
    let keep = |tag: &[u8; 3]| wanted.as_ref().is_none_or(|w| w.contains(tag));
    let opts = ParseOptions {
        validate_utf8: false,
    };
    let record = match parse_record(bytes.as_slice(), Origin::default(), opts) {
        Ok(record) => record,
        Err(e) => return Ok(marc_error_tuple(env, &e)),
    };
    let bound = RecordBinary::new(env, bytes, &record).expect("parsed from these very bytes");
    let mut builder = TermBuilder::new(env);
    let result = if op == lazy_atoms::fields() {
        builder.fields_in(bound, keep)
    } else if op == lazy_atoms::values() {
        builder.values_in(bound, keep)
    } else if op == lazy_atoms::record() {
        builder.record_in(bound, &[])
    } else {
        return Err(rustler::Error::BadArg);
    };
    Ok((atoms::ok(), result).encode(env))
}
