//! MarcEdit's `.mrk` (UTF-8, or MARCMaker's MARC-8) and pymarc's line dump for Elixir
//! records, both ways.

use super::format_atoms;
use super::readers::read_items_with;
use super::term_record::each_record;
use super::writers::{marc8_write_options, result_term};
use crate::options::ReadConfig;
use rustler::{Atom, Binary, Env, NifMap, NifResult, Term};
use snakepit_core::chunker::decoded_owned_item;
use snakepit_core::mrk::{self, Style};

/// `to_mrk/2`'s options (validated by `Snakepit.Marc.Options`): `encoding` `:utf8` or
/// `:marc8`, and `unrepresentable` for the MARC-8 writer.
#[derive(NifMap)]
struct MrkConfig {
    encoding: Atom,
    unrepresentable: Atom,
}

/// `{:ok, binary}`, `{:error, message}` or `{:error, %ParseError{}}`: records as `:mrk`
/// (MarcEdit `.mrk8`, or MARCMaker's MARC-8 `.mrk` with `encoding: :marc8`) or `:text`
/// (pymarc's `str(record)`) lines, each record followed by a blank line.
#[rustler::nif(schedule = "DirtyCpu")]
fn records_to_mrk<'a>(
    env: Env<'a>,
    records: Term<'a>,
    style: Atom,
    base: u64,
    config: MrkConfig,
) -> NifResult<Term<'a>> {
    let style = if style == format_atoms::mrk() {
        match marc8_write_options(config.encoding, config.unrepresentable) {
            Some(marc8) => Style::Marc8Mrk(marc8),
            None => Style::Mrk,
        }
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
/// `{:error, %ParseError{kind: :invalid_mrk}}`. MARC-8 records (leader/09 blank) are read
/// as their ISO 2709 frames would be: converted to UTF-8 as the read options say.
#[rustler::nif(schedule = "DirtyCpu")]
fn from_mrk_binary<'a>(env: Env<'a>, input: Binary<'a>, config: ReadConfig) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let reader = mrk::MrkReader::new(input.as_slice());
    let item = |r: &_, origin| {
        decoded_owned_item(r, origin, read.parse, read.recovery, read.marc8.as_ref())
    };
    Ok(read_items_with(env, &read, reader, |r| r.position(), item))
}
