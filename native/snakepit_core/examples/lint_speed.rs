//! Lint speed against plain parsing on one file (a quick look, not the benchmark):
//! `cargo run --release -p snakepit_core --example lint_speed -- FILE [PASSES] [MODE]`
//!
//! MODE `lint` (the default) lints PASSES times; `parse` only parses PASSES times, for the
//! cost linting is compared with; `dump` prints every issue (code, severity, place,
//! message) once, one a line, to compare two builds' findings. The tables are built and one
//! record linted before anything is measured, so that under
//! `valgrind --tool=callgrind --toggle-collect='*lint_speed*measured*'` only the measured
//! passes count.
use snakepit_core::lint::{Issue, Linter, RuleSet};
use snakepit_core::{read_all, Mode, ParseOptions, Record};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("FILE");
    let passes: usize = args.next().map_or(3, |n| n.parse().expect("PASSES"));
    let mode = args.next().unwrap_or_else(|| "lint".into());
    let bytes = std::fs::read(path).unwrap();
    let linter = Linter::new(RuleSet::from_json("{}").unwrap());
    let (items, _) = read_all(&bytes, Mode::Skip, ParseOptions::default()).unwrap();
    let records: Vec<&Record<'_>> = items.iter().flatten().collect();
    let mut issues = Vec::new();
    if let Some(first) = records.first() {
        linter.lint_record_into(first, &mut issues);
    }
    match mode.as_str() {
        "dump" => dump(&linter, &records),
        "parse" => {
            for _ in 0..passes {
                let t = Instant::now();
                let n = measured_parse(&bytes);
                report("parse", n, t.elapsed(), 0);
            }
        }
        _ => {
            for _ in 0..passes {
                let t = Instant::now();
                let n = measured_lint(&linter, &records, &mut issues);
                report("lint", records.len(), t.elapsed(), n);
            }
        }
    }
}

#[inline(never)]
fn measured_parse(bytes: &[u8]) -> usize {
    let (items, _) = read_all(bytes, Mode::Skip, ParseOptions::default()).unwrap();
    items.len()
}

#[inline(never)]
fn measured_lint(linter: &Linter, records: &[&Record<'_>], issues: &mut Vec<Issue>) -> usize {
    let mut n = 0;
    for record in records {
        linter.lint_record_into(record, issues);
        n += issues.len();
    }
    n
}

fn report(what: &str, records: usize, took: std::time::Duration, issues: usize) {
    println!(
        "{records} records: {what} {took:?} ({:.2} us/rec), {issues} issues",
        took.as_secs_f64() * 1e6 / records.max(1) as f64
    );
}

fn dump(linter: &Linter, records: &[&Record<'_>]) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut issues = Vec::new();
    for (index, record) in records.iter().enumerate() {
        linter.lint_record_into(record, &mut issues);
        for i in &issues {
            let name = &linter.codes()[i.code as usize].name;
            let _ = writeln!(
                out,
                "{index}\t{name}\t{:?}\t{:?}\t{}",
                i.severity, i.at, i.message
            );
        }
    }
}
