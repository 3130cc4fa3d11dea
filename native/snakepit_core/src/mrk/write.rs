//! The `.mrk` writer and the line dump: records to `=TAG  ...` lines.

use super::mnemonics::{escape_value, Blanks, Charset};
use crate::encode::{check_record, encode_record_with, EncodeOptions, Oversize};
use crate::error::{io_error, Result};
use crate::marc8::{Marc8Decoder, Marc8ErrorMode, Marc8Options, Marc8WriteOptions, Normalization};
use crate::parse::{parse_record, Origin, ParseOptions};
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
    /// MARCMaker's MARC-8 `.mrk`: the record as the ISO 2709 writer writes it in MARC-8
    /// ([`EncodeOptions::marc8`] with these options: leader/09 blank, lengths recomputed,
    /// records already MARC-8 as they are), each byte outside printable ASCII, and `$`
    /// `{` `}` `\`, written as its MARCMaker mnemonic (`{acute}`, `{esc}`, `{C7}`); blanks
    /// as in [`Style::Mrk`]. A record the MARC-8 writer refuses is an error.
    Marc8Mrk(Marc8WriteOptions),
}

/// How a record's values become the text of the output. In UTF-8 styles a record whose
/// leader/09 is not `a` (MARC-8) is converted (NFC, bad bytes as U+FFFD); text that is not
/// UTF-8 in a UTF-8 record is refused by [`check_record`] first. In [`Style::Marc8Mrk`] the
/// record is the MARC-8 writer's already, and its bytes go out as they are.
struct Text {
    marc8: Option<Marc8Decoder>,
    scratch: Vec<u8>,
}

impl Text {
    fn for_record<R: RecordView + ?Sized>(record: &R, style: Style) -> Text {
        let utf8_out = !matches!(style, Style::Marc8Mrk(_));
        let marc8 = (utf8_out && record.leader()[9] != b'a').then(|| {
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
    write_one(record, 0, style, out)
}

/// Checks and writes one record; on error nothing is written and the error names `index`.
fn write_one<R: RecordView + ?Sized>(
    record: &R,
    index: u64,
    style: Style,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Style::Marc8Mrk(marc8) = style else {
        check_record(record, index)?;
        write_checked(record, style, out);
        return Ok(());
    };
    // The one ISO 2709 writer makes the MARC-8 record (checks, conversion, `unrepresentable`,
    // lengths); `.mrk` has no length limit, so sizes past ISO 2709's are written as zeros.
    let opts = EncodeOptions {
        marc8: Some(marc8),
        oversize: Oversize::ZeroLength,
    };
    let mut iso = Vec::new();
    encode_record_with(record, index, &mut iso, &opts)?;
    let origin = Origin { index, offset: 0 };
    let no_recheck = ParseOptions {
        validate_utf8: false,
    };
    let parsed = parse_record(&iso, origin, no_recheck)?;
    write_checked(&parsed, style, out);
    Ok(())
}

fn write_checked<R: RecordView + ?Sized>(record: &R, style: Style, out: &mut Vec<u8>) {
    let mut text = Text::for_record(record, style);
    let charset = match style {
        Style::Marc8Mrk(_) => Charset::Marc8,
        Style::Mrk | Style::Text => Charset::Utf8,
    };
    out.extend_from_slice(b"=LDR  ");
    match style {
        Style::Mrk | Style::Marc8Mrk(_) => {
            let mut leader = [0u8; crate::record::LEADER_LEN];
            leader.copy_from_slice(&record.leader()[..crate::record::LEADER_LEN]);
            if style == Style::Mrk {
                leader[9] = b'a';
            }
            escape_value(&leader, Blanks::Backslash, charset, out);
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
                    Style::Mrk | Style::Marc8Mrk(_) => {
                        escape_value(v, Blanks::Backslash, charset, out)
                    }
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
                        Style::Mrk | Style::Marc8Mrk(_) => {
                            escape_value(v, Blanks::Space, charset, out)
                        }
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
        write_one(r, i as u64, style, out)?;
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
        write_one(record, index, self.style, &mut self.sink.buf)?;
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
