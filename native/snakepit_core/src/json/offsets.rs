//! Error positions: serde_json reports a line and column, in a text that may have had its
//! raw control characters escaped first; these map them back to byte offsets of the input.

use super::push_u00;

/// serde_json's message without its " at line L column C" suffix.
pub(super) fn bare_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match s.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => s,
    }
}

/// Byte offset of 1-based `line`/`column` (serde_json counts columns in bytes).
pub(super) fn line_col_to_offset(input: &[u8], line: usize, column: usize) -> usize {
    if line == 0 {
        return input.len();
    }
    let mut start = 0usize;
    for _ in 1..line {
        match memchr::memchr(b'\n', &input[start..]) {
            Some(i) => start += i + 1,
            None => return input.len(),
        }
    }
    (start + column.saturating_sub(1)).min(input.len())
}

/// Copy of `input` with raw control characters inside strings written as `\u00XX`, plus the
/// original offset of each rewritten byte (every rewrite adds 5 bytes). `None` if there are
/// none.
pub(super) fn escape_raw_controls(input: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut in_string = false;
    let mut escaped = false;
    let mut at = Vec::new();
    for (i, &b) in input.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            } else if b < 0x20 {
                at.push(i);
            }
        } else if b == b'"' {
            in_string = true;
        }
    }
    if at.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() + 5 * at.len());
    let mut prev = 0;
    for &i in &at {
        out.extend_from_slice(&input[prev..i]);
        let b = input[i];
        push_u00(b, &mut out);
        prev = i + 1;
    }
    out.extend_from_slice(&input[prev..]);
    Some((out, at))
}

/// Maps an offset in the output of [`escape_raw_controls`] back to the original input.
pub(super) fn unescaped_offset(offset: usize, rewrites: &[usize]) -> usize {
    let mut shift = 0;
    for &orig in rewrites {
        // The rewrite of `orig` occupies [orig + shift, orig + shift + 6).
        if orig + shift >= offset {
            break;
        }
        if offset < orig + shift + 6 {
            return orig;
        }
        shift += 5;
    }
    offset - shift
}

pub(super) fn is_raw_control_error(e: &serde_json::Error) -> bool {
    e.is_syntax() && e.to_string().starts_with("control character")
}
