//! Thread-profile workers: each worker owns one of these resources, a rayon pool of its own.
//!
//! The hot path holds no BEAM scheduler: `thread_pool_submit` checks out a slot with one
//! compare-and-swap, copies the arguments into a process-independent environment (refc
//! binaries are shared, not copied) and returns. The job builds its reply on the rayon thread
//! and sends it with `OwnedEnv::send_and_clear`, which is only legal off BEAM threads, which
//! is why no reply is ever sent from a NIF call. A panicking job becomes an error reply.

use crate::options::{Read, ReadConfig};
use rustler::env::SavedTerm;
use rustler::{Atom, Binary, Encoder, Env, LocalPid, OwnedEnv, ResourceArc, Term};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
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

#[rustler::nif]
fn thread_pool_new(
    threads: usize,
    notify: LocalPid,
    worker_id: u64,
    max_requests: u64,
) -> Result<ResourceArc<ThreadPoolResource>, String> {
    let _watch = crate::scheduler_watch::watch("thread_pool_new");
    if threads == 0 {
        return Err("threads must be at least 1".to_string());
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
        }),
    }))
}

/// Checks out a slot and enqueues the job; the reply `{tag, result}` goes to the caller.
/// Returns `:ok`, `:busy` (every thread taken), `:closed` or `{:error, {:unknown_command, c}}`.
#[rustler::nif]
fn thread_pool_submit<'a>(
    env: Env<'a>,
    resource: ResourceArc<ThreadPoolResource>,
    tag: Term<'a>,
    command: Atom,
    args: Term<'a>,
) -> Term<'a> {
    let _watch = crate::scheduler_watch::watch("thread_pool_submit");
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
    let bytes = binary_bytes(args, 2);
    inner.held_bytes.fetch_add(bytes, Ordering::Relaxed);
    inner.unsent.fetch_add(1, Ordering::AcqRel);
    let owned = OwnedEnv::new();
    let saved = owned.save((tag, args));
    let job = Job {
        inner: inner.clone(),
        env: owned,
        saved,
        reply_to: env.pid(),
        command,
        bytes,
        counted,
    };
    pool.spawn(move || job.run());
    atoms::ok().encode(env)
}

/// Bytes of the binaries in `term` (looking `depth` levels into tuples and lists): what a
/// job keeps alive, counted for the memory report.
fn binary_bytes(term: Term, depth: u32) -> usize {
    if let Ok(binary) = term.decode::<Binary>() {
        return binary.len();
    }
    if depth == 0 {
        return 0;
    }
    if let Ok(items) = rustler::types::tuple::get_tuple(term) {
        return items.iter().map(|t| binary_bytes(*t, depth - 1)).sum();
    }
    if let Ok(items) = term.decode::<Vec<Term>>() {
        return items.iter().map(|t| binary_bytes(*t, depth - 1)).sum();
    }
    0
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
}

impl Job {
    fn run(mut self) {
        let inner = self.inner.clone();
        let (saved, command, bytes, counted) =
            (self.saved.clone(), self.command, self.bytes, self.counted);
        let mut released = false;
        let reply_to = self.reply_to;
        let env = &mut self.env;
        // Anything that panics outside the command itself must still free the slot.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            env.send_and_clear(&reply_to, |env| {
                let (tag, args) = saved
                    .load(env)
                    .decode::<(Term, Term)>()
                    .expect("saved by thread_pool_submit as a pair");
                let result = catch_unwind(AssertUnwindSafe(|| run_command(env, command, args)))
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

fn run_command<'a>(env: Env<'a>, command: Command, args: Term<'a>) -> Term<'a> {
    match command {
        Command::Ping | Command::Health => (atoms::ok(), args).encode(env),
        // `ms` or `{ms, payload}`: holds a slot (and the payload's bytes) for `ms`.
        Command::Sleep => match args
            .decode::<u64>()
            .or_else(|_| args.decode::<(u64, Term)>().map(|(ms, _)| ms))
        {
            Ok(ms) => {
                std::thread::sleep(Duration::from_millis(ms));
                (atoms::ok(), ms).encode(env)
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
                Ok(read) => parse(env, input.as_slice(), &read),
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

/// `{:ok, items, skipped}` or `{:error, %ParseError{}}`, as `parse_binary`.
fn parse<'a>(env: Env<'a>, input: &[u8], read: &Read) -> Term<'a> {
    crate::parse_nif::parse_items(env, input, 0, 0, read)
}

/// Checks out a slot for work that runs in the calling process (Elixir-implemented commands
/// and functions), so it counts against this worker's capacity. `:ok`, `:busy` or `:closed`.
#[rustler::nif]
fn thread_pool_acquire(resource: ResourceArc<ThreadPoolResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_acquire");
    let inner = &resource.inner;
    if let Err(refused) = check_out(inner, true) {
        return refused;
    }
    if inner.pool.read().map(|p| p.is_none()).unwrap_or(true) {
        inner.in_flight.fetch_sub(1, Ordering::AcqRel);
        return atoms::closed();
    }
    atoms::ok()
}

/// Returns a slot taken by `thread_pool_acquire`. Runs on a scheduler thread, so a wake-up
/// for queued callers goes out with the caller's env (`send_and_clear` is illegal here).
#[rustler::nif]
fn thread_pool_release(env: Env, resource: ResourceArc<ThreadPoolResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_release");
    let inner = &resource.inner;
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
    atoms::ok()
}

/// Stops taking jobs; queued and running jobs finish, then the threads exit.
#[rustler::nif]
fn thread_pool_close(resource: ResourceArc<ThreadPoolResource>) -> Atom {
    let _watch = crate::scheduler_watch::watch("thread_pool_close");
    let pool = resource
        .inner
        .pool
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if pool.is_some() {
        LIVE_POOLS.fetch_sub(1, Ordering::Relaxed);
    }
    drop(pool);
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
