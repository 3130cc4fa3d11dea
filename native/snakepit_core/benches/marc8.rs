//! MARC-8 conversion throughput.
//!
//!     cd native && CARGO_BUILD_JOBS=1 cargo bench -p snakepit_core --bench marc8
//!
//! - `records/*`: `record_to_utf8` over every record of a MARC-8 file (already framed and
//!   parsed), reported in bytes/s and records/s. pymarc_marc.dat is all ASCII (the fast
//!   path); pymarc_marc8.dat has ANSEL diacritics.
//! - `lines/*`: `marc8_to_utf8` over every line of pymarc_test_marc8.txt (Latin with
//!   diacritics, Hebrew, Arabic, EACC), without and with NFC.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use snakepit_core::marc8::{marc8_to_utf8, record_to_utf8, Marc8Options, Normalization};
use snakepit_core::{read_all, Mode, Origin, ParseOptions, Record};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn corpus(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_all(bytes: &[u8]) -> Vec<Record<'_>> {
    let (items, _) = read_all(bytes, Mode::Strict, ParseOptions::default()).unwrap();
    items.into_iter().map(|i| i.unwrap()).collect()
}

fn convert_all(records: &[Record<'_>], opts: &Marc8Options) -> usize {
    let mut n = 0;
    for (i, r) in records.iter().enumerate() {
        let origin = Origin {
            index: i as u64,
            offset: 0,
        };
        n += record_to_utf8(black_box(r), origin, opts).unwrap().len();
    }
    n
}

fn records(c: &mut Criterion) {
    let opts = Marc8Options::default();
    for file in ["marc8/pymarc_marc.dat", "marc8/pymarc_marc8.dat"] {
        let bytes = corpus(file);
        let recs = parse_all(&bytes);
        let name = file.rsplit('/').next().unwrap();
        let mut g = c.benchmark_group("records");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("{name}/bytes"), |b| {
            b.iter(|| convert_all(&recs, &opts))
        });
        g.throughput(Throughput::Elements(recs.len() as u64));
        g.bench_function(format!("{name}/records"), |b| {
            b.iter(|| convert_all(&recs, &opts))
        });
        g.finish();
    }
}

fn lines(c: &mut Criterion) {
    let text = corpus("marc8/pymarc_test_marc8.txt");
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let total: usize = lines.iter().map(|l| l.len()).sum();
    let mut g = c.benchmark_group("lines");
    g.throughput(Throughput::Bytes(total as u64));
    for (label, normalization) in [("none", Normalization::None), ("nfc", Normalization::Nfc)] {
        let opts = Marc8Options {
            normalization,
            ..Marc8Options::default()
        };
        let mut out = Vec::with_capacity(total * 2);
        g.bench_function(format!("pymarc_test_marc8.txt/{label}"), |b| {
            b.iter(|| {
                out.clear();
                for l in &lines {
                    marc8_to_utf8(black_box(l), &opts, &mut out).unwrap();
                }
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = records, lines
}
criterion_main!(benches);
