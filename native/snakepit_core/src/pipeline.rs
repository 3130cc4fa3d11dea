//! The file-reading pipeline behind streams: a reader thread reads the file in chunks,
//! frames records, parses batches in parallel on a rayon pool, and hands parsed batches to
//! the consumer through a **bounded** crossbeam channel. A slow consumer fills the channel,
//! which blocks the reader: that is the backpressure, and why memory stays flat.
//!
//! Memory held at most: `channel_capacity` parsed batches (each at most `max_bytes` of
//! record data plus spans) + one read buffer (`read_size`) + the chunker's carry-over (at
//! most one partial record, under 100 KB) + the batches of one read being parsed.

use crate::chunker::{BatchLimits, Chunker, ParsedItem, RawBatch};
use crate::error::{ErrorKind, MarcError};
use crate::parse::ParseOptions;
use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};
use rayon::prelude::*;
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A batch parsed on the pipeline's threads, waiting for the consumer to build terms.
#[derive(Debug)]
pub struct ParsedBatch {
    pub raw: RawBatch,
    pub items: Vec<ParsedItem>,
}

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
    /// What the source holds. ISO 2709 is framed and parsed in parallel; MARC-in-JSON and
    /// MARCXML are read one record at a time (bounded memory), each record encoded to
    /// ISO 2709 and sent as [`ParsedItem::Owned`] through the same bounded channel.
    pub format: SourceFormat,
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
}

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
            format: SourceFormat::Iso2709,
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
/// send fails) and closes the source.
pub struct Pipeline {
    rx: Option<Receiver<Message>>,
    waiting: Arc<AtomicBool>,
    cancel: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
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
        let waiting = Arc::new(AtomicBool::new(false));
        let cancel = Arc::new(AtomicBool::new(false));
        let hungry = Arc::new(AtomicBool::new(false));
        let pool = if opts.format == SourceFormat::Iso2709 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(opts.threads.max(1))
                    .thread_name(|i| format!("snakepit-parse-{i}"))
                    .build()
                    .map_err(std::io::Error::other)?,
            )
        } else {
            None
        };
        let reader = {
            let (waiting, cancel, hungry) = (waiting.clone(), cancel.clone(), hungry.clone());
            std::thread::Builder::new()
                .name("snakepit-reader".into())
                .spawn(move || {
                    let notify_if_waiting = || {
                        if waiting.swap(false, Ordering::SeqCst) {
                            notify();
                        }
                    };
                    match source {
                        Input::Read(source) => {
                            run(source, opts, pool, &tx, &cancel, &notify_if_waiting)
                        }
                        Input::Push(rx) => {
                            let source = PushReader {
                                rx,
                                chunk: Vec::new(),
                                pos: 0,
                                hungry: &hungry,
                                wake: &notify_if_waiting,
                            };
                            run(source, opts, pool, &tx, &cancel, &notify_if_waiting)
                        }
                    }
                    drop(tx);
                    notify_if_waiting();
                })?
        };
        Ok(Pipeline {
            rx: Some(rx),
            waiting,
            cancel,
            reader: Some(reader),
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
            Err(TryRecvError::Disconnected) => Ok(Next::Done),
            Err(TryRecvError::Empty) => {
                // Announce the wait, then look again: a batch sent in between is not missed.
                self.waiting.store(true, Ordering::SeqCst);
                match rx.try_recv() {
                    Ok(msg) => {
                        self.waiting.store(false, Ordering::SeqCst);
                        msg.map(Next::Batch)
                    }
                    Err(TryRecvError::Empty) => Ok(Next::Wait),
                    Err(TryRecvError::Disconnected) => Ok(Next::Done),
                }
            }
        }
    }

    /// Stops the reader and waits for its thread (and the parser pool) to end.
    pub fn close(&mut self) {
        self.cancel.store(true, Ordering::Release);
        self.rx = None;
        self.input = None;
        if let Some(handle) = self.reader.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.close();
    }
}

fn run<R: Read>(
    source: R,
    opts: PipelineOptions,
    pool: Option<rayon::ThreadPool>,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    notify: &dyn Fn(),
) {
    match opts.format {
        SourceFormat::Iso2709 => {
            let pool = pool.expect("ISO 2709 pipelines build a parser pool");
            read_loop(source, opts, pool, tx, cancel, notify)
        }
        SourceFormat::Xml => {
            let reader = crate::xml::XmlReader::new(BufReader::with_capacity(64 * 1024, source));
            record_loop(reader, |r| r.position(), opts, tx, cancel, notify)
        }
        SourceFormat::Json => {
            let reader =
                crate::json::JsonRecordReader::new(BufReader::with_capacity(64 * 1024, source));
            record_loop(reader, |r| r.position(), opts, tx, cancel, notify)
        }
    }
}

/// Reads records of another format one at a time, encodes each to ISO 2709 and sends them
/// in batches bounded like ISO 2709 batches (records and bytes).
fn record_loop<I>(
    mut reader: I,
    position: impl Fn(&I) -> u64,
    opts: PipelineOptions,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    notify: &dyn Fn(),
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
        if tx.send(Ok(ParsedBatch { raw, items })).is_err() {
            return false;
        }
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
            Ok(record) => {
                crate::chunker::owned_item(&record, crate::parse::Origin { index, offset })
            }
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
                        let items = raw.parse(parse, opts.marc8.as_ref());
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
            if tx.send(Ok(batch)).is_err() {
                return; // the consumer is gone
            }
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
                ParsedItem::Owned { bytes, spans } => {
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
}
