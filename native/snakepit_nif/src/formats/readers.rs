//! MARC-in-JSON and MARCXML read whole into record terms.

use crate::items::Items;
use crate::options::{Read, ReadConfig};
use rustler::{Binary, Env, NifResult, Term};
use snakepit_core::chunker::{owned_item, ParsedItem};
use snakepit_core::{json, xml, MarcError, OwnedRecord};

/// Turns reader output into parse items with the read mode: `{:ok, items, skipped}` or
/// `{:error, %ParseError{}}`. Offsets of good records are the reader's position before it.
pub(super) fn read_items<'a, I>(
    env: Env<'a>,
    config: ReadConfig,
    reader: I,
    position: impl Fn(&I) -> u64,
) -> NifResult<Term<'a>>
where
    I: Iterator<Item = Result<OwnedRecord, MarcError>>,
{
    let read = config.decode()?;
    Ok(read_items_with(env, &read, reader, position, owned_item))
}

/// [`read_items`] with each good record made an item by `item` (for `.mrk`, which may be
/// MARC-8: [`snakepit_core::chunker::decoded_owned_item`]).
pub(super) fn read_items_with<'a, I>(
    env: Env<'a>,
    read: &Read,
    mut reader: I,
    position: impl Fn(&I) -> u64,
    item: impl Fn(&OwnedRecord, snakepit_core::Origin) -> ParsedItem,
) -> Term<'a>
where
    I: Iterator<Item = Result<OwnedRecord, MarcError>>,
{
    let mut items = Items::new(env, read.mode, read.shape);
    let mut index = 0u64;
    loop {
        let offset = position(&reader);
        let Some(next) = reader.next() else { break };
        let origin = snakepit_core::Origin { index, offset };
        let item = match next {
            Ok(record) => item(&record, origin),
            Err(e) => {
                index = e.record_index;
                ParsedItem::Error(e)
            }
        };
        index += 1;
        if !items.parsed(&[], item, origin) {
            break;
        }
    }
    items.into_result()
}

/// Reads MARC-in-JSON (an array, one object, or JSON Lines) into records, with `parse/2`'s
/// modes: `{:ok, items, skipped}` or `{:error, %ParseError{kind: :invalid_json}}`.
#[rustler::nif(schedule = "DirtyCpu")]
fn from_json_binary<'a>(
    env: Env<'a>,
    input: Binary<'a>,
    config: ReadConfig,
) -> NifResult<Term<'a>> {
    let reader = json::JsonRecordReader::new(input.as_slice());
    read_items(env, config, reader, |r| r.position())
}

/// Reads MARCXML into records, with `parse/2`'s modes.
#[rustler::nif(schedule = "DirtyCpu")]
fn from_xml_binary<'a>(env: Env<'a>, input: Binary<'a>, config: ReadConfig) -> NifResult<Term<'a>> {
    let reader = xml::XmlReader::new(input.as_slice());
    read_items(env, config, reader, |r| r.position())
}
