//! Pure MARC 21 / ISO 2709 engine. No rustler here: everything is testable, fuzzable and
//! benchmarkable on its own.
//!
//! Layers, bottom up: [`scan`] frames records in a byte buffer (sans-I/O), [`parse`] checks
//! one frame's structure and yields a zero-copy [`Record`], [`record`] holds the borrowed
//! and owned record models and the ISO 2709 encoder, [`read`] drives framing and parsing over
//! whole buffers with the three error modes.

pub mod chunker;
pub mod encode;
pub mod error;
pub mod extract;
pub mod json;
pub mod lint;
pub mod marc21;
pub mod marc8;
pub mod mrk;
pub mod parse;
pub mod pipeline;
pub mod read;
pub mod record;
pub mod recover;
pub mod scan;
mod sink;
pub mod threads;
pub mod view;
pub mod xml;

pub use encode::{check_record, encode_record, encode_record_with, EncodeOptions, Oversize};
pub use error::{ErrorKind, MarcError, Result};
pub use json::{JsonLayout, JsonLinesReader, JsonWriter};
pub use marc8::{
    marc8_to_utf8, record_to_utf8, Marc8Decoder, Marc8Encoder, Marc8Error, Marc8ErrorMode,
    Marc8Options, Marc8WriteOptions, Normalization, Unrepresentable,
};
pub use parse::{parse_record, Origin, ParseOptions};
pub use read::{read_all, Item, Mode};
pub use record::{FieldRef, OwnedField, OwnedRecord, Record, SubfieldRef};
pub use view::{FieldView, RecordView};
pub use xml::{XmlReader, XmlWriter};

/// What crosses threads must be Send + Sync; checked at compile time.
#[allow(dead_code)]
fn assert_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MarcError>();
    send_sync::<OwnedRecord>();
    send_sync::<Record<'static>>();
}
