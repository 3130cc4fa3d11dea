//! One MARC-in-JSON document (an array of records or one record object) read whole.

use super::de::{Ctx, DocumentSeed, Seed};
use super::offsets::{
    bare_message, escape_raw_controls, is_raw_control_error, line_col_to_offset, unescaped_offset,
};
use crate::encode::check_record;
use crate::error::{ErrorKind, MarcError, Result};
use crate::record::OwnedRecord;
use serde::de::DeserializeSeed;

/// Parses `input` (whose first byte is at absolute `base_offset`) as one document: an
/// array of records (when `allow_array`) or one record object. `prefix` starts every
/// error detail.
pub(super) fn parse_document(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    allow_array: bool,
    prefix: &str,
) -> Result<Vec<OwnedRecord>> {
    struct Failure {
        error: serde_json::Error,
        record: u64,
        place: String,
        raw_control: bool,
    }
    let attempt = |text: &[u8]| -> std::result::Result<Vec<OwnedRecord>, Failure> {
        let ctx = Ctx::default();
        ctx.enter_record(first_index);
        let mut de = serde_json::Deserializer::from_slice(text);
        let result = Seed(DocumentSeed {
            ctx: &ctx,
            allow_array,
        })
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v));
        result.map_err(|error| Failure {
            raw_control: is_raw_control_error(&error),
            record: ctx.record.get(),
            place: ctx.describe(),
            error,
        })
    };
    let fail = |f: Failure, text: &[u8], rewrites: &[usize]| -> MarcError {
        let at = line_col_to_offset(text, f.error.line(), f.error.column());
        let at = unescaped_offset(at, rewrites);
        MarcError::at(
            ErrorKind::InvalidJson,
            f.record,
            base_offset,
            input,
            at,
            format!("{prefix}{}: {}", f.place, bare_message(&f.error)),
        )
    };
    let records = match attempt(input) {
        Ok(v) => v,
        Err(f) if f.raw_control => match escape_raw_controls(input) {
            Some((text, rewrites)) => attempt(&text).map_err(|f| fail(f, &text, &rewrites))?,
            None => return Err(fail(f, input, &[])),
        },
        Err(f) => return Err(fail(f, input, &[])),
    };
    // Well-formed JSON can still hold what no MARC record can (a delimiter byte in a value,
    // a control field tagged 245): refused here, at the document's offset.
    for (i, record) in records.iter().enumerate() {
        check_record(record, first_index + i as u64).map_err(|e| MarcError {
            byte_offset: base_offset,
            detail: format!("{prefix}{}", e.detail),
            ..e
        })?;
    }
    Ok(records)
}

/// Reads MARC-in-JSON: a JSON array of record objects, or one record object.
pub fn read_records(input: &[u8]) -> Result<Vec<OwnedRecord>> {
    parse_document(input, 0, 0, true, "")
}

/// Reads one record object (surrounding whitespace allowed).
pub fn read_record(input: &[u8]) -> Result<OwnedRecord> {
    let mut v = parse_document(input, 0, 0, false, "")?;
    Ok(v.pop().expect("one record"))
}
