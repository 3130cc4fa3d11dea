//! Validation: `lint_compile/1` compiles a rule set (JSON text) once into a resource;
//! `lint_batch/5` (and `lint_batches_start/3` with `lint_batches_finish/1`, for a group of
//! batches in parallel) read ISO 2709 records and give, for each, its index,
//! offset and `%Snakepit.Marc.Issue{}` list. A bad record is an entry too, its one issue
//! the parse error (`record.invalid`), so one pass reports everything.

use crate::atoms;
use crate::native_job::{Job, NoResult};
use crate::options::{Read, ReadConfig};
use crate::parse_nif::walk_with_origin;
use crate::whole_input;
use rustler::{Atom, Encoder, Env, NifResult, ResourceArc, Term};
use snakepit_core::lint::fx::BuildFx;
use snakepit_core::lint::{codes::Builtin, Issue, Linter, RuleSet};
use snakepit_core::MarcError;
use std::collections::HashMap;

mod lint_atoms {
    rustler::atoms! {
        code, severity, field_index, subfield, message,
        error, warning, info,
        issue_module = "Elixir.Snakepit.Marc.Issue",
    }
}

/// A compiled rule set, shared by every process and thread that uses it.
pub(crate) struct LinterResource(pub(crate) Linter);

#[rustler::resource_impl]
impl rustler::Resource for LinterResource {}

/// `{:ok, resource, [{code, severity, enabled}]}` or `{:error, {path, message}}`, `only`
/// (`nil` or code names) and `except` applied after the set's own choices. A dirty
/// scheduler: the rule set's size (up to 1 MiB) and its patterns are the caller's.
#[rustler::nif(schedule = "DirtyCpu")]
fn lint_compile(
    env: Env<'_>,
    json: String,
    only: Option<Vec<String>>,
    except: Vec<String>,
) -> Term<'_> {
    let compiled = RuleSet::from_json(&json).and_then(|mut set| {
        set.filter(only.as_deref(), &except)?;
        Ok(set)
    });
    match compiled {
        Ok(set) => {
            let linter = Linter::new(set);
            let codes: Vec<(String, Atom, bool)> = linter
                .codes()
                .iter()
                .map(|c| (c.name.clone(), severity_atom(c.severity), c.enabled))
                .collect();
            let resource = ResourceArc::new(LinterResource(linter));
            (atoms::ok(), resource, codes).encode(env)
        }
        Err(e) => (atoms::error(), (e.path, e.message)).encode(env),
    }
}

/// `{:ok, json}`: a TOML rule set as the JSON text `lint_compile/3` takes (so that both
/// forms have one compiler), or `{:error, {path, message}}`, a syntax error naming its
/// line and column. A dirty scheduler: the text (up to 1 MiB) is the caller's.
#[rustler::nif(schedule = "DirtyCpu")]
fn lint_toml_json(env: Env<'_>, toml: String) -> Term<'_> {
    match RuleSet::toml_to_json(&toml) {
        Ok(json) => (atoms::ok(), json).encode(env),
        Err(e) => (atoms::error(), (e.path, e.message)).encode(env),
    }
}

fn severity_atom(severity: snakepit_core::lint::Severity) -> Atom {
    use snakepit_core::lint::Severity::*;
    match severity {
        Error => lint_atoms::error(),
        Warning => lint_atoms::warning(),
        Info => lint_atoms::info(),
    }
}

/// One record's result, made on any thread: its issues are a range of [`Outcomes::issues`].
enum Outcome {
    Linted(u64, u64, std::ops::Range<usize>),
    Invalid(MarcError),
}

/// A batch's results: the issues of all its records in one list (no allocation per record).
struct Outcomes {
    entries: Vec<Outcome>,
    issues: Vec<Issue>,
}

/// Every frame of `input` parsed and linted, with no term built.
fn outcomes(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    linter: &Linter,
) -> Outcomes {
    let outcomes = std::cell::RefCell::new(Outcomes {
        entries: Vec::new(),
        issues: Vec::new(),
    });
    // One record's issues, moved to the batch's list after each record.
    let mut record_issues = Vec::new();
    let mut unlimited = crate::budget::Budget::unlimited();
    walk_with_origin(
        input,
        base_offset,
        first_index,
        read,
        &mut unlimited,
        |record, _repairs, origin| {
            linter.lint_record_into(record, &mut record_issues);
            let mut outcomes = outcomes.borrow_mut();
            let start = outcomes.issues.len();
            outcomes.issues.append(&mut record_issues);
            let range = start..outcomes.issues.len();
            outcomes
                .entries
                .push(Outcome::Linted(origin.index, origin.offset, range));
            true
        },
        |e| {
            outcomes.borrow_mut().entries.push(Outcome::Invalid(e));
            true
        },
    );
    outcomes.into_inner()
}

/// Builds issue terms with the keys and code names made once, and each distinct issue and
/// message once per call: files repeat them (the same 008 problem in every record, the same
/// local tag), and a repeated one then costs a hash lookup, not a map and a binary. Issues
/// and messages are told apart by their message's address, not its text: a repeated
/// message is one shared allocation ([`Issue::message`]), so no lookup hashes a string.
struct IssueTerms<'a, 'l> {
    env: Env<'a>,
    /// In term order (as an Elixir struct's are), so making a map sorts nothing.
    keys: [rustler::sys::ErlNifTerm; 8],
    struct_name: Term<'a>,
    codes: Vec<Option<Term<'a>>>,
    linter: &'l Linter,
    /// Issue terms by a hash of their key, one a slot, a new one replacing the old: the
    /// repeats that matter (the same problem in record after record) are found, and
    /// issues that never repeat (a local field's, at its own place in each record) cost
    /// no table growth. As many slots as the call has issues, up to [`ISSUE_SLOTS`].
    issues: Vec<Option<(IssueKey, Term<'a>)>>,
    messages: HashMap<usize, Term<'a>, BuildFx>,
    /// Tag binaries by tag number (000-999), and subfield code binaries by byte.
    tags: Vec<Option<Term<'a>>>,
    subfield_codes: Vec<Option<Term<'a>>>,
}

/// What makes two issues of one call the same term: all of an [`Issue`], its message by
/// address (the [`Outcomes`] hold every message alive while terms are built, so no two
/// messages share one).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct IssueKey {
    code: u32,
    severity: snakepit_core::lint::Severity,
    at: snakepit_core::lint::At,
    message: usize,
}

/// Slots of [`IssueTerms::issues`] at most: enough for the distinct issues of a batch.
const ISSUE_SLOTS: usize = 4096;

fn message_address(issue: &Issue) -> usize {
    std::sync::Arc::as_ptr(&issue.message) as *const u8 as usize
}

impl<'a, 'l> IssueTerms<'a, 'l> {
    /// For a call that will build up to `issues` issue terms.
    fn new(env: Env<'a>, linter: &'l Linter, issues: usize) -> Self {
        IssueTerms {
            env,
            keys: [
                atoms::__struct__(),
                atoms::byte_offset(),
                lint_atoms::code(),
                lint_atoms::field_index(),
                lint_atoms::message(),
                lint_atoms::severity(),
                lint_atoms::subfield(),
                atoms::tag(),
            ]
            .map(|key| key.encode(env).as_c_arg()),
            struct_name: lint_atoms::issue_module().encode(env),
            codes: vec![None; linter.codes().len()],
            linter,
            issues: vec![None; issues.clamp(1, ISSUE_SLOTS).next_power_of_two()],
            messages: HashMap::default(),
            tags: vec![None; 1000],
            subfield_codes: vec![None; 256],
        }
    }

    /// A tag's binary, made once per call for three-digit tags.
    fn tag(&mut self, tag: &[u8; 3]) -> Term<'a> {
        let env = self.env;
        match snakepit_core::lint::schema::tag_number(tag) {
            Some(n) => *self.tags[n].get_or_insert_with(|| crate::terms::binary_term(env, tag)),
            None => crate::terms::binary_term(env, tag),
        }
    }

    /// A subfield code's one-byte binary, made once per call.
    fn subfield_code(&mut self, code: u8) -> Term<'a> {
        let env = self.env;
        *self.subfield_codes[code as usize]
            .get_or_insert_with(|| crate::terms::binary_term(env, &[code]))
    }

    fn code(&mut self, code: u32) -> Term<'a> {
        let env = self.env;
        let linter = self.linter;
        *self.codes[code as usize]
            .get_or_insert_with(|| linter.codes()[code as usize].name.as_str().encode(env))
    }

    /// A linted issue's term, made once per distinct issue.
    fn cached_issue(&mut self, issue: &Issue) -> Term<'a> {
        let key = IssueKey {
            code: issue.code,
            severity: issue.severity,
            at: issue.at,
            message: message_address(issue),
        };
        use std::hash::BuildHasher;
        // The high bits: the hash's last multiply leaves its low ones the weakest.
        let slot = (BuildFx::default().hash_one(key) >> 40) as usize & (self.issues.len() - 1);
        if let Some((known, term)) = &self.issues[slot] {
            if *known == key {
                return *term;
            }
        }
        let env = self.env;
        let message = *self
            .messages
            .entry(key.message)
            .or_insert_with(|| issue.message.encode(env));
        let term = self.issue_with(issue, message);
        self.issues[slot] = Some((key, term));
        term
    }

    fn issue(&mut self, issue: &Issue) -> Term<'a> {
        let message = issue.message.encode(self.env);
        self.issue_with(issue, message)
    }

    fn issue_with(&mut self, issue: &Issue, message: Term<'a>) -> Term<'a> {
        let env = self.env;
        let nil = atoms::nil().encode(env);
        let tag = issue.at.tag.map_or(nil, |t| self.tag(&t));
        let subfield = issue.at.subfield.map_or(nil, |c| self.subfield_code(c));
        let values = [
            self.struct_name,
            issue.at.byte_offset.map_or(nil, |o| o.encode(env)),
            self.code(issue.code),
            issue.at.field_index.map_or(nil, |i| i.encode(env)),
            message,
            severity_atom(issue.severity).encode(env),
            subfield,
            tag,
        ]
        .map(|value| value.as_c_arg());
        // Straight to the NIF API: `Term::map_from_term_arrays` allocates two vectors a
        // map, and this is the one map of every issue.
        let mut map = rustler::sys::ErlNifTerm::default();
        // SAFETY: the keys and values are terms of this env, as many of each.
        let made = unsafe {
            rustler::sys::enif_make_map_from_arrays(
                env.as_c_arg(),
                self.keys.as_ptr(),
                values.as_ptr(),
                values.len(),
                &mut map,
            )
        };
        assert!(made != 0, "the struct's keys are unique");
        // SAFETY: made by enif_make_map_from_arrays in this env.
        unsafe { Term::new(env, map) }
    }

    /// `{record_index, byte_offset, issues}`: a bad record's one issue is its parse error,
    /// unless `record.invalid` is switched off.
    fn entry(&mut self, outcome: &Outcome, issues: &[Issue]) -> Term<'a> {
        let env = self.env;
        match outcome {
            Outcome::Linted(index, offset, range) => {
                let mut list = Term::list_new_empty(env);
                for issue in issues[range.clone()].iter().rev() {
                    list = list.list_prepend(self.cached_issue(issue));
                }
                (index, offset, list).encode(env)
            }
            Outcome::Invalid(e) => {
                let code = Builtin::RecordInvalid as u32;
                let state = &self.linter.codes()[code as usize];
                let issues = if state.enabled {
                    vec![self.issue(&Issue {
                        code,
                        severity: state.severity,
                        at: Default::default(),
                        message: format!("{}: {}", e.kind.name(), e.detail).into(),
                    })]
                } else {
                    Vec::new()
                };
                (e.record_index, e.byte_offset, issues).encode(env)
            }
        }
    }
}

/// `[{record_index, byte_offset, [%Issue{}]}]` for every record of `input`.
pub(crate) fn lint_entries<'a>(
    env: Env<'a>,
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    linter: &Linter,
) -> Term<'a> {
    let outcomes = outcomes(input, base_offset, first_index, read, linter);
    entries_term(env, outcomes, linter)
}

fn entries_term<'a>(env: Env<'a>, outcomes: Outcomes, linter: &Linter) -> Term<'a> {
    entries_of_batches(env, &[outcomes], linter)
}

/// The entries of every batch in order, one list, each distinct issue made once.
fn entries_of_batches<'a>(env: Env<'a>, batches: &[Outcomes], linter: &Linter) -> Term<'a> {
    let issues = batches.iter().map(|b| b.issues.len()).sum();
    entries_with(&mut IssueTerms::new(env, linter, issues), batches)
}

fn entries_with<'a>(terms: &mut IssueTerms<'a, '_>, batches: &[Outcomes]) -> Term<'a> {
    let mut list = Term::list_new_empty(terms.env);
    for batch in batches.iter().rev() {
        for outcome in batch.entries.iter().rev() {
            list = list.list_prepend(terms.entry(outcome, &batch.issues));
        }
    }
    list
}

/// `[entries]`, `lint_batch/5`'s entries for each run of a whole input held in memory (a
/// small binary, which `lint_stream/2` reads in one call instead of through a stream); see
/// [`whole_input::in_runs`].
#[rustler::nif(schedule = "DirtyCpu")]
fn lint_input<'a>(
    env: Env<'a>,
    input: rustler::Binary<'a>,
    linter: ResourceArc<LinterResource>,
    config: ReadConfig,
    runs: whole_input::Runs,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    input_entries(env, input.as_slice(), &linter.0, &read, runs)
}

/// `lint_input/4` for a regular file of at most `max_bytes`, read here, in the same call:
/// `{:ok, [entries]}`, or `:stream` for a file that is not regular, is bigger, or cannot be
/// read, which the stream then reads (and reports).
#[rustler::nif(schedule = "DirtyCpu")]
fn lint_small_file<'a>(
    env: Env<'a>,
    path: String,
    linter: ResourceArc<LinterResource>,
    config: ReadConfig,
    runs: whole_input::Runs,
    max_bytes: u64,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    whole_input::small_file_answer(env, &path, max_bytes, |input| {
        input_entries(env, input, &linter.0, &read, runs)
    })
}

fn input_entries<'a>(
    env: Env<'a>,
    input: &[u8],
    linter: &Linter,
    read: &Read,
    runs: whole_input::Runs,
) -> NifResult<Term<'a>> {
    // One cache of issue terms for all the runs, sized as a batch's would be. It tells
    // messages apart by address, so every run's outcomes live until the end of the call:
    // a run's freed message could be a later one's address.
    let mut terms = IssueTerms::new(env, linter, input.len() / 64);
    let mut built = Vec::new();
    let lists = whole_input::in_runs(
        input,
        runs,
        whole_input::Helpers::Global,
        "lint_job_failed",
        |bytes, offset, index| outcomes(bytes, offset, index, read, linter),
        |outcomes| {
            let entries = entries_with(&mut terms, std::slice::from_ref(&outcomes));
            built.push(outcomes);
            Ok(entries)
        },
    )?;
    // Freeing many small issues is work the serial part need not do.
    rayon::spawn(move || drop(built));
    Ok(lists.encode(env))
}

#[rustler::nif(schedule = "DirtyCpu")]
fn lint_batch<'a>(
    env: Env<'a>,
    input: rustler::Binary<'a>,
    linter: ResourceArc<LinterResource>,
    config: ReadConfig,
    base_offset: u64,
    first_index: u64,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let outcomes = outcomes(input.as_slice(), base_offset, first_index, &read, &linter.0);
    Ok(entries_term(env, outcomes, &linter.0))
}

/// A group of batches being parsed and linted on rayon's threads while the calling process
/// builds and hands on the entries of the group before: `lint_batches_start/3` makes one,
/// `lint_batches_finish/1` builds its entries.
pub(crate) struct LintJobResource {
    job: Job<Vec<Outcomes>>,
    linter: ResourceArc<LinterResource>,
}

#[rustler::resource_impl]
impl rustler::Resource for LintJobResource {}

/// Starts the native work of `lint_batch/5` on each of `batches` (`{binary, base_offset,
/// first_index}`), in parallel on rayon's threads, and returns at once. The job outlives
/// the call, so the batches are saved in an environment of its own: a refc binary is then
/// shared, not copied.
#[rustler::nif(schedule = "DirtyCpu")]
fn lint_batches_start<'a>(
    batches: Term<'a>,
    linter: ResourceArc<LinterResource>,
    config: ReadConfig,
) -> NifResult<ResourceArc<LintJobResource>> {
    let read = config.decode()?;
    // A bad argument raises here, in the caller, not later in the job.
    let _: Vec<(rustler::Binary<'a>, u64, u64)> = batches.decode()?;
    let owned = rustler::OwnedEnv::new();
    let saved = owned.save(batches);
    let shared = linter.clone();
    let job = Job::spawn(move || {
        use rayon::prelude::*;
        let linter = &shared.0;
        owned.run(|env| {
            let batches: Vec<(rustler::Binary<'_>, u64, u64)> = saved
                .load(env)
                .decode()
                .expect("decoded by lint_batches_start");
            // Only the bytes cross threads: they live as long as `owned`, past this call.
            let inputs: Vec<(&[u8], u64, u64)> = batches
                .iter()
                .map(|(bin, offset, index)| (bin.as_slice(), *offset, *index))
                .collect();
            inputs
                .par_iter()
                .map(|&(input, base_offset, first_index)| {
                    outcomes(input, base_offset, first_index, &read, linter)
                })
                .collect()
        })
    });
    Ok(ResourceArc::new(LintJobResource { job, linter }))
}

/// The entries of a started job's batches, in order, as one list (`lint_batch/5`'s for
/// each, concatenated): waits on this dirty scheduler until its native work is done, then
/// builds the terms. A job's entries are given once: a second call is a bad argument.
#[rustler::nif(schedule = "DirtyCpu")]
fn lint_batches_finish(env: Env<'_>, job: ResourceArc<LintJobResource>) -> NifResult<Term<'_>> {
    match job.job.wait() {
        Ok(outcomes) => Ok(entries_of_batches(env, &outcomes, &job.linter.0)),
        Err(NoResult::Failed) => Err(rustler::Error::RaiseAtom("lint_job_failed")),
        Err(NoResult::AlreadyTaken) => Err(rustler::Error::BadArg),
    }
}
