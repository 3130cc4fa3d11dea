//! MARC-in-JSON and MARCXML for Elixir records, both ways. All on dirty CPU schedulers.
//!
//! Writing: `%Snakepit.Marc.Record{}` terms are decoded in place into a [`TermRecord`] (the
//! leader and every value borrow the terms' binaries; the field and subfield vectors are
//! reused from record to record) and written by the core's `json`/`xml` writers through
//! [`RecordView`]. A term of the wrong shape gives `{:error, message}` naming the record and
//! field; the Elixir side raises `ArgumentError` with it.
//!
//! Reading: the core readers give `OwnedRecord`s; each is encoded to ISO 2709 and parsed
//! back (`chunker::owned_item`), then becomes a term through the one `TermBuilder`.
//!
//! One job a file: `term_record` (Elixir record terms as a [`RecordView`]), `writers`
//! (`records_to_json`, `records_to_xml`, `records_to_iso`, `format_frame`) and `readers`
//! (`from_json_binary`, `from_xml_binary`). There is no ISO 2709 encoder here: writing ISO
//! 2709 is the core's one encoder, `snakepit_core::encode`.
//!
//! [`RecordView`]: snakepit_core::view::RecordView

mod mrk;
mod readers;
mod term_record;
mod writers;

mod format_atoms {
    rustler::atoms! { object, array, lines, items, collection, records, mrk, text }
}
