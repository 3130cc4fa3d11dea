//! Framing + structural parse throughput on corpus files, in records/s and MB/s.
//!
//!     cd native && cargo bench -p snakepit_core --bench parse
//!
//! A plain timing harness (`harness = false`, no extra dependency): each measurement runs
//! whole-file passes for about `SNAKEPIT_BENCH_SECS` seconds (default 2) after a warm-up
//! and reports the median pass. Files missing from ../shared/corpus are skipped.

use snakepit_core::read::{for_each_frame, for_each_item};
use snakepit_core::recover::{decode, Recovery};
use snakepit_core::scan::{Frames, Step};
use snakepit_core::ParseOptions;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const FILES: &[&str] = &["synthetic/realistic_2000.mrc", "real/loc_bibliographic.mrc"];

/// Median seconds per pass of `pass` over roughly `budget`.
fn time_passes(budget: Duration, mut pass: impl FnMut() -> u64) -> (f64, u64) {
    let mut out = 0;
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        out = black_box(pass());
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        out = black_box(pass());
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], out)
}

fn main() {
    let budget = Duration::from_secs_f64(
        std::env::var("SNAKEPIT_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    for file in FILES {
        let path = root.join(file);
        let Ok(buf) = std::fs::read(&path) else {
            println!("{file}: skipped ({} not found)", path.display());
            continue;
        };
        let mb = buf.len() as f64 / 1e6;

        let (secs, records) = time_passes(budget, || {
            Frames::new(black_box(&buf))
                .filter(|s| matches!(s, Step::Record { .. }))
                .count() as u64
        });
        println!(
            "{file}: framing only          {:>9.0} records/s {:>7.0} MB/s ({records} records, {:.3} ms/pass)",
            records as f64 / secs,
            mb / secs,
            secs * 1e3
        );

        for (label, opts) in [
            ("framing + parse      ", ParseOptions::default()),
            (
                "framing + parse, no utf8 check",
                ParseOptions {
                    validate_utf8: false,
                },
            ),
        ] {
            let (secs, ok) = time_passes(budget, || {
                let mut ok = 0u64;
                for_each_item(black_box(&buf), 0, 0, opts, |item| {
                    ok += u64::from(item.is_ok());
                    true
                });
                ok
            });
            println!(
                "{file}: {label} {:>9.0} records/s {:>7.0} MB/s ({ok} records, {:.3} ms/pass)",
                ok as f64 / secs,
                mb / secs,
                secs * 1e3
            );
        }

        // What every read path runs (recover::decode): with the default options (no
        // repair, no MARC-8 conversion) it must cost what the parse alone does.
        let (secs, ok) = time_passes(budget, || {
            let mut ok = 0u64;
            for_each_frame(black_box(&buf), 0, 0, |origin, frame| {
                let decoded = frame.and_then(|frame| {
                    decode(
                        frame,
                        origin,
                        ParseOptions::default(),
                        Recovery::default(),
                        None,
                    )
                });
                ok += u64::from(decoded.is_ok());
                true
            });
            ok
        });
        println!(
            "{file}: framing + decode, defaults {:>9.0} records/s {:>7.0} MB/s ({ok} records, {:.3} ms/pass)",
            ok as f64 / secs,
            mb / secs,
            secs * 1e3
        );

        let (secs, n) = time_passes(budget, || {
            let mut n = 0u64;
            for_each_item(black_box(&buf), 0, 0, ParseOptions::default(), |item| {
                if let Ok(r) = item {
                    for f in r.fields() {
                        n += f.subfields().map(|s| s.value.len() as u64).sum::<u64>();
                    }
                }
                true
            });
            n
        });
        println!(
            "{file}: framing + parse + walking every subfield {:>7.0} MB/s ({n} value bytes, {:.3} ms/pass)",
            mb / secs,
            secs * 1e3
        );
    }
}
