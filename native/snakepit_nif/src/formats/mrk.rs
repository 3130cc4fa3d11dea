//! MarcEdit's `.mrk` (UTF-8) and pymarc's line dump for Elixir records, both ways.

use super::format_atoms;
use super::readers::read_items;
use super::term_record::each_record;
use super::writers::result_term;
use crate::options::ReadConfig;
use rustler::{Atom, Binary, Env, NifResult, Term};
use snakepit_core::mrk::{self, Style};

/// `{:ok, binary}`, `{:error, message}` or `{:error, %ParseError{}}`: records as `:mrk`
/// (MarcEdit `.mrk8`) or `:text` (pymarc's `str(record)`) lines, each record followed by a
/// blank line.
#[rustler::nif(schedule = "DirtyCpu")]
fn records_to_mrk<'a>(
    env: Env<'a>,
    records: Term<'a>,
    style: Atom,
    base: u64,
) -> NifResult<Term<'a>> {
    let style = if style == format_atoms::mrk() {
        Style::Mrk
    } else if style == format_atoms::text() {
        Style::Text
    } else {
        return Err(rustler::Error::BadArg);
    };
    let mut out = Vec::with_capacity(64 * 1024);
    let result = each_record(records, base, |_, r| {
        mrk::write_record(r, style, &mut out)?;
        out.push(b'\n');
        Ok(())
    });
    Ok(result_term(env, result.map(|_| out)))
}

/// Reads `.mrk` into records, with `parse/2`'s modes: `{:ok, items, skipped}` or
/// `{:error, %ParseError{kind: :invalid_mrk}}`.
#[rustler::nif(schedule = "DirtyCpu")]
fn from_mrk_binary<'a>(env: Env<'a>, input: Binary<'a>, config: ReadConfig) -> NifResult<Term<'a>> {
    let reader = mrk::MrkReader::new(input.as_slice());
    read_items(env, config, reader, |r| r.position())
}
