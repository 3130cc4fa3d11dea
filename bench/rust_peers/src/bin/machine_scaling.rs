//! How much a second thread adds on this machine, for kinds of work with different demands
//! on the core: the ceiling any 2-worker figure in `make bench` runs into.
//!
//!     machine_scaling [FILE]      (FILE: a MARC file for the snakepit_core row)
//!
//! Each row runs the same work once on one thread, then on two threads at once (each doing
//! the full amount), and prints 2 × t(1) / t(2): 2.00 is perfect scaling.

use std::hint::black_box;
use std::time::{Duration, Instant};

fn alu(reps: u64) {
    // Integer mixing: registers only.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..reps {
        x = (x ^ i).wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(17);
    }
    black_box(x);
}

fn copy(bytes: usize, reps: usize) {
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    for _ in 0..reps {
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
    }
}

fn parse(data: &[u8], reps: usize) {
    let opts = snakepit_core::ParseOptions::default();
    for _ in 0..reps {
        snakepit_core::read::for_each_item(data, 0, 0, opts, |item| {
            if let Ok(record) = item {
                for field in record.fields() {
                    black_box(field.subfields().count());
                }
            }
            true
        });
    }
}

fn timed(f: &(dyn Fn() + Sync)) -> (Duration, Duration) {
    let start = Instant::now();
    f();
    let one = start.elapsed();
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(f);
        s.spawn(f);
    });
    (one, start.elapsed())
}

fn main() {
    let file = std::env::args().nth(1);
    let data = file.as_ref().map(|f| std::fs::read(f).expect("read FILE"));
    let mut rows: Vec<(&str, Box<dyn Fn() + Sync>)> = vec![
        ("integer loop (registers only)", Box::new(|| alu(400_000_000))),
        ("memcpy 256 KB (cache)", Box::new(|| copy(256 << 10, 20_000))),
        ("memcpy 64 MB (memory)", Box::new(|| copy(64 << 20, 30))),
    ];
    if let Some(data) = data.as_deref() {
        let reps = (200 << 20) / data.len().max(1) + 1;
        rows.push((
            "snakepit_core parse + subfield walk",
            Box::new(move || parse(data, reps)),
        ));
    }
    println!("{:<40} {:>10} {:>10} {:>8}", "work", "1 thread", "2 threads", "scaling");
    for (name, f) in &rows {
        let (one, two) = timed(f.as_ref());
        let scaling = 2.0 * one.as_secs_f64() / two.as_secs_f64();
        println!("{name:<40} {one:>10.2?} {two:>10.2?} {scaling:>7.2}x");
    }
}
