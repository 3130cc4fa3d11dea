//! Record framing: where each record starts and ends. Sans-I/O: the caller hands in a
//! buffer and says whether more bytes may follow; the scanner answers with one step.
//!
//! Both the leader length and the 0x1D terminator are used. When they agree the frame is
//! certain. When they disagree the scanner prefers whichever end is followed by something
//! that looks like the next leader (or the end of input), so a leader written as 99999 for a
//! longer record, a 0x1D embedded in a record, and a missing terminator all frame correctly.
//! Bytes that cannot start a record are skipped up to the next plausible leader and
//! reported as a [`Step::Skip`].

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
    matches!(read_digits(&l[0..5]), Some(n) if n > LEADER_LEN) && read_digits(&l[12..17]).is_some()
}

/// Finds the first position after `from` where a frame both looks like a leader and is
/// confirmed by its own length landing on a terminator. Used to resynchronise.
fn next_confirmed_leader(buf: &[u8], from: usize) -> Option<usize> {
    let limit = buf.len().saturating_sub(LEADER_LEN);
    let mut at = from;
    while at <= limit {
        if looks_like_leader(buf, at) {
            let len = read_digits(&buf[at..at + 5]).unwrap_or(0);
            if buf.get(at + len - 1) == Some(&RECORD_TERMINATOR) {
                return Some(at);
            }
        }
        at += 1;
    }
    None
}

/// Decides the next frame at or after `pos`. `eof` says no more bytes will follow `buf`.
pub fn next_step(buf: &[u8], mut pos: usize, eof: bool) -> Step {
    while pos < buf.len() && is_padding(buf[pos]) {
        pos += 1;
    }
    let rest = buf.len() - pos;
    if rest == 0 {
        return if eof {
            Step::End
        } else {
            Step::NeedMore { consumed: pos }
        };
    }
    let terminator = memchr(RECORD_TERMINATOR, &buf[pos..]).map(|t| pos + t + 1);

    if rest < LEADER_LEN {
        if !eof {
            return Step::NeedMore { consumed: pos };
        }
        let end = terminator.unwrap_or(buf.len());
        return Step::Skip {
            start: pos,
            end,
            kind: ErrorKind::TruncatedLeader,
        };
    }

    if !looks_like_leader(buf, pos) {
        // Not a record start. Skip to the next confirmed leader; failing that, frame up to the
        // next terminator so the parser names what is wrong with this record's leader.
        let search_to = terminator.unwrap_or(buf.len());
        if let Some(next) = next_confirmed_leader(&buf[..search_to.min(buf.len())], pos + 1) {
            return Step::Skip {
                start: pos,
                end: next,
                kind: ErrorKind::Garbage,
            };
        }
        return match terminator {
            Some(end) => Step::Record { start: pos, end },
            None if !eof && rest <= MAX_RECORD_LEN + LEADER_LEN => Step::NeedMore { consumed: pos },
            None => match next_confirmed_leader(buf, pos + 1) {
                Some(next) => Step::Skip {
                    start: pos,
                    end: next,
                    kind: ErrorKind::Garbage,
                },
                None if eof => Step::Skip {
                    start: pos,
                    end: buf.len(),
                    kind: ErrorKind::Garbage,
                },
                // Keep the tail: a leader may be starting in it.
                None => {
                    let end = buf.len() - LEADER_LEN;
                    Step::Skip {
                        start: pos,
                        end,
                        kind: ErrorKind::Garbage,
                    }
                }
            },
        };
    }

    let claimed = read_digits(&buf[pos..pos + 5]).unwrap_or(0);
    let by_leader = pos + claimed;
    if by_leader > buf.len() && !eof {
        return Step::NeedMore { consumed: pos };
    }
    // Both ends agree: certain.
    if by_leader <= buf.len() && buf[by_leader - 1] == RECORD_TERMINATOR {
        // An earlier terminator followed by a real leader means the leader length is wrong
        // (too long) rather than the record holding an embedded terminator.
        if let Some(t) = terminator {
            if t < by_leader
                && looks_like_leader(buf, t)
                && next_confirmed_leader(buf, t) == Some(t)
            {
                return Step::Record { start: pos, end: t };
            }
        }
        return Step::Record {
            start: pos,
            end: by_leader,
        };
    }
    match terminator {
        Some(t) if by_leader <= buf.len() && t > by_leader => {
            // The leader's end has no terminator and the next terminator lies beyond it:
            // either this record lost its terminator (a leader follows at `by_leader`) or
            // the leader length is too short (trust the terminator).
            match leader_at(buf, by_leader, eof) {
                None => Step::NeedMore { consumed: pos },
                Some(true) => Step::Record {
                    start: pos,
                    end: by_leader,
                },
                Some(false) => Step::Record { start: pos, end: t },
            }
        }
        Some(t) => Step::Record { start: pos, end: t },
        None if by_leader <= buf.len() => match leader_at(buf, by_leader, eof) {
            // No terminator ahead: the leader's length is all there is to go on.
            Some(true) => Step::Record {
                start: pos,
                end: by_leader,
            },
            Some(false) if eof => Step::Record {
                start: pos,
                end: by_leader,
            },
            _ if rest > MAX_RECORD_LEN + LEADER_LEN => Step::Record {
                start: pos,
                end: by_leader,
            },
            _ => Step::NeedMore { consumed: pos },
        },
        None => Step::Skip {
            start: pos,
            end: buf.len(),
            kind: ErrorKind::TruncatedRecord,
        },
    }
}

/// Does a record begin at `at` (or does the input end there)? `None` when that cannot be
/// told without more input.
fn leader_at(buf: &[u8], at: usize, eof: bool) -> Option<bool> {
    if at == buf.len() && eof {
        return Some(true);
    }
    if buf.len() - at < LEADER_LEN && !eof {
        return None;
    }
    Some(looks_like_leader(buf, at))
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
