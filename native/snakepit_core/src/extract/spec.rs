//! The field-spec language of traject's `extract_marc` (and SolrMarc's), parsed once into a
//! [`Spec`] list. Grammar (see `docs/extraction.md`):
//!
//! ```text
//! specs      = spec { ws* ":" ws* spec }
//! spec       = "LDR" [ slice ]
//!            | tag [ indicators ] codes
//!            | tag slice
//! tag        = 3 × ( A-Z | a-z | 0-9 )          an "X" stands for any character (extension)
//! indicators = "|" ind ind "|"                  ind = a-z | 0-9 | " " | "*" (any)
//! codes      = { a-z | 0-9 }                    none = every subfield
//! slice      = "[" digits [ "-" digits ] "]"    byte positions, inclusive
//! ```

use std::fmt;

/// Which tag a spec names: three bytes, each either a byte or any byte (`X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagPattern(pub [Option<u8>; 3]);

impl TagPattern {
    /// True when `tag` fits the pattern.
    #[inline]
    pub fn matches(&self, tag: &[u8]) -> bool {
        tag.len() == 3
            && self
                .0
                .iter()
                .zip(tag)
                .all(|(want, got)| want.is_none_or(|w| w == *got))
    }
}

/// An inclusive byte range of a control field or the leader; `end` is `None` for one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub start: usize,
    pub end: Option<usize>,
}

impl Slice {
    /// The bytes of `value` the slice takes, with Ruby's `byteslice` rules as traject uses
    /// them: a range past the end is cut short; a start past the end gives nothing (`None`);
    /// a range starting exactly at the end gives an empty value, a single byte there nothing.
    pub fn take<'v>(&self, value: &'v [u8]) -> Option<&'v [u8]> {
        match self.end {
            None => value.get(self.start..self.start + 1),
            Some(_) if self.start > value.len() => None,
            Some(end) => Some(&value[self.start..(end + 1).min(value.len())]),
        }
    }
}

/// One alternative of a spec string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `245|1*|abc`: a tag, optional indicator filters (`None` = any) and subfield codes
    /// (`None` = every subfield). On a control field it gives the whole value.
    Field {
        tag: TagPattern,
        ind1: Option<u8>,
        ind2: Option<u8>,
        codes: Option<Vec<u8>>,
    },
    /// `008[35-37]`: bytes of a control field. On a data field it gives every subfield, as
    /// in traject.
    Bytes { tag: TagPattern, slice: Slice },
    /// `LDR` or `LDR[6-7]` (extension): the leader or some of its bytes.
    Leader { slice: Option<Slice> },
}

impl Spec {
    /// The tag pattern, or `None` for the leader.
    pub fn tag(&self) -> Option<&TagPattern> {
        match self {
            Spec::Field { tag, .. } | Spec::Bytes { tag, .. } => Some(tag),
            Spec::Leader { .. } => None,
        }
    }

    /// Whether the selected subfields of one field are joined into one value: unless
    /// exactly one code is named (`020a`), as traject's `Spec#joinable?`.
    pub fn joinable(&self) -> bool {
        !matches!(self, Spec::Field { codes: Some(codes), .. } if codes.len() == 1)
    }
}

/// A spec string that does not parse: where (a byte offset into the string) and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub position: usize,
    pub expected: &'static str,
    /// What stood there instead, `None` at the end of the string.
    pub found: Option<char>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.found {
            Some(c) => write!(
                f,
                "at position {}: expected {}, got {:?}",
                self.position, self.expected, c
            ),
            None => write!(
                f,
                "at position {}: expected {}, got the end of the spec",
                self.position, self.expected
            ),
        }
    }
}

impl std::error::Error for SpecError {}

/// Parses a whole spec string (alternatives separated by `:`) into its specs, in order.
pub fn parse_specs(input: &str) -> Result<Vec<Spec>, SpecError> {
    let mut parser = Parser {
        bytes: input.as_bytes(),
        input,
        at: 0,
    };
    let mut specs = Vec::new();
    loop {
        specs.push(parser.spec()?);
        parser.skip_blanks();
        match parser.peek() {
            None => return Ok(specs),
            Some(b':') => {
                parser.at += 1;
                parser.at += parser.bytes[parser.at..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
            }
            Some(_) => return Err(parser.error(parser.after_spec_expectation(&specs))),
        }
    }
}

struct Parser<'s> {
    input: &'s str,
    bytes: &'s [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn error(&self, expected: &'static str) -> SpecError {
        SpecError {
            position: self.at,
            expected,
            found: self.input[self.at..].chars().next(),
        }
    }

    // traject splits on /\s*:\s*/, so blanks may stand around a colon (only there: a space
    // is also an indicator value, and inside a spec it is never skipped).
    fn skip_blanks(&mut self) {
        let rest = &self.bytes[self.at..];
        let blanks = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if rest.get(blanks) == Some(&b':') || blanks == rest.len() {
            self.at += blanks;
        }
    }

    // What to say when a spec is followed by something other than ':' or the end.
    fn after_spec_expectation(&self, specs: &[Spec]) -> &'static str {
        match specs.last() {
            Some(Spec::Field { .. }) => "a subfield code (a-z, 0-9), ':' or the end",
            _ => "':' or the end",
        }
    }

    fn spec(&mut self) -> Result<Spec, SpecError> {
        if self.bytes[self.at..].starts_with(b"LDR") {
            self.at += 3;
            let slice = match self.peek() {
                Some(b'[') => Some(self.slice()?),
                _ => None,
            };
            return Ok(Spec::Leader { slice });
        }
        let tag = self.tag()?;
        match self.peek() {
            Some(b'[') => Ok(Spec::Bytes {
                tag,
                slice: self.slice()?,
            }),
            Some(b'|') => {
                let (ind1, ind2) = self.indicators()?;
                Ok(Spec::Field {
                    tag,
                    ind1,
                    ind2,
                    codes: self.codes(),
                })
            }
            _ => Ok(Spec::Field {
                tag,
                ind1: None,
                ind2: None,
                codes: self.codes(),
            }),
        }
    }

    fn tag(&mut self) -> Result<TagPattern, SpecError> {
        let mut tag = [None; 3];
        for slot in &mut tag {
            match self.peek() {
                Some(b'X') => *slot = None,
                Some(b) if b.is_ascii_alphanumeric() => *slot = Some(b),
                _ => return Err(self.error("a tag of 3 letters or digits (X for any), or LDR")),
            }
            self.at += 1;
        }
        Ok(TagPattern(tag))
    }

    fn indicators(&mut self) -> Result<(Option<u8>, Option<u8>), SpecError> {
        self.at += 1; // the opening '|'
        let mut one = || match self.peek() {
            Some(b'*') => {
                self.at += 1;
                Ok(None)
            }
            Some(b) if b == b' ' || b.is_ascii_lowercase() || b.is_ascii_digit() => {
                self.at += 1;
                Ok(Some(b))
            }
            _ => Err(self.error("an indicator (a-z, 0-9, space, or * for any)")),
        };
        let ind1 = one()?;
        let ind2 = one()?;
        if self.peek() != Some(b'|') {
            return Err(self.error("'|' closing the two indicators"));
        }
        self.at += 1;
        Ok((ind1, ind2))
    }

    fn codes(&mut self) -> Option<Vec<u8>> {
        let rest = &self.bytes[self.at..];
        let n = rest
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            .count();
        self.at += n;
        (n > 0).then(|| rest[..n].to_vec())
    }

    fn slice(&mut self) -> Result<Slice, SpecError> {
        self.at += 1; // the opening '['
        let start = self.number()?;
        let end = if self.peek() == Some(b'-') {
            self.at += 1;
            let from = self.at;
            let end = self.number()?;
            if end < start {
                self.at = from;
                return Err(self.error("an end position not before the start"));
            }
            Some(end)
        } else {
            None
        };
        if self.peek() != Some(b']') {
            return Err(self.error(if end.is_some() {
                "']' closing the byte range"
            } else {
                "'-' or ']' after the byte position"
            }));
        }
        self.at += 1;
        Ok(Slice { start, end })
    }

    fn number(&mut self) -> Result<usize, SpecError> {
        let rest = &self.bytes[self.at..];
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        // Positions past 99,999 cannot exist in a record: refuse them rather than overflow.
        if n == 0 || n > 5 {
            return Err(self.error("a byte position (0-99999)"));
        }
        let value = std::str::from_utf8(&rest[..n])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.error("a byte position (0-99999)"))?;
        self.at += n;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> TagPattern {
        let b = s.as_bytes();
        TagPattern([b[0], b[1], b[2]].map(|c| (c != b'X').then_some(c)))
    }

    #[test]
    fn fields_indicators_codes() {
        assert_eq!(
            parse_specs("245abc").unwrap(),
            vec![Spec::Field {
                tag: tag("245"),
                ind1: None,
                ind2: None,
                codes: Some(b"abc".to_vec())
            }]
        );
        assert_eq!(
            parse_specs("245|1*|a").unwrap(),
            vec![Spec::Field {
                tag: tag("245"),
                ind1: Some(b'1'),
                ind2: None,
                codes: Some(b"a".to_vec())
            }]
        );
        assert_eq!(
            parse_specs("700| 0|").unwrap(),
            vec![Spec::Field {
                tag: tag("700"),
                ind1: Some(b' '),
                ind2: Some(b'0'),
                codes: None
            }]
        );
    }

    #[test]
    fn alternatives_and_blanks_around_colons() {
        let specs = parse_specs("100a : 110a:111a").unwrap();
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[2].tag(), Some(&tag("111")));
    }

    #[test]
    fn slices_leader_wildcards() {
        assert_eq!(
            parse_specs("008[35-37]:007[5]:LDR[6-7]:LDR").unwrap(),
            vec![
                Spec::Bytes {
                    tag: tag("008"),
                    slice: Slice {
                        start: 35,
                        end: Some(37)
                    }
                },
                Spec::Bytes {
                    tag: tag("007"),
                    slice: Slice {
                        start: 5,
                        end: None
                    }
                },
                Spec::Leader {
                    slice: Some(Slice {
                        start: 6,
                        end: Some(7)
                    })
                },
                Spec::Leader { slice: None },
            ]
        );
        let wild = parse_specs("6XX").unwrap();
        assert!(wild[0].tag().unwrap().matches(b"650"));
        assert!(!wild[0].tag().unwrap().matches(b"750"));
    }

    #[test]
    fn joinable_as_traject() {
        let j = |s| parse_specs(s).unwrap()[0].joinable();
        assert!(!j("020a"));
        assert!(j("020aa"));
        assert!(j("245ab"));
        assert!(j("245"));
        assert!(j("008[1]"));
    }

    #[test]
    fn errors_name_the_position_and_what_was_expected() {
        let err = |s| parse_specs(s).unwrap_err();
        assert_eq!(
            err("24"),
            SpecError {
                position: 2,
                expected: "a tag of 3 letters or digits (X for any), or LDR",
                found: None
            }
        );
        assert_eq!(err("245|1|a").position, 5);
        assert_eq!(
            err("245|1|a").expected,
            "an indicator (a-z, 0-9, space, or * for any)"
        );
        assert_eq!(err("245|1*a").expected, "'|' closing the two indicators");
        assert_eq!(err("245A").found, Some('A'));
        assert_eq!(err("245a:").position, 5);
        assert_eq!(err("245a::100a").position, 5);
        assert_eq!(err("008[3").expected, "'-' or ']' after the byte position");
        assert_eq!(err("008[3-]").expected, "a byte position (0-99999)");
        assert_eq!(
            err("008[5-3]").expected,
            "an end position not before the start"
        );
        assert_eq!(err("008[5-3]").position, 6);
        assert_eq!(err("008[1]a").expected, "':' or the end");
        assert_eq!(err("008[123456]").position, 4);
        assert_eq!(err("").position, 0);
        assert_eq!(err("é45").found, Some('é'));
        assert_eq!(
            err("245|1|a").to_string(),
            "at position 5: expected an indicator (a-z, 0-9, space, or * for any), got \"|\""
                .replace('"', "'")
        );
    }

    #[test]
    fn slices_follow_byteslice() {
        let s = |start, end| Slice { start, end };
        let v = b"abcdef";
        assert_eq!(s(1, Some(3)).take(v), Some(&b"bcd"[..]));
        assert_eq!(s(4, Some(9)).take(v), Some(&b"ef"[..]));
        assert_eq!(s(6, Some(9)).take(v), Some(&b""[..]));
        assert_eq!(s(7, Some(9)).take(v), None);
        assert_eq!(s(5, None).take(v), Some(&b"f"[..]));
        assert_eq!(s(6, None).take(v), None);
    }
}
