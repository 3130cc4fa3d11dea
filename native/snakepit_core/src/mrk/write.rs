//! The `.mrk` writer and the line dump: records to `=TAG  ...` lines.

use super::mnemonics::{escape_value, Blanks};
use crate::encode::check_record;
use crate::error::{io_error, Result};
use crate::marc8::{Marc8Decoder, Marc8ErrorMode, Marc8Options, Normalization};
use crate::sink::Sink;
use crate::view::{FieldView, RecordView};
use std::io::{self, Write};

/// What the lines look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// MarcEdit's `.mrk8`: every value escaped with mnemonics, so it reads back exactly;
    /// blanks of the leader, control fields and indicators spelt `\`; leader/09 `a`.
    #[default]
    Mrk,
    /// pymarc's `str(record)`: values as they are (a `$` in a value is not escaped, so
    /// this is for reading, not for reading back); blanks of control fields and indicators
    /// spelt `\`, the leader as stored.
    Text,
}

/// How a record's values become the UTF-8 of the output. A record whose leader/09 is not
/// `a` (MARC-8) is converted (NFC, bad bytes as U+FFFD); text that is not UTF-8 in a
/// UTF-8 record is refused by [`check_record`] first. Writing MARC-8 `.mrk` (the
/// MARC-8 writer's bytes, each non-ASCII byte as its MARCMaker mnemonic, with
/// [`super::mnemonics::push_mnemonic`]) is one more variant here.
struct Text {
    marc8: Option<Marc8Decoder>,
    scratch: Vec<u8>,
}

impl Text {
    fn for_record<R: RecordView + ?Sized>(record: &R) -> Text {
        let marc8 = (record.leader()[9] != b'a').then(|| {
            Marc8Decoder::new(Marc8Options {
                normalization: Normalization::Nfc,
                on_error: Marc8ErrorMode::Replace,
                // A reference in the data is text the record holds: `.mrk` shows it as is.
                decode_ncrs: false,
            })
        });
        Text {
            marc8,
            scratch: Vec::new(),
        }
    }

    /// Starts a field: MARC-8 designations last to the end of a field.
    fn field_start(&mut self) {
        if let Some(d) = &mut self.marc8 {
            d.reset();
        }
    }

    /// `value` as UTF-8, written by `write`.
    fn value(&mut self, value: &[u8], out: &mut Vec<u8>, write: impl Fn(&[u8], &mut Vec<u8>)) {
        match &mut self.marc8 {
            None => write(value, out),
            Some(d) => {
                self.scratch.clear();
                // Replace mode: never an error.
                let _ = d.decode(value, &mut self.scratch);
                write(&self.scratch, out);
            }
        }
    }
}

/// Appends one record as lines (the last one ended by `\n`; no blank line after), after
/// checking that it can be written ([`check_record`]; on error nothing is written and
/// `record_index` is 0: callers set theirs).
pub fn write_record<R: RecordView + ?Sized>(
    record: &R,
    style: Style,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_record(record, 0)?;
    write_checked(record, style, out);
    Ok(())
}

fn write_checked<R: RecordView + ?Sized>(record: &R, style: Style, out: &mut Vec<u8>) {
    let mut text = Text::for_record(record);
    out.extend_from_slice(b"=LDR  ");
    match style {
        Style::Mrk => {
            let mut leader = [0u8; crate::record::LEADER_LEN];
            leader.copy_from_slice(&record.leader()[..crate::record::LEADER_LEN]);
            leader[9] = b'a';
            escape_value(&leader, Blanks::Backslash, out);
        }
        Style::Text => out.extend_from_slice(record.leader()),
    }
    out.push(b'\n');
    for field in record.view_fields() {
        text.field_start();
        let (FieldView::Control { tag, .. } | FieldView::Data { tag, .. }) = &field;
        out.push(b'=');
        out.extend_from_slice(tag);
        out.extend_from_slice(b"  ");
        match field {
            FieldView::Control { value, .. } => {
                text.value(value, out, |v, out| match style {
                    Style::Mrk => escape_value(v, Blanks::Backslash, out),
                    Style::Text => text_control(v, out),
                });
            }
            FieldView::Data {
                ind1,
                ind2,
                subfields,
                ..
            } => {
                for ind in [ind1, ind2] {
                    out.push(if ind == b' ' { b'\\' } else { ind });
                }
                for (code, value) in subfields {
                    out.extend_from_slice(&[b'$', code]);
                    text.value(value, out, |v, out| match style {
                        Style::Mrk => escape_value(v, Blanks::Space, out),
                        Style::Text => lossy(v, out),
                    });
                }
            }
        }
        out.push(b'\n');
    }
}

/// A control field's value as pymarc prints it: blanks as `\`, nothing else changed.
fn text_control(value: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    lossy(value, out);
    for b in &mut out[start..] {
        if *b == b' ' {
            *b = b'\\';
        }
    }
}

/// UTF-8 as it is; bytes that are not UTF-8 as U+FFFD, one per maximal invalid sequence.
fn lossy(value: &[u8], out: &mut Vec<u8>) {
    for chunk in value.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

/// Appends records, each followed by a blank line (MarcEdit's layout; pymarc's
/// `MARCMakerReader` splits records on it). `base` is the index of the first, for errors.
pub fn write_records<'r, R: RecordView + 'r>(
    records: impl IntoIterator<Item = &'r R>,
    style: Style,
    out: &mut Vec<u8>,
) -> Result<()> {
    for (i, r) in records.into_iter().enumerate() {
        check_record(r, i as u64)?;
        write_checked(r, style, out);
        out.push(b'\n');
    }
    Ok(())
}

/// Streams records as `.mrk` (or the line dump) into any `io::Write`, buffering
/// internally. Call [`MrkWriter::finish`] at the end to flush.
pub struct MrkWriter<W: Write> {
    sink: Sink<W>,
    style: Style,
}

impl<W: Write> MrkWriter<W> {
    pub fn new(out: W, style: Style) -> Self {
        MrkWriter {
            sink: Sink::new(out),
            style,
        }
    }

    /// Appends one record and its blank line; a record that cannot be written is an error
    /// (naming its index among the records given) and nothing of it is written.
    pub fn write_record<R: RecordView + ?Sized>(&mut self, record: &R) -> Result<()> {
        let index = self.sink.count();
        check_record(record, index)?;
        write_checked(record, self.style, &mut self.sink.buf);
        self.sink.buf.push(b'\n');
        self.sink.record_written().map_err(|e| io_error(index, e))
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.sink.count()
    }

    /// Flushes and gives the sink back.
    pub fn finish(self) -> io::Result<W> {
        self.sink.finish()
    }
}
