//! Native work started on rayon's threads by one NIF call and collected by a later one, so
//! that the calling process does something else in between: a stream of batches starts
//! the next group's work, then builds and hands on the terms of the group before. Knows
//! nothing of what the work is: a resource wraps a [`Job`] of its own result type.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};

/// Work running (or done) on a rayon thread, its result taken once.
pub(crate) struct Job<T>(Arc<Shared<T>>);

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

enum State<T> {
    Running,
    Done(T),
    /// The work panicked (a bug): the taker is told, instead of waiting forever.
    Failed,
    /// The result was taken.
    Taken,
}

/// Why [`Job::wait`] gave no result.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoResult {
    Failed,
    AlreadyTaken,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on the current rayon pool and returns at once.
    pub(crate) fn spawn(work: impl FnOnce() -> T + Send + 'static) -> Job<T> {
        let job = Job::with(State::Running);
        let shared = job.0.clone();
        rayon::spawn(move || {
            let state = match catch_unwind(AssertUnwindSafe(work)) {
                Ok(result) => State::Done(result),
                Err(_) => State::Failed,
            };
            *shared.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
            shared.ready.notify_all();
        });
        job
    }
}

impl<T> Job<T> {
    /// A job whose work is already done: [`Job::wait`] gives `result` at once.
    pub(crate) fn done(result: T) -> Job<T> {
        Job::with(State::Done(result))
    }

    fn with(state: State<T>) -> Job<T> {
        Job(Arc::new(Shared {
            state: Mutex::new(state),
            ready: Condvar::new(),
        }))
    }

    /// Blocks until the work is done, then gives its result (once).
    pub(crate) fn wait(&self) -> Result<T, NoResult> {
        let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        while matches!(*state, State::Running) {
            state = self.0.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(result) => Ok(result),
            State::Failed => {
                *state = State::Failed;
                Err(NoResult::Failed)
            }
            _ => Err(NoResult::AlreadyTaken),
        }
    }
}
