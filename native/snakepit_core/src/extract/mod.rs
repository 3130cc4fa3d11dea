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
    /// For tags made of three digits: whether any output may want the field, so that
    /// the fields nobody asked for cost one table lookup.
    wanted_numeric: Vec<bool>,
}

impl Extractor {
    pub fn new(outputs: Vec<Output>) -> Extractor {
        let wanted_numeric = (0..1000)
            .map(|n: usize| {
                let tag = [
                    b'0' + (n / 100) as u8,
                    b'0' + (n / 10 % 10) as u8,
                    b'0' + (n % 10) as u8,
                ];
                outputs.iter().any(|o| wants_tag(o, &tag))
            })
            .collect();
        Extractor {
            outputs,
            wanted_numeric,
        }
    }

    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The values of every output for `record`, in output order.
    pub fn extract<R: RecordView>(&self, record: &R) -> Vec<Vec<String>> {
        let mut values = vec![Vec::new(); self.outputs.len()];
        self.extract_into(record, &mut values);
        values
    }

    /// [`Extractor::extract`] into `values` (resized to the outputs, each list cleared), so
    /// that a stream reuses its buffers.
    pub fn extract_into<R: RecordView>(&self, record: &R, values: &mut Vec<Vec<String>>) {
        values.resize_with(self.outputs.len(), Vec::new);
        for list in values.iter_mut() {
            list.clear();
        }
        for (output, list) in self.outputs.iter().zip(values.iter_mut()) {
            for spec in &output.specs {
                if let Spec::Leader { slice } = spec {
                    let leader = record.leader();
                    if let Some(bytes) = slice.map_or(Some(leader), |s| s.take(leader)) {
                        list.push(text(bytes));
                    }
                }
            }
        }
        let mut subfields: Vec<(u8, &[u8])> = Vec::new();
        for field in record.view_fields() {
            match field {
                FieldView::Control { tag, value } => {
                    if !self.wanted(&tag) {
                        continue;
                    }
                    for (output, list) in self.outputs.iter().zip(values.iter_mut()) {
                        if output.options.alternate_script == AlternateScript::Only
                            || full(output, list)
                        {
                            continue;
                        }
                        for spec in matching(output, &tag, b' ', b' ', false) {
                            let bytes = match spec {
                                Spec::Bytes { slice, .. } => slice.take(value),
                                _ => Some(value),
                            };
                            if let Some(bytes) = bytes {
                                list.push(text(bytes));
                            }
                        }
                    }
                }
                FieldView::Data {
                    tag,
                    ind1,
                    ind2,
                    subfields: iter,
                } => {
                    if !self.wanted(&tag) {
                        continue;
                    }
                    subfields.clear();
                    subfields.extend(iter);
                    let is_880 = &tag == ALTERNATE_SCRIPT_TAG;
                    // traject: the first three bytes of the first $6, else 880 itself.
                    let linked: &[u8] = subfields
                        .iter()
                        .find(|(code, _)| *code == b'6')
                        .map_or(ALTERNATE_SCRIPT_TAG, |(_, v)| &v[..v.len().min(3)]);
                    for (output, list) in self.outputs.iter().zip(values.iter_mut()) {
                        let alternate = output.options.alternate_script;
                        let effective: &[u8] = match alternate {
                            AlternateScript::Only if !is_880 => continue,
                            AlternateScript::Ignore => &tag,
                            _ if is_880 => linked,
                            _ => &tag,
                        };
                        if full(output, list) {
                            continue;
                        }
                        for spec in matching(output, effective, ind1, ind2, true) {
                            collect_subfields(spec, &subfields, output, list);
                        }
                    }
                }
            }
        }
        for (output, list) in self.outputs.iter().zip(values.iter_mut()) {
            finish(&output.options, list);
        }
    }

    #[inline]
    fn wanted(&self, tag: &[u8; 3]) -> bool {
        match tag_number(tag) {
            Some(n) => self.wanted_numeric[n],
            None => self.outputs.iter().any(|o| wants_tag(o, tag)),
        }
    }
}

#[inline]
fn tag_number(tag: &[u8; 3]) -> Option<usize> {
    tag.iter().try_fold(0usize, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + (b - b'0') as usize)
    })
}

// Whether a field with this tag could give `output` a value: a spec matches the tag, or it
// is an 880 that may stand for one.
fn wants_tag(output: &Output, tag: &[u8; 3]) -> bool {
    let alternate = output.options.alternate_script;
    (tag == ALTERNATE_SCRIPT_TAG && alternate != AlternateScript::Ignore)
        || (alternate != AlternateScript::Only
            && output
                .specs
                .iter()
                .any(|s| s.tag().is_some_and(|t| t.matches(tag))))
}

// With `first`, one value is all the output keeps: the rest of the record is not read for it.
fn full(output: &Output, list: &[String]) -> bool {
    output.options.first && !list.is_empty()
}

fn matching<'o>(
    output: &'o Output,
    tag: &'o [u8],
    ind1: u8,
    ind2: u8,
    data: bool,
) -> impl Iterator<Item = &'o Spec> + 'o {
    output.specs.iter().filter(move |spec| match spec {
        Spec::Field {
            tag: pattern,
            ind1: want1,
            ind2: want2,
            ..
        } => {
            pattern.matches(tag)
                && (!data || (want1.is_none_or(|w| w == ind1) && want2.is_none_or(|w| w == ind2)))
        }
        Spec::Bytes { tag: pattern, .. } => pattern.matches(tag),
        Spec::Leader { .. } => false,
    })
}

fn collect_subfields(
    spec: &Spec,
    subfields: &[(u8, &[u8])],
    output: &Output,
    list: &mut Vec<String>,
) {
    let codes = match spec {
        Spec::Field { codes, .. } => codes.as_deref(),
        _ => None,
    };
    let selected = subfields
        .iter()
        .filter(|(code, _)| codes.is_none_or(|codes| codes.contains(code)))
        .map(|(_, value)| *value);
    match &output.options.separator {
        Some(separator) if spec.joinable() => {
            let mut joined: Option<Vec<u8>> = None;
            for value in selected {
                match &mut joined {
                    None => joined = Some(value.to_vec()),
                    Some(buf) => {
                        buf.extend_from_slice(separator.as_bytes());
                        buf.extend_from_slice(value);
                    }
                }
            }
            if let Some(buf) = joined {
                list.push(match String::from_utf8(buf) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                });
            }
        }
        _ => list.extend(selected.map(text)),
    }
}

// Values are text: bytes that are not UTF-8 (a record read without UTF-8 checks) become
// U+FFFD rather than an error at this late point.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// Drops repeated values, keeping the first of each: a scan for the few values a field list
// usually has, a set (of the values' own strings, nothing copied) for long lists.
fn dedupe(list: &mut Vec<String>) {
    if list.len() <= 16 {
        let mut kept = 0;
        for i in 0..list.len() {
            if !list[..kept].contains(&list[i]) {
                list.swap(kept, i);
                kept += 1;
            }
        }
        list.truncate(kept);
    } else {
        let keep: Vec<bool> = {
            let mut seen = HashSet::with_capacity(list.len());
            list.iter().map(|v| seen.insert(v.as_str())).collect()
        };
        let mut flags = keep.into_iter();
        list.retain(|_| flags.next().unwrap_or(false));
    }
}

// traject's `apply_extraction_options`, in its order.
fn finish(options: &OutputOptions, list: &mut Vec<String>) {
    if options.first {
        list.truncate(1);
    }
    if options.trim_punctuation {
        for value in list.iter_mut() {
            *value = trim_punctuation(value);
        }
    }
    if options.dedupe && list.len() > 1 {
        dedupe(list);
    }
    if list.is_empty() {
        if let Some(default) = &options.default {
            list.push(default.clone());
        }
    }
}
