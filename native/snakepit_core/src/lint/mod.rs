//! Validation: MARC 21 rules and user rule sets, evaluated over any [`RecordView`].
//!
//! A [`Linter`] is compiled once from a [`RuleSet`] (the built-in MARC 21 checks, which may
//! be switched off per code or given another severity, plus user rules) and then run over
//! records on any thread. Each problem is an [`Issue`] with a stable code, a severity, where
//! it was found (tag, field index, subfield code, byte offset within the record when the
//! record was parsed from ISO 2709) and a message naming what was found and what is allowed.
//!
//! The MARC 21 tables come from [`schema::Schema`], the one interface the table-driven checks
//! use (see `docs/validation.md` for where its data comes from).

mod builtin;
pub mod codes;
mod content;
pub mod fx;
mod prepared;
pub mod rules;
pub mod schema;
mod tables;

pub use codes::{CodeDef, Severity, BUILTIN};
pub use prepared::Prepared;
pub use rules::{RuleSet, RuleSetError};

use crate::record::Record;
use crate::view::RecordView;

/// Where an issue was found. Every part is optional: a record-level issue (a missing 245)
/// has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct At {
    /// The field's tag, or `LDR` for the leader.
    pub tag: Option<[u8; 3]>,
    /// The field's index in record order (0-based).
    pub field_index: Option<u32>,
    pub subfield: Option<u8>,
    /// Bytes from the start of the record: of the field, or of the subfield's delimiter, or
    /// of the leader or fixed-field position.
    pub byte_offset: Option<u32>,
}

/// One problem found in one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issue {
    /// Index into [`Linter::codes`].
    pub code: u32,
    pub severity: Severity,
    pub at: At,
    /// Shared, not copied: a message remembered on a thread ([`emit_as!`]) is the same
    /// allocation in every issue that repeats it, so an issue costs no allocation, and a
    /// caller can tell repeats apart by address ([`std::sync::Arc::as_ptr`]).
    pub message: std::sync::Arc<str>,
}

/// A code as a compiled linter knows it: its name, its severity (the default or the rule
/// set's), and whether it is reported at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    pub name: String,
    pub severity: Severity,
    pub enabled: bool,
}

/// What checks write to: issues of enabled codes only. Messages are formatted only for
/// enabled codes ([`emit!`]).
pub(crate) struct Sink<'a> {
    pub(crate) codes: &'a [CodeState],
    pub(crate) issues: &'a mut Vec<Issue>,
    /// Issues one record may have; the rest are counted in one last `lint.too_many_issues`.
    pub(crate) cap: usize,
    pub(crate) dropped: usize,
    /// Where messages are formatted before each is copied out at its exact length: no
    /// string grows by reallocation.
    pub(crate) text: &'a mut String,
    /// Messages already worded on this thread, by what decides them ([`emit_as!`]).
    pub(crate) memo: &'a mut Memo,
    /// Which tables the built-in messages were worded from: part of every memo key.
    pub(crate) schema_id: usize,
}

/// What decides one built-in message: the check that words it (`site`), the tables, and
/// up to two words of the check's own (tags, a code, a value of up to seven bytes...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MemoKey {
    site: u8,
    schema: usize,
    a: u64,
    b: u64,
}

/// Messages by [`MemoKey`]: files repeat the same few problems (the same undefined 008
/// position, the same local tag in every record), and a remembered message is copied
/// rather than formatted again. Cleared when full, so a hostile file cannot grow it.
#[derive(Debug, Default)]
pub(crate) struct Memo(std::collections::HashMap<MemoKey, std::sync::Arc<str>, fx::BuildFx>);

/// Messages a [`Memo`] holds at most.
const MEMO_ENTRIES: usize = 4096;

/// `bytes` of up to seven as one word (with their count), for a [`MemoKey`]; `None` when
/// longer.
#[inline]
pub(crate) fn pack(bytes: &[u8]) -> Option<u64> {
    (bytes.len() < 8).then(|| {
        bytes
            .iter()
            .enumerate()
            .fold((bytes.len() as u64) << 56, |w, (i, &b)| {
                w | u64::from(b) << (8 * i)
            })
    })
}

/// A tag as a word, for a [`MemoKey`].
#[inline]
pub(crate) fn pack_tag(tag: &[u8; 3]) -> u64 {
    u64::from(tag[0]) | u64::from(tag[1]) << 8 | u64::from(tag[2]) << 16
}

impl Sink<'_> {
    #[inline]
    pub(crate) fn on(&self, code: u32) -> bool {
        self.codes[code as usize].enabled
    }

    pub(crate) fn push(&mut self, code: u32, at: At, message: std::sync::Arc<str>) {
        if self.issues.len() >= self.cap {
            self.dropped += 1;
            return;
        }
        let severity = self.codes[code as usize].severity;
        self.issues.push(Issue {
            code,
            severity,
            at,
            message,
        });
    }

    /// [`Sink::push_args`] of a message remembered under (`site`, `key`), formatted from
    /// `args` the first time (see [`emit_as!`]); `key` is `None` when the message cannot
    /// be remembered (a value too long to pack).
    pub(crate) fn push_memo(
        &mut self,
        code: u32,
        at: At,
        (site, key): (u8, Option<(u64, u64)>),
        args: std::fmt::Arguments<'_>,
    ) {
        let Some((a, b)) = key else {
            return self.push_args(code, at, args);
        };
        if self.issues.len() >= self.cap {
            self.dropped += 1;
            return;
        }
        let key = MemoKey {
            site,
            schema: self.schema_id,
            a,
            b,
        };
        let message = match self.memo.0.get(&key) {
            Some(known) => known.clone(),
            None => {
                use std::fmt::Write;
                self.text.clear();
                let _ = self.text.write_fmt(args);
                if self.memo.0.len() >= MEMO_ENTRIES {
                    self.memo.0.clear();
                }
                let message: std::sync::Arc<str> = self.text.as_str().into();
                self.memo.0.insert(key, message.clone());
                message
            }
        };
        self.push(code, at, message);
    }

    /// [`Sink::push`] of a message formatted from `args` (see [`emit!`]).
    pub(crate) fn push_args(&mut self, code: u32, at: At, args: std::fmt::Arguments<'_>) {
        if self.issues.len() >= self.cap {
            self.dropped += 1;
            return;
        }
        use std::fmt::Write;
        self.text.clear();
        let _ = self.text.write_fmt(args);
        let message = self.text.as_str().into();
        self.push(code, at, message);
    }
}

/// `emit!(sink, code, at, "format", args...)`: the message is built only when the code is on.
macro_rules! emit {
    ($sink:expr, $code:expr, $at:expr, $($fmt:tt)+) => {{
        let code = $code as u32;
        if $sink.on(code) {
            $sink.push_args(code, $at, format_args!($($fmt)+));
        }
    }};
}
pub(crate) use emit;

/// `emit_as!(sink, code, at, (site, key), "format", args...)`: [`emit!`] of a message that
/// (`site`, `key`) decide entirely, with the tables: worded once per thread, then copied.
/// `site` names the call (one number per `emit_as!`), `key` is `Some((a, b))` of what else
/// the message depends on.
macro_rules! emit_as {
    ($sink:expr, $code:expr, $at:expr, $key:expr, $($fmt:tt)+) => {{
        let code = $code as u32;
        if $sink.on(code) {
            $sink.push_memo(code, $at, $key, format_args!($($fmt)+));
        }
    }};
}
pub(crate) use emit_as;

/// Issues one record may report before the rest are only counted: bounds the output of a
/// hostile record (every subfield of a 99,999-byte record empty) by a constant.
pub const MAX_ISSUES_PER_RECORD: usize = 1000;

thread_local! {
    static SCRATCH: std::cell::Cell<prepared::Scratch> = std::cell::Cell::default();
}

/// A compiled rule set, reusable for a whole job and across threads.
#[derive(Debug)]
pub struct Linter {
    codes: Vec<CodeState>,
    schema: Option<&'static schema::Schema>,
    rules: Vec<rules::Rule>,
}

impl Linter {
    /// Compiles `set`: the built-in checks (unless `set.builtin` is off) with the codes it
    /// disables or re-rates, then its rules. The schema is the MARC 21 tables.
    pub fn new(set: RuleSet) -> Linter {
        let RuleSet {
            builtin,
            codes,
            rules,
        } = set;
        Linter {
            codes,
            schema: builtin.then(schema::marc21),
            rules,
        }
    }

    /// Every code this linter can report, built-in first (in [`BUILTIN`] order), then the
    /// rule set's; an [`Issue`]'s `code` indexes this.
    pub fn codes(&self) -> &[CodeState] {
        &self.codes
    }

    /// The issues of `record`, in the order found, into `issues` (cleared first).
    pub fn lint_into<R: RecordView>(&self, record: &R, issues: &mut Vec<Issue>) {
        self.lint_prepared(|scratch| Prepared::new_in(record, scratch), issues);
    }

    /// [`Linter::lint_into`] for a parsed record, the same issues found faster
    /// ([`Prepared::from_record_in`]).
    pub fn lint_record_into(&self, record: &Record<'_>, issues: &mut Vec<Issue>) {
        self.lint_prepared(|scratch| Prepared::from_record_in(record, scratch), issues);
    }

    fn lint_prepared<'r>(
        &self,
        prepare: impl FnOnce(&mut prepared::Scratch) -> Prepared<'r>,
        issues: &mut Vec<Issue>,
    ) {
        issues.clear();
        // The buffers of the last record linted on this thread, reused: a clean record
        // allocates nothing.
        let mut scratch = SCRATCH.with(|s| s.take());
        let prepared = prepare(&mut scratch);
        let mut sink = Sink {
            codes: &self.codes,
            issues,
            cap: MAX_ISSUES_PER_RECORD,
            dropped: 0,
            text: &mut scratch.text,
            memo: &mut scratch.memo,
            schema_id: self
                .schema
                .map_or(0, |s| s as *const schema::Schema as usize),
        };
        if let Some(schema) = self.schema {
            builtin::check(&prepared, schema, &mut sink);
        }
        for rule in &self.rules {
            rule.check(&prepared, &mut sink);
        }
        if sink.dropped > 0 {
            let dropped = sink.dropped;
            sink.cap = usize::MAX;
            emit!(
                sink,
                codes::Builtin::TooManyIssues,
                At::default(),
                "{dropped} more issues in this record were not listed (at most {} are)",
                MAX_ISSUES_PER_RECORD
            );
        }
        prepared.into_scratch(&mut scratch);
        SCRATCH.with(|s| s.set(scratch));
    }

    /// [`Linter::lint_into`] into a new list.
    pub fn lint<R: RecordView>(&self, record: &R) -> Vec<Issue> {
        let mut issues = Vec::new();
        self.lint_into(record, &mut issues);
        issues
    }

    /// The index of the code named `name`.
    pub fn code_index(&self, name: &str) -> Option<u32> {
        self.codes
            .iter()
            .position(|c| c.name == name)
            .map(|i| i as u32)
    }
}

/// Forgets the messages this thread remembers, so that the next ones are worded afresh.
#[cfg(test)]
pub(crate) fn forget_messages() {
    SCRATCH.with(|s| {
        let mut scratch = s.take();
        scratch.memo = Memo::default();
        s.set(scratch);
    });
}

#[cfg(test)]
mod fast_path_tests;
#[cfg(test)]
mod tests;
