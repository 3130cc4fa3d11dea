//! Extraction specs: `extract_compile/1` parses them once into a resource; `extract_batch/6`
//! reads ISO 2709 records and builds, for each, only the map of selected values.

use crate::atoms;
use crate::items::Items;
use crate::native_job::{Job, NoResult};
use crate::options::{Read, ReadConfig};
use crate::parse_nif::walk;
use crate::thread_pool::SlotResource;
use crate::whole_input::{self, Held};
use rustler::{Atom, Encoder, Env, NifResult, ResourceArc, Term};
use snakepit_core::extract::{AlternateScript, Extractor, Output, OutputOptions, Scratch, Values};

mod extract_atoms {
    rustler::atoms! { include, only }
}

/// A compiled extraction, shared by every process and thread that uses it.
pub(crate) struct ExtractorResource(pub(crate) Extractor);

#[rustler::resource_impl]
impl rustler::Resource for ExtractorResource {}

/// `{:ok, resource}`, or `{:error, {output_index, position, expected, found}}` for the first
/// spec string that does not parse (`found` is `nil` at the end of the string). A dirty
/// scheduler: specs are few in practice, but their number and length are the caller's, and
/// compiling builds a table over every tag for every spec.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_compile<'a>(env: Env<'a>, outputs: Vec<(String, Term<'a>)>) -> NifResult<Term<'a>> {
    let mut compiled = Vec::with_capacity(outputs.len());
    for (index, (spec, options)) in outputs.into_iter().enumerate() {
        let options = output_options(options)?;
        match Output::parse(&spec, options) {
            Ok(output) => compiled.push(output),
            Err(e) => return Ok(crate::errors::NativeError::Spec(index, e).to_term(env)),
        }
    }
    let resource = ResourceArc::new(ExtractorResource(Extractor::new(compiled)));
    Ok((atoms::ok(), resource).encode(env))
}

fn output_options(term: Term<'_>) -> NifResult<OutputOptions> {
    // A map of the keys below, built by `Snakepit.Marc.Spec` (which validated the values).
    let get = |key: &str| -> NifResult<Term<'_>> {
        term.map_get(Atom::from_str(term.get_env(), key)?.encode(term.get_env()))
    };
    let alternate = get("alternate_script")?;
    let alternate_script = if alternate == extract_atoms::include().encode(term.get_env()) {
        AlternateScript::Include
    } else if alternate == extract_atoms::only().encode(term.get_env()) {
        AlternateScript::Only
    } else {
        AlternateScript::Ignore
    };
    Ok(OutputOptions {
        separator: get("separator")?.decode()?,
        first: get("first")?.decode()?,
        dedupe: get("dedupe")?.decode()?,
        trim_punctuation: get("trim_punctuation")?.decode()?,
        default: get("default")?.decode()?,
        alternate_script,
    })
}

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}`, as `parse_binary/4`, but each good
/// record is `%{name => [value]}` (the names in output order) instead of a record.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_batch<'a>(
    env: Env<'a>,
    input: rustler::Binary<'a>,
    extractor: ResourceArc<ExtractorResource>,
    names: Vec<Term<'a>>,
    config: ReadConfig,
    base_offset: u64,
    first_index: u64,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    extract_items(
        env,
        input.as_slice(),
        base_offset,
        first_index,
        &read,
        &extractor.0,
        &names,
    )
    .ok_or(rustler::Error::BadArg)
}

/// `extract_batch`'s answer for `input`: the record API's NIFs and the `:thread` pool's
/// `:extract` command all call it. `None` when `names` do not fit the outputs (one a name,
/// unique: `Snakepit.Marc.Spec` checks that, so a map that cannot be built is a bad
/// argument, never a silently shorter answer).
pub(crate) fn extract_items<'a>(
    env: Env<'a>,
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    extractor: &Extractor,
    names: &[Term<'a>],
) -> Option<Term<'a>> {
    if names.len() != extractor.outputs().len() {
        return None;
    }
    let outcomes = outcomes(input, base_offset, first_index, read, extractor);
    items_term(env, outcomes, read, names)
}

/// What a batch gave, with no term built (so it can be made on any thread), in order:
/// runs of records, whose value lists are the next ones of `values` (one per output per
/// record), and errors.
#[derive(Default)]
struct Outcomes {
    values: Values,
    entries: Vec<Outcome>,
}

enum Outcome {
    /// This many good records in a row: one entry for a run, not one a record (an entry is
    /// as big as an error, about 80 bytes).
    Records(usize),
    Error(snakepit_core::MarcError),
}

impl Outcomes {
    fn push_record(&mut self) {
        match self.entries.last_mut() {
            Some(Outcome::Records(n)) => *n += 1,
            _ => self.entries.push(Outcome::Records(1)),
        }
    }
}

/// Every frame of `input` parsed and extracted.
fn outcomes(
    input: &[u8],
    base_offset: u64,
    first_index: u64,
    read: &Read,
    extractor: &Extractor,
) -> Outcomes {
    let outcomes = std::cell::RefCell::new(Outcomes::default());
    let mut scratch = Scratch::default();
    let mut unlimited = crate::budget::Budget::unlimited();
    walk(
        input,
        base_offset,
        first_index,
        read,
        &mut unlimited,
        |record, _repairs| {
            let outcomes = &mut *outcomes.borrow_mut();
            extractor.extract_values(record, &mut scratch, &mut outcomes.values);
            outcomes.push_record();
            true
        },
        |e| {
            outcomes.borrow_mut().entries.push(Outcome::Error(e));
            true
        },
    );
    outcomes.into_inner()
}

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}` under `read.mode`: a map of values
/// per good record. `None` when `names` do not fit the outputs.
fn items_term<'a>(
    env: Env<'a>,
    outcomes: Outcomes,
    read: &Read,
    names: &[Term<'a>],
) -> Option<Term<'a>> {
    let mut items = Items::new(env, read.mode, read.shape);
    let mut lists: Vec<Term<'a>> = Vec::with_capacity(names.len());
    let Outcomes { values, entries } = outcomes;
    let mut long = LongValues::new(env, &values);
    let mut next_list = 0;
    for entry in entries {
        match entry {
            Outcome::Records(n) => {
                for _ in 0..n {
                    lists.clear();
                    lists.extend(
                        (next_list..next_list + names.len())
                            .map(|i| string_list(env, &values, i, &mut long)),
                    );
                    next_list += names.len();
                    items.push(Term::map_from_term_arrays(env, names, &lists).ok()?);
                }
            }
            Outcome::Error(e) => {
                if !items.error(e) {
                    break;
                }
            }
        }
    }
    Some(items.into_result())
}

/// `[binary]` of list `i` of `values`, built from the end without an intermediate vector
/// of terms. A value of up to [`HEAP_BINARY_MAX`] bytes is copied onto the heap; a longer
/// one is the next of `long`, taken in reverse.
fn string_list<'a>(env: Env<'a>, values: &Values, i: usize, long: &mut LongValues<'a>) -> Term<'a> {
    let list = values.list(i);
    // `long` hands its values out in order, and the list is built from its end.
    let longs = list.clone().filter(|v| v.len() > HEAP_BINARY_MAX).count();
    let first_long = long.reserve(longs);
    let mut k = longs;
    list.rev().fold(Term::list_new_empty(env), |list, value| {
        let term = if value.len() > HEAP_BINARY_MAX {
            k -= 1;
            long.term(first_long + k)
        } else {
            value.encode(env)
        };
        list.list_prepend(term)
    })
}

/// The longest binary the VM keeps on a process heap (`ERL_ONHEAP_BIN_LIMIT`); a longer
/// one made on its own is a reference-counted binary: an allocation, an entry on the
/// process's off-heap list that every garbage collection walks, and a free.
const HEAP_BINARY_MAX: usize = 64;

/// About how many bytes of long values share one binary. A value kept pins the others of
/// its chunk, so this bounds what one kept value can hold alive (a value longer than this
/// gets a binary of its own).
const LONG_CHUNK_BYTES: usize = 4096;

/// The values of a batch longer than [`HEAP_BINARY_MAX`] bytes, copied into a few shared
/// binaries of about [`LONG_CHUNK_BYTES`] each and handed out, in value order, as
/// sub-binaries of them: a few allocations a batch instead of one per long value.
struct LongValues<'a> {
    env: Env<'a>,
    /// `(chunk, offset, len)` of each long value, in order.
    spans: Vec<(u32, u32, u32)>,
    chunks: Vec<rustler::Binary<'a>>,
    /// The first long value not yet handed out.
    next: usize,
}

impl<'a> LongValues<'a> {
    fn new(env: Env<'a>, values: &Values) -> Self {
        let mut spans = Vec::new();
        let mut sizes: Vec<usize> = Vec::new();
        let longs = || values.all().filter(|v| v.len() > HEAP_BINARY_MAX);
        for value in longs() {
            let fits = sizes
                .last()
                .is_some_and(|&size| size + value.len() <= LONG_CHUNK_BYTES);
            if !fits {
                sizes.push(0);
            }
            let chunk = sizes.len() - 1;
            spans.push((chunk as u32, sizes[chunk] as u32, value.len() as u32));
            sizes[chunk] += value.len();
        }
        let mut owned: Vec<rustler::OwnedBinary> = sizes
            .iter()
            .map(|&size| rustler::OwnedBinary::new(size))
            .collect();
        for (value, &(chunk, offset, len)) in longs().zip(&spans) {
            let (offset, len) = (offset as usize, len as usize);
            owned[chunk as usize].as_mut_slice()[offset..offset + len]
                .copy_from_slice(value.as_bytes());
        }
        LongValues {
            env,
            spans,
            chunks: owned.into_iter().map(|o| o.release(env)).collect(),
            next: 0,
        }
    }

    /// Reserves the next `n` long values, in order, and returns the first one's number.
    fn reserve(&mut self, n: usize) -> usize {
        let first = self.next;
        self.next += n;
        first
    }

    /// Long value number `v`, a sub-binary of its chunk.
    fn term(&self, v: usize) -> Term<'a> {
        let (chunk, offset, len) = self.spans[v];
        self.chunks[chunk as usize]
            .make_subbinary(offset as usize, len as usize)
            .expect("a span inside its chunk")
            .to_term(self.env)
    }
}

/// `[{:ok, items, skipped} | {:error, %ParseError{}}]`, `extract_batch/6`'s answer for each of
/// `batches` (`{binary, base_offset, first_index}`), in order. The batches are parsed and
/// extracted in parallel on rayon's threads (this dirty scheduler waits); only then are
/// their terms built, here.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_batches<'a>(
    env: Env<'a>,
    batches: Vec<(rustler::Binary<'a>, u64, u64)>,
    extractor: ResourceArc<ExtractorResource>,
    names: Vec<Term<'a>>,
    config: ReadConfig,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let extractor = &extractor.0;
    if names.len() != extractor.outputs().len() {
        return Err(rustler::Error::BadArg);
    }
    let inputs = batch_slices(&batches);
    answers_term(
        env,
        batch_outcomes(&inputs, &read, extractor),
        &read,
        &names,
    )
}

/// The bytes, base offset and first index of each of `batches`, as they were decoded.
pub(crate) fn batch_slices<'b>(
    batches: &'b [(rustler::Binary<'_>, u64, u64)],
) -> Vec<(&'b [u8], u64, u64)> {
    batches
        .iter()
        .map(|(bin, offset, index)| (bin.as_slice(), *offset, *index))
        .collect()
}

/// Each of `batches` (`{bytes, base_offset, first_index}`) parsed and extracted, in parallel
/// on rayon's threads, in order.
fn batch_outcomes<B: AsRef<[u8]> + Sync>(
    batches: &[(B, u64, u64)],
    read: &Read,
    extractor: &Extractor,
) -> Vec<Outcomes> {
    use rayon::prelude::*;
    batches
        .par_iter()
        .map(|(input, base_offset, first_index)| {
            outcomes(input.as_ref(), *base_offset, *first_index, read, extractor)
        })
        .collect()
}

/// The list of `items_term` answers, one per batch, in order.
fn answers_term<'a>(
    env: Env<'a>,
    batches: Vec<Outcomes>,
    read: &Read,
    names: &[Term<'a>],
) -> NifResult<Term<'a>> {
    let answers = batches
        .into_iter()
        .map(|batch| items_term(env, batch, read, names))
        .collect::<Option<Vec<Term<'a>>>>()
        .ok_or(rustler::Error::BadArg)?;
    Ok(answers.encode(env))
}

/// Batches being parsed and extracted on rayon's threads while the caller does something
/// else: `extract_batches_start/3` makes one, `extract_batches_finish/3` builds its terms.
pub(crate) struct ExtractJobResource {
    job: Job<Vec<Outcomes>>,
}

#[rustler::resource_impl]
impl rustler::Resource for ExtractJobResource {}

impl ExtractJobResource {
    /// A job whose native work is already done: `extract_batches_finish/3` builds its terms
    /// at once.
    fn done(outcomes: Vec<Outcomes>) -> ResourceArc<Self> {
        ResourceArc::new(ExtractJobResource {
            job: Job::done(outcomes),
        })
    }
}

/// Each of `batches` parsed and extracted on this thread, one after the other, with no
/// term built: a job for `extract_batches_finish/3`. Fan-out workers call it, so that the
/// answers' terms are built once, by the process that consumes them, instead of built by
/// the worker and copied to it.
pub(crate) fn outcomes_job(
    batches: &[(&[u8], u64, u64)],
    read: &Read,
    extractor: &Extractor,
) -> ResourceArc<ExtractJobResource> {
    let outcomes = batches
        .iter()
        .map(|(input, base_offset, first_index)| {
            outcomes(input, *base_offset, *first_index, read, extractor)
        })
        .collect();
    ExtractJobResource::done(outcomes)
}

/// `extract_batches/4`'s answer for `batches`, parsed, extracted and built one after the
/// other on this thread: the `:thread` pool's `:extract` command for a group of batches, so
/// that one request carries several. `None` when `names` do not fit the outputs.
pub(crate) fn group_answers<'a>(
    env: Env<'a>,
    batches: &[(&[u8], u64, u64)],
    read: &Read,
    extractor: &Extractor,
    names: &[Term<'a>],
) -> Option<Term<'a>> {
    let answers = batches
        .iter()
        .map(|(input, base_offset, first_index)| {
            extract_items(
                env,
                input,
                *base_offset,
                *first_index,
                read,
                extractor,
                names,
            )
        })
        .collect::<Option<Vec<Term<'a>>>>()?;
    Some(answers.encode(env))
}

/// `extract_batches_start/3` done on this dirty scheduler, in the calling process: a fan-out
/// worker does the native work of its batches and hands the finished job to the consumer.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_outcomes(
    batches: Vec<(rustler::Binary<'_>, u64, u64)>,
    extractor: ResourceArc<ExtractorResource>,
    config: ReadConfig,
) -> NifResult<ResourceArc<ExtractJobResource>> {
    let read = config.decode()?;
    Ok(outcomes_job(&batch_slices(&batches), &read, &extractor.0))
}

/// Starts `extract_batches/4`'s native work on `batches` and returns at once, so that the
/// one-process path parses the next groups of batches while it builds the terms of this
/// one. The job outlives the call, so the batches are saved in an environment of its own:
/// a refc binary is then shared, not copied.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_batches_start<'a>(
    batches: Term<'a>,
    extractor: ResourceArc<ExtractorResource>,
    config: ReadConfig,
) -> NifResult<ResourceArc<ExtractJobResource>> {
    let read = config.decode()?;
    // A bad argument raises here, in the caller, not later in the job.
    let _: Vec<(rustler::Binary<'a>, u64, u64)> = batches.decode()?;
    let owned = rustler::OwnedEnv::new();
    let saved = owned.save(batches);
    Ok(ResourceArc::new(ExtractJobResource {
        job: Job::spawn(move || {
            owned.run(|env| {
                let batches: Vec<(rustler::Binary<'_>, u64, u64)> = saved
                    .load(env)
                    .decode()
                    .expect("decoded by extract_batches_start");
                batch_outcomes(&batch_slices(&batches), &read, &extractor.0)
            })
        }),
    }))
}

/// `extract_batches/4`'s answer for a started job: waits (on this dirty scheduler) until its
/// native work is done, then builds the terms. A job's answer is given once: a second call
/// is a bad argument.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_batches_finish<'a>(
    env: Env<'a>,
    job: ResourceArc<ExtractJobResource>,
    names: Vec<Term<'a>>,
    config: ReadConfig,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let batches = match job.job.wait() {
        Ok(batches) => batches,
        Err(NoResult::Failed) => return Err(rustler::Error::RaiseAtom("extract_job_failed")),
        Err(NoResult::AlreadyTaken) => return Err(rustler::Error::BadArg),
    };
    answers_term(env, batches, &read, &names)
}

/// `extract_batches/4`'s answer for a whole input held in memory (a small binary, which the
/// one-process path reads in one call instead of through a stream): one answer per run of
/// at least `min_run_bytes` (about `runs` of them), see [`input_answers`]. `threads`: `nil`
/// for rayon's global threads, or the slots of a `:thread` pool worker this caller holds
/// (from `thread_pool_acquire`), whose threads then do the native work, one a slot, while
/// this dirty scheduler builds the terms: the pool's `:extract` of a whole input, run in the
/// caller so that no map is built elsewhere and copied to it. A worker closed since the
/// slots were taken leaves the work to this thread alone.
#[rustler::nif(schedule = "DirtyCpu")]
fn extract_input<'a>(
    env: Env<'a>,
    threads: Option<Vec<ResourceArc<SlotResource>>>,
    input: rustler::Binary<'a>,
    extractor: ResourceArc<ExtractorResource>,
    names: Vec<Term<'a>>,
    config: ReadConfig,
    runs: whole_input::Runs,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let held = held_threads(threads.as_deref())?;
    let helpers = whole_input::Helpers::of(held.as_ref());
    input_answers(
        env,
        input.as_slice(),
        &extractor.0,
        &names,
        &read,
        runs,
        helpers,
    )
}

/// `extract_input/6` for a regular file of at most `max_bytes`, read here, in the same
/// call (a file read through the VM's file calls costs a few dirty-scheduler hops, more
/// than extracting a small file): `{:ok, answers}`, or `:stream` for a file that is not
/// regular, is bigger, or cannot be read, which the stream then reads (and reports).
/// Opened without blocking, so a FIFO put in the file's place meanwhile is not waited on.
#[rustler::nif(schedule = "DirtyCpu")]
#[allow(clippy::too_many_arguments)]
fn extract_small_file<'a>(
    env: Env<'a>,
    threads: Option<Vec<ResourceArc<SlotResource>>>,
    path: String,
    extractor: ResourceArc<ExtractorResource>,
    names: Vec<Term<'a>>,
    config: ReadConfig,
    runs: whole_input::Runs,
    max_bytes: u64,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let held = held_threads(threads.as_deref())?;
    whole_input::small_file_answer(env, &path, max_bytes, |input| {
        let helpers = whole_input::Helpers::of(held.as_ref());
        input_answers(env, input, &extractor.0, &names, &read, runs, helpers)
    })
}

/// The threads that `slots` give (see `extract_input/6`): `None` for rayon's global ones.
fn held_threads(slots: Option<&[ResourceArc<SlotResource>]>) -> NifResult<Option<Held>> {
    slots
        .map(|slots| crate::thread_pool::held_threads(slots).map_err(|()| rustler::Error::BadArg))
        .transpose()
}

/// `{:ok, binary}`, the bytes of `path`, if it is a regular file of at most `max_bytes`;
/// else `:stream` (see `extract_small_file/7`). A pool's fan-out reads a small file so, then
/// cuts it with `small_batches/3`, instead of starting a stream's reader thread.
#[rustler::nif(schedule = "DirtyIo")]
fn read_small_file(env: Env<'_>, path: String, max_bytes: u64) -> NifResult<Term<'_>> {
    let Some(owned) = whole_input::small_file_binary(&path, max_bytes) else {
        return Ok(whole_input::stream_atom(env));
    };
    Ok((atoms::ok(), rustler::Binary::from_owned(owned, env)).encode(env))
}

/// `[{data, base_offset, first_index, count}]`: `input` (a whole source in memory) cut into
/// batches of at most `max_records` frames, cut once `max_bytes` are reached, each ending
/// with a good frame, as [`whole_input::record_runs`] cuts (a batch's frames are framed again where it
/// is parsed). Each `data` is a sub-binary of `input`: nothing is copied.
#[rustler::nif(schedule = "DirtyCpu")]
fn small_batches<'a>(
    input: rustler::Binary<'a>,
    max_records: usize,
    max_bytes: usize,
) -> NifResult<Vec<(rustler::Binary<'a>, u64, u64, u64)>> {
    let max_records = max_records as u64;
    whole_input::cut_at_frames(input.as_slice(), |records, bytes| {
        records >= max_records || bytes >= max_bytes
    })
    .into_iter()
    .map(|(start, end, first, count)| {
        let data = input.make_subbinary(start, end - start)?;
        Ok((data, start as u64, first, count))
    })
    .collect()
}

/// The answers of `input` (see [`whole_input::in_runs`]): one per run, each
/// `extract_batch/6`'s answer for the run's bytes.
fn input_answers<'a>(
    env: Env<'a>,
    input: &[u8],
    extractor: &Extractor,
    names: &[Term<'a>],
    read: &Read,
    runs: whole_input::Runs,
    helpers: whole_input::Helpers<'_>,
) -> NifResult<Term<'a>> {
    if names.len() != extractor.outputs().len() {
        return Err(rustler::Error::BadArg);
    }
    let answers = whole_input::in_runs(
        input,
        runs,
        helpers,
        "extract_job_failed",
        |bytes, offset, index| outcomes(bytes, offset, index, read, extractor),
        |outcomes| items_term(env, outcomes, read, names).ok_or(rustler::Error::BadArg),
    )?;
    Ok(answers.encode(env))
}
