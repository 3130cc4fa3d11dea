//! traject's `Marc21.trim_punctuation`, rule for rule, without a regex engine. Its three
//! substitutions and the final strip, in traject's order:
//!
//! 1. `/ *[ ,\/;:] *\Z/` → `""`: one trailing comma, slash, semicolon or colon, with the
//!    spaces around it; or, when there is none, the trailing spaces.
//! 2. `/( *[[:word:]]{3,})\. *\Z/` → `\1`: a closing period (and spaces after it) when at
//!    least three word characters stand before it ("Smith, John." loses it, "J." keeps it).
//! 3. `/\A\[?([^\[\]]+)\]?\Z/` → `\1`: a bracket at the start and/or the end, when no other
//!    bracket is inside ("[1999]" → "1999").
//! 4. `strip`: leading and trailing whitespace (and NUL).
//!
//! As in Ruby, `\Z` also matches before a final line feed.

use unicode_normalization::char::is_combining_mark;

/// The value with traject's punctuation rules applied.
pub fn trim_punctuation(value: &str) -> String {
    let (body, newline) = split_final_newline(value);
    let body = trim_trailing_punctuation(body);
    let body = trim_closing_period(body);
    let mut out = String::with_capacity(body.len() + newline.len());
    out.push_str(body);
    out.push_str(newline);
    let out = strip_brackets(&out);
    strip(&out).to_string()
}

fn split_final_newline(s: &str) -> (&str, &str) {
    match s.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (s, ""),
    }
}

fn trailing_spaces(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b' ').count()
}

// Rule 1. The leftmost match of ` *P *` before the end, with exactly one P.
fn trim_trailing_punctuation(s: &str) -> &str {
    let spaces_after = trailing_spaces(s);
    let rest = &s[..s.len() - spaces_after];
    match rest.as_bytes().last() {
        Some(b',' | b'/' | b';' | b':') => {
            let before = &rest[..rest.len() - 1];
            &before[..before.len() - trailing_spaces(before)]
        }
        _ if spaces_after > 0 => rest,
        _ => s,
    }
}

// Rule 2.
fn trim_closing_period(s: &str) -> &str {
    let rest = &s[..s.len() - trailing_spaces(s)];
    match rest.strip_suffix('.') {
        Some(before) if before.chars().rev().take(3).filter(|&c| is_word(c)).count() == 3 => before,
        _ => s,
    }
}

// Onigmo's [[:word:]] on UTF-8: letters, marks, decimal digits and connector punctuation.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining_mark(c)
}

// Rule 3. After an optional '[', the inner part runs to the first bracket; it must be
// non-empty and end the string, or be followed by one ']' that ends it (or stands before
// a final line feed).
fn strip_brackets(s: &str) -> String {
    let rest = s.strip_prefix('[').unwrap_or(s);
    match rest.find(['[', ']']) {
        None if !rest.is_empty() => rest.to_string(),
        Some(p) if p > 0 && rest.as_bytes()[p] == b']' => {
            let after = &rest[p + 1..];
            if after.is_empty() || after == "\n" {
                format!("{}{}", &rest[..p], after)
            } else {
                s.to_string()
            }
        }
        _ => s.to_string(),
    }
}

fn strip(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, '\0' | '\t' | '\n' | '\x0B' | '\x0C' | '\r' | ' '))
}

#[cfg(test)]
mod tests {
    use super::trim_punctuation as t;

    #[test]
    fn trailing_punctuation() {
        assert_eq!(t("Moby Dick /"), "Moby Dick");
        assert_eq!(t("Moby Dick : "), "Moby Dick");
        assert_eq!(t("Smith, John,"), "Smith, John");
        assert_eq!(t("a,;"), "a,");
        assert_eq!(t("London ;"), "London");
        assert_eq!(t("no change"), "no change");
    }

    #[test]
    fn closing_period() {
        assert_eq!(t("Smith, John."), "Smith, John");
        assert_eq!(t("Smith, J."), "Smith, J.");
        assert_eq!(t("1999."), "1999");
        assert_eq!(t("Dic."), "Dic");
        assert_eq!(t("ed.  "), "ed.");
        assert_eq!(t("Café."), "Café");
        // A combining acute accent is a word character, as in Onigmo.
        assert_eq!(t("Cafe\u{301}."), "Cafe\u{301}");
        assert_eq!(t("etc..."), "etc...");
    }

    #[test]
    fn brackets() {
        assert_eq!(t("[1999]"), "1999");
        assert_eq!(t("[1999"), "1999");
        assert_eq!(t("1999]"), "1999");
        assert_eq!(t("[s.l.] : [s.n.]"), "[s.l.] : [s.n.]");
        assert_eq!(t("[]"), "[]");
        assert_eq!(t("["), "[");
        assert_eq!(t("[[x]"), "[[x]");
    }

    #[test]
    fn rules_in_order_and_newlines() {
        // Rule 1 then 2: "words. /" loses the slash, then the period.
        assert_eq!(t("Title words. /"), "Title words");
        assert_eq!(t("Title words,\n"), "Title words");
        assert_eq!(t("[1999]\n"), "1999");
        assert_eq!(t("  padded  "), "padded");
        assert_eq!(t(""), "");
    }
}
