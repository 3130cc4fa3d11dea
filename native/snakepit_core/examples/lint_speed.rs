//! Lint speed against plain parsing on one file (a quick look, not the benchmark):
//! `cargo run --release -p snakepit_core --example lint_speed -- FILE [PASSES]`
use snakepit_core::lint::{Linter, RuleSet};
use snakepit_core::{read_all, Mode, ParseOptions};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let passes: usize = std::env::args()
        .nth(2)
        .map_or(3, |n| n.parse().expect("PASSES"));
    let bytes = std::fs::read(path).unwrap();
    let linter = Linter::new(RuleSet::from_json("{}").unwrap());
    let (items, _) = read_all(&bytes, Mode::Skip, ParseOptions::default()).unwrap();
    let mut issues = Vec::new();
    for _ in 0..passes {
        let t = Instant::now();
        let mut n = 0;
        for record in items.iter().flatten() {
            linter.lint_into(record, &mut issues);
            n += issues.len();
        }
        let lint = t.elapsed();
        println!(
            "{} records: lint {:?} ({:.2} us/rec), {n} issues",
            items.len(),
            lint,
            lint.as_secs_f64() * 1e6 / items.len() as f64
        );
    }
}
