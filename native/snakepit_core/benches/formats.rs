//! Format conversion throughput over synthetic/realistic_2000.mrc (2,000 records, 2.3 MB):
//! JSON and XML writing from parsed records, JSON and XML reading to `OwnedRecord`s.
//! Criterion reports time per batch; `Throughput::Elements` turns it into records/s, and
//! the MB/s figures are printed once per format at start-up (bytes of the format's output,
//! which is the input of the matching reader).
//!
//! Run: `cd native && CARGO_BUILD_JOBS=1 cargo bench -p snakepit_core --bench formats`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use snakepit_core::json::{self, JsonLinesReader};
use snakepit_core::xml::{self, XmlReader};
use snakepit_core::{read_all, Mode, ParseOptions};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

fn corpus(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One timed pass, for the MB/s line (criterion's own figure is per batch).
fn report(name: &str, bytes: usize, records: usize, mut f: impl FnMut()) {
    f(); // warm
    let runs = 10;
    let t = Instant::now();
    for _ in 0..runs {
        f();
    }
    let secs = t.elapsed().as_secs_f64() / runs as f64;
    println!(
        "{name:<12} {:>10.0} records/s {:>8.1} MB/s ({} bytes of {})",
        records as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes,
        if name.ends_with("write") {
            "output"
        } else {
            "input"
        }
    );
}

/// Counts records, failing on any error (so a broken reader cannot look fast).
fn count_ok<T, E: std::fmt::Debug>(it: impl Iterator<Item = Result<T, E>>) -> usize {
    it.map(|r| r.map(black_box))
        .try_fold(0usize, |n, r| r.map(|_| n + 1))
        .unwrap()
}

fn formats(c: &mut Criterion) {
    let iso = corpus("synthetic/realistic_2000.mrc");
    let (items, _) = read_all(&iso, Mode::Strict, ParseOptions::default()).unwrap();
    let recs: Vec<_> = items.into_iter().map(|i| i.unwrap()).collect();
    let n = recs.len();
    let json_doc = json::to_json_array(&recs).unwrap();
    let mut lines = Vec::new();
    for r in &recs {
        json::write_record(r, &mut lines).unwrap();
        lines.push(b'\n');
    }
    let xml_doc = xml::to_xml_collection(&recs).unwrap();

    println!("{n} records, ISO 2709 {} bytes", iso.len());
    let mut out = Vec::with_capacity(json_doc.len() + 1024);
    report("json write", json_doc.len(), n, || {
        out.clear();
        for r in &recs {
            json::write_record(r, &mut out).unwrap();
        }
        black_box(&out);
    });
    let mut xout = Vec::with_capacity(xml_doc.len() + 1024);
    report("xml write", xml_doc.len(), n, || {
        xout.clear();
        for r in &recs {
            xml::write_record(r, &mut xout).unwrap();
        }
        black_box(&xout);
    });
    report("json read", json_doc.len(), n, || {
        black_box(json::read_records(&json_doc).unwrap());
    });
    report("jsonl read", lines.len(), n, || {
        black_box(count_ok(JsonLinesReader::new(&lines[..])));
    });
    report("xml read", xml_doc.len(), n, || {
        black_box(count_ok(XmlReader::new(&xml_doc[..])));
    });

    let mut g = c.benchmark_group("formats");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function("json_write", |b| {
        b.iter(|| {
            out.clear();
            for r in &recs {
                json::write_record(r, &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.bench_function("xml_write", |b| {
        b.iter(|| {
            xout.clear();
            for r in &recs {
                xml::write_record(r, &mut xout).unwrap();
            }
            black_box(xout.len())
        })
    });
    g.bench_function("json_read", |b| {
        b.iter(|| black_box(json::read_records(&json_doc).unwrap().len()))
    });
    g.bench_function("jsonl_read", |b| {
        b.iter(|| black_box(count_ok(JsonLinesReader::new(&lines[..]))))
    });
    g.bench_function("xml_read", |b| {
        b.iter(|| black_box(count_ok(XmlReader::new(&xml_doc[..]))))
    });
    g.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);
