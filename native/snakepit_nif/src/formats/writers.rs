//! Elixir records written as MARC-in-JSON, MARCXML and ISO 2709.

use super::format_atoms;
use super::term_record::each_record;
use crate::atoms;
use crate::errors::NativeError;
use crate::terms::binary_term;
use rustler::{Atom, Encoder, Env, NifMap, NifResult, Term};
use snakepit_core::marc8::{Marc8WriteOptions, Unrepresentable};
use snakepit_core::{check_record, encode_record_with, json, xml, EncodeOptions, Oversize};

/// `{:ok, binary}`, `{:error, message}` (a term of the wrong shape) or
/// `{:error, %Snakepit.Marc.ParseError{}}` (a record that cannot be written).
pub(super) fn result_term<'a>(env: Env<'a>, result: Result<Vec<u8>, NativeError>) -> Term<'a> {
    match result {
        Ok(out) => (atoms::ok(), binary_term(env, &out)).encode(env),
        Err(e) => e.to_term(env),
    }
}

/// `{:ok, binary}` or `{:error, message}`. Layouts: `:object` (the first record alone, no
/// newline), `:array` (a whole JSON array), `:lines` (JSON Lines), `:items` (array
/// elements, separated as in an array, with a leading separator unless `first`: for
/// streaming an array between its `[` and `]`).
#[rustler::nif(schedule = "DirtyCpu")]
fn records_to_json<'a>(
    env: Env<'a>,
    records: Term<'a>,
    layout: Atom,
    first: bool,
    base: u64,
) -> NifResult<Term<'a>> {
    let mut out = Vec::with_capacity(64 * 1024);
    let result = if layout == format_atoms::object() {
        each_record(records, base, |i, r| {
            if i == 0 {
                json::write_record(r, &mut out)?;
            }
            Ok(())
        })
    } else if layout == format_atoms::array() {
        json::write_array_start(&mut out);
        let r = each_record(records, base, |i, r| {
            // On error the whole output is dropped, separator included.
            if i > 0 {
                json::write_array_sep(&mut out);
            }
            json::write_record(r, &mut out)
        });
        json::write_array_end(&mut out);
        r
    } else if layout == format_atoms::lines() {
        each_record(records, base, |_, r| {
            json::write_record(r, &mut out)?;
            out.push(b'\n');
            Ok(())
        })
    } else if layout == format_atoms::items() {
        each_record(records, base, |i, r| {
            if i > 0 || !first {
                json::write_array_sep(&mut out);
            }
            json::write_record(r, &mut out)
        })
    } else {
        return Err(rustler::Error::BadArg);
    };
    Ok(result_term(env, result.map(|_| out)))
}

/// `{:ok, binary}` or `{:error, message}`: `:collection` (a whole MARCXML document) or
/// `:records` (bare `<record>` elements, for streaming inside a collection).
#[rustler::nif(schedule = "DirtyCpu")]
fn records_to_xml<'a>(
    env: Env<'a>,
    records: Term<'a>,
    layout: Atom,
    base: u64,
) -> NifResult<Term<'a>> {
    let collection = if layout == format_atoms::collection() {
        true
    } else if layout == format_atoms::records() {
        false
    } else {
        return Err(rustler::Error::BadArg);
    };
    let mut out = Vec::with_capacity(64 * 1024);
    if collection {
        xml::write_collection_start(&mut out);
    }
    let result = each_record(records, base, |_, r| xml::write_record(r, &mut out));
    if collection {
        xml::write_collection_end(&mut out);
    }
    Ok(result_term(env, result.map(|_| out)))
}

/// `{head, tail}` around streamed records: `:xml` (declaration and `<collection>`,
/// `</collection>`) or `:array` (`[`, `]` and newline; an empty array is `[]\n`).
#[rustler::nif]
fn format_frame(env: Env<'_>, format: Atom) -> NifResult<Term<'_>> {
    let _watch = crate::scheduler_watch::watch("format_frame");
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    if format == format_atoms::array() {
        json::write_array_start(&mut head);
        json::write_array_end(&mut tail);
    } else if format == format_atoms::collection() {
        xml::write_collection_start(&mut head);
        xml::write_collection_end(&mut tail);
    } else {
        return Err(rustler::Error::BadArg);
    }
    Ok((binary_term(env, &head), binary_term(env, &tail)).encode(env))
}

/// How `records_to_iso` writes (validated on the Elixir side, `Snakepit.Marc.Options`
/// schema `:encode`): `encoding` `:utf8` (bytes as they are) or `:marc8`; `unrepresentable`
/// `:ncr`, `:replace` or `:error`; `oversize` `:error` or `:zero_length`; `skip` leaves bad
/// records out and returns their errors instead of failing.
#[derive(NifMap)]
struct IsoConfig {
    encoding: Atom,
    unrepresentable: Atom,
    oversize: Atom,
    skip: bool,
}

mod iso_atoms {
    rustler::atoms! { marc8, replace, error, zero_length }
}

/// The MARC-8 writer's options of an `encoding:` and `unrepresentable:` pair: `None`
/// unless the encoding is `:marc8` (values validated on the Elixir side).
pub(super) fn marc8_write_options(
    encoding: Atom,
    unrepresentable: Atom,
) -> Option<Marc8WriteOptions> {
    let unrepresentable = if unrepresentable == iso_atoms::replace() {
        Unrepresentable::Replace
    } else if unrepresentable == iso_atoms::error() {
        Unrepresentable::Error
    } else {
        Unrepresentable::Ncr
    };
    (encoding == iso_atoms::marc8()).then_some(Marc8WriteOptions { unrepresentable })
}

impl IsoConfig {
    fn options(&self) -> EncodeOptions {
        EncodeOptions {
            marc8: marc8_write_options(self.encoding, self.unrepresentable),
            oversize: if self.oversize == iso_atoms::zero_length() {
                Oversize::ZeroLength
            } else {
                Oversize::Error
            },
        }
    }
}

/// `{:ok, binary}` (or `{:ok, binary, [%ParseError{}]}` with `skip`), `{:error, message}`
/// or `{:error, %ParseError{}}`: records encoded as ISO 2709, one after another, by the
/// core's one encoder (`snakepit_core::encode`), which is what `Snakepit.Marc.encode/2`
/// gives. A `LazyRecord`'s bytes, checked, are copied as they are when no conversion or
/// size policy asks for more.
#[rustler::nif(schedule = "DirtyCpu")]
fn records_to_iso<'a>(
    env: Env<'a>,
    records: Term<'a>,
    base: u64,
    config: IsoConfig,
) -> NifResult<Term<'a>> {
    let opts = config.options();
    let plain = opts == EncodeOptions::default();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut skipped = Vec::new();
    let result = each_record(records, base, |i, r| {
        let written = match r.lazy_bytes {
            Some(bytes) if plain => check_record(r, 0).map(|()| out.extend_from_slice(bytes)),
            _ => encode_record_with(r, 0, &mut out, &opts),
        };
        match written {
            Err(mut e) if config.skip => {
                e.record_index = base + i as u64;
                skipped.push(e);
                Ok(())
            }
            other => other,
        }
    });
    if !config.skip || result.is_err() {
        return Ok(result_term(env, result.map(|_| out)));
    }
    let errors: Vec<Term<'a>> = skipped
        .iter()
        .map(|e| crate::errors::parse_error_term(env, e))
        .collect();
    Ok((atoms::ok(), binary_term(env, &out), errors).encode(env))
}
