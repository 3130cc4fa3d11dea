//! The one error type of the engine. Every failure says what went wrong (`kind`), in which
//! record (`record_index`, 0-based, counting every framed chunk including bad ones), where
//! (`byte_offset`, absolute in the source) and shows a short excerpt of the bytes there.

use std::fmt;

/// How many bytes of the offending input an error keeps.
pub const EXCERPT_LEN: usize = 32;

/// What was wrong. Stable names: the NIF turns them into atoms of the same spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Fewer than 24 bytes where a leader should be.
    TruncatedLeader,
    /// Leader bytes 00-04 are not five ASCII digits, or claim fewer than 24+1 bytes.
    InvalidRecordLength,
    /// Leader bytes 12-16 are not five ASCII digits.
    InvalidBaseAddress,
    /// The base address lies before the end of the leader or past the end of the record.
    BaseAddressOutOfRange,
    /// The directory is not a whole number of 12-byte entries, or is not ended by 0x1E.
    InvalidDirectoryLength,
    /// A directory entry holds a non-digit length/start or a non-ASCII tag.
    InvalidDirectoryEntry,
    /// A directory entry points outside the record's data.
    FieldOutOfBounds,
    /// Two directory entries claim the same bytes (a duplicate, nested or overlapping
    /// span): each byte of field data may belong to one field only, so that what a record
    /// builds is bounded by its size.
    OverlappingFields,
    /// A field's data does not end with the field terminator 0x1E.
    MissingFieldTerminator,
    /// The record does not end with the record terminator 0x1D.
    MissingRecordTerminator,
    /// The record has no fields at all.
    NoFields,
    /// Leader/09 says UTF-8 but the field data is not valid UTF-8.
    InvalidUtf8,
    /// The input ends inside a record.
    TruncatedRecord,
    /// Bytes between records that do not start a record; skipped while resynchronising.
    Garbage,
    /// A MARC-8 escape sequence or code point that cannot be converted.
    InvalidMarc8,
    /// MARC-in-JSON input that is not valid JSON or not shaped like a record.
    InvalidJson,
    /// MARCXML input that is not well-formed or not shaped like a record.
    InvalidXml,
    /// A `.mrk` (MarcEdit mnemonic) line that is not shaped like a leader or field line;
    /// `detail` starts with its 1-based line number.
    InvalidMrk,
    /// A record or field too large to encode in ISO 2709 (lengths are 4 or 5 digits).
    TooLarge,
    /// A value, indicator, subfield code, tag or leader that cannot be written: a delimiter
    /// byte (0x1D, 0x1E, 0x1F), a tag that is not printable ASCII or does not match its
    /// field's kind, text that is not UTF-8 in a UTF-8 record, or a character MARCXML
    /// cannot hold. Reported by every writer and by the JSON and XML readers.
    InvalidValue,
    /// An I/O error from the source.
    Io,
    /// More errors than one result lists: this last item stands for those left out
    /// (`detail` says how many; `record_index` and `byte_offset` are the first one's).
    TooManyErrors,
}

impl ErrorKind {
    /// The snake_case name used for Elixir atoms and messages.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::TruncatedLeader => "truncated_leader",
            ErrorKind::InvalidRecordLength => "invalid_record_length",
            ErrorKind::InvalidBaseAddress => "invalid_base_address",
            ErrorKind::BaseAddressOutOfRange => "base_address_out_of_range",
            ErrorKind::InvalidDirectoryLength => "invalid_directory_length",
            ErrorKind::InvalidDirectoryEntry => "invalid_directory_entry",
            ErrorKind::FieldOutOfBounds => "field_out_of_bounds",
            ErrorKind::OverlappingFields => "overlapping_fields",
            ErrorKind::MissingFieldTerminator => "missing_field_terminator",
            ErrorKind::MissingRecordTerminator => "missing_record_terminator",
            ErrorKind::NoFields => "no_fields",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::TruncatedRecord => "truncated_record",
            ErrorKind::Garbage => "garbage",
            ErrorKind::InvalidMarc8 => "invalid_marc8",
            ErrorKind::InvalidJson => "invalid_json",
            ErrorKind::InvalidXml => "invalid_xml",
            ErrorKind::InvalidMrk => "invalid_mrk",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::Io => "io",
            ErrorKind::TooManyErrors => "too_many_errors",
        }
    }

    pub const ALL: [ErrorKind; 22] = [
        ErrorKind::TruncatedLeader,
        ErrorKind::InvalidRecordLength,
        ErrorKind::InvalidBaseAddress,
        ErrorKind::BaseAddressOutOfRange,
        ErrorKind::InvalidDirectoryLength,
        ErrorKind::InvalidDirectoryEntry,
        ErrorKind::FieldOutOfBounds,
        ErrorKind::OverlappingFields,
        ErrorKind::MissingFieldTerminator,
        ErrorKind::MissingRecordTerminator,
        ErrorKind::NoFields,
        ErrorKind::InvalidUtf8,
        ErrorKind::TruncatedRecord,
        ErrorKind::Garbage,
        ErrorKind::InvalidMarc8,
        ErrorKind::InvalidJson,
        ErrorKind::InvalidXml,
        ErrorKind::InvalidMrk,
        ErrorKind::TooLarge,
        ErrorKind::InvalidValue,
        ErrorKind::Io,
        ErrorKind::TooManyErrors,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure with its position. Cheap to move across threads: no borrowed data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} in record {record_index} at byte {byte_offset}: {detail}")]
pub struct MarcError {
    pub kind: ErrorKind,
    /// 0-based index of the record (every framed chunk counts, bad ones included).
    pub record_index: u64,
    /// Absolute byte offset in the source where the problem was found.
    pub byte_offset: u64,
    /// Up to [`EXCERPT_LEN`] bytes of the input at `byte_offset`.
    pub excerpt: Vec<u8>,
    /// A short human-readable explanation.
    pub detail: String,
}

impl MarcError {
    /// Builds an error whose excerpt is taken from `bytes` at `at` (relative to `bytes`);
    /// `base_offset` is the absolute offset of `bytes[0]` in the source.
    pub fn at(
        kind: ErrorKind,
        record_index: u64,
        base_offset: u64,
        bytes: &[u8],
        at: usize,
        detail: impl Into<String>,
    ) -> Self {
        let at = at.min(bytes.len());
        let end = (at + EXCERPT_LEN).min(bytes.len());
        MarcError {
            kind,
            record_index,
            byte_offset: base_offset + at as u64,
            excerpt: bytes[at..end].to_vec(),
            detail: detail.into(),
        }
    }

    /// An error with no bytes to show (I/O, end of input).
    pub fn bare(
        kind: ErrorKind,
        record_index: u64,
        byte_offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        MarcError {
            kind,
            record_index,
            byte_offset,
            excerpt: Vec::new(),
            detail: detail.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, MarcError>;

/// An I/O error from a writer's sink, for record `index`.
pub(crate) fn io_error(index: u64, e: std::io::Error) -> MarcError {
    MarcError::bare(ErrorKind::Io, index, 0, e.to_string())
}
