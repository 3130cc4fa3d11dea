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
//!
//! This module is generic: it knows nothing of MARC. What each command does is in the
//! command table, [`crate::pool_commands`]; a job here only runs a table entry and sends
//! what it returns (and, for a command that replies in chunks, the chunks ahead of it).

use crate::errors::NativeError;
use crate::pool_commands::{self, Command};
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
        snakepit_capacity_freed,
        snakepit_max_requests,
        snakepit_slot_held,
        snakepit_slot_released,
        snakepit_chunk,
        copy_on_dirty,
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

struct Inner {
    /// `None` once closed: no new jobs, queued ones still finish.
    /// Shared, so that a caller holding slots can run work on its threads (see
    /// [`held_threads`]) while a close takes it out.
    pool: RwLock<Option<Arc<rayon::ThreadPool>>>,
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
    /// Set by `thread_pool_stop`; wakes jobs waiting in [`JobEnv::wait_unless_stopped`] so a
    /// stopped worker's threads exit.
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
) -> Result<ResourceArc<ThreadPoolResource>, NativeError> {
    if threads == 0 || threads > MAX_THREADS {
        return Err(NativeError::Config(format!(
            "threads_per_worker must be between 1 and {MAX_THREADS}, got: {threads}"
        )));
    }
    let live_threads = Arc::new(AtomicUsize::new(0));
    let (started, exited) = (live_threads.clone(), live_threads.clone());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(THREAD_STACK_BYTES)
        .thread_name(|i| format!("snakepit-{i}"))
        .start_handler(move |_| {
            snakepit_core::threads::lower_current_thread();
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
        .map_err(|e| NativeError::Config(e.to_string()))?;
    LIVE_POOLS.fetch_add(1, Ordering::Relaxed);
    Ok(ResourceArc::new(ThreadPoolResource {
        inner: Arc::new(Inner {
            pool: RwLock::new(Some(Arc::new(pool))),
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

/// Every command a `:thread` worker runs natively, from the command table: the list the
/// Elixir command module is checked against.
#[rustler::nif]
fn thread_pool_commands() -> Vec<Atom> {
    let _watch = crate::scheduler_watch::watch("thread_pool_commands");
    pool_commands::atoms()
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
    let Some(command) = pool_commands::find(command) else {
        return NativeError::UnknownCommand(command).to_term(env);
    };
    let inner = &resource.inner;
    let counted = command.counted;
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
    let chunked = (command.chunked)(args);
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
    command: &'static Command,
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
                let result = catch_unwind(AssertUnwindSafe(|| (command.run)(&job, args)))
                    .unwrap_or_else(|payload| Err(NativeError::from_panic(payload)))
                    .unwrap_or_else(|e| e.to_term(env));
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

/// What a running job can reach: its env, its pool, and where its reply goes.
pub(crate) struct JobEnv<'a, 'j> {
    pub(crate) env: Env<'a>,
    inner: &'j Inner,
    tag: Term<'a>,
    reply_to: &'j LocalPid,
    cancelled: Option<&'j AtomicBool>,
}

impl<'a> JobEnv<'a, '_> {
    /// Whether the caller stopped waiting (`thread_pool_cancel`): a job that replies in
    /// chunks checks before building each.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.is_some_and(|c| c.load(Ordering::Acquire))
    }

    /// Waits `timeout`, or less if the worker is stopped meanwhile: `true` when it was.
    /// A worker that is only closed (retiring) is waited out.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub(crate) fn wait_unless_stopped(&self, timeout: Duration) -> bool {
        let stopped = self.inner.stopped.lock().unwrap_or_else(|e| e.into_inner());
        let (stopped, _) = self
            .inner
            .stopped_signal
            .wait_timeout_while(stopped, timeout, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *stopped
    }

    /// Sends one chunk ahead of the reply: `build` makes it in an env of its own, and
    /// `Ok(items)` goes out at once as `{tag, {:snakepit_chunk, items}}`, so no giant
    /// message is ever built. `Err(reply)` sends nothing and hands `reply`, copied into the
    /// job's env, back: the job stops there and replies with it.
    pub(crate) fn send_chunk(
        &self,
        build: impl for<'c> FnOnce(Env<'c>) -> Result<Term<'c>, Term<'c>>,
    ) -> Result<(), Term<'a>> {
        let mut chunk_env = OwnedEnv::new();
        let built = chunk_env.run(|chunk| match build(chunk) {
            Ok(items) => {
                let message = (self.tag.in_env(chunk), (atoms::snakepit_chunk(), items));
                Ok(chunk_env.save(message))
            }
            Err(reply) => Err(reply.in_env(self.env)),
        });
        let message = built?;
        let _ = chunk_env.send_and_clear(self.reply_to, |chunk| message.load(chunk));
        Ok(())
    }
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

/// The native threads that `slots` entitle their holder to: `slots` were checked out by
/// one caller with `thread_pool_acquire`, all of one worker, and are still held. `Ok` with
/// the worker's rayon pool and as many of its threads as there are slots, or `Ok(None)`
/// when the worker has closed since (it is retiring: the caller then does the work
/// alone); `Err` when the slots are not all held or not all of one worker.
pub(crate) fn held_threads(
    slots: &[ResourceArc<SlotResource>],
) -> Result<crate::whole_input::Held, ()> {
    let first = slots.first().ok_or(())?;
    let one_worker = slots.iter().all(|s| Arc::ptr_eq(&s.inner, &first.inner));
    if !one_worker || !slots.iter().all(|s| s.held.load(Ordering::Acquire)) {
        return Err(());
    }
    let pool = first
        .inner
        .pool
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(pool.map(|pool| (pool, slots.len())))
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
/// replies any more, so work that can end early does (the test hook `:sleep`), and its
/// threads exit and free what the jobs held instead of outliving the worker.
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
