//! A small ISO 2709 input read whole, by one NIF call: cut at frame boundaries into runs,
//! each run's native work done by whichever thread is free (rayon's and the caller's), and
//! its terms built by the caller, in run order. Extraction and validation use it for
//! inputs small enough that a stream's fixed costs (a reader thread, hops between threads
//! per batch) would be most of the time they take. Knows nothing of the work.

use rustler::{Encoder, Env, NifResult, Term};
use std::sync::atomic::{AtomicUsize, Ordering};

mod whole_atoms {
    rustler::atoms! { stream }
}

/// `:stream`: what a NIF that reads a small file whole says of one it does not read.
pub(crate) fn stream_atom(env: Env<'_>) -> Term<'_> {
    whole_atoms::stream().encode(env)
}

/// How an input is cut: about `count` runs, none under `min_bytes` but the last.
pub(crate) type Runs = (usize, usize);

/// The bytes of `path` if it is a regular file of at most `max_bytes`; `None` for one that
/// is not regular, bigger, or cannot be read, which the stream then reads (and reports).
/// Read in one `read` of its length and one that finds the end, not `read_to_end`'s reads
/// of 8, 16, 32 KB and on (a `Take` hides the file's size from it).
pub(crate) fn small_file(path: &str, max_bytes: u64) -> Option<Vec<u8>> {
    let (file, length) = open_small(path, max_bytes)?;
    let mut bytes = vec![0; length as usize];
    read_all(file, &mut bytes).then_some(bytes)
}

/// [`small_file`] read straight into a new Erlang binary (no copy).
pub(crate) fn small_file_binary(path: &str, max_bytes: u64) -> Option<rustler::OwnedBinary> {
    let (file, length) = open_small(path, max_bytes)?;
    let mut binary = rustler::OwnedBinary::new(length as usize);
    read_all(file, binary.as_mut_slice()).then_some(binary)
}

/// Whether `file` filled `buffer`, its length when opened, and ended there: a file that
/// shrank or grew since is left to the stream.
fn read_all(mut file: std::fs::File, buffer: &mut [u8]) -> bool {
    use std::io::Read as _;
    file.read_exact(buffer).is_ok() && matches!(file.read(&mut [0u8]), Ok(0))
}

/// `path` opened, with its length, if it is a regular file of at most `max_bytes`. Opened
/// without blocking, so a FIFO put in the file's place meanwhile is not waited on.
fn open_small(path: &str, max_bytes: u64) -> Option<(std::fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    // Looked at before it is opened: opening a FIFO, even without blocking, would let a
    // writer waiting for a reader go on to find none once this closes it.
    let fits = |meta: &std::fs::Metadata| meta.is_file() && meta.len() <= max_bytes;
    if !fits(&std::fs::metadata(path).ok()?) {
        return None;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    fits(&meta).then_some((file, meta.len()))
}

/// `{:ok, answer(bytes)}` for the bytes of `path` if it is a regular file of at most
/// `max_bytes` (see [`small_file`]), else `:stream`.
pub(crate) fn small_file_answer<'a>(
    env: Env<'a>,
    path: &str,
    max_bytes: u64,
    answer: impl FnOnce(&[u8]) -> NifResult<Term<'a>>,
) -> NifResult<Term<'a>> {
    match small_file(path, max_bytes) {
        Some(input) => Ok((crate::atoms::ok(), answer(&input)?).encode(env)),
        None => Ok(stream_atom(env)),
    }
}

/// The threads that do the runs' native work besides the calling thread (which does a run
/// whenever the one it needs next is not done).
pub(crate) enum Helpers<'p> {
    /// All of rayon's global threads.
    Global,
    /// This many threads of this pool (a `:thread` pool worker's, whose slots the caller
    /// holds). The calling thread does runs too, as with `Global`: without it the pool's
    /// `:extract` of a small binary measured 1.36-1.57x the time of the one-process call;
    /// with it, 1.05-1.09x.
    Pool(&'p rayon::ThreadPool, usize),
    /// None: the calling thread does every run.
    Alone,
}

/// What [`crate::thread_pool::held_threads`] gives for a caller's slots: the worker's pool
/// and how many of its threads they entitle it to, or `None` once the worker has closed.
pub(crate) type Held = Option<(std::sync::Arc<rayon::ThreadPool>, usize)>;

impl<'p> Helpers<'p> {
    /// rayon's global threads when the caller holds none of a pool's (`None`), else the
    /// threads it holds, or none at all once their worker has closed.
    pub(crate) fn of(held: Option<&'p Held>) -> Self {
        match held {
            None => Helpers::Global,
            Some(Some((pool, threads))) => Helpers::Pool(pool, *threads),
            Some(None) => Helpers::Alone,
        }
    }
}

/// The terms of `input`'s runs, in order: `work(bytes, base_offset, first_index)` does a
/// run's native work on one of `helpers` or this thread, `build` turns its result into a
/// term on this one, as soon as it and the runs before it are done. While the next run is
/// not done, this thread does a run no one has claimed, instead of waiting to be woken
/// (measured 13-28% faster on small files than leaving every run to rayon's threads). An
/// input of one run is done here alone (no thread wakes). A run whose work panicked
/// raises `failed`.
pub(crate) fn in_runs<'a, T: Send>(
    input: &[u8],
    (count, min_bytes): Runs,
    helpers: Helpers<'_>,
    failed: &'static str,
    work: impl Fn(&[u8], u64, u64) -> T + Sync,
    mut build: impl FnMut(T) -> NifResult<Term<'a>>,
) -> NifResult<Vec<Term<'a>>> {
    let run_bytes = (input.len() / count.max(1)).max(min_bytes).max(1);
    let runs = record_runs(input, run_bytes);
    if let [_] = runs.as_slice() {
        return Ok(vec![build(work(input, 0, 0))?]);
    }
    let claimed = AtomicUsize::new(0);
    let shared = RunWork {
        input,
        runs: &runs,
        claimed: &claimed,
        work: &work,
    };
    let threads = match helpers {
        Helpers::Global => rayon::current_num_threads(),
        Helpers::Pool(_, threads) => threads,
        Helpers::Alone => 0,
    };
    let wanted = threads.min(runs.len() - 1);
    match helpers {
        Helpers::Pool(pool, _) => {
            pool.in_place_scope(|scope| helped(scope, &shared, wanted, failed, &mut build))
        }
        Helpers::Global | Helpers::Alone => {
            rayon::in_place_scope(|scope| helped(scope, &shared, wanted, failed, &mut build))
        }
    }
}

/// [`in_runs`] inside its scope: `helpers` threads of the scope's pool do runs, and this
/// thread builds their terms in order, doing runs too.
fn helped<'s, 'a, T: Send + 's, W: Fn(&[u8], u64, u64) -> T + Sync>(
    scope: &rayon::Scope<'s>,
    shared: &'s RunWork<'s, W>,
    helpers: usize,
    failed: &'static str,
    build: &mut impl FnMut(T) -> NifResult<Term<'a>>,
) -> NifResult<Vec<Term<'a>>> {
    let (done, arrived) = std::sync::mpsc::channel();
    for _ in 0..helpers {
        let done = done.clone();
        scope.spawn(move |_| {
            while let Some(result) = shared.next() {
                if done.send(result).is_err() {
                    break;
                }
            }
        });
    }
    drop(done);
    let count = shared.runs.len();
    let terms = build_in_order(count, shared, &arrived, failed, build);
    if terms.is_err() {
        // Nothing more is wanted: the helpers stop after the run each is doing.
        shared.claimed.store(count, Ordering::Relaxed);
    }
    terms
}

/// The terms of `count` runs, in order, from the results that `arrived` and those this
/// thread makes itself (see [`in_runs`]).
fn build_in_order<'a, T, W: Fn(&[u8], u64, u64) -> T + Sync>(
    count: usize,
    shared: &RunWork<'_, W>,
    arrived: &std::sync::mpsc::Receiver<(usize, Option<T>)>,
    failed_atom: &'static str,
    build: &mut impl FnMut(T) -> NifResult<Term<'a>>,
) -> NifResult<Vec<Term<'a>>> {
    let failed = || rustler::Error::RaiseAtom(failed_atom);
    let mut waiting: Vec<Option<Option<T>>> = (0..count).map(|_| None).collect();
    let mut terms = Vec::with_capacity(count);
    while terms.len() < count {
        let next = terms.len();
        if let Some(result) = waiting[next].take() {
            terms.push(build(result.ok_or_else(failed)?)?);
            continue;
        }
        let (i, result) = match arrived.try_recv() {
            Ok(arrival) => arrival,
            Err(_) => match shared.next() {
                Some(mine) => mine,
                None => arrived.recv().map_err(|_| failed())?,
            },
        };
        waiting[i] = Some(result);
    }
    Ok(terms)
}

/// The runs of an input, claimed one at a time, in order, by the threads that do them.
struct RunWork<'i, W> {
    input: &'i [u8],
    runs: &'i [(usize, usize, u64)],
    claimed: &'i AtomicUsize,
    work: &'i W,
}

impl<W: Fn(&[u8], u64, u64) -> T + Sync, T> RunWork<'_, W> {
    /// The next run no thread has claimed, done (`None` for its result if that panicked),
    /// or `None` when every run is claimed.
    fn next(&self) -> Option<(usize, Option<T>)> {
        let i = self.claimed.fetch_add(1, Ordering::Relaxed);
        let &(start, end, index) = self.runs.get(i)?;
        let run = std::panic::AssertUnwindSafe(|| {
            (self.work)(&self.input[start..end], start as u64, index)
        });
        Some((i, std::panic::catch_unwind(run).ok()))
    }
}

/// `input` cut into runs `(start, end, first_index)` of at least `min_bytes` (the last may
/// be shorter), see [`cut_at_frames`].
pub(crate) fn record_runs(input: &[u8], min_bytes: usize) -> Vec<(usize, usize, u64)> {
    if input.len() <= min_bytes {
        return vec![(0, input.len(), 0)];
    }
    let mut runs: Vec<_> = cut_at_frames(input, |_, bytes| bytes >= min_bytes)
        .into_iter()
        .map(|(start, end, first, _)| (start, end, first))
        .collect();
    // The bytes after the last good frame (skipped or trailing) belong to the last run.
    match runs.last_mut() {
        Some(last) => last.1 = input.len(),
        None => runs.push((0, input.len(), 0)),
    }
    runs
}

/// `input` cut into pieces `(start, end, first_index, frames)`, each cut after the good
/// frame at which `full(frames, bytes)` first holds, and the rest in a last piece: bytes
/// skipped as holding no record are framed by what follows them, so a piece never ends
/// with them (framed again on their own, they could be cut up differently from the input
/// read in one piece). Trailing bytes that frame nothing are left out.
pub(crate) fn cut_at_frames(
    input: &[u8],
    mut full: impl FnMut(u64, usize) -> bool,
) -> Vec<(usize, usize, u64, u64)> {
    use snakepit_core::scan::{next_step, Step};
    let mut pieces = Vec::new();
    let (mut start, mut first, mut pos, mut index) = (0usize, 0u64, 0usize, 0u64);
    loop {
        match next_step(input, pos, true) {
            Step::Record { end, .. } => {
                (pos, index) = (end, index + 1);
                if full(index - first, pos - start) {
                    pieces.push((start, pos, first, index - first));
                    (start, first) = (pos, index);
                }
            }
            Step::Skip { end, .. } => (pos, index) = (end, index + 1),
            _ => break,
        }
    }
    if index > first {
        pieces.push((start, pos, first, index - first));
    }
    pieces
}
