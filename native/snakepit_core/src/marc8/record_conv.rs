//! Whole-record MARC-8 to UTF-8 conversion.

use super::{is_plain_ascii, normalize_utf8_into, Marc8Decoder, Marc8Options, Normalization};
use crate::error::{ErrorKind, MarcError, Result};
use crate::parse::Origin;
use crate::record::{OwnedField, OwnedRecord, Record, LEADER_LEN};

/// Converts a MARC-8 record to a UTF-8 one: every control field value and subfield value
/// is decoded (tags, indicators and subfield codes are kept), leader/09 becomes `a`, and
/// the record is encoded anew with correct lengths, base address and directory.
///
/// - A record whose leader/09 is already `a` is returned byte for byte.
/// - Designations start as ASCII/ANSEL at each field and persist across its subfields.
/// - A record labelled MARC-8 whose field data holds no ESC, holds bytes above 0x7F and is
///   entirely valid UTF-8 is taken to be mislabelled UTF-8 (a common fault of real files;
///   such data is practically never valid MARC-8 with ANSEL diacritics): its text is kept
///   as it is (normalised if asked) and leader/09 corrected.
///
/// The result may exceed ISO 2709's size limits (see [`OwnedRecord::encode_unbounded`]);
/// it is at most a few times the input's size.
///
/// Strict-mode failures are [`ErrorKind::InvalidMarc8`] errors whose `byte_offset` is
/// `origin.offset` plus the bad byte's offset in the record.
pub fn record_to_utf8(record: &Record<'_>, origin: Origin, opts: &Marc8Options) -> Result<Vec<u8>> {
    if record.is_utf8() {
        return Ok(record.bytes().to_vec());
    }
    let bytes = record.bytes();
    let mut leader = [0u8; LEADER_LEN];
    leader.copy_from_slice(record.leader());
    leader[9] = b'a';
    let mislabelled_utf8 = is_mislabelled_utf8(record);
    let mut decoder = Marc8Decoder::new(*opts);
    let mut fields = Vec::with_capacity(record.spans().len());

    for (span, field) in record.spans().iter().zip(record.fields()) {
        decoder.reset();
        let field_start = span.start as usize;
        let mut convert = |value: &[u8], value_offset: usize| -> Result<Vec<u8>> {
            let mut out = Vec::with_capacity(value.len() + value.len() / 4);
            if mislabelled_utf8 {
                match opts.normalization {
                    Normalization::None => out.extend_from_slice(value),
                    form => normalize_utf8_into(value, form, &mut out),
                }
                return Ok(out);
            }
            decoder.decode(value, &mut out).map_err(|e| {
                MarcError::at(
                    ErrorKind::InvalidMarc8,
                    origin.index,
                    origin.offset,
                    bytes,
                    field_start + value_offset + e.offset,
                    format!(
                        "field {}: {}",
                        String::from_utf8_lossy(&field.tag),
                        e.detail
                    ),
                )
            })?;
            if opts.decode_ncrs && memchr::memmem::find(&out, b"&#x").is_some() {
                out = with_ncrs_decoded(&out, opts.normalization);
            }
            Ok(out)
        };
        let owned = if field.is_control() {
            OwnedField::Control {
                tag: field.tag,
                value: convert(field.data, 0)?,
            }
        } else {
            let (ind1, ind2) = field.indicators();
            let mut subfields = Vec::new();
            for sf in field.subfields() {
                subfields.push((sf.code, convert(sf.value, sf.value_offset)?));
            }
            OwnedField::Data {
                tag: field.tag,
                ind1,
                ind2,
                subfields,
            }
        };
        fields.push(owned);
    }

    // Diacritics take more bytes in UTF-8 than in MARC-8: a field or record that fitted ISO
    // 2709's limits may outgrow them. It is kept; the limits apply when it is written out.
    // Re-encoded as read: a delimiter byte the parser accepted in a value stays.
    OwnedRecord { leader, fields }
        .encode_unbounded()
        .map_err(|mut e| {
            e.record_index = origin.index;
            e.byte_offset = origin.offset;
            e
        })
}

/// `text` with its numeric character references turned into characters, normalised again
/// (a reference may name a combining mark).
fn with_ncrs_decoded(text: &[u8], form: Normalization) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(text.len());
    super::decode_ncrs(text, &mut decoded);
    if form == Normalization::None {
        return decoded;
    }
    let mut out = Vec::with_capacity(decoded.len());
    normalize_utf8_into(&decoded, form, &mut out);
    out
}

/// Field data with no ESC, some bytes above 0x7F, and valid UTF-8 throughout.
pub(crate) fn is_mislabelled_utf8(record: &Record<'_>) -> bool {
    let mut high = false;
    for field in record.fields() {
        if is_plain_ascii(field.data) {
            continue;
        }
        if memchr::memchr(0x1B, field.data).is_some() || std::str::from_utf8(field.data).is_err() {
            return false;
        }
        high = true;
    }
    high
}
