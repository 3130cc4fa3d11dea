//! The `:thread` profile's command table: the one list of commands a worker runs natively.
//! Each entry maps a command atom to a function that calls the very functions the record
//! API's NIFs call (`parse_nif`), so both profiles give identical results; the pool
//! resource (`thread_pool`) only looks commands up here and runs them.
//!
//! `thread_pool_commands/0` hands the list to Elixir, where the command module is checked
//! against it. Test builds (`--features test-hooks`) add `:sleep` and `:__panic__`
//! (`test_hooks`).

use crate::errors::NativeError;
use crate::extract_nif::{
    batch_slices, extract_items, group_answers, outcomes_job, ExtractorResource,
};
use crate::lint_nif::{lint_entries, LinterResource};
use crate::options::{Read, ReadConfig};
use crate::parse_nif::{count_items, error_terms, frames, parse_items};
use crate::prepared::prepare;
use crate::reply_chunks::{frame_runs, raw_batch};
use crate::thread_pool::JobEnv;
use rustler::{Atom, Binary, Encoder, ResourceArc, Term};

mod command_atoms {
    rustler::atoms! { ok, ping, __health__, count, scan, parse, validate, extract, lint, outcomes }
}

/// What a command returns: the reply's result term, or the error it becomes.
pub(crate) type Reply<'a> = Result<Term<'a>, NativeError>;

/// One native command.
pub(crate) struct Command {
    pub(crate) atom: fn() -> Atom,
    /// Counts as a request (`completed`, `max_requests`): every command but health checks.
    pub(crate) counted: bool,
    /// Whether the reply to these arguments comes in chunks, so the caller gets a ticket to
    /// cancel it (`thread_pool_cancel`).
    pub(crate) chunked: fn(Term) -> bool,
    pub(crate) run: for<'a, 'j> fn(&JobEnv<'a, 'j>, Term<'a>) -> Reply<'a>,
}

fn never(_: Term) -> bool {
    false
}

/// The table. Looked up by atom on every submit: a handful of atom comparisons.
static COMMANDS: &[Command] = &[
    Command {
        atom: command_atoms::ping,
        counted: true,
        chunked: never,
        run: echo,
    },
    // A ping that does not count as a request.
    Command {
        atom: command_atoms::__health__,
        counted: false,
        chunked: never,
        run: echo,
    },
    Command {
        atom: command_atoms::count,
        counted: true,
        chunked: never,
        run: count,
    },
    Command {
        atom: command_atoms::scan,
        counted: true,
        chunked: never,
        run: scan,
    },
    Command {
        atom: command_atoms::parse,
        counted: true,
        chunked: parse_is_chunked,
        run: parse,
    },
    Command {
        atom: command_atoms::validate,
        counted: true,
        chunked: never,
        run: validate,
    },
    Command {
        atom: command_atoms::extract,
        counted: true,
        chunked: never,
        run: extract,
    },
    Command {
        atom: command_atoms::lint,
        counted: true,
        chunked: never,
        run: lint,
    },
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::SLEEP,
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::PANIC,
];

/// The table's entry for `atom`.
pub(crate) fn find(atom: Atom) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| (c.atom)() == atom)
}

/// Every command's atom, in table order.
pub(crate) fn atoms() -> Vec<Atom> {
    COMMANDS.iter().map(|c| (c.atom)()).collect()
}

/// Decodes a command's arguments, or the `{:invalid_arguments, name}` error.
pub(crate) fn args<'a, T: rustler::Decoder<'a>>(
    name: &'static str,
    args: Term<'a>,
) -> Result<T, NativeError> {
    args.decode()
        .map_err(|_| NativeError::InvalidArguments(name))
}

fn echo<'a>(job: &JobEnv<'a, '_>, args: Term<'a>) -> Reply<'a> {
    Ok((command_atoms::ok(), args).encode(job.env))
}

fn count<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    let (input, validate_utf8): (Binary, bool) = args("count", term)?;
    Ok((
        command_atoms::ok(),
        count_items(input.as_slice(), validate_utf8),
    )
        .encode(job.env))
}

fn scan<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    let input: Binary = args("scan", term)?;
    Ok((command_atoms::ok(), frames(input.as_slice())).encode(job.env))
}

/// The input and decoded read options of `parse` and `validate`.
fn read_args<'a>(name: &'static str, term: Term<'a>) -> Result<(Binary<'a>, Read), NativeError> {
    let (input, config): (Binary, ReadConfig) = args(name, term)?;
    let read = config
        .decode()
        .map_err(|_| NativeError::InvalidArguments(name))?;
    Ok((input, read))
}

/// `{binary, extractor, names, read_config, base_offset, first_index}`: the extraction
/// NIF's answer (`extract_nif::extract_items`), built on this worker's thread. With a list
/// of `{binary, base_offset, first_index}` batches in place of the binary (a
/// `Snakepit.Marc.Extract.Group`), the answers of them all: one request for several batches.
fn extract<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    if is_group(term) {
        return extract_group(job, term);
    }
    type Args<'a> = (
        Binary<'a>,
        ResourceArc<ExtractorResource>,
        Vec<Term<'a>>,
        ReadConfig,
        u64,
        u64,
    );
    let (input, extractor, names, config, base_offset, first_index): Args = args("extract", term)?;
    let invalid = || NativeError::InvalidArguments("extract");
    let read = config.decode().map_err(|_| invalid())?;
    extract_items(
        job.env,
        input.as_slice(),
        base_offset,
        first_index,
        &read,
        &extractor.0,
        &names,
    )
    .ok_or_else(invalid)
}

/// Whether `extract`'s arguments start with a list of batches.
fn is_group(term: Term) -> bool {
    type Shape<'a> = (Term<'a>, Term<'a>, Term<'a>, Term<'a>, Term<'a>, Term<'a>);
    term.decode::<Shape>()
        .is_ok_and(|(input, ..)| input.is_list())
}

/// `extract` for a group of batches: `{:ok, answers}`, the extraction NIF's answer for each
/// batch in order (`extract_nif::group_answers`), built on this worker's thread. With
/// `:outcomes` last (`Snakepit.Marc.Extract.Group`'s `answer: :outcomes`), `{:ok, [job]}`:
/// the native work only, done on this thread, whose terms the caller builds
/// (`extract_batches_finish`), so that no map is built here and copied on.
fn extract_group<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    type Args<'a> = (
        Vec<(Binary<'a>, u64, u64)>,
        ResourceArc<ExtractorResource>,
        Vec<Term<'a>>,
        ReadConfig,
        Term<'a>,
        Term<'a>,
    );
    let (batches, extractor, names, config, _, answer): Args = args("extract", term)?;
    let invalid = || NativeError::InvalidArguments("extract");
    let read = config.decode().map_err(|_| invalid())?;
    if answer
        .decode::<Atom>()
        .is_ok_and(|a| a == command_atoms::outcomes())
    {
        let done = outcomes_job(&batch_slices(&batches), &read, &extractor.0);
        return Ok((command_atoms::ok(), vec![done]).encode(job.env));
    }
    let answers = group_answers(
        job.env,
        &batch_slices(&batches),
        &read,
        &extractor.0,
        &names,
    )
    .ok_or_else(invalid)?;
    Ok((command_atoms::ok(), answers).encode(job.env))
}

/// `{binary, linter, read_config, base_offset, first_index}`: the lint NIF's answer
/// (`lint_nif::lint_entries`), built on this worker's thread.
fn lint<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    type Args<'a> = (
        Binary<'a>,
        ResourceArc<LinterResource>,
        ReadConfig,
        u64,
        u64,
    );
    let (input, linter, config, base_offset, first_index): Args = args("lint", term)?;
    let read = config
        .decode()
        .map_err(|_| NativeError::InvalidArguments("lint"))?;
    let entries = lint_entries(
        job.env,
        input.as_slice(),
        base_offset,
        first_index,
        &read,
        &linter.0,
    );
    Ok((command_atoms::ok(), entries).encode(job.env))
}

fn validate<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    let (input, read) = read_args("validate", term)?;
    let errors = error_terms(job.env, input.as_slice(), &read);
    Ok((command_atoms::ok(), errors).encode(job.env))
}

/// Input bytes per message of a `parse` reply: a bigger input comes back as several
/// `{tag, {:snakepit_chunk, items}}` messages and a final reply, each built and sent on its
/// own, so no giant message is built at once and the caller receives it piece by piece.
/// About 1 MiB of MARC becomes 5-6 MB of terms.
const REPLY_CHUNK_BYTES: usize = 1024 * 1024;

fn parse_is_chunked(args: Term) -> bool {
    args.decode::<(Binary, Term)>()
        .is_ok_and(|(input, _)| input.len() > REPLY_CHUNK_BYTES)
}

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}`, as `parse_binary`. An input over
/// `REPLY_CHUNK_BYTES` is parsed a run of whole frames at a time, and each run goes ahead
/// as a chunk `[prepared]` ([`JobEnv::send_chunk`]) holding its parsed records natively
/// ([`PreparedBatch`]): the caller builds their terms (`Snakepit.Native.prepared_items/2`),
/// and the reply is `{:ok, [], skipped}`. In strict mode the first error is the reply and
/// the chunks before it are to be dropped. A cancelled job stops at the next run and
/// replies `{:error, :cancelled}`.
fn parse<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    let (input, read) = read_args("parse", term)?;
    let input = input.as_slice();
    if input.len() <= REPLY_CHUNK_BYTES {
        return Ok(parse_items(job.env, input, 0, 0, &read));
    }
    let mut skipped = 0u64;
    for run in frame_runs(input, REPLY_CHUNK_BYTES) {
        if job.is_cancelled() {
            return Err(NativeError::Cancelled);
        }
        let (prepared, run_skipped) = prepare(
            raw_batch(
                &input[run.start..run.end],
                run.start as u64,
                run.first_index,
            ),
            &read,
        )?;
        skipped += run_skipped;
        let sent = job.send_chunk(|chunk| Ok(vec![prepared].encode(chunk)));
        if let Err(reply) = sent {
            return Ok(reply);
        }
    }
    Ok((command_atoms::ok(), Vec::<Term>::new(), skipped).encode(job.env))
}
