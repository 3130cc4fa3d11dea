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
use std::io::Read;
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
}

impl Pipeline {
    /// Starts reading `source` on a new thread. `notify` is called (on the reader thread)
    /// when a batch becomes available or the stream ends while the consumer is waiting.
    pub fn spawn<R, F>(source: R, opts: PipelineOptions, notify: F) -> std::io::Result<Pipeline>
    where
        R: Read + Send + 'static,
        F: Fn() + Send + 'static,
    {
        let (tx, rx) = bounded(opts.channel_capacity.max(1));
        let waiting = Arc::new(AtomicBool::new(false));
        let cancel = Arc::new(AtomicBool::new(false));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.max(1))
            .thread_name(|i| format!("snakepit-parse-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let reader = {
            let (waiting, cancel) = (waiting.clone(), cancel.clone());
            std::thread::Builder::new()
                .name("snakepit-reader".into())
                .spawn(move || {
                    let notify_if_waiting = || {
                        if waiting.swap(false, Ordering::AcqRel) {
                            notify();
                        }
                    };
                    read_loop(source, opts, pool, &tx, &cancel, &notify_if_waiting);
                    drop(tx);
                    notify_if_waiting();
                })?
        };
        Ok(Pipeline {
            rx: Some(rx),
            waiting,
            cancel,
            reader: Some(reader),
        })
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
                self.waiting.store(true, Ordering::Release);
                match rx.try_recv() {
                    Ok(msg) => {
                        self.waiting.store(false, Ordering::Release);
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

fn read_loop<R: Read>(
    mut source: R,
    opts: PipelineOptions,
    pool: rayon::ThreadPool,
    tx: &Sender<Message>,
    cancel: &AtomicBool,
    notify: &dyn Fn(),
) {
    let mut chunker = Chunker::new();
    let mut buf = vec![0u8; opts.read_size.max(4096)];
    let mut offset = 0u64;
    while !cancel.load(Ordering::Acquire) {
        let n = match source.read(&mut buf) {
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
        } else {
            chunker.feed(&buf[..n]);
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
