//! Record framing: where each record starts and ends. Sans-I/O: the caller hands in a
//! buffer and says whether more bytes may follow; the scanner answers with one step.
//!
//! Both the leader length and the 0x1D terminator are used. When they agree the frame is
//! certain. When they disagree the scanner prefers whichever end is followed by something
//! that looks like the next leader (or the end of input), so a leader written as 99999 for a
//! longer record, a 0x1D embedded in a record, a record whose terminator was dropped and a
//! leader that claims too much all frame correctly. Bytes that cannot start a record are
//! skipped up to the next plausible leader and reported as a [`Step::Skip`].
//!
//! # Streaming
//!
//! Every byte the scanner looks at is read through [`Look`], which answers "need more" for
//! a byte past the end of the buffer unless `eof` is set. So a decision is either made on
//! bytes that are all present, and is then the same decision the scanner makes on the whole
//! input, or it is [`Step::NeedMore`]. Feeding a stream in chunks of any size therefore
//! yields exactly the frames of the whole input at once. No decision looks further than
//! [`MAX_LOOKAHEAD`] bytes past the position it starts from, and every search is bounded by
//! positions (never by how much happens to be buffered), which is what keeps the two the same.

use crate::error::ErrorKind;
use crate::record::{read_digits, LEADER_LEN, MAX_RECORD_LEN, RECORD_TERMINATOR};
use memchr::memchr;

/// One answer from the scanner. Ranges are relative to the buffer given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A record candidate occupies `start..end` (its structure is checked by the parser).
    Record { start: usize, end: usize },
    /// `start..end` holds no record; `kind` says why (garbage, truncated record or leader).
    Skip {
        start: usize,
        end: usize,
        kind: ErrorKind,
    },
    /// Undecidable without more input: call again from `consumed` with more bytes appended.
    NeedMore { consumed: usize },
    /// Nothing but padding remains.
    End,
}

/// How far past its leader a terminator is looked for when the leader claims 99999, the
/// length that writers put on records too long for five digits.
pub const MAX_OVERSIZE_RECORD: usize = 1 << 20;

/// A leader claiming less than 99999 may still undercount (lengths counted in characters
/// rather than bytes): its terminator is looked for up to this many times the claim.
const UNDERCOUNT_FACTOR: usize = 4;

/// How far garbage is searched for the next record before it is reported in pieces.
const GARBAGE_SPAN: usize = MAX_RECORD_LEN + 1;

/// Padding passed over when checking that a record starts where another one ends.
const MAX_PADDING: usize = 4096;

/// The longest run of padding passed over silently; a longer one is reported as garbage,
/// in pieces of this size.
const MAX_PADDING_RUN: usize = MAX_RECORD_LEN + 1;

/// The most bytes past the current position that one decision may need buffered: a reader
/// that keeps this much (or reaches end of input) never stalls on [`Step::NeedMore`].
/// (The largest reach: a leader claim, padding, then the next leader's own claim.)
pub const MAX_LOOKAHEAD: usize = MAX_OVERSIZE_RECORD + GARBAGE_SPAN + MAX_RECORD_LEN + MAX_PADDING;

/// Padding that real files put between records; passed over silently.
#[inline]
pub fn is_padding(b: u8) -> bool {
    matches!(b, 0x00 | 0x1A | b'\n' | b'\r' | b' ' | b'\t')
}

/// Does `buf[at..]` begin like a leader: five digits of length (at least a leader and a
/// terminator), and five digits of base address?
#[inline]
pub fn looks_like_leader(buf: &[u8], at: usize) -> bool {
    let Some(l) = buf.get(at..at + LEADER_LEN) else {
        return false;
    };
    claimed_len(l).is_some() && read_digits(&l[12..17]).is_some()
}

/// Leader/00-04 as a usable record length (more than a bare leader), if it is one.
#[inline]
fn claimed_len(leader: &[u8]) -> Option<usize> {
    // `00000` is how writers (ruby-marc's allow_oversized, many ILSs) mark a record too long
    // for five digits: read as the 99999 others write, framed by the terminator.
    read_digits(&leader[0..5])
        .map(|n| if n == 0 { MAX_RECORD_LEN } else { n })
        .filter(|&n| n > LEADER_LEN)
}

/// The byte asked for lies past the buffer and the input may go on: ask for more.
struct Need;

type Seen<T> = std::result::Result<T, Need>;

/// Read access to the input that never guesses: past the end of a buffer that may grow, it
/// answers [`Need`] instead of "no".
#[derive(Clone, Copy)]
struct Look<'a> {
    buf: &'a [u8],
    eof: bool,
}

impl Look<'_> {
    /// Are `buf[..end]` all present? `Ok(false)` only when the input ends before `end`.
    #[inline]
    fn have(&self, end: usize) -> Seen<bool> {
        if end <= self.buf.len() {
            Ok(true)
        } else if self.eof {
            Ok(false)
        } else {
            Err(Need)
        }
    }

    #[inline]
    fn byte(&self, at: usize) -> Seen<Option<u8>> {
        Ok(if self.have(at + 1)? {
            Some(self.buf[at])
        } else {
            None
        })
    }

    /// Does the input end exactly at `at`?
    #[inline]
    fn ends_at(&self, at: usize) -> Seen<bool> {
        Ok(!self.have(at + 1)? && self.have(at)?)
    }

    /// Does a leader begin at `at`?
    #[inline]
    fn leader(&self, at: usize) -> Seen<bool> {
        Ok(self.have(at + LEADER_LEN)? && looks_like_leader(self.buf, at))
    }

    /// Does a record whose own length checks out begin at `at`, or does the input end
    /// there, after at most [`MAX_PADDING`] bytes of padding?
    fn boundary(&self, mut at: usize) -> Seen<bool> {
        let limit = at + MAX_PADDING;
        while at < limit {
            match self.byte(at)? {
                Some(b) if is_padding(b) => at += 1,
                _ => break,
            }
        }
        Ok(self.ends_at(at)? || self.confirmed_leader(at)?)
    }

    /// Does a leader begin at `at` whose own length lands on a record terminator?
    fn confirmed_leader(&self, at: usize) -> Seen<bool> {
        if !self.leader(at)? {
            return Ok(false);
        }
        let len = claimed_len(&self.buf[at..]).unwrap_or(LEADER_LEN + 1);
        Ok(self.byte(at + len - 1)? == Some(RECORD_TERMINATOR))
    }

    /// Index of the first record terminator in `from..to`, if the input has one there.
    #[inline]
    fn terminator(&self, from: usize, to: usize) -> Seen<Option<usize>> {
        if from >= to {
            return Ok(None);
        }
        let avail = to.min(self.buf.len());
        if from < avail {
            if let Some(i) = memchr(RECORD_TERMINATOR, &self.buf[from..avail]) {
                return Ok(Some(from + i));
            }
        }
        self.have(to)?;
        Ok(None)
    }
}

/// Decides the next frame at or after `pos`. `eof` says no more bytes will follow `buf`.
pub fn next_step(buf: &[u8], mut pos: usize, eof: bool) -> Step {
    // A run of padding longer than any record is garbage (a stream of NULs from a device
    // must be reported, not passed over for ever). Measured from its start whatever the
    // chunking: an unfinished run is not consumed.
    let start = pos;
    let run_end = buf.len().min(start.saturating_add(MAX_PADDING_RUN));
    while pos < run_end && is_padding(buf[pos]) {
        pos += 1;
    }
    if pos - start == MAX_PADDING_RUN {
        return Step::Skip {
            start,
            end: pos,
            kind: ErrorKind::Garbage,
        };
    }
    if pos >= buf.len() {
        return if eof {
            Step::End
        } else {
            Step::NeedMore { consumed: start }
        };
    }
    let look = Look { buf, eof };
    let step = match look.leader(pos) {
        Ok(true) => frame_record(look, pos),
        Ok(false) => frame_non_record(look, pos),
        Err(need) => Err(need),
    };
    step.unwrap_or(Step::NeedMore { consumed: pos })
}

/// `pos` holds a plausible leader claiming `pos + claimed` as the record's end.
fn frame_record(look: Look<'_>, pos: usize) -> Seen<Step> {
    let buf = look.buf;
    let claimed = claimed_len(&buf[pos..]).unwrap_or(LEADER_LEN + 1);
    let by_leader = pos + claimed;
    let record = |end: usize| Ok(Step::Record { start: pos, end });
    // A terminator before the claimed end (none can sit inside the leader itself).
    let early = look.terminator(pos + LEADER_LEN, by_leader - 1)?;

    if look.byte(by_leader - 1)? == Some(RECORD_TERMINATOR) {
        // Both ends agree: certain, unless an earlier terminator is followed by a record
        // whose own length checks out: then this leader's length is wrong (too long) rather
        // than the record holding an embedded terminator.
        return match early {
            Some(t) if look.boundary(t + 1)? => record(t + 1),
            _ => record(by_leader),
        };
    }
    if let Some(t) = early {
        // The leader claims too much, or this record lost its terminator and holds a 0x1D.
        if look.boundary(t + 1)? {
            return record(t + 1);
        }
        if look.boundary(by_leader - 1)? {
            return record(by_leader - 1);
        }
        if look.boundary(by_leader)? {
            return record(by_leader);
        }
        return record(t + 1);
    }
    // No terminator where the leader says: the terminator was dropped (the next record or
    // the end of input starts one byte early), or replaced, or the leader undercounts.
    if look.boundary(by_leader - 1)? {
        return record(by_leader - 1);
    }
    if look.boundary(by_leader)? {
        return record(by_leader);
    }
    let limit = if claimed >= MAX_RECORD_LEN {
        pos + MAX_OVERSIZE_RECORD
    } else {
        pos + claimed * UNDERCOUNT_FACTOR
    };
    match look.terminator(by_leader - 1, limit)? {
        Some(t) => record(t + 1),
        None if look.have(by_leader)? => record(by_leader),
        None => Ok(Step::Skip {
            start: pos,
            end: buf.len(),
            kind: ErrorKind::TruncatedRecord,
        }),
    }
}

/// `pos` does not hold a plausible leader.
///
/// The bytes up to the next record are garbage. A 0x1D ends them when what it ends can hold
/// a record (then it is one record with a broken leader, framed so that the parser says
/// what is wrong); a 0x1D closer than that ends nothing, so a run of such pieces (4 MB of
/// 0x1D, say) is one garbage frame per [`GARBAGE_SPAN`] instead of one per byte.
fn frame_non_record(look: Look<'_>, pos: usize) -> Seen<Step> {
    let buf = look.buf;
    if !look.have(pos + LEADER_LEN)? {
        // Less than a leader before the end of input: no record fits in what is left.
        return Ok(Step::Skip {
            start: pos,
            end: buf.len(),
            kind: ErrorKind::TruncatedLeader,
        });
    }
    let span_end = pos + GARBAGE_SPAN;
    let garbage = |end| {
        Ok(Step::Skip {
            start: pos,
            end,
            kind: ErrorKind::Garbage,
        })
    };
    // Where a leader may begin: it must fit in the span, and before the end of the input.
    let mut last = span_end - LEADER_LEN;
    if look.eof {
        last = last.min(buf.len().saturating_sub(LEADER_LEN));
    }
    // One pass, a byte at a time: the next record start confirmed by its own length ends
    // the garbage, and so does a terminator that ends a piece long enough for a record.
    let mut piece = pos;
    let mut plausible = None;
    for at in pos..span_end {
        let Some(b) = look.byte(at)? else { break };
        if at > pos && at <= last && b.is_ascii_digit() && look.leader(at)? {
            plausible.get_or_insert(at);
            if look.confirmed_leader(at)? {
                return garbage(at);
            }
        }
        if b == RECORD_TERMINATOR {
            if at + 1 - piece <= LEADER_LEN {
                // Too short for a record: garbage like the bytes before it; look on.
                piece = at + 1;
            } else if piece == pos {
                // One record with a broken leader.
                return Ok(Step::Record {
                    start: pos,
                    end: at + 1,
                });
            } else {
                // Garbage up to a piece that may be a broken record.
                return garbage(piece);
            }
        }
    }
    match plausible {
        Some(at) => garbage(at),
        // Nothing to resynchronise on in the whole span.
        None if look.have(span_end)? => garbage(span_end - (LEADER_LEN - 1)),
        None => garbage(buf.len()),
    }
}

/// Frames a complete buffer: an iterator of [`Step::Record`] and [`Step::Skip`].
pub struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Frames<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Frames { buf, pos: 0 }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        match next_step(self.buf, self.pos, true) {
            Step::End | Step::NeedMore { .. } => None,
            Step::Record { start, end } => {
                self.pos = end;
                Some(Step::Record { start, end })
            }
            Step::Skip { start, end, kind } => {
                self.pos = end;
                Some(Step::Skip { start, end, kind })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal record: leader claiming `claim` (or its true length), one 001 field.
    fn rec(id: &str, claim: Option<usize>) -> Vec<u8> {
        let len = 24 + 12 + 1 + id.len() + 1 + 1;
        let mut out = format!(
            "{:05}nam  2200037   4500001{:04}00000\x1e",
            claim.unwrap_or(len),
            id.len() + 1
        )
        .into_bytes();
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\x1e\x1d");
        out
    }

    fn frames(buf: &[u8]) -> Vec<(usize, usize, Option<ErrorKind>)> {
        Frames::new(buf)
            .map(|s| match s {
                Step::Record { start, end } => (start, end, None),
                Step::Skip { start, end, kind } => (start, end, Some(kind)),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn agreeing_ends_with_padding() {
        let a = rec("a", None);
        let mut buf = a.clone();
        buf.extend_from_slice(b"\r\n\0\x1a");
        buf.extend_from_slice(&rec("bb", None));
        buf.extend_from_slice(b"\n");
        let n = a.len();
        assert_eq!(frames(&buf), [(0, n, None), (n + 4, n + 4 + n + 1, None)]);
    }

    #[test]
    fn dropped_terminator_before_a_record_or_the_end() {
        let mut a = rec("first", None);
        a.pop();
        let b = rec("second", None);
        let buf = [a.clone(), b.clone(), a.clone()].concat();
        let (n, m) = (a.len(), b.len());
        assert_eq!(
            frames(&buf),
            [(0, n, None), (n, n + m, None), (n + m, 2 * n + m, None)]
        );
    }

    #[test]
    fn leader_claiming_too_much_or_too_little() {
        let long = rec("x", Some(50_000));
        let short = rec("yyyyyyyyyyyyyyyy", Some(25));
        let ok = rec("z", None);
        let buf = [long.clone(), short.clone(), ok.clone()].concat();
        let (a, b) = (long.len(), short.len());
        assert_eq!(
            frames(&buf),
            [(0, a, None), (a, a + b, None), (a + b, buf.len(), None)]
        );
    }

    #[test]
    fn oversize_record_written_as_99999() {
        let id = "x".repeat(150_000);
        let big = rec(&id, Some(99_999));
        let buf = [big.clone(), rec("next", None)].concat();
        assert_eq!(
            frames(&buf),
            [(0, big.len(), None), (big.len(), buf.len(), None)]
        );
    }

    #[test]
    fn embedded_terminator_is_kept_when_the_length_agrees() {
        let a = rec("ctrl\x1dnumber", None);
        let buf = [a.clone(), rec("b", None)].concat();
        assert_eq!(
            frames(&buf),
            [(0, a.len(), None), (a.len(), buf.len(), None)]
        );
    }

    #[test]
    fn garbage_then_records() {
        let a = rec("a", None);
        let buf = [&b"\xff\xfe junk 123"[..], &a, b"00050nam  22000"].concat();
        assert_eq!(
            frames(&buf),
            [
                (0, 11, Some(ErrorKind::Garbage)),
                (11, 11 + a.len(), None),
                (11 + a.len(), buf.len(), Some(ErrorKind::TruncatedLeader)),
            ]
        );
        // A leader whose record never ends.
        let buf = [&a[..], b"00100nam  2200037   4500\xde\xad"].concat();
        assert_eq!(
            frames(&buf),
            [
                (0, a.len(), None),
                (a.len(), buf.len(), Some(ErrorKind::TruncatedRecord))
            ]
        );
    }

    #[test]
    fn need_more_until_decidable() {
        let a = rec("abc", None);
        for cut in 0..a.len() {
            assert_eq!(
                next_step(&a[..cut], 0, false),
                Step::NeedMore { consumed: 0 }
            );
        }
        // With the whole record but nothing after it, the frame is already certain.
        assert_eq!(
            next_step(&a, 0, false),
            Step::Record {
                start: 0,
                end: a.len()
            }
        );
        // Unfinished padding is kept: how long its run is decides (MAX_PADDING_RUN).
        assert_eq!(next_step(b"\n\n", 0, false), Step::NeedMore { consumed: 0 });
        assert_eq!(next_step(b"\n\n", 0, true), Step::End);
    }

    #[test]
    fn never_needs_more_than_max_lookahead() {
        let leader99999 = b"99999nam  2200037   4500".to_vec();
        let buffers: Vec<Vec<u8>> = vec![
            vec![0xff; MAX_LOOKAHEAD],
            [leader99999.clone(), vec![b'a'; MAX_LOOKAHEAD]].concat(),
            [b"x".to_vec(), leader99999.repeat(MAX_LOOKAHEAD / 24 + 1)].concat(),
            [
                b"00030nam  2200025   4500\x1ex".to_vec(),
                leader99999.clone(),
                vec![b'a'; MAX_LOOKAHEAD],
            ]
            .concat(),
            [
                b"x".to_vec(),
                b"00100nam  2200037   4500".repeat(MAX_LOOKAHEAD / 24 + 1),
            ]
            .concat(),
        ];
        for buf in &buffers {
            let buf = &buf[..MAX_LOOKAHEAD];
            let step = next_step(buf, 0, false);
            assert!(
                matches!(step, Step::Record { .. } | Step::Skip { .. }),
                "{step:?}"
            );
            // The decision does not change with more input, nor at its end.
            let whole = [buf, &[b'a'; 64][..]].concat();
            assert_eq!(next_step(&whole, 0, true), step);
        }
    }
}
