//! Streaming NIFs. Two sources:
//! - a file path: the core's threaded [`Pipeline`] reads, frames and parses off-scheduler
//!   (a small regular file of ISO 2709 is read whole at open instead). Anything that is not
//!   a regular file (a FIFO, a device) is read incrementally, never to its end first, through
//!   [`DeviceReader`], which no silent writer can block for ever;
//!   the consumer takes parsed batches and builds terms (`stream_next`). When nothing is ready
//!   it gets `:wait` and a `{:snakepit_stream_ready, id}` message later, sent from the
//!   pipeline's own reader thread (never from a BEAM thread).
//! - pushed chunks (binaries, iodata, IO devices, enumerables): the Elixir side feeds bytes
//!   (`stream_feed`) and takes batches as they complete; `:need_input` asks for more.

use crate::atoms;
use crate::budget;
use crate::errors::NativeError;
use crate::items::batch_items;
use crate::options::{BatchConfig, Read, ReadConfig};
use rustler::{Atom, Binary, Encoder, Env, LocalPid, NifResult, OwnedEnv, ResourceArc, Term};
use snakepit_core::chunker::{BatchLimits, Chunker, Frame, ParsedItem, RawBatch};
use snakepit_core::pipeline::{Next, Pipeline, PipelineOptions, SourceFormat};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod stream_atoms {
    rustler::atoms! { batch, raw, wait, need_input, snakepit_stream_ready, json, xml, iso2709, auto, mrk }
}

pub(crate) enum Source {
    File(FileStream),
    Push(Chunker),
    /// MARC-in-JSON or MARCXML pushed by the Elixir side, read on a pipeline thread.
    PushRecords(Pipeline),
    Closed,
}

pub struct StreamResource {
    source: Mutex<Source>,
    /// A batch taken from the source but too large to build on a normal scheduler: the
    /// consumer was told `:dirty` and builds it with `stream_next_dirty`.
    pending: Mutex<Option<Unit>>,
    limits: BatchLimits,
    read: Read,
    /// Frame only: batches leave as raw record-aligned binaries for fan-out.
    raw: bool,
}

#[rustler::resource_impl]
impl rustler::Resource for StreamResource {}

impl StreamResource {
    pub(crate) fn new(
        source: Source,
        limits: BatchLimits,
        read: Read,
        raw: bool,
    ) -> ResourceArc<Self> {
        ResourceArc::new(StreamResource {
            source: Mutex::new(source),
            pending: Mutex::new(None),
            limits,
            read,
            raw,
        })
    }
}

pub(crate) static NEXT_STREAM_ID: AtomicU64 = AtomicU64::new(1);

/// Files up to this size are read whole when the stream opens, with no threads.
const SMALL_FILE_BYTES: u64 = 4 << 20;

/// How long `stream_close` waits for a reader thread to end: readers notice the close at
/// their next read (a device's within [`DEVICE_POLL_MS`]), so this bound is never reached
/// in practice; past it the thread is left to end on its own.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A pipeline over a file, and for a device the flag that stops its [`DeviceReader`].
pub(crate) struct FileStream {
    pub(crate) pipeline: Pipeline,
    pub(crate) closed: Option<Arc<AtomicBool>>,
}

impl FileStream {
    fn close(&mut self, wait: Duration) {
        if let Some(closed) = &self.closed {
            closed.store(true, Ordering::Release);
        }
        self.pipeline.close(wait);
    }
}

impl Drop for FileStream {
    /// Runs in the resource destructor, on whatever scheduler frees the resource: never
    /// waits for the reader thread, which notices the close and ends on its own.
    fn drop(&mut self) {
        self.close(Duration::ZERO);
    }
}

/// What `path` turned out to be, opened.
enum Opened {
    Regular(std::fs::File),
    /// A FIFO, character device or anything else that is not a regular file: opened
    /// non-blocking (a FIFO's open would wait for a writer), read through [`DeviceReader`].
    Device(std::fs::File),
}

/// Opens `path` for reading, without blocking: a missing, unreadable or directory path
/// fails here rather than at the first read.
fn open_source(path: &str) -> std::io::Result<Opened> {
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if meta.is_file() {
        return std::fs::File::open(path).map(Opened::Regular);
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map(Opened::Device)
}

/// How often a [`DeviceReader`] with nothing to read looks at its `closed` flag.
const DEVICE_POLL_MS: i32 = 100;

/// A non-regular file read on a pipeline thread: waits for data with `poll`, a bounded
/// wait at a time, so a FIFO whose writer has not come (or stays silent) never keeps the
/// thread once the stream is closed. A FIFO reads as ended once a writer came and left.
struct DeviceReader {
    file: std::fs::File,
    closed: Arc<AtomicBool>,
}

impl std::io::Read for DeviceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::io::AsRawFd;
        loop {
            if self.closed.load(Ordering::Acquire) {
                return Err(std::io::Error::other("the stream was closed"));
            }
            let mut fd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, owned by this frame, for the duration of the call.
            let ready = unsafe { libc::poll(&mut fd, 1, DEVICE_POLL_MS) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                continue;
            }
            let r = std::io::Read::read(&mut self.file, buf);
            match r {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                other => return other,
            }
        }
    }
}

/// What a pipeline's reader thread calls when the consumer waits and something is ready:
/// `{:snakepit_stream_ready, id}` to the consumer, sent from that (non-BEAM) thread.
pub(crate) fn ready_notifier(owner: LocalPid, id: u64) -> impl Fn() + Send + 'static {
    move || {
        let mut msg_env = OwnedEnv::new();
        let _ = msg_env.send_and_clear(&owner, |e| {
            (stream_atoms::snakepit_stream_ready(), id).encode(e)
        });
    }
}

/// `{:ok, resource, id}` or `{:error, {reason, message}}`: a stream of the file at `path`
/// holding `format` (`:iso2709`, `:json`, `:xml`, or `:auto` for a non-regular file the
/// Elixir side could not sniff without consuming it: decided on the reader thread, the
/// bytes read to decide replayed). `max_record_bytes` caps a JSON or XML record. Opens
/// the file here so that a missing or unreadable path fails at once, naming the path (the
/// Elixir side adds it).
#[rustler::nif(schedule = "DirtyIo")]
#[allow(clippy::too_many_arguments)]
fn stream_open_file<'a>(
    env: Env<'a>,
    path: String,
    format: Atom,
    config: ReadConfig,
    batch: BatchConfig,
    threads: usize,
    channel_capacity: usize,
    max_record_bytes: usize,
    raw: bool,
) -> NifResult<Term<'a>> {
    let read = config.decode()?;
    let limits = batch.limits();
    let format = source_format(format)?;
    if raw && format != SourceFormat::Iso2709 {
        return Err(rustler::Error::BadArg);
    }
    let opened = match open_source(&path) {
        Ok(opened) => opened,
        Err(e) => return Ok(NativeError::from(e).to_term(env)),
    };
    let id = NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed);
    // A small file is read here at once: starting a reader thread and a parser pool would
    // cost more than the whole read. Only a regular file: a device's length says nothing.
    if let Opened::Regular(file) = &opened {
        let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if format == SourceFormat::Iso2709 && len <= SMALL_FILE_BYTES {
            let mut bytes = Vec::new();
            if let Err(e) = std::io::Read::read_to_end(&mut &*file, &mut bytes) {
                return Ok(NativeError::from(e).to_term(env));
            }
            let source = Source::Push(Chunker::from_complete(bytes));
            let resource = StreamResource::new(source, limits, read, raw);
            return Ok((atoms::ok(), resource, id).encode(env));
        }
    }
    let notify = ready_notifier(env.pid(), id);
    let opts = PipelineOptions {
        limits,
        parse: read.parse,
        marc8: read.marc8,
        recovery: read.recovery,
        threads: if format == SourceFormat::Iso2709 || format == SourceFormat::Auto {
            threads
        } else {
            1
        },
        channel_capacity,
        parse_items: !raw,
        format,
        max_record_bytes,
        ..PipelineOptions::default()
    };
    let stream = match opened {
        Opened::Regular(file) => Pipeline::spawn(file, opts, notify).map(|pipeline| FileStream {
            pipeline,
            closed: None,
        }),
        Opened::Device(file) => {
            let closed = Arc::new(AtomicBool::new(false));
            let reader = DeviceReader {
                file,
                closed: closed.clone(),
            };
            Pipeline::spawn(reader, opts, notify).map(|pipeline| FileStream {
                pipeline,
                closed: Some(closed),
            })
        }
    };
    let stream = match stream {
        Ok(s) => s,
        Err(e) => return Ok(NativeError::from(e).to_term(env)),
    };
    let resource = StreamResource::new(Source::File(stream), limits, read, raw);
    Ok((atoms::ok(), resource, id).encode(env))
}

fn source_format(format: Atom) -> NifResult<SourceFormat> {
    if format == stream_atoms::iso2709() {
        Ok(SourceFormat::Iso2709)
    } else if format == stream_atoms::json() {
        Ok(SourceFormat::Json)
    } else if format == stream_atoms::xml() {
        Ok(SourceFormat::Xml)
    } else if format == stream_atoms::mrk() {
        Ok(SourceFormat::Mrk)
    } else if format == stream_atoms::auto() {
        Ok(SourceFormat::Auto)
    } else {
        Err(rustler::Error::BadArg)
    }
}

/// `{:ok, resource}` for a stream fed by `stream_feed/2`.
#[rustler::nif]
fn stream_open_push(
    config: ReadConfig,
    batch: BatchConfig,
    raw: bool,
) -> NifResult<(Atom, ResourceArc<StreamResource>)> {
    let _watch = crate::scheduler_watch::watch("stream_open_push");
    let (read, limits) = (config.decode()?, batch.limits());
    let resource = StreamResource::new(Source::Push(Chunker::new()), limits, read, raw);
    Ok((atoms::ok(), resource))
}

/// `{:ok, resource, id}` or `{:error, {reason, message}}`: a stream of MARC-in-JSON
/// (`:json`) or MARCXML (`:xml`) records pushed with `stream_feed/2`, read with bounded
/// memory on a pipeline thread, each record encoded to ISO 2709 on the way. No MARC-8
/// conversion for JSON and XML: those formats hold Unicode text; MARC-8 `.mrk` records
/// (`:mrk`) are converted as ISO 2709 ones are.
#[rustler::nif]
fn stream_open_format<'a>(
    env: Env<'a>,
    config: ReadConfig,
    batch: BatchConfig,
    channel_capacity: usize,
    max_record_bytes: usize,
    format: Atom,
) -> NifResult<Term<'a>> {
    let _watch = crate::scheduler_watch::watch("stream_open_format");
    let read = config.decode()?;
    let limits = batch.limits();
    let format = match source_format(format)? {
        f @ (SourceFormat::Json | SourceFormat::Xml | SourceFormat::Mrk) => f,
        _ => return Err(rustler::Error::BadArg),
    };
    let id = NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed);
    let notify = ready_notifier(env.pid(), id);
    let opts = PipelineOptions {
        limits,
        parse: read.parse,
        marc8: read.marc8.filter(|_| format == SourceFormat::Mrk),
        recovery: read.recovery,
        threads: 1,
        channel_capacity,
        parse_items: true,
        format,
        max_record_bytes,
        ..PipelineOptions::default()
    };
    let source = match Pipeline::spawn_push(opts, notify) {
        Ok(p) => Source::PushRecords(p),
        Err(e) => return Ok(NativeError::from(e).to_term(env)),
    };
    let resource = StreamResource::new(source, limits, read, false);
    Ok((atoms::ok(), resource, id).encode(env))
}

/// Appends a chunk (`:eof` ends the input). Copies the bytes: the caller's binary is free.
#[rustler::nif(schedule = "DirtyCpu")]
fn stream_feed(resource: ResourceArc<StreamResource>, chunk: Term) -> NifResult<Atom> {
    feed(&resource, chunk)
}

/// Largest chunk `stream_feed_light` takes: copying it and moving the carried-over partial
/// record (under 100 KB) stays well under a millisecond.
const LIGHT_FEED_BYTES: usize = 65_536;

/// `stream_feed` on the caller's scheduler, for small chunks and `:eof`: a source of many
/// small chunks (a socket, a line reader) would otherwise pay a dirty-scheduler switch per
/// chunk, which on a busy machine costs more than the copy.
#[rustler::nif]
fn stream_feed_light(resource: ResourceArc<StreamResource>, chunk: Term) -> NifResult<Atom> {
    let _watch = crate::scheduler_watch::watch("stream_feed_light");
    if let Ok(bin) = chunk.decode::<Binary>() {
        if bin.len() > LIGHT_FEED_BYTES {
            return Err(rustler::Error::BadArg);
        }
    }
    feed(&resource, chunk)
}

fn feed(resource: &StreamResource, chunk: Term) -> NifResult<Atom> {
    let mut source = resource.source.lock().map_err(|_| rustler::Error::BadArg)?;
    if let Source::PushRecords(pipeline) = &mut *source {
        if let Ok(bin) = chunk.decode::<Binary>() {
            pipeline.feed(bin.as_slice().to_vec());
        } else if chunk.decode::<Atom>().ok() == Some(atoms::eof()) {
            pipeline.finish();
        } else {
            return Err(rustler::Error::BadArg);
        }
        return Ok(atoms::ok());
    }
    let Source::Push(chunker) = &mut *source else {
        return Err(rustler::Error::BadArg);
    };
    if let Ok(bin) = chunk.decode::<Binary>() {
        chunker.feed(bin.as_slice());
    } else if chunk.decode::<Atom>().ok() == Some(atoms::eof()) {
        chunker.finish();
    } else {
        return Err(rustler::Error::BadArg);
    }
    Ok(atoms::ok())
}

/// Work for `stream_next`: a batch parsed off-scheduler, or frames still to parse (pushed
/// ISO 2709 sources, parsed in the call).
enum Unit {
    Parsed(RawBatch, Vec<ParsedItem>),
    Frames(RawBatch),
}

impl Unit {
    /// The work of building this unit's terms here (see [`budget`]).
    fn terms(&self, read: &Read) -> usize {
        match self {
            // Errors are not known before parsing; a batch holds at most 200 frames
            // (`batch_size`), so they add at most 4,000 terms (about 0.15 ms).
            Unit::Frames(raw) => {
                let records = raw.frames.iter().filter_map(|frame| match *frame {
                    Frame::Record { start, end } => Some(start..end),
                    Frame::Skip { .. } => None,
                });
                budget::terms(&raw.data, records, read.marc8.is_some())
            }
            // Parsed off-scheduler: conversions are done; converted records are their own bytes.
            Unit::Parsed(raw, items) => {
                budget::delimiters(&raw.data)
                    + items
                        .iter()
                        .map(|item| match item {
                            ParsedItem::Owned { bytes, .. } => budget::delimiters(bytes),
                            ParsedItem::Error(_) => budget::ERROR_TERMS,
                            ParsedItem::Record { .. } => 0,
                        })
                        .sum::<usize>()
            }
        }
    }
}

/// The next batch: `{:batch, items, skipped}`; or `:wait` (file: a ready message will come),
/// `:need_input` (push: feed more), `:eof`, `{:error, %ParseError{}}` (I/O failure), or
/// `:dirty`: the next batch is too large to build here, call `stream_next_dirty/1`.
///
/// Runs on the consumer's normal scheduler: a batch is at most a few hundred KB and is
/// built here only when it holds few enough terms to take about a millisecond; building on
/// a normal scheduler avoids two scheduler switches per batch and measured 1.2-1.3x faster.
#[rustler::nif]
fn stream_next<'a>(env: Env<'a>, resource: ResourceArc<StreamResource>) -> NifResult<Term<'a>> {
    let watch = crate::scheduler_watch::watch("stream_next");
    step(env, &resource, Some(&watch))
}

/// `stream_next/1` for a batch too large for a normal scheduler (it answered `:dirty`).
#[rustler::nif(schedule = "DirtyCpu")]
fn stream_next_dirty<'a>(
    env: Env<'a>,
    resource: ResourceArc<StreamResource>,
) -> NifResult<Term<'a>> {
    step(env, &resource, None)
}

/// `normal` is the call's watch on a normal scheduler, `None` on a dirty one.
fn step<'a>(
    env: Env<'a>,
    resource: &StreamResource,
    normal: Option<&crate::scheduler_watch::Watch>,
) -> NifResult<Term<'a>> {
    let mut source = resource.source.lock().map_err(|_| rustler::Error::BadArg)?;
    let mut pending = resource
        .pending
        .lock()
        .map_err(|_| rustler::Error::BadArg)?;
    let unit = match pending.take() {
        Some(unit) => unit,
        None => match &mut *source {
            Source::File(FileStream { pipeline, .. }) => match pipeline.try_next() {
                Ok(Next::Batch(batch)) if resource.raw => return Ok(raw_term(env, batch.raw)),
                Ok(Next::Batch(batch)) => Unit::Parsed(batch.raw, batch.items),
                Ok(Next::Wait) => return Ok(stream_atoms::wait().encode(env)),
                Ok(Next::Done) => return Ok(atoms::eof().encode(env)),
                Err(e) => return Ok(NativeError::Marc(e).to_term(env)),
            },
            Source::Push(chunker) => match chunker.next_batch(resource.limits) {
                Some(raw) if resource.raw => return Ok(raw_term(env, raw)),
                Some(raw) => Unit::Frames(raw),
                None if chunker.is_done() => return Ok(atoms::eof().encode(env)),
                None => return Ok(stream_atoms::need_input().encode(env)),
            },
            Source::PushRecords(pipeline) => match pipeline.try_next() {
                Ok(Next::Batch(batch)) => Unit::Parsed(batch.raw, batch.items),
                Ok(Next::Wait) if pipeline.needs_input() => {
                    return Ok(stream_atoms::need_input().encode(env))
                }
                Ok(Next::Wait) => return Ok(stream_atoms::wait().encode(env)),
                Ok(Next::Done) => return Ok(atoms::eof().encode(env)),
                Err(e) => return Ok(NativeError::Marc(e).to_term(env)),
            },
            Source::Closed => return Ok(atoms::eof().encode(env)),
        },
    };
    let terms = normal.map(|_| unit.terms(&resource.read));
    if terms.is_some_and(|terms| terms > budget::NORMAL_SCHEDULER_TERMS) {
        *pending = Some(unit);
        return Ok(atoms::dirty().encode(env));
    }
    let batch = match unit {
        Unit::Parsed(raw, items) => batch_term(env, resource, &raw, items),
        Unit::Frames(raw) => {
            let items = raw.parse(
                resource.read.parse,
                resource.read.recovery,
                resource.read.marc8.as_ref(),
            );
            batch_term(env, resource, &raw, items)
        }
    };
    if let (Some(watch), Some(terms)) = (normal, terms) {
        watch.account(env, terms);
    }
    Ok(batch)
}

/// Stops the reader thread and its parser pool and closes the file, waiting (a bounded
/// time, see [`CLOSE_WAIT`]) for them to end.
#[rustler::nif(schedule = "DirtyIo")]
fn stream_close(resource: ResourceArc<StreamResource>) -> Atom {
    if let Ok(mut source) = resource.source.lock() {
        match std::mem::replace(&mut *source, Source::Closed) {
            Source::File(mut stream) => stream.close(CLOSE_WAIT),
            Source::PushRecords(mut pipeline) => pipeline.close(CLOSE_WAIT),
            Source::Push(_) | Source::Closed => {}
        }
    }
    atoms::ok()
}

fn batch_term<'a>(
    env: Env<'a>,
    resource: &StreamResource,
    raw: &RawBatch,
    items: Vec<ParsedItem>,
) -> Term<'a> {
    let (terms, skipped) = batch_items(env, resource.read.mode, resource.read.shape, raw, items);
    (stream_atoms::batch(), terms, skipped).encode(env)
}

/// A raw batch's bytes, lent to the BEAM as a binary without a copy; freed when the last
/// term referring to them is collected.
struct BatchBytes(Vec<u8>);

#[rustler::resource_impl]
impl rustler::Resource for BatchBytes {}

/// `{:raw, data, base_offset, first_index, frames}`: whole frames, for a worker to parse.
fn raw_term(env: Env<'_>, raw: RawBatch) -> Term<'_> {
    let count = raw.frames.len();
    let bytes = ResourceArc::new(BatchBytes(raw.data));
    let data: Binary = bytes.make_binary(env, |b| &b.0);
    (
        stream_atoms::raw(),
        data,
        raw.base_offset,
        raw.first_index,
        count,
    )
        .encode(env)
}
