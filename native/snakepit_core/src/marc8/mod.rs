//! MARC-8 to UTF-8 conversion.
//!
//! MARC-8 is the ISO 2022-style encoding of MARC 21 records whose leader/09 is blank. Text
//! starts with Basic Latin (ASCII) designated as G0 (bytes 0x21-0x7E) and Extended Latin
//! (ANSEL) as G1 (bytes 0xA1-0xFE); escape sequences designate other sets:
//!
//! | sequence                        | effect                                            |
//! |---------------------------------|---------------------------------------------------|
//! | `ESC ( F`, `ESC , F`            | G0 = single-byte set F                            |
//! | `ESC ) F`, `ESC - F`            | G1 = single-byte set F                            |
//! | `ESC $ F`, `ESC $ ( F`, `ESC $ , F` | G0 = multibyte set F (EACC, F = `1`)          |
//! | `ESC $ ) F`, `ESC $ - F`        | G1 = multibyte set F                              |
//! | `ESC g`, `ESC b`, `ESC p`       | G0 = Greek symbols, subscripts, superscripts      |
//! | `ESC s`                         | G0 = ASCII again                                  |
//!
//! Final bytes: `B` ASCII, `E` (or `!E`) ANSEL, `1` EACC, `2` Hebrew, `3` Arabic, `4`
//! extended Arabic, `N` Cyrillic, `Q` extended Cyrillic, `S` Greek, `g` Greek symbols, `b`
//! subscripts, `p` superscripts. A 94-character set means the same characters in G0 and G1.
//!
//! Combining diacritics come before their base character in MARC-8 and after it in
//! Unicode; the decoder reorders them (several marks keep their order). C0 controls, space
//! and DEL pass through unchanged in every set (in EACC, a character starts only at a byte
//! 0x21-0x7F). ANSEL's C1 controls map as the Library of Congress tables say (NSB U+0098,
//! NSE U+009C, ZWJ, ZWNJ).
//!
//! The tables are the Library of Congress code tables, generated from data (see
//! `data/marc8/README.md`); `build.rs` compiles them into static arrays.

mod encode;
mod record_conv;
mod tables;

pub use encode::{
    decode_ncrs, Marc8Encoder, Marc8WriteOptions, Unrepresentable, UnrepresentableChar, FILL,
};
pub(crate) use record_conv::is_mislabelled_utf8;
pub use record_conv::record_to_utf8;

use tables::Charset;

const ESC: u8 = 0x1B;

/// Unicode normalisation applied to the converted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Normalization {
    /// Characters as mapped, combining marks after their base: no normalisation.
    #[default]
    None,
    /// Canonical composition (what pymarc's `marc8_to_unicode` returns).
    Nfc,
    /// Canonical decomposition.
    Nfd,
}

/// What to do with an escape sequence or code that cannot be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Marc8ErrorMode {
    /// Stop with an error naming the byte offset and the bytes.
    #[default]
    Strict,
    /// Write U+FFFD for the bad bytes and go on (pymarc's `utf8_handling='replace'`).
    Replace,
    /// Skip the bad bytes and go on.
    Drop,
}

/// Options for MARC-8 conversion. The default is no normalisation, strict errors, NCRs kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Marc8Options {
    pub normalization: Normalization,
    pub on_error: Marc8ErrorMode,
    /// Turn the numeric character references `&#xHHHH;` that MARC-8 writers put for
    /// characters MARC-8 lacks back into those characters ([`decode_ncrs`]), after decoding.
    pub decode_ncrs: bool,
}

/// A conversion failure in strict mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MARC-8 at byte {offset}: {detail}")]
pub struct Marc8Error {
    /// Offset of the first bad byte within the input.
    pub offset: usize,
    /// What was wrong, naming the bytes in hex.
    pub detail: String,
}

/// Converts MARC-8 `input` to UTF-8, appending to `out`. The character sets start as
/// ASCII (G0) and ANSEL (G1). On a strict-mode error `out` is left as it was.
pub fn marc8_to_utf8(
    input: &[u8],
    opts: &Marc8Options,
    out: &mut Vec<u8>,
) -> Result<(), Marc8Error> {
    Marc8Decoder::new(*opts).decode(input, out)
}

/// True when `input` is plain ASCII with no escape: its UTF-8 form is itself.
#[inline]
pub fn is_plain_ascii(input: &[u8]) -> bool {
    input.is_ascii() && memchr::memchr(ESC, input).is_none()
}

/// A MARC-8 decoder whose G0/G1 designations persist from one [`decode`](Self::decode)
/// call to the next until [`reset`](Self::reset): MARC 21 designations last to the end of
/// the field, across subfields. Pending combining marks never cross a call.
#[derive(Debug, Clone)]
pub struct Marc8Decoder {
    opts: Marc8Options,
    g0: Charset,
    g1: Charset,
    /// Combining marks read but not yet written: they wait for their base character.
    pending: Vec<char>,
    /// Unnormalised text when a normalisation is asked for.
    scratch: Vec<u8>,
}

/// A well-formed designation.
struct Designation {
    g1: bool,
    set: Charset,
    len: usize,
}

/// A bad escape: how many bytes to pass over in replace/drop mode, and why.
struct BadEscape {
    skip: usize,
    shown: usize,
    why: &'static str,
}

impl Marc8Decoder {
    pub fn new(opts: Marc8Options) -> Self {
        Marc8Decoder {
            opts,
            g0: Charset::ASCII,
            g1: Charset::ANSEL,
            pending: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn options(&self) -> &Marc8Options {
        &self.opts
    }

    /// Back to the start-of-field state: G0 = ASCII, G1 = ANSEL.
    pub fn reset(&mut self) {
        self.g0 = Charset::ASCII;
        self.g1 = Charset::ANSEL;
    }

    /// Converts `input`, appending UTF-8 to `out`, starting from the current designations.
    /// On a strict-mode error `out` is left as it was and the designations are those in
    /// force at the bad byte.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Marc8Error> {
        if self.g0 == Charset::ASCII && is_plain_ascii(input) {
            // Plain ASCII is its own UTF-8 and is invariant under NFC and NFD.
            out.extend_from_slice(input);
            return Ok(());
        }
        let start = out.len();
        let result = match self.opts.normalization {
            Normalization::None => self.decode_raw(input, out),
            form => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                let result = self.decode_raw(input, &mut scratch);
                if result.is_ok() {
                    normalize_into(&scratch, form, out);
                }
                self.scratch = scratch;
                result
            }
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn decode_raw(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Marc8Error> {
        self.pending.clear();
        let n = input.len();
        let mut i = 0;
        while i < n {
            let b = input[i];
            if b == ESC {
                match parse_escape(input, i) {
                    Ok(d) => {
                        if d.g1 {
                            self.g1 = d.set;
                        } else {
                            self.g0 = d.set;
                        }
                        i += d.len;
                    }
                    Err(bad) => {
                        self.bad(input, i, bad.shown, out, || bad.why.to_string())?;
                        i += bad.skip;
                    }
                }
                continue;
            }
            if b < 0x80 {
                if b <= 0x20 || (b == 0x7F && self.g0 != Charset::Eacc) {
                    // C0 controls, space, DEL: themselves in every set. With nothing pending
                    // in ASCII, copy the whole run of such bytes at once.
                    if self.g0 == Charset::ASCII && self.pending.is_empty() {
                        let run = ascii_run(&input[i..]);
                        out.extend_from_slice(&input[i..i + run]);
                        i += run;
                    } else {
                        self.emit(b as char, false, out);
                        i += 1;
                    }
                    continue;
                }
                match self.g0 {
                    Charset::Single(set) => {
                        if self.g0 == Charset::ASCII && self.pending.is_empty() {
                            let run = ascii_run(&input[i..]);
                            out.extend_from_slice(&input[i..i + run]);
                            i += run;
                            continue;
                        }
                        self.single(input, i, set, false, out)?;
                        i += 1;
                    }
                    Charset::Eacc => i = self.eacc(input, i, 0, out)?,
                }
            } else if (0xA1..=0xFE).contains(&b) {
                match self.g1 {
                    Charset::Single(set) => {
                        self.single(input, i, set, true, out)?;
                        i += 1;
                    }
                    Charset::Eacc => i = self.eacc(input, i, 0x80, out)?,
                }
            } else {
                let entry = if b < 0xA0 { tables::c1(b) } else { 0 };
                if entry == 0 {
                    self.bad(input, i, 1, out, || {
                        format!("byte 0x{b:02X} is not a MARC-8 character or control")
                    })?;
                } else {
                    self.emit_entry(entry, out);
                }
                i += 1;
            }
        }
        // Marks with no base after them: keep them rather than lose them.
        for c in self.pending.drain(..) {
            push_char(out, c);
        }
        Ok(())
    }

    fn single(
        &mut self,
        input: &[u8],
        i: usize,
        set: u8,
        g1: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Marc8Error> {
        let b = input[i];
        let entry = tables::single(set, b);
        if entry == 0 {
            let (g, cs) = if g1 { ("G1", self.g1) } else { ("G0", self.g0) };
            return self.bad(input, i, 1, out, || {
                format!(
                    "byte 0x{b:02X} has no mapping in {} (designated as {g})",
                    cs.name()
                )
            });
        }
        self.emit_entry(entry, out);
        Ok(())
    }

    /// Reads one EACC character at `i` (7-bit bytes when `high` is 0, 8-bit when 0x80);
    /// returns where the next character starts.
    fn eacc(
        &mut self,
        input: &[u8],
        i: usize,
        high: u8,
        out: &mut Vec<u8>,
    ) -> Result<usize, Marc8Error> {
        // A trail byte is any byte of the set's half except ESC and the structural
        // separators (III's codes in pymarc's ODD_MAP use C0 bytes as trail bytes).
        let trail = |c: u8| {
            let c7 = c ^ high;
            c7 < 0x80 && !matches!(c7, ESC | 0x1D..=0x1F)
        };
        let n = input.len();
        let mut k = i + 1;
        while k < i + 3 && k < n && trail(input[k]) {
            k += 1;
        }
        if k < i + 3 {
            let got = k - i;
            self.bad(input, i, got, out, || {
                if k == n {
                    format!("truncated EACC character: input ends after {got} of 3 bytes")
                } else {
                    format!(
                        "broken EACC character: byte 0x{:02X} after {got} of 3 bytes",
                        input[k]
                    )
                }
            })?;
            return Ok(k);
        }
        let code = ((input[i] & 0x7F) as u32) << 16
            | ((input[i + 1] & 0x7F) as u32) << 8
            | (input[i + 2] & 0x7F) as u32;
        let entry = tables::eacc(code);
        if entry == 0 {
            self.bad(input, i, 3, out, || {
                "no mapping in East Asian (EACC)".to_string()
            })?;
        } else {
            self.emit_entry(entry, out);
        }
        Ok(i + 3)
    }

    /// A bad escape or code of `len` bytes at `at`: an error, U+FFFD or nothing.
    fn bad(
        &mut self,
        input: &[u8],
        at: usize,
        len: usize,
        out: &mut Vec<u8>,
        why: impl FnOnce() -> String,
    ) -> Result<(), Marc8Error> {
        match self.opts.on_error {
            Marc8ErrorMode::Strict => {
                let end = (at + len.max(1)).min(input.len());
                Err(Marc8Error {
                    offset: at,
                    detail: format!("{} at byte {at}: {}", hex(&input[at..end]), why()),
                })
            }
            Marc8ErrorMode::Replace => {
                self.emit(char::REPLACEMENT_CHARACTER, false, out);
                Ok(())
            }
            Marc8ErrorMode::Drop => Ok(()),
        }
    }

    #[inline]
    fn emit_entry(&mut self, entry: u32, out: &mut Vec<u8>) {
        let (c, combining) = tables::entry_char(entry);
        self.emit(c, combining, out);
    }

    /// Writes a character: a combining mark waits for its base; a base is written and
    /// then the marks that came before it, in their order.
    #[inline]
    fn emit(&mut self, c: char, combining: bool, out: &mut Vec<u8>) {
        if combining {
            self.pending.push(c);
            return;
        }
        push_char(out, c);
        for m in self.pending.drain(..) {
            push_char(out, m);
        }
    }
}

/// Parses the escape sequence at `input[i]` (an ESC).
fn parse_escape(input: &[u8], i: usize) -> Result<Designation, BadEscape> {
    let at = |k: usize| input.get(k).copied();
    // Malformed: pass over the ESC only, so the bytes after it are still decoded.
    let malformed = |why| BadEscape {
        skip: 1,
        shown: 2,
        why,
    };
    let Some(next) = at(i + 1) else {
        return Err(malformed("escape at end of input"));
    };
    // Technique 1: a single byte after ESC switches G0.
    let technique1 = match next {
        b'g' => Some(Charset::GREEK_SYMBOLS),
        b'b' => Some(Charset::SUBSCRIPTS),
        b'p' => Some(Charset::SUPERSCRIPTS),
        b's' => Some(Charset::ASCII),
        _ => None,
    };
    if let Some(set) = technique1 {
        return Ok(Designation {
            g1: false,
            set,
            len: 2,
        });
    }
    let (g1, mut k) = match next {
        b'(' | b',' => (false, i + 2),
        b')' | b'-' => (true, i + 2),
        b'$' => match at(i + 2) {
            Some(b'(' | b',') => (false, i + 3),
            Some(b')' | b'-') => (true, i + 3),
            _ => (false, i + 2),
        },
        _ => return Err(malformed("not a MARC-8 escape sequence")),
    };
    let bang = at(k) == Some(b'!');
    if bang {
        k += 1;
    }
    let Some(final_byte) = at(k) else {
        return Err(BadEscape {
            skip: 1,
            shown: k - i,
            why: "escape sequence cut short by the end of input",
        });
    };
    if !(0x30..=0x7E).contains(&final_byte) {
        return Err(BadEscape {
            skip: 1,
            shown: k + 1 - i,
            why: "escape sequence without a final byte",
        });
    }
    let set = Charset::from_final(final_byte).filter(|&s| !bang || s == Charset::ANSEL);
    match set {
        Some(set) => Ok(Designation {
            g1,
            set,
            len: k + 1 - i,
        }),
        // Well formed but designating no MARC-8 set: pass over all of it and keep the
        // sets in force.
        None => Err(BadEscape {
            skip: k + 1 - i,
            shown: k + 1 - i,
            why: "escape sequence designates no MARC-8 character set",
        }),
    }
}

/// Length of the run at the start of `bytes` of ASCII bytes other than ESC (at least 1
/// when `bytes[0]` is one).
#[inline]
fn ascii_run(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&c| c >= 0x80 || c == ESC)
        .unwrap_or(bytes.len())
}

#[inline(always)]
fn push_char(out: &mut Vec<u8>, c: char) {
    if (c as u32) < 0x80 {
        out.push(c as u8);
    } else {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

/// Appends `text` (UTF-8 written by the decoder) to `out` in normalisation `form`.
fn normalize_into(text: &[u8], form: Normalization, out: &mut Vec<u8>) {
    use unicode_normalization::{is_nfc_quick, is_nfd_quick, IsNormalized, UnicodeNormalization};
    // The decoder writes whole characters only, so this never fails.
    let Ok(s) = std::str::from_utf8(text) else {
        out.extend_from_slice(text);
        return;
    };
    match form {
        Normalization::None => out.extend_from_slice(text),
        Normalization::Nfc => {
            if is_nfc_quick(s.chars()) == IsNormalized::Yes {
                out.extend_from_slice(text);
            } else {
                s.nfc().for_each(|c| push_char(out, c));
            }
        }
        Normalization::Nfd => {
            if is_nfd_quick(s.chars()) == IsNormalized::Yes {
                out.extend_from_slice(text);
            } else {
                s.nfd().for_each(|c| push_char(out, c));
            }
        }
    }
}

/// Normalises valid UTF-8 `text` into `out` (used for records whose data is already UTF-8).
pub(crate) fn normalize_utf8_into(text: &[u8], form: Normalization, out: &mut Vec<u8>) {
    normalize_into(text, form, out)
}

/// `1B 28 5A` style rendering of bytes for messages.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02X}"));
    }
    s
}
