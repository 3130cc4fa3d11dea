//! Content checks that need no tables: standard-number check digits, MARC::Lint's leading
//! articles, `$6` linkage syntax.

/// What is wrong with an ISBN in 020 $a, read as MARC::Lint reads it: hyphens dropped, then
/// the first run of 10 or 13 digits (the last may be `X`) after any non-digits.
#[derive(Debug, PartialEq, Eq)]
pub enum IsbnProblem {
    /// Not 10 or 13 digits.
    Length(usize),
    Checksum {
        expected: u8,
    },
}

pub fn check_isbn(value: &[u8]) -> Result<(), IsbnProblem> {
    let digits: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'-')
        .skip_while(|b| !b.is_ascii_digit())
        .take_while(|b| b.is_ascii_digit() || *b == b'X' || *b == b'x')
        .collect();
    match digits.len() {
        10 => {
            let sum: u32 = digits[..9]
                .iter()
                .enumerate()
                .map(|(i, &d)| (10 - i as u32) * u32::from(d.wrapping_sub(b'0')))
                .sum();
            if digits[..9].iter().any(|d| !d.is_ascii_digit()) {
                return Err(IsbnProblem::Length(digits.len()));
            }
            let check = (11 - sum % 11) % 11;
            let expected = if check == 10 {
                b'X'
            } else {
                b'0' + check as u8
            };
            if digits[9].to_ascii_uppercase() == expected {
                Ok(())
            } else {
                Err(IsbnProblem::Checksum { expected })
            }
        }
        13 if digits.iter().all(u8::is_ascii_digit) => {
            let expected = ean_check(&digits[..12]);
            if digits[12] == expected {
                Ok(())
            } else {
                Err(IsbnProblem::Checksum { expected })
            }
        }
        n => Err(IsbnProblem::Length(n)),
    }
}

fn ean_check(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// What is wrong with an ISSN in 022 $a: `NNNN-NNNC`, C a digit or `X`, leading text before
/// it allowed for none, trailing text after a space allowed.
#[derive(Debug, PartialEq, Eq)]
pub enum IssnProblem {
    Form,
    Checksum { expected: u8 },
}

pub fn check_issn(value: &[u8]) -> Result<(), IssnProblem> {
    let issn = value.split(|&b| b == b' ').next().unwrap_or(value);
    let ok_form = issn.len() == 9
        && issn[4] == b'-'
        && issn[..4].iter().chain(&issn[5..8]).all(u8::is_ascii_digit)
        && (issn[8].is_ascii_digit() || issn[8] == b'X' || issn[8] == b'x');
    if !ok_form {
        return Err(IssnProblem::Form);
    }
    let sum: u32 = issn[..4]
        .iter()
        .chain(&issn[5..8])
        .enumerate()
        .map(|(i, &d)| (8 - i as u32) * u32::from(d - b'0'))
        .sum();
    let check = (11 - sum % 11) % 11;
    let expected = if check == 10 {
        b'X'
    } else {
        b'0' + check as u8
    };
    if issn[8].to_ascii_uppercase() == expected {
        Ok(())
    } else {
        Err(IssnProblem::Checksum { expected })
    }
}

/// MARC::Lint 1.53's `_check_article` list (English, Spanish, French, Italian, German,
/// Portuguese and a few more: see NOTICE), lower case.
const ARTICLES: &[&str] = &[
    "a", "an", "das", "dem", "der", "ein", "eine", "einem", "einen", "einer", "eines", "el", "en",
    "gl", "gli", "il", "l", "la", "las", "le", "les", "lo", "los", "os", "the", "um", "uma", "un",
    "una", "une", "uno",
];

/// Titles starting with an article word that is not one here (MARC::Lint's exceptions,
/// compared case-insensitively).
const EXCEPTIONS: &[&str] = &[
    "A & E",
    "A & ",
    "A-",
    "A+",
    "A is ",
    "A isn't ",
    "A l'",
    "A la ",
    "A posteriori",
    "A priori",
    "A to ",
    "El Nino",
    "El Salvador",
    "L is ",
    "L-",
    "La Salle",
    "Las Vegas",
    "Lo cual",
    "Lo mein",
    "Lo que",
    "Los Alamos",
    "Los Angeles",
];

/// The tags whose nonfiling indicator is checked, and which indicator (1 or 2) it is.
pub fn nonfiling_indicator(tag: &[u8; 3]) -> Option<u8> {
    match tag {
        b"130" | b"630" | b"730" => Some(1),
        b"240" | b"245" | b"440" | b"830" => Some(2),
        _ => None,
    }
}

/// What the nonfiling indicator `ind` says of `title` (its `$a`), as MARC::Lint judges it.
#[derive(Debug, PartialEq, Eq)]
pub enum Nonfiling {
    Fine,
    NotNumeric,
    /// The first word is an article and the indicator should count `expected` characters.
    Article {
        word: String,
        expected: usize,
    },
    /// The first word is no article but the indicator is not 0.
    NotArticle {
        word: String,
    },
}

pub fn check_nonfiling(title: &[u8], ind: u8) -> Nonfiling {
    // The usual title: nothing to skip and no article, settled without reading it as text.
    if ind == b'0' && !starts_with_article(title) {
        return Nonfiling::Fine;
    }
    nonfiling_in_full(title, ind)
}

/// Whether the first word of `title`, as [`nonfiling_in_full`] finds it, is an article,
/// read byte by byte: the characters it skips and splits at are ASCII, and a lossy reading
/// keeps every ASCII byte as it is, so the word is the same but for its other bytes, which
/// no article has.
fn starts_with_article(title: &[u8]) -> bool {
    let start = title
        .iter()
        .position(|b| !matches!(b, b'"' | b'\'' | b'[' | b'(' | b'*'))
        .unwrap_or(title.len());
    let rest = &title[start..];
    let end = rest
        .iter()
        .position(|b| matches!(b, b' ' | b'(' | b')' | b'[' | b']' | b'\'' | b'"' | b'-'))
        .unwrap_or(rest.len());
    let word = &rest[..end];
    ARTICLES
        .iter()
        .any(|a| a.as_bytes().eq_ignore_ascii_case(word))
}

/// [`check_nonfiling`] with the title read as text: the plain path its fast one stands for.
pub(crate) fn nonfiling_in_full(title: &[u8], ind: u8) -> Nonfiling {
    if !ind.is_ascii_digit() {
        return Nonfiling::NotNumeric;
    }
    let title = String::from_utf8_lossy(title);
    let leading = |c: char| matches!(c, '"' | '\'' | '[' | '(' | '*');
    let rest = title.trim_start_matches(leading);
    let skipped = title.len() - rest.len();
    let separators = |c: char| matches!(c, ' ' | '(' | ')' | '[' | ']' | '\'' | '"' | '-');
    let word_len = rest.find(separators).unwrap_or(rest.len());
    let (word, after) = rest.split_at(word_len);
    // Every article is ASCII, and no other character lowercases to ASCII letters of one:
    // an ASCII comparison finds them without lowercasing every title.
    let article = ARTICLES.iter().any(|a| a.eq_ignore_ascii_case(word));
    let exception = || {
        EXCEPTIONS.iter().any(|e| {
            rest.len() >= e.len()
                && rest.is_char_boundary(e.len())
                && rest[..e.len()].eq_ignore_ascii_case(e)
        })
    };
    let given = usize::from(ind - b'0');
    if article && !exception() {
        let lower = word.to_ascii_lowercase();
        if lower == "en" {
            // Also a preposition: MARC::Lint accepts 0 and 3.
            return if given == 0 || given == 3 {
                Nonfiling::Fine
            } else {
                Nonfiling::Article {
                    word: lower,
                    expected: 3,
                }
            };
        }
        // The article, the separator after it and any further blanks, quotes and brackets.
        let mut expected = word.chars().count() + skipped + 1;
        // MARC::Lint: when the text after the separator starts with another separator,
        // blanks, quotes, brackets and asterisks after it count too.
        let mut tail = after.chars();
        if tail.next().is_some() && tail.clone().next().is_some_and(separators) {
            expected += tail
                .take_while(|&c| matches!(c, ' ' | '"' | '\'' | '[' | ']' | '(' | ')' | '*'))
                .count();
        }
        if expected == given {
            Nonfiling::Fine
        } else {
            Nonfiling::Article {
                word: lower,
                expected,
            }
        }
    } else if given == 0 {
        Nonfiling::Fine
    } else {
        Nonfiling::NotArticle {
            word: word.to_lowercase(),
        }
    }
}

/// A `$6` linkage: `TAG-NN` (then optionally `/script` and `/r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linkage {
    pub tag: [u8; 3],
    pub occurrence: [u8; 2],
}

pub fn parse_linkage(value: &[u8]) -> Option<Linkage> {
    match value {
        [t0, t1, t2, b'-', o0, o1, rest @ ..]
            if [t0, t1, t2, o0, o1].iter().all(|b| b.is_ascii_digit())
                && (rest.is_empty() || rest[0] == b'/') =>
        {
            Some(Linkage {
                tag: [*t0, *t1, *t2],
                occurrence: [*o0, *o1],
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbns() {
        assert_eq!(
            check_isbn(b"0471383147 (paper/cd-rom : alk. paper)"),
            Ok(())
        );
        assert_eq!(check_isbn(b"0-8044-2957-X"), Ok(()));
        assert_eq!(check_isbn(b"9780316769488"), Ok(()));
        assert_eq!(
            check_isbn(b"9780316769480"),
            Err(IsbnProblem::Checksum { expected: b'8' })
        );
        assert_eq!(
            check_isbn(b"0471383148"),
            Err(IsbnProblem::Checksum { expected: b'7' })
        );
        assert_eq!(check_isbn(b"12345"), Err(IsbnProblem::Length(5)));
    }

    #[test]
    fn issns() {
        assert_eq!(check_issn(b"0378-5955"), Ok(()));
        assert_eq!(check_issn(b"2049-3630"), Ok(()));
        assert_eq!(
            check_issn(b"0378-5954"),
            Err(IssnProblem::Checksum { expected: b'5' })
        );
        assert_eq!(check_issn(b"03785955"), Err(IssnProblem::Form));
    }

    #[test]
    fn articles() {
        assert_eq!(
            check_nonfiling(b"The pragmatic programmer", b'4'),
            Nonfiling::Fine
        );
        assert_eq!(
            check_nonfiling(b"The pragmatic programmer", b'0'),
            Nonfiling::Article {
                word: "the".into(),
                expected: 4
            }
        );
        assert_eq!(
            check_nonfiling(b"\"A\" is for apple", b'4'),
            Nonfiling::Fine
        );
        assert_eq!(check_nonfiling(b"Los Angeles", b'0'), Nonfiling::Fine);
        assert_eq!(
            check_nonfiling(b"Programming Perl", b'2'),
            Nonfiling::NotArticle {
                word: "programming".into()
            }
        );
        assert_eq!(check_nonfiling(b"L'enfant", b'2'), Nonfiling::Fine);
        assert_eq!(check_nonfiling(b"x", b' '), Nonfiling::NotNumeric);
    }

    #[test]
    fn linkages() {
        assert_eq!(
            parse_linkage(b"880-01"),
            Some(Linkage {
                tag: *b"880",
                occurrence: *b"01"
            })
        );
        assert!(parse_linkage(b"245-02/$1").is_some());
        assert_eq!(parse_linkage(b"24502"), None);
    }
}
