//! Rule sets: the built-in checks switched on or off per code and re-rated, plus user rules,
//! read from JSON (see `docs/validation.md` for the format). Selectors reuse the extraction
//! spec syntax ([`crate::extract::parse_specs`]): `020a`, `245|1*|a`, `008[35-37]`, `LDR[6]`.

use super::codes::{Severity, BUILTIN};
use super::prepared::{Field, Kind, Prepared};
use super::schema::display_byte;
use super::{At, CodeState, Sink};
use crate::extract::{parse_specs, Spec, TagPattern};
use regex::bytes::{Regex, RegexBuilder};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Bounds on what a rule set may ask for: its text is the caller's.
pub const MAX_RULE_SET_BYTES: usize = 1024 * 1024;
pub const MAX_RULES: usize = 10_000;
pub const MAX_PATTERN_BYTES: usize = 4096;
/// Compiled size of one pattern (the regex crate's `size_limit` and `dfa_size_limit`).
pub const MAX_PATTERN_COMPILED: usize = 1024 * 1024;

/// A bad rule set: where (`rules[2].pattern`, or the line and column of a JSON syntax
/// error) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for RuleSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for RuleSetError {}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, RuleSetError> {
    Err(RuleSetError {
        path: path.to_string(),
        message: message.into(),
    })
}

/// What a [`super::Linter`] is compiled from.
#[derive(Debug)]
pub struct RuleSet {
    /// Whether the built-in MARC 21 checks run.
    pub builtin: bool,
    /// Every code: the built-in ones in order, then the rules' (one per rule).
    pub codes: Vec<CodeState>,
    pub rules: Vec<Rule>,
}

impl Default for RuleSet {
    /// The built-in checks, every code on at its default severity.
    fn default() -> Self {
        RuleSet {
            builtin: true,
            codes: builtin_codes(),
            rules: Vec::new(),
        }
    }
}

fn builtin_codes() -> Vec<CodeState> {
    BUILTIN
        .iter()
        .map(|d| CodeState {
            name: d.name.to_string(),
            severity: d.severity,
            enabled: true,
        })
        .collect()
}

/// One user rule.
#[derive(Debug)]
pub struct Rule {
    code: u32,
    /// Leader/06 values the rule applies to; `None`: every record.
    record_types: Option<Vec<u8>>,
    message: Option<String>,
    kind: RuleKind,
}

/// A rule set's text, JSON or TOML, is at most [`MAX_RULE_SET_BYTES`].
fn within_bound(text: &str) -> Result<(), RuleSetError> {
    if text.len() > MAX_RULE_SET_BYTES {
        return err(
            "",
            format!(
                "the rule set is {} bytes; at most {MAX_RULE_SET_BYTES} are allowed",
                text.len()
            ),
        );
    }
    Ok(())
}

/// `text` (TOML) as a JSON value, bounded like JSON text; a syntax error names its line
/// and column (1-based, the column in characters).
fn toml_value(text: &str) -> Result<Value, RuleSetError> {
    within_bound(text)?;
    toml::from_str::<Value>(text).map_err(|e| {
        let at = e.span().map_or(0, |span| span.start.min(text.len()));
        let before = text.get(..at).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        RuleSetError {
            path: String::new(),
            message: format!(
                "not valid TOML at line {line} column {column}: {}",
                e.message().trim_end()
            ),
        }
    })
}

#[derive(Debug)]
enum RuleKind {
    Require(Vec<TagPattern>),
    Forbid(Vec<TagPattern>),
    Pattern(Vec<Spec>, Regex, String),
    Allowed(Vec<Spec>, HashSet<Vec<u8>>),
    IfThen(Vec<TagPattern>, Vec<TagPattern>),
}

impl RuleSet {
    /// Parses and compiles a rule set written as JSON.
    pub fn from_json(text: &str) -> Result<RuleSet, RuleSetError> {
        within_bound(text)?;
        let value: Value = serde_json::from_str(text).map_err(|e| RuleSetError {
            path: String::new(),
            message: format!(
                "not valid JSON at line {} column {}: {}",
                e.line(),
                e.column(),
                e
            ),
        })?;
        RuleSet::from_value(&value)
    }

    /// Parses and compiles a rule set written as TOML: read into the same form as JSON
    /// (tables as objects, arrays as arrays), then compiled by [`RuleSet::from_value`].
    pub fn from_toml(text: &str) -> Result<RuleSet, RuleSetError> {
        RuleSet::from_value(&toml_value(text)?)
    }

    /// A TOML rule set as the JSON text it is the same as, for callers that keep a rule
    /// set as JSON (the Elixir side does, to compile it again on another node).
    pub fn toml_to_json(text: &str) -> Result<String, RuleSetError> {
        let value = toml_value(text)?;
        serde_json::to_string(&value).map_err(|e| RuleSetError {
            path: String::new(),
            message: format!("cannot write the TOML rule set as JSON: {e}"),
        })
    }

    /// Compiles a rule set already parsed.
    pub fn from_value(value: &Value) -> Result<RuleSet, RuleSetError> {
        let top = object(value, "")?;
        known_keys(
            top,
            "",
            &["builtin", "disable", "only", "severity", "rules"],
        )?;
        let builtin = match top.get("builtin") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return err("builtin", format!("must be true or false, got {other}")),
        };
        let mut set = RuleSet {
            builtin,
            codes: builtin_codes(),
            rules: Vec::new(),
        };
        if !builtin {
            for code in &mut set.codes {
                code.enabled = false;
            }
            // A parse error is still reported: it is not one of the MARC 21 checks.
            set.codes[0].enabled = true;
        }
        if let Some(rules) = top.get("rules") {
            let Value::Array(rules) = rules else {
                return err("rules", "must be a list of rules");
            };
            if rules.len() > MAX_RULES {
                return err(
                    "rules",
                    format!("{} rules; at most {MAX_RULES} are allowed", rules.len()),
                );
            }
            for (i, rule) in rules.iter().enumerate() {
                let rule = set.rule(rule, &format!("rules[{i}]"))?;
                set.rules.push(rule);
            }
        }
        if let Some(severities) = top.get("severity") {
            let map = object(severities, "severity")?;
            for (name, severity) in map {
                let path = format!("severity.{name}");
                let severity = severity_of(severity, &path)?;
                let matched = set.select(name, &path)?;
                for i in matched {
                    set.codes[i].severity = severity;
                }
            }
        }
        let disable = match top.get("disable") {
            Some(v) => strings(v, "disable")?,
            None => Vec::new(),
        };
        set.apply_disable(&disable, "disable")?;
        if let Some(only) = top.get("only") {
            set.apply_only(&strings(only, "only")?, "only")?;
        }
        Ok(set)
    }

    /// Switches off the codes `except` names and, with `only`, every code it does not name:
    /// after the set's own choices (the `only:` and `except:` options of `lint/2`, the
    /// `--only`/`--except` flags). Errors name the option: `only[0]: ...`.
    pub fn filter(
        &mut self,
        only: Option<&[String]>,
        except: &[String],
    ) -> Result<(), RuleSetError> {
        self.apply_disable(except, "except")?;
        match only {
            Some(only) => self.apply_only(only, "only"),
            None => Ok(()),
        }
    }

    fn apply_disable(&mut self, names: &[String], key: &str) -> Result<(), RuleSetError> {
        for (i, name) in names.iter().enumerate() {
            for code in self.select(name, &format!("{key}[{i}]"))? {
                self.codes[code].enabled = false;
            }
        }
        Ok(())
    }

    fn apply_only(&mut self, names: &[String], key: &str) -> Result<(), RuleSetError> {
        let mut keep = vec![false; self.codes.len()];
        for (i, name) in names.iter().enumerate() {
            for code in self.select(name, &format!("{key}[{i}]"))? {
                keep[code] = true;
            }
        }
        for (code, keep) in self.codes.iter_mut().zip(keep) {
            code.enabled &= keep;
        }
        Ok(())
    }

    /// The codes `name` selects: one code, or every code under a prefix (`subfield.*`).
    /// Naming no code at all is an error, so a misspelt code is never silently ignored.
    fn select(&self, name: &str, path: &str) -> Result<Vec<usize>, RuleSetError> {
        let matched: Vec<usize> = match name.strip_suffix('*') {
            Some(prefix) => self
                .codes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name.starts_with(prefix))
                .map(|(i, _)| i)
                .collect(),
            None => self
                .codes
                .iter()
                .position(|c| c.name == name)
                .into_iter()
                .collect(),
        };
        if matched.is_empty() {
            return err(
                path,
                format!("{name:?} names no code (see docs/validation.md for the list)"),
            );
        }
        Ok(matched)
    }

    fn rule(&mut self, value: &Value, path: &str) -> Result<Rule, RuleSetError> {
        let rule = object(value, path)?;
        known_keys(
            rule,
            path,
            &[
                "code",
                "severity",
                "message",
                "record_types",
                "require",
                "forbid",
                "at",
                "pattern",
                "allowed",
                "if",
                "then",
            ],
        )?;
        let code_path = format!("{path}.code");
        let name = match rule.get("code") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return err(
                    &code_path,
                    "every rule needs a code (a string such as \"local.035\")",
                )
            }
        };
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return err(
                &code_path,
                format!("{name:?}: a code is 1-64 letters, digits, '.', '_' or '-'"),
            );
        }
        if self.codes.iter().any(|c| c.name == name) {
            return err(&code_path, format!("{name:?} is already a code"));
        }
        let severity = match rule.get("severity") {
            None => Severity::Error,
            Some(s) => severity_of(s, &format!("{path}.severity"))?,
        };
        let message = match rule.get("message") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return err(&format!("{path}.message"), "must be a string"),
        };
        let record_types = match rule.get("record_types") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() && s.is_ascii() => Some(s.as_bytes().to_vec()),
            Some(_) => {
                return err(
                    &format!("{path}.record_types"),
                    "must be a string of leader/06 values, such as \"acdm\"",
                )
            }
        };
        let kind = rule_kind(rule, path)?;
        self.codes.push(CodeState {
            name,
            severity,
            enabled: true,
        });
        Ok(Rule {
            code: (self.codes.len() - 1) as u32,
            record_types,
            message,
            kind,
        })
    }
}

fn rule_kind(rule: &Map<String, Value>, path: &str) -> Result<RuleKind, RuleSetError> {
    let has = |k: &str| rule.contains_key(k);
    let kinds = ["require", "forbid", "pattern", "allowed", "if"]
        .iter()
        .filter(|k| has(k))
        .count();
    if kinds != 1 {
        return err(
            path,
            "a rule has exactly one of \"require\", \"forbid\", \"pattern\" (with \"at\"), \
             \"allowed\" (with \"at\") or \"if\" (with \"then\")",
        );
    }
    let tags = |key: &str| -> Result<Vec<TagPattern>, RuleSetError> {
        let key_path = format!("{path}.{key}");
        match rule.get(key) {
            Some(Value::String(s)) => tag_patterns(s, &key_path),
            _ => err(
                &key_path,
                "must be a string of tags, such as \"035\" or \"100:110\"",
            ),
        }
    };
    let at = || -> Result<Vec<Spec>, RuleSetError> {
        let at_path = format!("{path}.at");
        match rule.get("at") {
            Some(Value::String(s)) => parse_specs(s).map_err(|e| RuleSetError {
                path: at_path,
                message: format!("{s:?}: {e}"),
            }),
            _ => err(
                &at_path,
                "\"pattern\" and \"allowed\" need \"at\", the values to check, such as \"020a\" or \"008[35-37]\"",
            ),
        }
    };
    let only_with = |allowed: &[&str]| -> Result<(), RuleSetError> {
        for key in ["at", "then"] {
            if has(key) && !allowed.contains(&key) {
                return err(
                    &format!("{path}.{key}"),
                    "does not go with this kind of rule",
                );
            }
        }
        Ok(())
    };
    if has("require") {
        only_with(&[])?;
        Ok(RuleKind::Require(tags("require")?))
    } else if has("forbid") {
        only_with(&[])?;
        Ok(RuleKind::Forbid(tags("forbid")?))
    } else if has("if") {
        only_with(&["then"])?;
        Ok(RuleKind::IfThen(tags("if")?, tags("then")?))
    } else if has("pattern") {
        only_with(&["at"])?;
        let specs = at()?;
        let pattern_path = format!("{path}.pattern");
        let Some(Value::String(pattern)) = rule.get("pattern") else {
            return err(&pattern_path, "must be a string (a regular expression)");
        };
        if pattern.len() > MAX_PATTERN_BYTES {
            return err(
                &pattern_path,
                format!(
                    "{} bytes; at most {MAX_PATTERN_BYTES} are allowed",
                    pattern.len()
                ),
            );
        }
        let regex = RegexBuilder::new(pattern)
            .size_limit(MAX_PATTERN_COMPILED)
            .dfa_size_limit(MAX_PATTERN_COMPILED)
            .build()
            .map_err(|e| RuleSetError {
                path: pattern_path,
                message: format!("not a valid regular expression: {e}"),
            })?;
        Ok(RuleKind::Pattern(specs, regex, pattern.clone()))
    } else {
        only_with(&["at"])?;
        let specs = at()?;
        let allowed_path = format!("{path}.allowed");
        let values = strings(&rule["allowed"], &allowed_path)?;
        if values.is_empty() {
            return err(&allowed_path, "lists no values");
        }
        Ok(RuleKind::Allowed(
            specs,
            values.into_iter().map(String::into_bytes).collect(),
        ))
    }
}

fn tag_patterns(text: &str, path: &str) -> Result<Vec<TagPattern>, RuleSetError> {
    text.split(':')
        .map(|tag| {
            let bytes = tag.trim().as_bytes();
            if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_alphanumeric) {
                Ok(TagPattern(
                    [bytes[0], bytes[1], bytes[2]].map(|b| (b != b'X').then_some(b)),
                ))
            } else {
                err(
                    path,
                    format!("{tag:?} is not a tag (three letters or digits, X for any)"),
                )
            }
        })
        .collect()
}

fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, RuleSetError> {
    match value {
        Value::Object(map) => Ok(map),
        other => err(path, format!("must be an object, got {}", short(other))),
    }
}

fn known_keys(map: &Map<String, Value>, path: &str, known: &[&str]) -> Result<(), RuleSetError> {
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            return err(
                &at,
                format!("unknown key; known keys: {}", known.join(", ")),
            );
        }
    }
    Ok(())
}

fn strings(value: &Value, path: &str) -> Result<Vec<String>, RuleSetError> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => err(
                    &format!("{path}[{i}]"),
                    format!("must be a string, got {}", short(other)),
                ),
            })
            .collect(),
        other => err(
            path,
            format!("must be a list of strings, got {}", short(other)),
        ),
    }
}

fn severity_of(value: &Value, path: &str) -> Result<Severity, RuleSetError> {
    match value {
        Value::String(s) => Severity::from_name(s).map_or_else(
            || err(path, format!("{s:?}; allowed: error, warning, info")),
            Ok,
        ),
        other => err(
            path,
            format!(
                "must be \"error\", \"warning\" or \"info\", got {}",
                short(other)
            ),
        ),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

impl Rule {
    pub(crate) fn check(&self, record: &Prepared<'_>, sink: &mut Sink<'_>) {
        if !sink.on(self.code) {
            return;
        }
        if let Some(types) = &self.record_types {
            if !types.contains(&record.record_type()) {
                return;
            }
        }
        let name = &sink.codes[self.code as usize].name.clone();
        match &self.kind {
            RuleKind::Require(tags) => {
                if !record.fields.iter().any(|f| any_tag(tags, &f.tag)) {
                    let found = "none".to_string();
                    self.report(sink, At::default(), || {
                        format!(
                            "no {} field; rule {name} requires one (found: {found})",
                            describe_tags(tags)
                        )
                    });
                }
            }
            RuleKind::Forbid(tags) => {
                for field in record.fields.iter().filter(|f| any_tag(tags, &f.tag)) {
                    self.report(sink, record.at_field(field), || {
                        format!(
                            "{} is present; rule {name} forbids {}",
                            String::from_utf8_lossy(&field.tag),
                            describe_tags(tags)
                        )
                    });
                }
            }
            RuleKind::IfThen(when, then) => {
                let first = record.fields.iter().find(|f| any_tag(when, &f.tag));
                if let Some(field) = first {
                    if !record.fields.iter().any(|f| any_tag(then, &f.tag)) {
                        self.report(sink, record.at_field(field), || {
                            format!(
                                "{} is present but no {}; rule {name} requires one with it",
                                String::from_utf8_lossy(&field.tag),
                                describe_tags(then)
                            )
                        });
                    }
                }
            }
            RuleKind::Pattern(specs, regex, source) => {
                select(record, specs, |at, what, value| {
                    if !regex.is_match(value) {
                        self.report(sink, at, || {
                            format!(
                                "{what} is {:?}; rule {name} allows only values matching /{source}/",
                                String::from_utf8_lossy(value)
                            )
                        });
                    }
                });
            }
            RuleKind::Allowed(specs, allowed) => {
                select(record, specs, |at, what, value| {
                    if !allowed.contains(value) {
                        self.report(sink, at, || {
                            let mut list: Vec<String> = allowed
                                .iter()
                                .take(20)
                                .map(|v| String::from_utf8_lossy(v).into_owned())
                                .collect();
                            list.sort();
                            if allowed.len() > 20 {
                                list.push(format!("... ({} in all)", allowed.len()));
                            }
                            format!(
                                "{what} is {:?}; rule {name} allows: {}",
                                String::from_utf8_lossy(value),
                                list.join(", ")
                            )
                        });
                    }
                });
            }
        }
    }

    fn report(&self, sink: &mut Sink<'_>, at: At, message: impl FnOnce() -> String) {
        let generated = message();
        let text = match &self.message {
            Some(own) => format!("{own} ({generated})"),
            None => generated,
        };
        sink.push(self.code, at, text.into());
    }
}

fn any_tag(tags: &[TagPattern], tag: &[u8; 3]) -> bool {
    tags.iter().any(|t| t.matches(tag))
}

fn describe_tags(tags: &[TagPattern]) -> String {
    let names: Vec<String> = tags
        .iter()
        .map(|t| t.0.iter().map(|b| b.map_or('X', char::from)).collect())
        .collect();
    names.join(" or ")
}

/// Calls `each(at, what, value)` for every value `specs` select in `record`: a subfield, a
/// control field's value or slice, the leader or a slice of it.
fn select<'r>(record: &Prepared<'r>, specs: &[Spec], mut each: impl FnMut(At, String, &[u8])) {
    for spec in specs {
        match spec {
            Spec::Leader { slice } => {
                let leader = record.leader;
                let value = slice.map_or(Some(leader), |s| s.take(leader));
                if let Some(value) = value {
                    let start = slice.map_or(0, |s| s.start);
                    each(record.at_position(None, start), "the leader".into(), value);
                }
            }
            Spec::Bytes { tag, slice } => {
                for field in record.fields.iter().filter(|f| tag.matches(&f.tag)) {
                    if let Kind::Control(value) = field.kind {
                        if let Some(bytes) = slice.take(value) {
                            let what = format!(
                                "{}/{}",
                                String::from_utf8_lossy(&field.tag),
                                slice_name(slice.start, slice.end)
                            );
                            each(record.at_position(Some(field), slice.start), what, bytes);
                        }
                    }
                }
            }
            Spec::Field {
                tag,
                ind1,
                ind2,
                codes,
            } => {
                for field in record.fields.iter().filter(|f| tag.matches(&f.tag)) {
                    match &field.kind {
                        Kind::Control(value) => {
                            let what = String::from_utf8_lossy(&field.tag).into_owned();
                            each(record.at_field(field), what, value);
                        }
                        Kind::Data {
                            ind1: i1, ind2: i2, ..
                        } => {
                            if ind1.is_some_and(|w| w != *i1) || ind2.is_some_and(|w| w != *i2) {
                                continue;
                            }
                            subfield_values(record, field, codes.as_deref(), &mut each);
                        }
                    }
                }
            }
        }
    }
}

fn subfield_values(
    record: &Prepared<'_>,
    field: &Field<'_>,
    codes: Option<&[u8]>,
    each: &mut impl FnMut(At, String, &[u8]),
) {
    for &(code, value) in record.subfields_of(field) {
        if codes.is_none_or(|c| c.contains(&code)) {
            let what = format!(
                "{} ${}",
                String::from_utf8_lossy(&field.tag),
                display_byte(code)
            );
            each(record.at_subfield(field, code, value), what, value);
        }
    }
}

fn slice_name(start: usize, end: Option<usize>) -> String {
    match end {
        Some(end) if end != start => format!("{start:02}-{end:02}"),
        _ => format!("{start:02}"),
    }
}
