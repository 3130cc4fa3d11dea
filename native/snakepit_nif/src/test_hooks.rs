//! Test-only native code, compiled with `--features test-hooks` only (the Mix compiler
//! builds `libsnakepit_nif_test` so for `MIX_ENV=test`): NIFs and `:thread` commands that
//! let the test suite hold a scheduler, kill a reader thread, fill a slot or crash a job.
//! A production build has none of it.

use crate::atoms;
use crate::errors::NativeError;
use crate::options::{Read, Shape};
use crate::pool_commands::{args, Command, Reply};
use crate::stream_nif::{ready_notifier, FileStream, Source, StreamResource, NEXT_STREAM_ID};
use crate::thread_pool::JobEnv;
use rustler::{Encoder, Env, NifResult, Term};
use snakepit_core::chunker::BatchLimits;
use snakepit_core::pipeline::{Pipeline, PipelineOptions};
use snakepit_core::Mode;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod hook_atoms {
    rustler::atoms! { sleep, __panic__ }
}

/// `:sleep`, `ms` or `{ms, payload}`: holds a slot (and the payload's bytes) for `ms`.
/// Stopping the worker ends the sleep with `{:error, :closed}`, so its threads (and the
/// payload) do not outlive it; a retiring worker that is only closed still drains it.
pub(crate) const SLEEP: Command = Command {
    atom: hook_atoms::sleep,
    counted: true,
    chunked: |_| false,
    run: sleep,
};

/// `:__panic__`: the job panics, to test that a panic becomes `{:error, {:panic, message}}`.
pub(crate) const PANIC: Command = Command {
    atom: hook_atoms::__panic__,
    counted: true,
    chunked: |_| false,
    run: panic,
};

fn sleep<'a>(job: &JobEnv<'a, '_>, term: Term<'a>) -> Reply<'a> {
    let ms = match term.decode::<u64>() {
        Ok(ms) => ms,
        Err(_) => args::<(u64, Term)>("sleep", term)?.0,
    };
    if job.wait_unless_stopped(Duration::from_millis(ms)) {
        Err(NativeError::Closed)
    } else {
        Ok((atoms::ok(), ms).encode(job.env))
    }
}

fn panic<'a>(_job: &JobEnv<'a, '_>, _args: Term<'a>) -> Reply<'a> {
    // resume_unwind unwinds like a panic but skips the panic hook, so tests of the
    // catch_unwind path do not print a backtrace; real panics still do.
    std::panic::resume_unwind(Box::new(
        "panic requested by the :__panic__ diagnostic command",
    ))
}

/// Spins on the calling (normal) scheduler for `ms` milliseconds, and tells the scheduler
/// what that took of the time slice, as the NIFs that build terms do. Exists so the test
/// suite can prove its scheduler probe detects a NIF that holds a normal scheduler, and that
/// a call is charged its measured time; never use it.
#[rustler::nif]
fn debug_hold_scheduler(env: Env<'_>, ms: u64) -> u64 {
    let watch = crate::scheduler_watch::watch("debug_hold_scheduler");
    let start = std::time::Instant::now();
    let mut spins = 0u64;
    while start.elapsed() < std::time::Duration::from_millis(ms.min(1_000)) {
        spins = std::hint::black_box(spins + 1);
    }
    // No terms built: whatever the process is charged beyond the minimum is the time.
    watch.account(env, 0);
    spins
}

/// Test hook: `{:ok, resource, id}`, a file-like stream whose reader thread panics after
/// `delay_ms`. With `notify` false its wake-up is lost as well, as a thread that died
/// without a drop guard would lose it: the consumer must find the failure by itself.
#[rustler::nif]
fn debug_stream_open_panicking<'a>(
    env: Env<'a>,
    delay_ms: u64,
    notify: bool,
) -> NifResult<Term<'a>> {
    let _watch = crate::scheduler_watch::watch("debug_stream_open_panicking");
    struct Panicking(u64);
    impl std::io::Read for Panicking {
        fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(self.0));
            panic!("debug_stream_open_panicking: the injected reader failure");
        }
    }
    let id = NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed);
    let ready = ready_notifier(env.pid(), id);
    let opts = PipelineOptions {
        threads: 1,
        ..PipelineOptions::default()
    };
    let spawned = Pipeline::spawn(Panicking(delay_ms), opts, move || {
        if notify {
            ready()
        }
    });
    let pipeline = match spawned {
        Ok(p) => p,
        Err(e) => return Ok(NativeError::from(e).to_term(env)),
    };
    let stream = FileStream {
        pipeline,
        closed: None,
    };
    let read = Read {
        mode: Mode::Strict,
        shape: Shape::Struct,
        parse: Default::default(),
        marc8: None,
        recovery: Default::default(),
    };
    let resource = StreamResource::new(Source::File(stream), BatchLimits::default(), read, false);
    Ok((atoms::ok(), resource, id).encode(env))
}
