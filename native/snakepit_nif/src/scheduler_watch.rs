//! How long each normal-scheduler NIF holds its scheduler, in the scheduler thread's own CPU
//! time. Wall-clock probes and `long_schedule` also fire when the OS deschedules the BEAM on
//! a busy machine; CPU time spent inside the NIF does not, so the test suite can tell a NIF
//! that works too long on a normal scheduler from a machine that is merely loaded.
//!
//! Off unless a test turns it on (`debug_scheduler_watch(true)`); then each watched call reads
//! the thread CPU clock twice. Every `#[rustler::nif]` without a dirty schedule starts with
//! `let _watch = scheduler_watch::watch("name");` (a test checks the sources for it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);

/// Per NIF: (name, calls, worst CPU time in ns).
static WORST: Mutex<Vec<(&'static str, u64, u64)>> = Mutex::new(Vec::new());

pub(crate) struct Watch {
    nif: &'static str,
    started: Instant,
    /// The thread's CPU clock at the start, when watching is on.
    cpu_started_ns: Option<u64>,
}

/// A guard for one normal-scheduler NIF call: it records the call's CPU time when it is
/// dropped, when watching is on, and tells the scheduler what the call cost
/// ([`Watch::account`]).
pub(crate) fn watch(nif: &'static str) -> Watch {
    Watch {
        nif,
        started: Instant::now(),
        cpu_started_ns: ON.load(Ordering::Relaxed).then(thread_cpu_ns),
    }
}

impl Watch {
    /// Tells the scheduler how much of the process's time slice (about 1 ms) the call took,
    /// so that the process yields accordingly afterwards: the larger of the estimate for
    /// building `terms` (see [`crate::budget`]) and the wall time the call has taken so far.
    /// The estimate alone let a fan-out worker make several 0.5 ms calls in one slice on a
    /// slow machine, with other processes on its scheduler waiting 3 ms and more.
    pub(crate) fn account(&self, env: rustler::Env<'_>, terms: usize) {
        let measured = crate::budget::timeslice_percent_of(self.started.elapsed());
        let estimated = crate::budget::timeslice_percent(terms);
        rustler::schedule::consume_timeslice(env, estimated.max(measured));
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(started_ns) = self.cpu_started_ns else {
            return;
        };
        let spent = thread_cpu_ns().saturating_sub(started_ns);
        let mut worst = WORST
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match worst.iter_mut().find(|(nif, _, _)| *nif == self.nif) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 = entry.2.max(spent);
            }
            None => worst.push((self.nif, 1, spent)),
        }
    }
}

fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant the OS knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// `true` clears the record and starts watching; `false` stops. Either way returns what was
/// recorded so far: `[{nif_name, calls, worst_cpu_us}]`.
#[rustler::nif]
fn debug_scheduler_watch(on: bool) -> Vec<(&'static str, u64, u64)> {
    let mut worst = WORST
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let recorded = worst
        .iter()
        .map(|&(nif, calls, ns)| (nif, calls, ns / 1_000))
        .collect();
    if on {
        worst.clear();
    }
    ON.store(on, Ordering::Relaxed);
    recorded
}
