//! Extraction speed against plain parsing on one file (a quick look, not the benchmark):
//! `cargo run --release -p snakepit_core --example extract_speed -- FILE`
use snakepit_core::extract::{Extractor, Output, OutputOptions, Scratch, Values};
use snakepit_core::{read_all, Mode, ParseOptions};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let bytes = std::fs::read(path).unwrap();
    let specs = [
        "245abnp",
        "100a:110a:111a",
        "020a",
        "600a:610a:611a:630a:650a:651a",
    ];
    let extractor = Extractor::new(
        specs
            .iter()
            .map(|s| Output::parse(s, OutputOptions::default()).unwrap())
            .collect(),
    );
    let repeats: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for _ in 0..repeats {
        let t = Instant::now();
        let (items, _) = read_all(&bytes, Mode::Skip, ParseOptions::default()).unwrap();
        let parse = t.elapsed();
        let t = Instant::now();
        let (mut scratch, mut values) = (Scratch::default(), Values::new());
        for record in items.iter().flatten() {
            extractor.extract_values(record, &mut scratch, &mut values);
        }
        let n: usize = (0..values.len()).map(|i| values.list(i).len()).sum();
        let extract = t.elapsed();
        println!(
            "{} records: parse {:?} ({:.0} rec/s), extract {:?} ({:.0} rec/s), {n} values",
            items.len(),
            parse,
            items.len() as f64 / parse.as_secs_f64(),
            extract,
            items.len() as f64 / extract.as_secs_f64()
        );
    }
}
