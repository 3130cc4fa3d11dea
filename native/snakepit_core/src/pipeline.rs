//! The file-reading pipeline behind streams: a reader thread reads the file in chunks,
//! frames records, parses batches in parallel on a rayon pool, and hands parsed batches to
//! the consumer through a **bounded** crossbeam channel. A slow consumer fills the channel,
//! which blocks the reader: that is the backpressure, and why memory stays flat.
//!
//! Memory held at most: `channel_capacity` parsed batches (each at most `max_bytes` of
//! record data plus spans) + one read buffer (`read_size`) + the chunker's carry-over (at
//! most one partial record, under 100 KB) + the batches of one read being parsed. MARC-in-JSON
//! and MARCXML readers hold one record, at most `max_record_bytes` of input.
//!
//! Ending: the reader thread always ends by disconnecting the channel and waking a waiting
//! consumer, from a drop guard, so a panic cannot skip the wake-up; a panic becomes a typed
//! [`ErrorKind::Io`] error after the batches already sent. Dropping the [`Pipeline`] never
//! joins the thread (a destructor may run on a BEAM scheduler): it cancels, and the thread
//! notices at its next read or send and ends on its own.

use crate::chunker::{BatchLimits, Chunker, ParsedItem, RawBatch};
use crate::error::{ErrorKind, MarcError};
use crate::parse::ParseOptions;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use rayon::prelude::*;
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A batch parsed on the pipeline's threads, waiting for the consumer to build terms.
#[derive(Debug)]
pub struct ParsedBatch {
    pub raw: RawBatch,
    pub items: Vec<ParsedItem>,
}

/// Largest record a MARC-in-JSON or MARCXML stream buffers by default (a record's ISO 2709
/// form is at most 99,999 bytes; its JSON or XML, escaped, may be several times that).
pub const DEFAULT_MAX_RECORD_BYTES: usize = crate::json::MAX_JSON_RECORD;

#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    pub limits: BatchLimits,
    pub parse: ParseOptions,
    /// Parser threads (the rayon pool's size).
    pub threads: usize,
    /// Batches that may wait in the channel.
    pub channel_capacity: usize,
    /// Bytes read from the source at a time.
    pub read_size: usize,
    /// Parse batches on the pool. Off for fan-out, where each batch is parsed by the
    /// process that handles it and the pipeline only frames.
    pub parse_items: bool,
    /// Convert MARC-8 records to UTF-8 with these options (`None`: leave them as they are).
    pub marc8: Option<crate::marc8::Marc8Options>,
    /// The repairs asked for ([`crate::recover`]).
    pub recovery: crate::recover::Recovery,
    /// What the source holds. ISO 2709 is framed and parsed in parallel; MARC-in-JSON and
    /// MARCXML are read one record at a time (bounded memory), each record encoded to
    /// ISO 2709 and sent as [`ParsedItem::Owned`] through the same bounded channel.
    pub format: SourceFormat,
    /// Largest MARC-in-JSON or MARCXML record read: a larger one is an
    /// [`ErrorKind::TooLarge`] error that ends the stream.
    pub max_record_bytes: usize,
}

/// The format of a pipeline's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceFormat {
    #[default]
    Iso2709,
    /// MARC-in-JSON: JSON Lines, an array of records, or one record ([`crate::json::JsonRecordReader`]).
    Json,
    /// MARCXML ([`crate::xml::XmlReader`]).
    Xml,
    /// MarcEdit's mnemonic format ([`crate::mrk::MrkReader`]).
    Mrk,
    /// Decided on the reader thread by the first non-blank byte (see [`sniff`]), for sources
    /// that cannot be read twice (FIFOs, devices): the bytes read to decide are replayed.
    Auto,
}

/// The format a first non-blank byte says (after a UTF-8 byte order mark): `<` MARCXML,
/// `{` or `[` MARC-in-JSON, `=` `.mrk`, anything else ISO 2709; `None` while `prefix` is all blank.
pub fn sniff(prefix: &[u8]) -> Option<SourceFormat> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if prefix.len() < BOM.len() && BOM.starts_with(prefix) {
        return None; // maybe a byte order mark, still arriving
    }
    let rest = prefix.strip_prefix(BOM).unwrap_or(prefix);
    let first = rest
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?;
    Some(match first {
        b'<' => SourceFormat::Xml,
        b'{' | b'[' => SourceFormat::Json,
        b'=' => SourceFormat::Mrk,
        _ => SourceFormat::Iso2709,
    })
}

/// Blank bytes read at most before [`SourceFormat::Auto`] settles on ISO 2709.
const MAX_SNIFF_BYTES: usize = 64 * 1024;

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            limits: BatchLimits::default(),
            parse: ParseOptions::default(),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            channel_capacity: 4,
            read_size: 1 << 20,
            parse_items: true,
            marc8: None,
            recovery: crate::recover::Recovery::default(),
            format: SourceFormat::Iso2709,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// What the consumer gets when it asks.
#[derive(Debug)]
pub enum Next {
    Batch(ParsedBatch),
    /// Nothing ready yet; the `notify` callback fires when something is.
    Wait,
    /// The source ended (or failed: the failure came as an error batch before this).
    Done,
}

type Message = Result<ParsedBatch, MarcError>;

/// Consumer side of a running pipeline. Dropping it stops the reader promptly (its next
/// read or send fails) without waiting for it; [`Pipeline::close`] may wait.
pub struct Pipeline {
    rx: Option<Receiver<Message>>,
    waiting: Arc<AtomicBool>,
    cancel: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    /// Disconnected when the reader thread ends: lets [`Pipeline::close`] wait with a bound.
    ended: Receiver<()>,
    /// Why the reader thread ended early (it panicked), given after the batches it sent.
    failure: Arc<Mutex<Option<MarcError>>>,
    /// Pushed input ([`Pipeline::spawn_push`]): chunks for the reader thread.
    input: Option<Sender<Vec<u8>>>,
    /// The reader thread is waiting for pushed input.
    hungry: Arc<AtomicBool>,
}

/// The source of the reader thread.
enum Input<R> {
    Read(R),
    Push(Receiver<Vec<u8>>),
}

/// A `Read` over chunks pushed by the consumer ([`Pipeline::feed`]). When it runs dry it
/// marks itself hungry and wakes a waiting consumer, which then feeds more (or finishes).
struct PushReader<'a> {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    hungry: &'a AtomicBool,
    wake: &'a dyn Fn(),
}

impl Read for PushReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos < self.chunk.len() {
                let n = buf.len().min(self.chunk.len() - self.pos);
                buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            let next = match self.rx.try_recv() {
                Ok(chunk) => Ok(chunk),
                Err(TryRecvError::Disconnected) => return Ok(0),
                Err(TryRecvError::Empty) => {
                    self.hungry.store(true, Ordering::SeqCst);
                    (self.wake)();
                    self.rx.recv()
                }
            };
            match next {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
    }
}

/// The source as the readers see it: fails once the consumer has gone, so a reader deep
/// inside one large record stops at its next read instead of finishing the record; and
/// counts bytes, to place a failure of the thread itself.
struct Watched<'a, R> {
    inner: R,
    cancel: &'a AtomicBool,
    read: &'a AtomicU64,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Acquire) {
            // Not `Interrupted`: readers retry that.
            return Err(std::io::Error::other("the stream was closed"));
        }
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// How far the reader thread got: where a failure of the thread itself is placed.
#[derive(Default)]
struct Progress {
    /// Bytes read from the source.
    bytes: AtomicU64,
    /// Index of the record after the last one sent.
    records: AtomicU64,
}

/// Runs when the reader thread ends, however it ends (a panic included): disconnects the
/// channel, then wakes a waiting consumer, which then sees the end (or the failure).
struct ReaderExit<'a> {
    tx: Option<Sender<Message>>,
    waiting: &'a AtomicBool,
    notify: &'a dyn Fn(),
}

impl Drop for ReaderExit<'_> {
    fn drop(&mut self) {
        drop(self.tx.take());
        if self.waiting.swap(false, Ordering::SeqCst) {
            (self.notify)();
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

impl Pipeline {
    /// Starts reading `source` on a new thread. `notify` is called (on the reader thread)
    /// when a batch becomes available or the stream ends while the consumer is waiting.
    pub fn spawn<R, F>(source: R, opts: PipelineOptions, notify: F) -> std::io::Result<Pipeline>
    where
        R: Read + Send + 'static,
        F: Fn() + Send + 'static,
    {
        Self::start(Input::Read(source), opts, notify)
    }

    /// Starts a pipeline whose bytes the consumer pushes with [`Pipeline::feed`] and ends
    /// with [`Pipeline::finish`]; [`Pipeline::needs_input`] says when the reader is starved.
    /// For MARC-in-JSON and MARCXML pushed sources, whose readers pull from a `Read`.
    pub fn spawn_push<F>(opts: PipelineOptions, notify: F) -> std::io::Result<Pipeline>
    where
        F: Fn() + Send + 'static,
    {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut p = Self::start(Input::<std::io::Empty>::Push(rx), opts, notify)?;
        p.input = Some(tx);
        Ok(p)
    }

    fn start<R, F>(source: Input<R>, opts: PipelineOptions, notify: F) -> std::io::Result<Pipeline>
    where
        R: Read + Send + 'static,
        F: Fn() + Send + 'static,
    {
        let (tx, rx) = bounded(opts.channel_capacity.max(1));
        let (ended_tx, ended) = bounded::<()>(0);
        let waiting = Arc::new(AtomicBool::new(false));
        let cancel = Arc::new(AtomicBool::new(false));
        let hungry = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let reader = {
            let (waiting, cancel, hungry) = (waiting.clone(), cancel.clone(), hungry.clone());
            let failure = failure.clone();
            std::thread::Builder::new()
                .name("snakepit-reader".into())
                .spawn(move || {
                    crate::threads::lower_current_thread();
                    let _ended = ended_tx;
                    let notify_if_waiting = || {
                        if waiting.swap(false, Ordering::SeqCst) {
                            notify();
                        }
                    };
                    let exit = ReaderExit {
                        tx: Some(tx),
                        waiting: &waiting,
                        notify: &notify,
                    };
                    let tx = exit.tx.as_ref().expect("set above");
                    let progress = Progress::default();
                    let body = std::panic::AssertUnwindSafe(|| {
                        read_source(
                            source,
                            opts,
                            tx,
                            &cancel,
                            &hungry,
                            &progress,
                            &notify_if_waiting,
                        )
                    });
                    if let Err(payload) = std::panic::catch_unwind(body) {
                        let error = MarcError::bare(
                            ErrorKind::Io,
                            progress.records.load(Ordering::Relaxed),
                            progress.bytes.load(Ordering::Relaxed),
                            format!(
                                "the stream's reader thread failed: {}",
                                panic_message(&*payload)
                            ),
                        );
                        if let Ok(mut slot) = failure.lock() {
                            *slot = Some(error);
                        }
                    }
                    drop(exit);
                })?
        };
        Ok(Pipeline {
            rx: Some(rx),
            waiting,
            cancel,
            reader: Some(reader),
            ended,
            failure,
            input: None,
            hungry,
        })
    }

    /// Pushes a chunk of input (pushed pipelines only; ignored after [`Pipeline::finish`]).
    pub fn feed(&self, chunk: Vec<u8>) {
        if let Some(input) = &self.input {
            self.hungry.store(false, Ordering::SeqCst);
            let _ = input.send(chunk);
        }
    }

    /// No more pushed input will come.
    pub fn finish(&mut self) {
        self.hungry.store(false, Ordering::SeqCst);
        self.input = None;
    }

    /// A pushed pipeline whose reader waits for input (and has nothing ready).
    pub fn needs_input(&self) -> bool {
        self.input.is_some() && self.hungry.load(Ordering::SeqCst)
    }

    /// Takes the next batch without blocking.
    pub fn try_next(&self) -> Result<Next, MarcError> {
        let Some(rx) = &self.rx else {
            return Ok(Next::Done);
        };
        match rx.try_recv() {
            Ok(msg) => msg.map(Next::Batch),
            Err(TryRecvError::Disconnected) => self.ended(),
            Err(TryRecvError::Empty) => {
                // Announce the wait, then look again: a batch sent in between is not missed.
                self.waiting.store(true, Ordering::SeqCst);
                match rx.try_recv() {
                    Ok(msg) => {
                        self.waiting.store(false, Ordering::SeqCst);
                        msg.map(Next::Batch)
                    }
                    Err(TryRecvError::Empty) => Ok(Next::Wait),
                    Err(TryRecvError::Disconnected) => self.ended(),
                }
            }
        }
    }

    /// The reader is gone and every batch was taken: its failure once, then `Done`.
    fn ended(&self) -> Result<Next, MarcError> {
        self.waiting.store(false, Ordering::SeqCst);
        match self.failure.lock().ok().and_then(|mut slot| slot.take()) {
            Some(error) => Err(error),
            None => Ok(Next::Done),
        }
    }

    /// Stops the reader, waiting up to `wait` for its thread to end (a file's reader
    /// notices at its next read); past that the thread is left to end on its own. With
    /// `Duration::ZERO`, never waits: what a destructor must do.
    pub fn close(&mut self, wait: Duration) {
        self.cancel.store(true, Ordering::Release);
        self.rx = None;
        self.input = None;
        let Some(handle) = self.reader.take() else {
            return;
        };
        if wait.is_zero() {
            return; // detached
        }
        match self.ended.recv_timeout(wait) {
            Err(RecvTimeoutError::Disconnected) => {
                let _ = handle.join();
            }
            Ok(()) | Err(RecvTimeoutError::Timeout) => {} // detached
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.close(Duration::ZERO);
    }
}

/// The reader thread's work: decides an `Auto` format and runs the format's loop.
fn read_source<R: Read>(
    source: Input<R>,
    opts: PipelineOptions,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    hungry: &AtomicBool,
    progress: &Progress,
    notify: &dyn Fn(),
) {
    match source {
        Input::Read(inner) => {
            let source = Watched {
                inner,
                cancel,
                read: &progress.bytes,
            };
            sniff_and_run(source, opts, tx, cancel, progress, notify)
        }
        Input::Push(rx) => {
            let inner = PushReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
                hungry,
                wake: notify,
            };
            let source = Watched {
                inner,
                cancel,
                read: &progress.bytes,
            };
            sniff_and_run(source, opts, tx, cancel, progress, notify)
        }
    }
}

/// For [`SourceFormat::Auto`], reads ahead to the first non-blank byte (at most
/// [`MAX_SNIFF_BYTES`]), then reads the source with those bytes put back in front.
fn sniff_and_run<R: Read>(
    mut source: R,
    mut opts: PipelineOptions,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    progress: &Progress,
    notify: &dyn Fn(),
) {
    if opts.format != SourceFormat::Auto {
        return run(source, opts, tx, cancel, progress, notify);
    }
    let mut prefix = Vec::new();
    let mut chunk = [0u8; 4096];
    let format = loop {
        if let Some(format) = sniff(&prefix) {
            break format;
        }
        if prefix.len() >= MAX_SNIFF_BYTES {
            break SourceFormat::Iso2709;
        }
        match source.read(&mut chunk) {
            Ok(0) => break SourceFormat::Iso2709,
            Ok(n) => prefix.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let err = MarcError::bare(ErrorKind::Io, 0, prefix.len() as u64, e.to_string());
                let _ = tx.send(Err(err));
                return;
            }
        }
    };
    opts.format = format;
    let source = std::io::Cursor::new(prefix).chain(source);
    run(source, opts, tx, cancel, progress, notify)
}

fn run<R: Read>(
    source: R,
    opts: PipelineOptions,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    progress: &Progress,
    notify: &dyn Fn(),
) {
    let outlet = (tx, cancel, progress, notify);
    match opts.format {
        SourceFormat::Iso2709 | SourceFormat::Auto => {
            // rayon's pool does not join its threads when dropped; spawning them here keeps
            // their handles, so the reader joins them (even when unwinding) and a closed
            // stream leaves no thread behind.
            let parsers = JoinOnDrop::default();
            let spawned = parsers.0.clone();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(opts.threads.max(1))
                .thread_name(|i| format!("snakepit-parse-{i}"))
                .spawn_handler(move |thread| {
                    let mut builder = std::thread::Builder::new();
                    if let Some(name) = thread.name() {
                        builder = builder.name(name.to_owned());
                    }
                    let handle = builder.spawn(|| {
                        crate::threads::lower_current_thread();
                        thread.run()
                    })?;
                    if let Ok(mut handles) = spawned.lock() {
                        handles.push(handle);
                    }
                    Ok(())
                })
                .build();
            match pool {
                Ok(pool) => read_loop(source, opts, pool, tx, cancel, progress, notify),
                Err(e) => {
                    let err = MarcError::bare(ErrorKind::Io, 0, 0, e.to_string());
                    let _ = tx.send(Err(err));
                }
            }
        }
        SourceFormat::Xml => {
            let reader = crate::xml::XmlReader::new(BufReader::with_capacity(64 * 1024, source))
                .with_max_record(opts.max_record_bytes);
            let item = crate::chunker::owned_item;
            record_loop(reader, |r| r.position(), item, opts, outlet)
        }
        SourceFormat::Json => {
            let reader =
                crate::json::JsonRecordReader::new(BufReader::with_capacity(64 * 1024, source))
                    .with_max_record(opts.max_record_bytes);
            let item = crate::chunker::owned_item;
            record_loop(reader, |r| r.position(), item, opts, outlet)
        }
        SourceFormat::Mrk => {
            let reader = crate::mrk::MrkReader::new(BufReader::with_capacity(64 * 1024, source))
                .with_max_record(opts.max_record_bytes);
            // MARC-8 `.mrk` records are read as ISO 2709 ones are: converted as `marc8` says.
            let item = |r: &crate::record::OwnedRecord, origin| {
                let marc8 = opts.marc8.as_ref();
                crate::chunker::decoded_owned_item(r, origin, opts.parse, opts.recovery, marc8)
            };
            record_loop(reader, |r| r.position(), item, opts, outlet)
        }
    }
}

/// Threads joined when this is dropped: a parse pool's, once the pool itself is gone.
#[derive(Default)]
struct JoinOnDrop(Arc<Mutex<Vec<JoinHandle<()>>>>);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        let handles = match self.0.lock() {
            Ok(mut handles) => std::mem::take(&mut *handles),
            Err(_) => return,
        };
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// Where a reading loop sends its batches, and what it answers to: the channel, the
/// cancel flag, the progress counters and the consumer's wake-up.
type Outlet<'a> = (
    &'a Sender<Message>,
    &'a AtomicBool,
    &'a Progress,
    &'a dyn Fn(),
);

/// Reads records of another format one at a time, makes each an item with `item` (encoded
/// to ISO 2709, and for `.mrk` decoded) and sends them in batches bounded like ISO 2709
/// batches (records and bytes).
fn record_loop<I>(
    mut reader: I,
    position: impl Fn(&I) -> u64,
    item: impl Fn(&crate::record::OwnedRecord, crate::parse::Origin) -> ParsedItem,
    opts: PipelineOptions,
    (tx, cancel, progress, notify): Outlet<'_>,
) where
    I: Iterator<Item = crate::error::Result<crate::record::OwnedRecord>>,
{
    let mut index = 0u64;
    let mut items = Vec::new();
    let mut bytes = 0usize;
    let mut first_index = 0u64;
    let mut base_offset = 0u64;
    let send = |items: Vec<ParsedItem>, first_index: u64, base_offset: u64| -> bool {
        let raw = RawBatch {
            data: Vec::new(),
            base_offset,
            first_index,
            frames: Vec::new(),
        };
        let next_record = first_index + items.len() as u64;
        if tx.send(Ok(ParsedBatch { raw, items })).is_err() {
            return false;
        }
        progress.records.store(next_record, Ordering::Relaxed);
        notify();
        true
    };
    loop {
        if cancel.load(Ordering::Acquire) {
            return;
        }
        let offset = position(&reader);
        let Some(next) = reader.next() else { break };
        if items.is_empty() {
            first_index = index;
            base_offset = offset;
        }
        let item = match next {
            Ok(record) => item(&record, crate::parse::Origin { index, offset }),
            Err(e) => {
                index = e.record_index;
                ParsedItem::Error(e)
            }
        };
        index += 1;
        bytes += match &item {
            ParsedItem::Owned { bytes, .. } => bytes.len(),
            _ => 64,
        };
        items.push(item);
        if items.len() >= opts.limits.max_records.max(1) || bytes >= opts.limits.max_bytes {
            if !send(std::mem::take(&mut items), first_index, base_offset) {
                return;
            }
            bytes = 0;
        }
    }
    if !items.is_empty() {
        send(items, first_index, base_offset);
    }
}

fn read_loop<R: Read>(
    mut source: R,
    opts: PipelineOptions,
    pool: rayon::ThreadPool,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    progress: &Progress,
    notify: &dyn Fn(),
) {
    let mut chunker = Chunker::new();
    let read_size = opts.read_size.max(4096);
    let mut offset = 0u64;
    while !cancel.load(Ordering::Acquire) {
        let n = match chunker.read_into(read_size, |room| source.read(room)) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let err =
                    MarcError::bare(ErrorKind::Io, chunker.next_index(), offset, e.to_string());
                let _ = tx.send(Err(err));
                return;
            }
        };
        offset += n as u64;
        if n == 0 {
            chunker.finish();
        }
        let mut raws = Vec::new();
        while let Some(raw) = chunker.next_batch(opts.limits) {
            raws.push(raw);
        }
        let parse = opts.parse;
        let batches: Vec<ParsedBatch> = if opts.parse_items {
            pool.install(|| {
                raws.into_par_iter()
                    .map(|raw| {
                        let items = raw.parse(parse, opts.recovery, opts.marc8.as_ref());
                        ParsedBatch { raw, items }
                    })
                    .collect()
            })
        } else {
            raws.into_iter()
                .map(|raw| ParsedBatch {
                    raw,
                    items: Vec::new(),
                })
                .collect()
        };
        for batch in batches {
            let next_record = batch.raw.first_index + batch.raw.frames.len() as u64;
            if tx.send(Ok(batch)).is_err() {
                return; // the consumer is gone
            }
            progress.records.store(next_record, Ordering::Relaxed);
            notify();
        }
        if chunker.is_done() || n == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{OwnedField, OwnedRecord};
    use std::time::Duration;

    fn records(n: usize) -> Vec<OwnedRecord> {
        (0..n)
            .map(|i| OwnedRecord {
                leader: *b"00000nam a2200000 a 4500",
                fields: vec![
                    OwnedField::Control {
                        tag: *b"001",
                        value: format!("id{i}").into_bytes(),
                    },
                    OwnedField::Data {
                        tag: *b"245",
                        ind1: b'1',
                        ind2: b'0',
                        subfields: vec![(b'a', format!("Title <{i}> & more").into_bytes())],
                    },
                ],
            })
            .collect()
    }

    fn opts(format: SourceFormat) -> PipelineOptions {
        PipelineOptions {
            format,
            threads: 1,
            limits: BatchLimits {
                max_records: 7,
                max_bytes: 300_000,
            },
            ..PipelineOptions::default()
        }
    }

    /// Drains a pipeline, feeding `chunks` when it asks (pushed pipelines).
    fn drain(mut p: Pipeline, mut chunks: Vec<Vec<u8>>) -> Vec<ParsedItem> {
        chunks.reverse();
        let mut items = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            assert!(std::time::Instant::now() < deadline, "pipeline stalled");
            match p.try_next().unwrap() {
                Next::Batch(b) => {
                    assert!(b.items.len() <= 7);
                    items.extend(b.items)
                }
                Next::Done => return items,
                Next::Wait if p.needs_input() => match chunks.pop() {
                    Some(c) => p.feed(c),
                    None => p.finish(),
                },
                Next::Wait => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    fn owned_back(items: &[ParsedItem]) -> Vec<OwnedRecord> {
        items
            .iter()
            .map(|i| match i {
                ParsedItem::Owned { bytes, spans, .. } => {
                    crate::record::Record::from_parts(bytes, spans.clone())
                        .unwrap()
                        .to_owned_record()
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn same_but_lengths(a: &[OwnedRecord], b: &[OwnedRecord]) {
        let mask = |r: &OwnedRecord| {
            let mut r = r.clone();
            r.leader[0..5].copy_from_slice(b"00000");
            r.leader[12..17].copy_from_slice(b"00000");
            r
        };
        assert_eq!(
            a.iter().map(mask).collect::<Vec<_>>(),
            b.iter().map(mask).collect::<Vec<_>>()
        );
    }

    #[test]
    fn xml_and_json_sources_become_owned_items_in_bounded_batches() {
        let recs = records(50);
        let xml = crate::xml::to_xml_collection(&recs).unwrap();
        let p = Pipeline::spawn(std::io::Cursor::new(xml), opts(SourceFormat::Xml), || {}).unwrap();
        same_but_lengths(&owned_back(&drain(p, vec![])), &recs);

        let mut lines = Vec::new();
        for r in &recs {
            crate::json::write_record(r, &mut lines).unwrap();
            lines.push(b'\n');
        }
        let p =
            Pipeline::spawn(std::io::Cursor::new(lines), opts(SourceFormat::Json), || {}).unwrap();
        same_but_lengths(&owned_back(&drain(p, vec![])), &recs);
    }

    #[test]
    fn mrk_sources_become_owned_items_pulled_or_pushed() {
        let recs = records(40);
        let mut mrk = Vec::new();
        crate::mrk::write_records(&recs, crate::mrk::Style::Mrk, &mut mrk).unwrap();
        let p = Pipeline::spawn(
            std::io::Cursor::new(mrk.clone()),
            opts(SourceFormat::Mrk),
            || {},
        )
        .unwrap();
        same_but_lengths(&owned_back(&drain(p, vec![])), &recs);
        let chunks: Vec<Vec<u8>> = mrk.chunks(29).map(|c| c.to_vec()).collect();
        let p = Pipeline::spawn_push(opts(SourceFormat::Mrk), || {}).unwrap();
        same_but_lengths(&owned_back(&drain(p, chunks)), &recs);
    }

    #[test]
    fn pushed_sources_ask_for_input_and_read_across_chunk_boundaries() {
        let recs = records(30);
        let xml = crate::xml::to_xml_collection(&recs).unwrap();
        let chunks: Vec<Vec<u8>> = xml.chunks(37).map(|c| c.to_vec()).collect();
        let p = Pipeline::spawn_push(opts(SourceFormat::Xml), || {}).unwrap();
        same_but_lengths(&owned_back(&drain(p, chunks)), &recs);

        let json = crate::json::to_json_array(&recs).unwrap();
        let chunks: Vec<Vec<u8>> = json.chunks(5).map(|c| c.to_vec()).collect();
        let p = Pipeline::spawn_push(opts(SourceFormat::Json), || {}).unwrap();
        same_but_lengths(&owned_back(&drain(p, chunks)), &recs);
    }

    #[test]
    fn errors_keep_index_and_offset_and_a_pushed_pipeline_closes_while_starved() {
        let doc = b"<collection><record><leader>short</leader></record></collection>".to_vec();
        let p = Pipeline::spawn(std::io::Cursor::new(doc), opts(SourceFormat::Xml), || {}).unwrap();
        let items = drain(p, vec![]);
        assert_eq!(items.len(), 1);
        let ParsedItem::Error(e) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(e.kind, ErrorKind::InvalidXml);
        assert_eq!(e.record_index, 0);
        assert!(e.byte_offset > 0);

        // Dropped while its reader waits for input: returns promptly.
        let p = Pipeline::spawn_push(opts(SourceFormat::Json), || {}).unwrap();
        p.feed(b"[{\"leader\"".to_vec());
        std::thread::sleep(Duration::from_millis(20));
        drop(p);
    }

    /// A source that blocks until released, then panics (`panic_after`) or ends; marks
    /// itself dropped, which tells that the reader thread has really ended.
    struct Gate {
        release: Receiver<()>,
        panic: bool,
        dropped: Arc<AtomicBool>,
        /// Set once the reader thread is inside `read`, blocked on the gate.
        entered: Arc<AtomicBool>,
    }

    impl Read for Gate {
        fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
            self.entered.store(true, Ordering::SeqCst);
            let _ = self.release.recv();
            if self.panic {
                panic!("injected reader failure");
            }
            Ok(0)
        }
    }

    impl Drop for Gate {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    fn gate(panic: bool) -> (Gate, Sender<()>, Arc<AtomicBool>) {
        let (g, tx, dropped, _entered) = gate_entered(panic);
        (g, tx, dropped)
    }

    /// `gate`, and a flag that says when the reader thread is blocked in it.
    fn gate_entered(panic: bool) -> (Gate, Sender<()>, Arc<AtomicBool>, Arc<AtomicBool>) {
        let (tx, release) = bounded(1);
        let dropped = Arc::new(AtomicBool::new(false));
        let entered = Arc::new(AtomicBool::new(false));
        let g = Gate {
            release,
            panic,
            dropped: dropped.clone(),
            entered: entered.clone(),
        };
        (g, tx, dropped, entered)
    }

    fn settles(f: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_panicking_reader_wakes_the_waiting_consumer_with_a_typed_error() {
        for format in [SourceFormat::Iso2709, SourceFormat::Xml, SourceFormat::Auto] {
            let (source, release, _) = gate(true);
            let (woke_tx, woke) = bounded(8);
            let notify = move || {
                let _ = woke_tx.try_send(());
            };
            let p = Pipeline::spawn(source, opts(format), notify).unwrap();
            assert!(matches!(p.try_next().unwrap(), Next::Wait));
            release.send(()).unwrap();
            // The wake-up comes though the reader thread died.
            woke.recv_timeout(Duration::from_secs(20))
                .expect("no wake-up from a panicking reader");
            let err = p.try_next().expect_err("the panic is an error item");
            assert_eq!(err.kind, ErrorKind::Io);
            assert!(err.detail.contains("injected reader failure"), "{err}");
            assert!(matches!(p.try_next().unwrap(), Next::Done));
        }
    }

    #[test]
    fn dropping_a_pipeline_never_waits_for_its_reader_thread() {
        let (source, release, dropped, entered) = gate_entered(false);
        let p = Pipeline::spawn(source, opts(SourceFormat::Xml), || {}).unwrap();
        // Dropped before the reader reached the gate, the reader would see the stop and
        // end at once: nothing left to wait for, and nothing tested.
        assert!(settles(|| entered.load(Ordering::SeqCst)));
        let (done_tx, done) = bounded(1);
        std::thread::spawn(move || {
            drop(p);
            let _ = done_tx.send(());
        });
        let returned = done.recv_timeout(Duration::from_secs(10)).is_ok();
        // The reader was still blocked when the drop returned; it ends once it can.
        let reader_still_alive = !dropped.load(Ordering::SeqCst);
        release.send(()).unwrap();
        assert!(returned, "drop joined the blocked reader thread");
        assert!(reader_still_alive);
        assert!(settles(|| dropped.load(Ordering::SeqCst)));
    }

    /// An endless MARCXML record: a datafield whose subfields never stop coming.
    struct EndlessRecord {
        head: std::io::Cursor<Vec<u8>>,
        read: Arc<AtomicU64>,
        dropped: Arc<AtomicBool>,
    }

    impl Read for EndlessRecord {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.head.read(buf)?;
            let n = if n > 0 {
                n
            } else {
                let piece = b"<subfield code=\"a\">0123456789</subfield>";
                let n = buf.len().min(piece.len());
                buf[..n].copy_from_slice(&piece[..n]);
                n
            };
            self.read.fetch_add(n as u64, Ordering::SeqCst);
            Ok(n)
        }
    }

    impl Drop for EndlessRecord {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    fn endless_record() -> (EndlessRecord, Arc<AtomicU64>, Arc<AtomicBool>) {
        let head = b"<collection><record><leader>00000nam a2200000 a 4500</leader>\
                     <datafield tag=\"245\" ind1=\"1\" ind2=\"0\">"
            .to_vec();
        let read = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicBool::new(false));
        let source = EndlessRecord {
            head: std::io::Cursor::new(head),
            read: read.clone(),
            dropped: dropped.clone(),
        };
        (source, read, dropped)
    }

    #[test]
    fn an_endless_xml_record_stops_at_the_cap_with_a_typed_error() {
        let (source, read, _) = endless_record();
        let cap = 1 << 20;
        let o = PipelineOptions {
            max_record_bytes: cap,
            ..opts(SourceFormat::Xml)
        };
        let items = drain(Pipeline::spawn(source, o, || {}).unwrap(), vec![]);
        let [ParsedItem::Error(e)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(e.kind, ErrorKind::TooLarge);
        assert_eq!((e.record_index, e.byte_offset), (0, 12));
        assert!(e.detail.contains("max_record_bytes"), "{e}");
        // Read no further than the cap (plus one buffer).
        assert!(read.load(Ordering::SeqCst) < (cap + 2 * 65_536) as u64);
    }

    #[test]
    fn a_huge_xml_text_node_is_too_large_at_the_cap() {
        let mut doc = b"<collection><record><leader>00000nam a2200000 a 4500</leader>\
                        <controlfield tag=\"001\">id</controlfield></record>\
                        <record><leader>00000nam a2200000 a 4500</leader>\
                        <controlfield tag=\"001\">"
            .to_vec();
        let second = doc.windows(8).rposition(|w| w == b"<record>").unwrap();
        doc.extend(std::iter::repeat_n(b'x', 3 << 20));
        doc.extend_from_slice(b"</controlfield></record></collection>");
        let o = PipelineOptions {
            max_record_bytes: 1 << 20,
            ..opts(SourceFormat::Xml)
        };
        let items = drain(
            Pipeline::spawn(std::io::Cursor::new(doc), o, || {}).unwrap(),
            vec![],
        );
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(matches!(items[0], ParsedItem::Owned { .. }));
        let ParsedItem::Error(e) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(e.kind, ErrorKind::TooLarge);
        assert_eq!((e.record_index, e.byte_offset), (1, second as u64));
        assert!(e.detail.contains("max_record_bytes"), "{e}");
    }

    #[test]
    fn a_json_record_over_the_cap_is_too_large() {
        let mut doc = b"{\"leader\":\"00000nam a2200000 a 4500\",\"fields\":[{\"001\":\"".to_vec();
        doc.extend(std::iter::repeat_n(b'x', 2 << 20));
        doc.extend_from_slice(b"\"}]}");
        let o = PipelineOptions {
            max_record_bytes: 1 << 20,
            ..opts(SourceFormat::Json)
        };
        let items = drain(
            Pipeline::spawn(std::io::Cursor::new(doc), o, || {}).unwrap(),
            vec![],
        );
        let [ParsedItem::Error(e)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (e.kind, e.record_index, e.byte_offset),
            (ErrorKind::TooLarge, 0, 0)
        );
        assert!(e.detail.contains("max_record_bytes"), "{e}");
    }

    #[test]
    fn a_reader_inside_an_endless_record_stops_soon_after_the_drop() {
        let (source, read, dropped) = endless_record();
        let o = PipelineOptions {
            max_record_bytes: usize::MAX,
            ..opts(SourceFormat::Xml)
        };
        let p = Pipeline::spawn(source, o, || {}).unwrap();
        assert!(settles(|| read.load(Ordering::SeqCst) > 1 << 20));
        drop(p);
        // It stops at its next read, well inside the record, and frees the source.
        assert!(settles(|| dropped.load(Ordering::SeqCst)));
    }

    #[test]
    fn auto_sources_are_sniffed_on_the_reader_thread_and_keep_every_byte() {
        /// Hands out one byte per read: the sniff must read ahead across many reads.
        struct Trickle(std::io::Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        let recs = records(12);
        let mut xml = b"\xEF\xBB\xBF \n\t".to_vec();
        xml.extend(crate::xml::to_xml_collection(&recs).unwrap());
        let p = Pipeline::spawn(
            Trickle(std::io::Cursor::new(xml)),
            opts(SourceFormat::Auto),
            || {},
        )
        .unwrap();
        same_but_lengths(&owned_back(&drain(p, vec![])), &recs);

        let mut json = b"\n\n".to_vec();
        json.extend(crate::json::to_json_array(&recs).unwrap());
        let p = Pipeline::spawn(
            Trickle(std::io::Cursor::new(json)),
            opts(SourceFormat::Auto),
            || {},
        )
        .unwrap();
        same_but_lengths(&owned_back(&drain(p, vec![])), &recs);

        let mut mrk = b"\r\n".to_vec();
        crate::mrk::write_records(&recs, crate::mrk::Style::Mrk, &mut mrk).unwrap();
        let p = Pipeline::spawn(
            Trickle(std::io::Cursor::new(mrk)),
            opts(SourceFormat::Auto),
            || {},
        )
        .unwrap();
        same_but_lengths(&owned_back(&drain(p, vec![])), &recs);

        let mut iso = Vec::new();
        for r in &recs {
            iso.extend(r.encode().unwrap());
        }
        let p = Pipeline::spawn(
            Trickle(std::io::Cursor::new(iso)),
            opts(SourceFormat::Auto),
            || {},
        )
        .unwrap();
        let items = drain(p, vec![]);
        assert_eq!(items.len(), 12);
        assert!(items.iter().all(|i| matches!(i, ParsedItem::Record { .. })));
    }
}
