//! Thread-profile workers: each worker owns one of these resources, a rayon pool of its own.
//!
//! The hot path holds no BEAM scheduler: `thread_pool_submit` checks out a slot with one
//! compare-and-swap, copies the arguments into a process-independent environment (refc
//! binaries are shared, not copied) and returns. The job builds its reply on the rayon thread
//! and sends it with `OwnedEnv::send_and_clear`, which is only legal off BEAM threads, which
//! is why no reply is ever sent from a NIF call. A panicking job becomes an error reply.
//!
//! Slots for work that runs in Elixir (`thread_pool_acquire`) are small resources the owner
//! process is told about in the same NIF call, so it can monitor the holder and return the
//! slot on `:DOWN`: a holder killed by an exit signal never leaks it.

use crate::options::{Read, ReadConfig};
use crate::parse_nif::parse_items;
use rustler::env::SavedTerm;
use rustler::{Atom, Binary, Encoder, Env, LocalPid, OwnedEnv, ResourceArc, Term, TermType};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

mod atoms {
    rustler::atoms! {
        ok,
        error,
        busy,
        closed,
        unknown_command,
        panic,
        invalid_arguments,
        snakepit_capacity_freed,
        snakepit_max_requests,
        snakepit_slot_held,
        snakepit_slot_released,
        snakepit_chunk,
        copy_on_dirty,
        cancelled,
        // commands
        ping,
        sleep,
        __panic__,
        __health__,
        count,
        scan,
        parse,
        validate,
    }
}

/// Open (not yet closed) pools and live rayon threads in the whole VM, for leak checks and `Environment`.
static LIVE_POOLS: AtomicUsize = AtomicUsize::new(0);
static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Rayon threads get this stack size (reserved, not committed).
const THREAD_STACK_BYTES: usize = 2 * 1024 * 1024;

/// Most threads one worker may have. A rayon thread is a CPU worker: far more threads than
/// cores only add start-up time (about 1.5 ms a thread on a loaded machine), stacks and
/// scheduling noise. The config schema enforces the same limit.
pub(crate) const MAX_THREADS: usize = 1024;

/// Terms `thread_pool_submit` may copy on the caller's normal scheduler (about 0.1 ms of
/// copying); bigger arguments are copied by `thread_pool_submit_dirty` instead.
const NORMAL_SCHEDULER_COPY_TERMS: usize = 20_000;

/// Input bytes per message of a `parse` reply: a bigger input comes back as several
/// `{tag, {:snakepit_chunk, items}}` messages and a final reply, each built and sent on its
/// own, so no giant message is built at once and the caller receives it piece by piece.
/// About 1 MiB of MARC becomes 5-6 MB of terms.
const REPLY_CHUNK_BYTES: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug)]
enum Command {
    Ping,
    Sleep,
    Panic,
    /// A ping that does not count as a request (health checks).
    Health,
    Count,
    Scan,
    Parse,
    Validate,
}

impl Command {
    fn from_atom(atom: Atom) -> Option<Command> {
        Some(if atom == atoms::ping() {
            Command::Ping
        } else if atom == atoms::sleep() {
            Command::Sleep
        } else if atom == atoms::__panic__() {
            Command::Panic
        } else if atom == atoms::__health__() {
            Command::Health
        } else if atom == atoms::count() {
            Command::Count
        } else if atom == atoms::scan() {
            Command::Scan
        } else if atom == atoms::parse() {
            Command::Parse
        } else if atom == atoms::validate() {
            Command::Validate
        } else {
            return None;
        })
    }
}

struct Inner {
    /// `None` once closed: no new jobs, queued ones still finish.
    pool: RwLock<Option<rayon::ThreadPool>>,
    threads: usize,
    in_flight: AtomicUsize,
    /// Bytes of arguments that queued and running jobs keep alive.
    held_bytes: AtomicUsize,
    completed: AtomicU64,
    /// Slots ever checked out: with `max_requests` it stops check-outs at the limit, so a
    /// worker never runs more than its share while its replacement is on the way.
    started: AtomicU64,
    /// Jobs whose reply is not yet sent: the owner process may stop only at zero, so no
    /// caller sees the owner's `:DOWN` before its reply.
    unsent: AtomicUsize,
    /// Told `{:snakepit_capacity_freed, worker_id}` when this worker goes from full to not
    /// full (queued callers retry) and `{:snakepit_max_requests, worker_id}` once
    /// `max_requests` jobs have completed (0 = never).
    notify: LocalPid,
    worker_id: u64,
    max_requests: u64,
    /// This pool's rayon threads that have started and not yet exited (they exit after
    /// `close` once their last job ends).
    live_threads: Arc<AtomicUsize>,
    /// The owner process, told about every slot checked out for local work so it can
    /// monitor the holder.
    owner: LocalPid,
    next_slot: AtomicU64,
    /// Set by `thread_pool_stop`; wakes `:sleep` jobs so a stopped worker's threads exit.
    stopped: Mutex<bool>,
    stopped_signal: Condvar,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let open = self.pool.get_mut().map(|p| p.is_some()).unwrap_or(true);
        if open {
            LIVE_POOLS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

pub struct ThreadPoolResource {
    inner: Arc<Inner>,
}

#[rustler::resource_impl]
impl rustler::Resource for ThreadPoolResource {}

/// A slot checked out by `thread_pool_acquire`. Released exactly once: by its holder when
/// the work ends, or by the owner process when the holder dies.
pub struct SlotResource {
    inner: Arc<Inner>,
    id: u64,
    held: AtomicBool,
}

#[rustler::resource_impl]
impl rustler::Resource for SlotResource {}

/// Handed back for a job that replies in chunks, so a caller that stops waiting can tell it
/// to stop (`thread_pool_cancel`): no more chunks are built or sent, and the slot frees early.
pub struct TicketResource {
    cancelled: Arc<AtomicBool>,
}

#[rustler::resource_impl]
impl rustler::Resource for TicketResource {}

/// Starting threads blocks for about a millisecond each, so this runs on a dirty I/O
/// scheduler. The calling process becomes the pool's owner.
#[rustler::nif(schedule = "DirtyIo")]
fn thread_pool_new(
    env: Env,
    threads: usize,
    notify: LocalPid,
    worker_id: u64,
    max_requests: u64,
) -> Result<ResourceArc<ThreadPoolResource>, String> {
    if threads == 0 || threads > MAX_THREADS {
        return Err(format!(
            "threads_per_worker must be between 1 and {MAX_THREADS}, got: {threads}"
        ));
    }
    let live_threads = Arc::new(AtomicUsize::new(0));
    let (started, exited) = (live_threads.clone(), live_threads.clone());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(THREAD_STACK_BYTES)
        .thread_name(|i| format!("snakepit-{i}"))
        .start_handler(move |_| {
            LIVE_THREADS.fetch_add(1, Ordering::Relaxed);
            started.fetch_add(1, Ordering::Relaxed);
        })
        .exit_handler(move |_| {
            LIVE_THREADS.fetch_sub(1, Ordering::Relaxed);
            exited.fetch_sub(1, Ordering::Relaxed);
        })
        // Jobs catch their own panics; this only keeps rayon from aborting the VM.
        .panic_handler(|_| {})
        .build()
        .map_err(|e| e.to_string())?;
    LIVE_POOLS.fetch_add(1, Ordering::Relaxed);
    Ok(ResourceArc::new(ThreadPoolResource {
        inner: Arc::new(Inner {
            pool: RwLock::new(Some(pool)),
            threads,
            in_flight: AtomicUsize::new(0),
            held_bytes: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            started: AtomicU64::new(0),
            unsent: AtomicUsize::new(0),
            notify,
            worker_id,
            max_requests,
            live_threads,
            owner: env.pid(),
            next_slot: AtomicU64::new(0),
            stopped: Mutex::new(false),
            stopped_signal: Condvar::new(),
        }),
    }))
}

/// The most threads a worker may have.
#[rustler::nif]
fn thread_pool_max_threads() -> usize {
    let _watch = crate::scheduler_watch::watch("thread_pool_max_threads");
    MAX_THREADS
}

/// Checks out a slot and enqueues the job; the reply `{tag, result}` goes to the caller.
/// Returns `:ok` (`{:ok, ticket}` for a `parse` that will reply in chunks, see
/// `thread_pool_cancel`), `:busy` (every thread taken), `:closed`, `{:error, {:unknown_command, c}}`,
/// or `:copy_on_dirty` when `args` holds too many terms to copy on a normal scheduler (the
/// caller then submits with `thread_pool_submit_dirty`; nothing was checked out).
#[rustler::nif]
fn thread_pool_submit<'a>(
    env: Env<'a>,
    resource: ResourceArc<ThreadPoolResource>,
    tag: Term<'a>,
    command: Atom,
    args: Term<'a>,
) -> Term<'a> {
    let _watch = crate::scheduler_watch::watch("thread_pool_submit");
    match measure(args, NORMAL_SCHEDULER_COPY_TERMS) {
        Some(bytes) => submit(env, &resource, tag, command, args, bytes),
        None => atoms::copy_on_dirty().encode(env),
    }
}

/// `thread_pool_submit` for arguments of any size: the copy runs on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn thread_pool_submit_dirty<'a>(
    env: Env<'a>,
    resource: ResourceArc<ThreadPoolResource>,
    tag: Term<'a>,
    command: Atom,
    args: Term<'a>,
) -> Term<'a> {
    let bytes = measure(args, usize::MAX).unwrap_or(0);
    submit(env, &resource, tag, command, args, bytes)
}

fn submit<'a>(
    env: Env<'a>,
    resource: &ThreadPoolResource,
    tag: Term<'a>,
    command: Atom,
    args: Term<'a>,
    bytes: usize,
) -> Term<'a> {
    let Some(command) = Command::from_atom(command) else {
        return (atoms::error(), (atoms::unknown_command(), command)).encode(env);
    };
    let inner = &resource.inner;
    let counted = !matches!(command, Command::Health);
    if let Err(refused) = check_out(inner, counted) {
        return refused.encode(env);
    }
    let guard = inner.pool.read().unwrap_or_else(|e| e.into_inner());
    let Some(pool) = guard.as_ref() else {
        inner.in_flight.fetch_sub(1, Ordering::AcqRel);
        return atoms::closed().encode(env);
    };
    inner.held_bytes.fetch_add(bytes, Ordering::Relaxed);
    inner.unsent.fetch_add(1, Ordering::AcqRel);
    let owned = OwnedEnv::new();
    let saved = owned.save((tag, args));
    let chunked = matches!(command, Command::Parse)
        && args
            .decode::<(Binary, Term)>()
            .is_ok_and(|(input, _)| input.len() > REPLY_CHUNK_BYTES);
    let cancelled = chunked.then(|| Arc::new(AtomicBool::new(false)));
    let job = Job {
        inner: inner.clone(),
        env: owned,
        saved,
        reply_to: env.pid(),
        command,
        bytes,
        counted,
        cancelled: cancelled.clone(),
    };
    pool.spawn(move || job.run());
    match cancelled {
        Some(cancelled) => {
            (atoms::ok(), ResourceArc::new(TicketResource { cancelled })).encode(env)
        }
        None => atoms::ok().encode(env),
    }
}

/// Bytes of the binaries in `term`, or `None` when it holds more than `budget` terms (or a
/// fun, whose captured terms cannot be counted). Walks at most `budget` terms, with its own
/// stack of containers, so neither time nor native stack depends on the argument.
fn measure(term: Term, budget: usize) -> Option<usize> {
    let mut walk = Walk {
        left: budget,
        bytes: 0,
        containers: Vec::new(),
    };
    walk.visit(term)?;
    while let Some(container) = walk.containers.pop() {
        match container.get_type() {
            TermType::List => {
                for item in container.into_list_iterator().ok()? {
                    walk.visit(item)?;
                }
            }
            TermType::Tuple => {
                let mut arity = 0;
                let mut array = std::ptr::null();
                // SAFETY: `container` is a tuple of this env; the array lives as long as it.
                let ok = unsafe {
                    rustler::sys::enif_get_tuple(
                        container.get_env().as_c_arg(),
                        container.as_c_arg(),
                        &mut arity,
                        &mut array,
                    )
                };
                if ok == 0 || arity as usize > walk.left {
                    return None;
                }
                for i in 0..arity as usize {
                    // SAFETY: `i < arity`.
                    walk.visit(unsafe { Term::new(container.get_env(), *array.add(i)) })?;
                }
            }
            _ => {
                if container.map_size().ok()? > walk.left / 2 {
                    return None;
                }
                for (key, value) in container.decode::<rustler::MapIterator>().ok()? {
                    walk.visit(key)?;
                    walk.visit(value)?;
                }
            }
        }
    }
    Some(walk.bytes)
}

struct Walk<'a> {
    left: usize,
    bytes: usize,
    containers: Vec<Term<'a>>,
}

impl<'a> Walk<'a> {
    /// Counts one term: a binary's bytes now, a container's contents later.
    fn visit(&mut self, term: Term<'a>) -> Option<()> {
        self.left = self.left.checked_sub(1)?;
        match term.get_type() {
            TermType::Binary => self.bytes += term.decode::<Binary>().map(|b| b.len()).unwrap_or(0),
            TermType::List | TermType::Tuple | TermType::Map => self.containers.push(term),
            TermType::Fun | TermType::Unknown => return None,
            _ => {}
        }
        Some(())
    }
}

/// Takes one slot: `Err(:busy)` when every thread is taken, `Err(:closed)` when the worker
/// has used up its `max_requests`. Uncounted check-outs (health checks) skip the limit.
fn check_out(inner: &Inner, counted: bool) -> Result<(), Atom> {
    let limited = counted && inner.max_requests > 0;
    if limited {
        let reserved = inner.started.fetch_add(1, Ordering::AcqRel);
        if reserved >= inner.max_requests {
            inner.started.fetch_sub(1, Ordering::AcqRel);
            return Err(atoms::closed());
        }
    }
    let mut current = inner.in_flight.load(Ordering::Acquire);
    loop {
        if current >= inner.threads {
            if limited {
                inner.started.fetch_sub(1, Ordering::AcqRel);
            }
            return Err(atoms::busy());
        }
        match inner.in_flight.compare_exchange_weak(
            current,
            current + 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return Ok(()),
            Err(seen) => current = seen,
        }
    }
}

struct Job {
    inner: Arc<Inner>,
    env: OwnedEnv,
    saved: SavedTerm,
    reply_to: LocalPid,
    command: Command,
    bytes: usize,
    counted: bool,
    cancelled: Option<Arc<AtomicBool>>,
}

impl Job {
    fn run(mut self) {
        let inner = self.inner.clone();
        let (saved, command, bytes, counted) =
            (self.saved.clone(), self.command, self.bytes, self.counted);
        let mut released = false;
        let reply_to = self.reply_to;
        let cancelled = self.cancelled.take();
        let env = &mut self.env;
        // Anything that panics outside the command itself must still free the slot.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            env.send_and_clear(&reply_to, |env| {
                let (tag, args) = saved
                    .load(env)
                    .decode::<(Term, Term)>()
                    .expect("saved by thread_pool_submit as a pair");
                let job = JobEnv {
                    env,
                    inner: &inner,
                    tag,
                    reply_to: &reply_to,
                    cancelled: cancelled.as_deref(),
                };
                let result = catch_unwind(AssertUnwindSafe(|| run_command(&job, command, args)))
                    .unwrap_or_else(|payload| panic_term(env, payload));
                // The reply is built: free the slot before sending, so a caller that submits
                // again as soon as it hears back finds the slot free.
                release(&inner, bytes, counted);
                released = true;
                (tag, result)
            })
        }));
        if !released {
            release(&inner, bytes, counted);
        }
        inner.unsent.fetch_sub(1, Ordering::AcqRel);
    }
}

fn release(inner: &Inner, bytes: usize, counted: bool) {
    inner.held_bytes.fetch_sub(bytes, Ordering::Relaxed);
    let completed = if counted {
        inner.completed.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        0
    };
    let before = inner.in_flight.fetch_sub(1, Ordering::AcqRel);
    // Both messages are sent from a rayon thread, where `send_and_clear` is legal.
    if before == inner.threads {
        notify(inner, atoms::snakepit_capacity_freed());
    }
    if counted && completed == inner.max_requests {
        notify(inner, atoms::snakepit_max_requests());
    }
}

fn notify(inner: &Inner, event: Atom) {
    let mut env = OwnedEnv::new();
    let id = inner.worker_id;
    let _ = env.send_and_clear(&inner.notify, |env| (event, id).encode(env));
}

fn panic_term<'a>(env: Env<'a>, payload: Box<dyn std::any::Any + Send>) -> Term<'a> {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "native job panicked".to_string()
    };
    (atoms::error(), (atoms::panic(), message)).encode(env)
}

fn invalid<'a>(env: Env<'a>, command: Command) -> Term<'a> {
    (
        atoms::error(),
        (
            atoms::invalid_arguments(),
            format!("{command:?}").to_lowercase(),
        ),
    )
        .encode(env)
}

/// What a running job can reach: its env, its pool, and where its reply goes.
struct JobEnv<'a, 'j> {
    env: Env<'a>,
    inner: &'j Inner,
    tag: Term<'a>,
    reply_to: &'j LocalPid,
    cancelled: Option<&'j AtomicBool>,
}

impl JobEnv<'_, '_> {
    fn is_cancelled(&self) -> bool {
        self.cancelled.is_some_and(|c| c.load(Ordering::Acquire))
    }
}

fn run_command<'a>(job: &JobEnv<'a, '_>, command: Command, args: Term<'a>) -> Term<'a> {
    let env = job.env;
    match command {
        Command::Ping | Command::Health => (atoms::ok(), args).encode(env),
        // `ms` or `{ms, payload}`: holds a slot (and the payload's bytes) for `ms`.
        Command::Sleep => match args
            .decode::<u64>()
            .or_else(|_| args.decode::<(u64, Term)>().map(|(ms, _)| ms))
        {
            // Stopping the worker ends the sleep, so its threads (and the payload) do not
            // outlive it; a retiring worker that is only closed still drains it.
            Ok(ms) => {
                let stopped = job.inner.stopped.lock().unwrap_or_else(|e| e.into_inner());
                let (stopped, _) = job
                    .inner
                    .stopped_signal
                    .wait_timeout_while(stopped, Duration::from_millis(ms), |stopped| !*stopped)
                    .unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    (atoms::error(), atoms::closed()).encode(env)
                } else {
                    (atoms::ok(), ms).encode(env)
                }
            }
            Err(_) => invalid(env, command),
        },
        // resume_unwind unwinds like a panic but skips the panic hook, so tests of the
        // catch_unwind path do not print a backtrace; real panics still do.
        Command::Panic => std::panic::resume_unwind(Box::new(
            "panic requested by the :__panic__ diagnostic command",
        )),
        Command::Count => match args.decode::<(Binary, bool)>() {
            Ok((input, validate_utf8)) => {
                let (mut good, mut bad) = (0u64, 0u64);
                snakepit_core::read::for_each_item(
                    input.as_slice(),
                    0,
                    0,
                    snakepit_core::ParseOptions { validate_utf8 },
                    |item| {
                        if item.is_ok() {
                            good += 1
                        } else {
                            bad += 1
                        }
                        true
                    },
                );
                (atoms::ok(), (good, bad)).encode(env)
            }
            Err(_) => invalid(env, command),
        },
        Command::Scan => match args.decode::<Binary>() {
            Ok(input) => {
                let frames: Vec<(usize, usize)> =
                    snakepit_core::scan::Frames::new(input.as_slice())
                        .filter_map(|step| match step {
                            snakepit_core::scan::Step::Record { start, end } => {
                                Some((start, end - start))
                            }
                            _ => None,
                        })
                        .collect();
                (atoms::ok(), frames).encode(env)
            }
            Err(_) => invalid(env, command),
        },
        // Same term shapes as the dirty-scheduler NIFs in parse_nif.rs, from the same option
        // map and with the same TermBuilder, so both profiles return identical results.
        Command::Parse => match args.decode::<(Binary, ReadConfig)>() {
            Ok((input, config)) => match config.decode() {
                Ok(read) => parse(job, input.as_slice(), &read),
                Err(_) => invalid(env, command),
            },
            Err(_) => invalid(env, command),
        },
        Command::Validate => match args.decode::<(Binary, ReadConfig)>() {
            Ok((input, config)) => match config.decode() {
                Ok(read) => {
                    let errors = crate::parse_nif::error_terms(env, input.as_slice(), &read);
                    (atoms::ok(), errors).encode(env)
                }
                Err(_) => invalid(env, command),
            },
            Err(_) => invalid(env, command),
        },
    }
}

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}`, as `parse_binary`. Items of an
/// input over `REPLY_CHUNK_BYTES` go ahead in `{tag, {:snakepit_chunk, items}}` messages,
/// one per run of whole frames, each built in its own env and sent before the next is
/// built; the reply holds the last run's items and the total skipped count. In strict mode
/// an error is the reply and the chunks before it are to be dropped. A cancelled job stops
/// at the next run and replies `{:error, :cancelled}`.
fn parse<'a>(job: &JobEnv<'a, '_>, input: &[u8], read: &Read) -> Term<'a> {
    let env = job.env;
    let cancelled = || (atoms::error(), atoms::cancelled()).encode(env);
    let runs = frame_runs(input, REPLY_CHUNK_BYTES);
    let (last, ahead) = runs
        .split_last()
        .expect("frame_runs returns at least one run");
    let mut skipped_total = 0u64;
    for run in ahead {
        if job.is_cancelled() {
            return cancelled();
        }
        let mut chunk_env = OwnedEnv::new();
        let built = chunk_env.run(|chunk| {
            let slice = &input[run.start..run.end];
            let result = parse_items(chunk, slice, run.start as u64, run.first_index, read);
            match result.decode::<(Atom, Term, u64)>() {
                Ok((_ok, items, skipped)) => {
                    skipped_total += skipped;
                    let message = (job.tag.in_env(chunk), (atoms::snakepit_chunk(), items));
                    Ok(chunk_env.save(message))
                }
                // Strict mode stopped here: the error is the reply.
                Err(_) => Err(result.in_env(env)),
            }
        });
        match built {
            Ok(message) => {
                let _ = chunk_env.send_and_clear(job.reply_to, |chunk| message.load(chunk));
            }
            Err(error) => return error,
        }
    }
    if job.is_cancelled() {
        return cancelled();
    }
    let result = parse_items(
        env,
        &input[last.start..last.end],
        last.start as u64,
        last.first_index,
        read,
    );
    match result.decode::<(Atom, Term, u64)>() {
        Ok((ok, items, skipped)) => (ok, items, skipped + skipped_total).encode(env),
        Err(_) => result,
    }
}

/// A run of whole frames of a parse input: its byte range and the index of its first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameRun {
    start: usize,
    end: usize,
    first_index: u64,
}

/// Cuts `input` at frame boundaries into runs of at least `min_bytes` (the last may be
/// shorter); one run for an input that is not longer than that. Framing only, no parsing.
fn frame_runs(input: &[u8], min_bytes: usize) -> Vec<FrameRun> {
    use snakepit_core::scan::{next_step, Step};
    let mut runs = Vec::new();
    let mut run = FrameRun {
        start: 0,
        end: input.len(),
        first_index: 0,
    };
    if input.len() > min_bytes {
        let (mut pos, mut index) = (0usize, 0u64);
        while let Step::Record { end, .. } | Step::Skip { end, .. } = next_step(input, pos, true) {
            pos = end;
            index += 1;
            if pos - run.start >= min_bytes && pos < input.len() {
                runs.push(FrameRun { end: pos, ..run });
                run = FrameRun {
                    start: pos,
                    end: input.len(),
                    first_index: index,
                };
            }
        }
    }
    runs.push(run);
    runs
}

/// Checks out a slot for work that runs in Elixir (Elixir-implemented commands and
/// functions), so it counts against this worker's capacity. `{:ok, slot}`, `:busy` or
/// `:closed`. In the same call the owner process is sent
/// `{:snakepit_slot_held, id, slot, holder}` and monitors `holder`: no exit signal can fall
/// between the check-out and the owner knowing, and the owner returns the slot if `holder`
/// dies holding it.
#[rustler::nif]
fn thread_pool_acquire<'a>(
    env: Env<'a>,
    resource: ResourceArc<ThreadPoolResource>,
    holder: LocalPid,
) -> Term<'a> {
    let _watch = crate::scheduler_watch::watch("thread_pool_acquire");
    let inner = &resource.inner;
    if let Err(refused) = check_out(inner, true) {
        return refused.encode(env);
    }
    if inner.pool.read().map(|p| p.is_none()).unwrap_or(true) {
        inner.in_flight.fetch_sub(1, Ordering::AcqRel);
        return atoms::closed().encode(env);
    }
    let id = inner.next_slot.fetch_add(1, Ordering::Relaxed);
    let slot = ResourceArc::new(SlotResource {
        inner: inner.clone(),
        id,
        held: AtomicBool::new(true),
    });
    let held = (atoms::snakepit_slot_held(), id, slot.clone(), holder);
    if env.send(&inner.owner, held).is_err() {
        // No owner, so nobody could return the slot: refuse instead.
        release_slot(env, &slot);
        return atoms::closed().encode(env);
    }
    (atoms::ok(), slot).encode(env)
}

/// Returns a slot taken by `thread_pool_acquire`; a second release of the same slot does
/// nothing, so the holder and the owner may both call it. A release by anyone but the owner
/// tells the owner (`{:snakepit_slot_released, id}`), so it stops monitoring the holder.
/// Runs on a scheduler thread, so messages go out with the caller's env (`send_and_clear`
/// is illegal here).
#[rustler::nif]
fn thread_pool_release(env: Env, slot: ResourceArc<SlotResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_release");
    if release_slot(env, &slot) && env.pid() != slot.inner.owner {
        let _ = env.send(
            &slot.inner.owner,
            (atoms::snakepit_slot_released(), slot.id),
        );
    }
    atoms::ok()
}

/// Whether this call released the slot (false when it was released before).
fn release_slot(env: Env, slot: &SlotResource) -> bool {
    if !slot.held.swap(false, Ordering::AcqRel) {
        return false;
    }
    let inner = &slot.inner;
    let completed = inner.completed.fetch_add(1, Ordering::Relaxed) + 1;
    let before = inner.in_flight.fetch_sub(1, Ordering::AcqRel);
    if before == inner.threads {
        let _ = env.send(
            &inner.notify,
            (atoms::snakepit_capacity_freed(), inner.worker_id),
        );
    }
    if completed == inner.max_requests {
        let _ = env.send(
            &inner.notify,
            (atoms::snakepit_max_requests(), inner.worker_id),
        );
    }
    true
}

/// Stops taking jobs; queued and running jobs finish, then the threads exit.
#[rustler::nif]
fn thread_pool_close(resource: ResourceArc<ThreadPoolResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_close");
    close(&resource.inner);
    atoms::ok()
}

/// `thread_pool_close` for a worker that is gone (stopped or dead): nobody waits for its
/// replies any more, so work that can end early does (`:sleep`), and its threads exit and
/// free what the jobs held instead of outliving the worker.
#[rustler::nif]
fn thread_pool_stop(resource: ResourceArc<ThreadPoolResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_stop");
    let inner = &resource.inner;
    close(inner);
    *inner.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
    inner.stopped_signal.notify_all();
    atoms::ok()
}

fn close(inner: &Inner) {
    let pool = inner.pool.write().unwrap_or_else(|e| e.into_inner()).take();
    if pool.is_some() {
        LIVE_POOLS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Tells the job behind `ticket` that nobody waits for it any more. `:ok`.
#[rustler::nif]
fn thread_pool_cancel(ticket: ResourceArc<TicketResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_cancel");
    ticket.cancelled.store(true, Ordering::Release);
    atoms::ok()
}

/// `{in_flight, unsent, threads, completed, native_bytes}` for load, drain, capacity and
/// memory accounting.
/// `native_bytes` counts the bytes queued and running jobs keep alive plus the resource
/// itself; thread stacks are reserved address space, mostly never touched, so they are not
/// counted.
#[rustler::nif]
fn thread_pool_stats(
    resource: ResourceArc<ThreadPoolResource>,
) -> (usize, usize, usize, u64, usize) {
    let _watch = crate::scheduler_watch::watch("thread_pool_stats");
    let inner = &resource.inner;
    (
        inner.in_flight.load(Ordering::Acquire),
        inner.unsent.load(Ordering::Acquire),
        inner.threads,
        inner.completed.load(Ordering::Relaxed),
        inner.held_bytes.load(Ordering::Relaxed) + std::mem::size_of::<Inner>(),
    )
}

/// Slots in use; a closed or used-up worker reports itself full, so nobody routes to it.
#[rustler::nif]
fn thread_pool_load(resource: ResourceArc<ThreadPoolResource>) -> usize {
    let _watch = crate::scheduler_watch::watch("thread_pool_load");
    let inner = &resource.inner;
    let used_up =
        inner.max_requests > 0 && inner.started.load(Ordering::Acquire) >= inner.max_requests;
    let closed = inner.pool.read().map(|p| p.is_none()).unwrap_or(true);
    if used_up || closed {
        inner.threads
    } else {
        inner.in_flight.load(Ordering::Acquire)
    }
}

/// `{open, threads, live_threads}` for one pool: whether it still takes jobs, its configured
/// thread count, and how many of its rayon threads are running now (0 some time after close).
#[rustler::nif]
fn thread_pool_threads(resource: ResourceArc<ThreadPoolResource>) -> (bool, usize, usize) {
    let _watch = crate::scheduler_watch::watch("thread_pool_threads");
    let inner = &resource.inner;
    let open = inner.pool.read().map(|p| p.is_some()).unwrap_or(false);
    (
        open,
        inner.threads,
        inner.live_threads.load(Ordering::Relaxed),
    )
}

/// `{open_pools, live_threads}` across the VM.
#[rustler::nif]
fn thread_pool_census() -> (usize, usize) {
    let _watch = crate::scheduler_watch::watch("thread_pool_census");
    (
        LIVE_POOLS.load(Ordering::Relaxed),
        LIVE_THREADS.load(Ordering::Relaxed),
    )
}

/// Round-trip baseline for benchmarks: a plain NIF call that returns its argument.
#[rustler::nif]
fn echo<'a>(term: Term<'a>) -> Term<'a> {
    let _watch = crate::scheduler_watch::watch("echo");
    term
}

/// `{version, profile, target}` of the loaded native library.
#[rustler::nif]
fn native_build_info() -> (&'static str, &'static str, String) {
    let _watch = crate::scheduler_watch::watch("native_build_info");
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    (
        env!("CARGO_PKG_VERSION"),
        profile,
        format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
    )
}
