//! Extraction specs: pull the values an index needs out of each record, traject's
//! `extract_marc` semantics, without building the rest of the record.
//!
//! An [`Extractor`] is compiled once from [`Output`]s (one spec string and its options
//! each) and then run over any [`RecordView`]: a borrowed record straight from the parser
//! (zero copies until a value is selected) or an owned one (MARC-8 converted, JSON, XML).
//!
//! Semantics, as traject's `MarcExtractor` and `extract_marc` macro:
//! - fields are visited in record order; for each field, the output's specs whose tag (and
//!   indicators) match it, in spec order;
//! - a control field gives its value, or the bytes of a slice;
//! - a data field gives its selected subfields (every subfield when none are named, also
//!   for a slice spec): each as its own value when the spec names exactly one code (`020a`),
//!   else joined by the separator into one value (`020aa` forces joining); a field with no
//!   selected subfield gives nothing; no separator means never join;
//! - an 880 counts as the tag its `$6` begins with (alternate script `Include`, the
//!   default), only 880s count (`Only`), or it is an ordinary tag (`Ignore`);
//! - then, in this order: `first` keeps the first value, `trim_punctuation`, `dedupe`
//!   (first occurrence kept), `default` when nothing is left.
//!
//! Extensions: `LDR` / `LDR[6-7]` select the leader (its values come first, as the leader
//! precedes the fields, whatever `alternate_script` says); `X` in a tag matches any
//! character (`6XX`, `65X`).

mod spec;
mod trim;

pub use spec::{parse_specs, Slice, Spec, SpecError, TagPattern};
pub use trim::trim_punctuation;

use crate::view::{FieldView, RecordView};
use std::collections::HashSet;

/// How 880 (alternate graphic representation) fields take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlternateScript {
    /// An 880 whose `$6` begins `245` also matches specs for 245 (traject's default).
    #[default]
    Include,
    /// Only such linked 880s match, never the fields they stand beside.
    Only,
    /// An 880 is just tag 880.
    Ignore,
}

/// What one output does with the values its specs select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// Joins the subfields one field gives (`None`: never join). Default `" "`.
    pub separator: Option<String>,
    pub first: bool,
    pub dedupe: bool,
    pub trim_punctuation: bool,
    /// The one value to give when nothing was selected.
    pub default: Option<String>,
    pub alternate_script: AlternateScript,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            separator: Some(" ".to_string()),
            first: false,
            dedupe: true,
            trim_punctuation: false,
            default: None,
            alternate_script: AlternateScript::Include,
        }
    }
}

/// One named value list of an extraction: the specs of one spec string and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub specs: Vec<Spec>,
    pub options: OutputOptions,
}

impl Output {
    /// Parses `spec` (alternatives separated by `:`).
    pub fn parse(spec: &str, options: OutputOptions) -> Result<Output, SpecError> {
        Ok(Output {
            specs: parse_specs(spec)?,
            options,
        })
    }
}

const ALTERNATE_SCRIPT_TAG: &[u8; 3] = b"880";

/// Compiled outputs, reusable for a whole job and across threads.
#[derive(Debug, Clone)]
pub struct Extractor {
    outputs: Vec<Output>,
    /// For tags made of three digits, other than 880: the `(output, spec)` pairs whose spec
    /// tag matches it, in output and then spec order, as `wanted[n]..wanted[n + 1]` of
    /// `pairs`. A field nobody asked for costs one lookup; one somebody did, only its specs.
    wanted: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    /// Whether an 880 may give any output a value: as the tag its `$6` names, or as 880.
    wants_880: bool,
    /// The `(output, spec)` pairs of leader specs (`LDR`), in output and then spec order.
    leader_pairs: Vec<(usize, usize)>,
}

/// The value lists of records, one buffer plus offsets: what an extraction gives, with no
/// allocation per value or record. Each record adds one list per output, in output order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    text: String,
    /// The end of each value in `text` (its start is the end before it).
    ends: Vec<usize>,
    /// The end of each list in `ends`.
    lists: Vec<usize>,
}

impl Values {
    pub fn new() -> Values {
        Values::default()
    }

    /// How many lists there are.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The values of list `i`, in order.
    pub fn list(
        &self,
        i: usize,
    ) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + Clone {
        let first = if i == 0 { 0 } else { self.lists[i - 1] };
        (first..self.lists[i]).map(move |v| self.value(v))
    }

    /// Every value of every list, in order.
    pub fn all(&self) -> impl Iterator<Item = &str> + Clone {
        (0..self.ends.len()).map(move |v| self.value(v))
    }

    #[inline]
    fn value(&self, v: usize) -> &str {
        let (start, end) = (if v == 0 { 0 } else { self.ends[v - 1] }, self.ends[v]);
        debug_assert!(self.text.is_char_boundary(start) && self.text.is_char_boundary(end));
        assert!(start <= end && end <= self.text.len());
        // SAFETY: every end was `text.len()` just after a whole `&str` was pushed (`push`),
        // and text is only ever cleared with its ends, so each is a char boundary; the
        // assert keeps the range inside `text`. Slicing with `&text[..]` checked both
        // boundaries again: 2% of an extraction's time.
        unsafe { self.text.get_unchecked(start..end) }
    }

    fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.ends.push(self.text.len());
    }

    // Values since value `from` (the list being made).
    fn since(&self, from: usize) -> impl Iterator<Item = &str> {
        (from..self.ends.len()).map(move |v| self.value(v))
    }

    fn end_list(&mut self) {
        self.lists.push(self.ends.len());
    }
}

/// Buffers an extraction reuses from record to record (see [`Extractor::extract_values`]).
#[derive(Debug, Default)]
pub struct Scratch {
    /// Each output's values for the record at hand, before its options apply.
    pending: Vec<Values>,
    /// A value being joined from several subfields.
    joined: Vec<u8>,
}

impl Extractor {
    pub fn new(outputs: Vec<Output>) -> Extractor {
        let mut wanted = Vec::with_capacity(1001);
        let mut pairs = Vec::new();
        for n in 0..1000usize {
            wanted.push(pairs.len() as u32);
            let tag = [
                b'0' + (n / 100) as u8,
                b'0' + (n / 10 % 10) as u8,
                b'0' + (n % 10) as u8,
            ];
            if &tag == ALTERNATE_SCRIPT_TAG {
                continue;
            }
            for (o, output) in outputs.iter().enumerate() {
                if output.options.alternate_script == AlternateScript::Only {
                    continue;
                }
                for (s, spec) in output.specs.iter().enumerate() {
                    if spec.tag().is_some_and(|t| t.matches(&tag)) {
                        pairs.push((o as u32, s as u32));
                    }
                }
            }
        }
        wanted.push(pairs.len() as u32);
        let wants_880 = outputs.iter().any(|o| match o.options.alternate_script {
            AlternateScript::Ignore => o
                .specs
                .iter()
                .any(|s| s.tag().is_some_and(|t| t.matches(ALTERNATE_SCRIPT_TAG))),
            _ => true,
        });
        let leader_pairs = outputs
            .iter()
            .enumerate()
            .flat_map(|(o, output)| {
                output
                    .specs
                    .iter()
                    .enumerate()
                    .filter(|(_, spec)| matches!(spec, Spec::Leader { .. }))
                    .map(move |(s, _)| (o, s))
            })
            .collect();
        Extractor {
            outputs,
            wanted,
            pairs,
            wants_880,
            leader_pairs,
        }
    }

    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The values of every output for `record`, in output order.
    pub fn extract<R: RecordView>(&self, record: &R) -> Vec<Vec<String>> {
        let mut values = Values::new();
        self.extract_values(record, &mut Scratch::default(), &mut values);
        (0..values.len())
            .map(|i| values.list(i).map(str::to_string).collect())
            .collect()
    }

    /// Adds `record`'s value lists, one per output, to `values`. `scratch` is reused from
    /// record to record, so that a batch costs a few allocations, not a few per value.
    pub fn extract_values<R: RecordView>(
        &self,
        record: &R,
        scratch: &mut Scratch,
        values: &mut Values,
    ) {
        let Scratch { pending, joined } = scratch;
        // Whether the parser already found the values valid UTF-8 (most records): then
        // they are taken as text without checking them again.
        let checked = record.values_are_utf8();
        pending.resize_with(self.outputs.len(), Values::default);
        for list in pending.iter_mut() {
            list.text.clear();
            list.ends.clear();
        }
        for &(output, spec) in &self.leader_pairs {
            if let Spec::Leader { slice } = &self.outputs[output].specs[spec] {
                let leader = record.leader();
                if let Some(bytes) = slice.map_or(Some(leader), |s| s.take(leader)) {
                    push_text(&mut pending[output], bytes, false);
                }
            }
        }
        for field in record.view_fields_where(|tag| self.may_match(tag)) {
            match field {
                FieldView::Control { tag, value } => {
                    for (output, spec) in self.plain_pairs(&tag, tag_number(&tag)) {
                        let list = &mut pending[output];
                        if full(&self.outputs[output], list) {
                            continue;
                        }
                        // A slice may cut a character: it is checked.
                        let (bytes, whole) = match spec {
                            Spec::Bytes { slice, .. } => (slice.take(value), false),
                            _ => (Some(value), true),
                        };
                        if let Some(bytes) = bytes {
                            push_text(list, bytes, checked && whole);
                        }
                    }
                }
                FieldView::Data {
                    tag,
                    ind1,
                    ind2,
                    subfields,
                } => {
                    let number = tag_number(&tag);
                    if number.is_none_or(|n| n == ALTERNATE_SCRIPT_NUMBER) {
                        let is_880 = number.is_some();
                        let data = (ind1, ind2, subfields, checked);
                        self.any_field(&tag, is_880, data, pending, joined);
                        continue;
                    }
                    for (output, spec) in self.plain_pairs(&tag, number) {
                        let (options, list) = (&self.outputs[output].options, &mut pending[output]);
                        if !full(&self.outputs[output], list) && indicators_match(spec, ind1, ind2)
                        {
                            let subfields = subfields.clone();
                            collect_subfields(spec, subfields, options, checked, list, joined);
                        }
                    }
                }
            }
        }
        for (output, list) in self.outputs.iter().zip(pending.iter()) {
            finish(&output.options, list, values);
        }
    }

    /// Whether a field with this tag may give any output a value: `false` only for tags of
    /// three digits that no spec names (an 880 when [`Extractor::wants_880`] says not), so
    /// that the fields of those are skipped unseen. Other tags go the slow way.
    #[inline]
    fn may_match(&self, tag: &[u8; 3]) -> bool {
        match tag_number(tag) {
            Some(ALTERNATE_SCRIPT_NUMBER) => self.wants_880,
            Some(n) => self.wanted[n] != self.wanted[n + 1],
            None => true,
        }
    }

    /// The `(output index, spec)` pairs a field with this tag is matched against, when it
    /// is not an 880 (the tag itself counts): none for a tag no spec names.
    fn plain_pairs<'e>(
        &'e self,
        tag: &[u8; 3],
        number: Option<usize>,
    ) -> impl Iterator<Item = (usize, &'e Spec)> + 'e {
        let pairs: &[(u32, u32)] = match number {
            Some(n) => &self.pairs[self.wanted[n] as usize..self.wanted[n + 1] as usize],
            None => &[],
        };
        let others = number
            .is_none()
            .then_some(*tag)
            .into_iter()
            .flat_map(move |tag| self.other_pairs(tag));
        pairs
            .iter()
            .map(move |&(o, s)| (o as usize, &self.outputs[o as usize].specs[s as usize]))
            .chain(others)
    }

    // A tag that is not three digits: every output's specs are looked at.
    fn other_pairs(&self, tag: [u8; 3]) -> impl Iterator<Item = (usize, &Spec)> + '_ {
        self.outputs
            .iter()
            .enumerate()
            .filter(|(_, o)| o.options.alternate_script != AlternateScript::Only)
            .flat_map(move |(o, output)| {
                output
                    .specs
                    .iter()
                    .filter(move |spec| spec.tag().is_some_and(|t| t.matches(&tag)))
                    .map(move |spec| (o, spec))
            })
    }

    // A data field whose tag is not three digits, or an 880, which may count as the tag its
    // first `$6` begins with: each output's specs in turn.
    fn any_field<'r, S: Iterator<Item = (u8, &'r [u8])> + Clone>(
        &self,
        tag: &[u8; 3],
        is_880: bool,
        (ind1, ind2, subfields, checked): (u8, u8, S, bool),
        pending: &mut [Values],
        joined: &mut Vec<u8>,
    ) {
        if is_880 && !self.wants_880 {
            return;
        }
        // traject: the first three bytes of the first $6, else 880 itself.
        let linked: &[u8] = subfields
            .clone()
            .find(|(code, _)| *code == b'6')
            .map_or(ALTERNATE_SCRIPT_TAG, |(_, v)| &v[..v.len().min(3)]);
        for (output, list) in self.outputs.iter().zip(pending.iter_mut()) {
            let effective: &[u8] = match output.options.alternate_script {
                AlternateScript::Only if !is_880 => continue,
                AlternateScript::Ignore => tag,
                _ if is_880 => linked,
                _ => tag,
            };
            if full(output, list) {
                continue;
            }
            for spec in matching(output, effective) {
                if indicators_match(spec, ind1, ind2) {
                    let options = &output.options;
                    collect_subfields(spec, subfields.clone(), options, checked, list, joined);
                }
            }
        }
    }
}

// The tag's number, from its bytes as values: a tag built byte by byte and read back as a
// word would stall on the store (measured: a third of the extraction's time).
#[inline]
fn tag_number(tag: &[u8; 3]) -> Option<usize> {
    let [a, b, c] = *tag;
    let (a, b, c) = (
        a.wrapping_sub(b'0'),
        b.wrapping_sub(b'0'),
        c.wrapping_sub(b'0'),
    );
    (a < 10 && b < 10 && c < 10).then(|| a as usize * 100 + b as usize * 10 + c as usize)
}

const ALTERNATE_SCRIPT_NUMBER: usize = 880;

// With `first`, one value is all the output keeps: the rest of the record is not read for it.
fn full(output: &Output, list: &Values) -> bool {
    output.options.first && !list.ends.is_empty()
}

// The specs of `output` whose tag matches `tag` (a data field's effective tag).
fn matching<'o>(output: &'o Output, tag: &'o [u8]) -> impl Iterator<Item = &'o Spec> + 'o {
    output
        .specs
        .iter()
        .filter(move |spec| spec.tag().is_some_and(|t| t.matches(tag)))
}

// A data field's indicators against a spec's filters (a slice spec has none).
fn indicators_match(spec: &Spec, ind1: u8, ind2: u8) -> bool {
    match spec {
        Spec::Field {
            ind1: want1,
            ind2: want2,
            ..
        } => want1.is_none_or(|w| w == ind1) && want2.is_none_or(|w| w == ind2),
        _ => true,
    }
}

fn collect_subfields<'r>(
    spec: &Spec,
    subfields: impl Iterator<Item = (u8, &'r [u8])>,
    options: &OutputOptions,
    checked: bool,
    list: &mut Values,
    joined: &mut Vec<u8>,
) {
    let codes = match spec {
        Spec::Field { codes, .. } => codes.as_deref(),
        _ => None,
    };
    let selected = subfields
        .filter(|(code, _)| codes.is_none_or(|codes| codes.contains(code)))
        .map(|(_, value)| value);
    match &options.separator {
        Some(separator) if spec.joinable() => {
            joined.clear();
            let mut any = false;
            for value in selected {
                if any {
                    joined.extend_from_slice(separator.as_bytes());
                }
                joined.extend_from_slice(value);
                any = true;
            }
            if any {
                // Checked values joined by a `String` separator are text.
                push_text(list, joined, checked);
            }
        }
        _ => {
            for value in selected {
                push_text(list, value, checked);
            }
        }
    }
}

// Values are text: bytes that are not UTF-8 (a record read without UTF-8 checks) become
// U+FFFD rather than an error at this late point. `checked`: the parser found them UTF-8
// (`RecordView::values_are_utf8`); checking each value again was 4% of an extraction.
#[inline]
fn push_text(list: &mut Values, bytes: &[u8], checked: bool) {
    if checked {
        debug_assert!(
            std::str::from_utf8(bytes).is_ok(),
            "checked values are UTF-8"
        );
        // SAFETY: `checked` is only true for a whole value (or values joined by a `String`)
        // of a record whose data the parser validated as UTF-8 (`Record::utf8_checked`):
        // values are split at ASCII bytes (delimiters, codes, indicators) or after a whole
        // two-byte folded code (`subfield_code`), never inside a character.
        list.push(unsafe { std::str::from_utf8_unchecked(bytes) });
        return;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => list.push(text),
        Err(_) => list.push(&String::from_utf8_lossy(bytes)),
    }
}

// traject's `apply_extraction_options`, in its order: `first`, `trim_punctuation`,
// `dedupe` (the first of equal values kept), `default`; the list then ends in `values`.
fn finish(options: &OutputOptions, pending: &Values, values: &mut Values) {
    let start = values.ends.len();
    let count = if options.first {
        pending.ends.len().min(1)
    } else {
        pending.ends.len()
    };
    let raw = (0..count).map(|v| pending.value(v));
    if options.trim_punctuation {
        let trimmed: Vec<String> = raw.map(trim_punctuation).collect();
        push_all(
            values,
            trimmed.iter().map(String::as_str),
            options.dedupe,
            start,
        );
    } else {
        push_all(values, raw, options.dedupe, start);
    }
    if values.ends.len() == start {
        if let Some(default) = &options.default {
            values.push(default);
        }
    }
    values.end_list();
}

// Pushes `list`, without repeats when `dedupe`: a scan of the values kept for the few a
// list usually has, a set (of the values' own strings, nothing copied) for long lists.
fn push_all<'v>(
    values: &mut Values,
    list: impl ExactSizeIterator<Item = &'v str>,
    dedupe: bool,
    start: usize,
) {
    if !dedupe {
        list.for_each(|v| values.push(v));
    } else if list.len() <= 16 {
        for v in list {
            if !values.since(start).any(|kept| kept == v) {
                values.push(v);
            }
        }
    } else {
        let mut seen = HashSet::with_capacity(list.len());
        for v in list {
            if seen.insert(v) {
                values.push(v);
            }
        }
    }
}
