//! rust_peers FILE... [--json OUT] [--runs N] [--large-runs N] [--large-bytes B]
//!
//! Reads each file into memory once, then times a structural parse of the whole buffer by
//! snakepit_core and by two peer crates, mrrc and marc. Best of `--runs` (default 5) for
//! each variant; files over `--large-bytes` (default 200,000,000) get `--large-runs`
//! (default 1). Single-threaded throughout: every variant parses on the calling thread.
//!
//! Every variant returns a checksum of what it touched, so the harness can show the
//! variants did the same work:
//! - level "fields": sum of field data lengths (terminator excluded, indicators included);
//! - level "values": sum of control-field data lengths plus, for data fields, the sum of
//!   their subfield value lengths.
//!
//! Variants of the same level must agree on records and checksum; a disagreement is printed
//! as a WARNING and recorded in the JSON note.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Instant;

use snakepit_core::read::for_each_item;
use snakepit_core::ParseOptions;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Outcome {
    records: u64,
    /// Bad records met. Peers that cannot resynchronise stop at the first one.
    errors: u64,
    checksum: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Fields,
    Values,
}

struct Variant {
    peer: &'static str,
    variant: &'static str,
    level: Level,
    note: &'static str,
    run: fn(&[u8]) -> Outcome,
}

const VARIANTS: &[Variant] = &[
    Variant {
        peer: "snakepit_core",
        variant: "read::for_each_item: spans",
        level: Level::Fields,
        note: "zero-copy: frames + parses each record (leader, directory, field terminators, \
               UTF-8 validation of leader/09=a records, the default ParseOptions) into a \
               Vec of field spans borrowing the buffer; touches every field span; no \
               subfield is split and nothing is copied",
        run: snakepit_spans,
    },
    Variant {
        peer: "snakepit_core",
        variant: "read::for_each_item: spans, validate_utf8=false",
        level: Level::Fields,
        note: "as 'spans' but ParseOptions { validate_utf8: false }: framing and structure \
               only, the same checks the marc crate skips; shows what UTF-8 validation costs",
        run: snakepit_spans_no_utf8,
    },
    Variant {
        peer: "snakepit_core",
        variant: "read::for_each_item: spans + subfields",
        level: Level::Values,
        note: "as 'spans', then walks every subfield of every data field (memchr on 0x1F) \
               and sums value lengths; values are borrowed slices, nothing is copied",
        run: snakepit_subfields,
    },
    Variant {
        peer: "mrrc",
        variant: "MarcReader<Cursor<&[u8]>>::read_record",
        level: Level::Values,
        note: "owned: each record is copied out of the reader and materialised as a Record \
               with an owned String per control field and per subfield value (UTF-8 \
               decoded, lossy), SmallVec of subfields per field, fields in tag-indexed maps; \
               RecoveryMode::Strict (the crate default), ValidationLevel::Structural; \
               sums control-field and subfield value lengths",
        run: mrrc_reader,
    },
    Variant {
        peer: "marc",
        variant: "Records::new(Cursor<&[u8]>): fields + subfields",
        level: Level::Values,
        note: "owned bytes: io::Read path, one Vec<u8> copy per record plus a parsed \
               directory Vec; fields and subfields are lazy borrowed views, walked here and \
               value lengths summed; no UTF-8 check",
        run: marc_records_values,
    },
    Variant {
        peer: "marc",
        variant: "Record::parse loop (borrowed): fields",
        level: Level::Fields,
        note: "zero-copy: Record::parse on the remaining slice (leader + directory into a \
               Vec), advancing by record length; touches every field; no subfield split, no \
               UTF-8 check. Closest counterpart to snakepit 'spans' (which also checks UTF-8)",
        run: marc_parse_fields,
    },
    Variant {
        peer: "marc",
        variant: "Record::parse loop (borrowed): fields + subfields",
        level: Level::Values,
        note: "zero-copy as the borrowed 'fields' variant, plus walks every subfield and sums \
               value lengths. Closest counterpart to snakepit 'spans + subfields'",
        run: marc_parse_values,
    },
];

fn snakepit_spans(buf: &[u8]) -> Outcome {
    spans_with(buf, ParseOptions::default())
}

fn snakepit_spans_no_utf8(buf: &[u8]) -> Outcome {
    spans_with(
        buf,
        ParseOptions {
            validate_utf8: false,
        },
    )
}

fn spans_with(buf: &[u8], opts: ParseOptions) -> Outcome {
    let mut out = Outcome::default();
    for_each_item(buf, 0, 0, opts, |item| {
        match item {
            Ok(record) => {
                out.records += 1;
                for span in record.spans() {
                    out.checksum += u64::from(span.end - span.start);
                }
            }
            Err(_) => out.errors += 1,
        }
        true
    });
    out
}

fn snakepit_subfields(buf: &[u8]) -> Outcome {
    let mut out = Outcome::default();
    for_each_item(buf, 0, 0, ParseOptions::default(), |item| {
        match item {
            Ok(record) => {
                out.records += 1;
                for field in record.fields() {
                    if field.is_control() {
                        out.checksum += field.data.len() as u64;
                    } else {
                        for sf in field.subfields() {
                            out.checksum += sf.value.len() as u64;
                        }
                    }
                }
            }
            Err(_) => out.errors += 1,
        }
        true
    });
    out
}

fn mrrc_reader(buf: &[u8]) -> Outcome {
    let mut out = Outcome::default();
    let mut reader = mrrc::MarcReader::new(Cursor::new(buf));
    loop {
        match reader.read_record() {
            Ok(Some(record)) => {
                out.records += 1;
                for (_tag, value) in record.control_fields_iter() {
                    out.checksum += value.len() as u64;
                }
                for field in record.fields() {
                    for sf in &field.subfields {
                        out.checksum += sf.value.len() as u64;
                    }
                }
            }
            Ok(None) => break,
            Err(_) => {
                out.errors += 1;
                break;
            }
        }
    }
    out
}

fn is_control(tag: &marc::Tag) -> bool {
    let t = tag.0;
    t[0] == b'0' && t[1] == b'0' && t[2].is_ascii_digit()
}

fn marc_values(record: &marc::Record<'_>) -> u64 {
    let mut sum = 0u64;
    for field in record.fields() {
        if is_control(&field.get_tag()) {
            sum += field.get_data::<[u8]>().len() as u64;
        } else {
            for sf in field.subfields() {
                sum += sf.get_data::<[u8]>().len() as u64;
            }
        }
    }
    sum
}

fn marc_records_values(buf: &[u8]) -> Outcome {
    let mut out = Outcome::default();
    for item in marc::Records::new(Cursor::new(buf)) {
        match item {
            Ok(record) => {
                out.records += 1;
                out.checksum += marc_values(&record);
            }
            Err(_) => {
                // The iterator ends itself after an error.
                out.errors += 1;
            }
        }
    }
    out
}

/// Record::parse over the remaining slice, advancing by the parsed record's length; stops
/// at the first error (the crate has no way to resynchronise).
fn marc_parse_loop(buf: &[u8], mut each: impl FnMut(&marc::Record<'_>) -> u64) -> Outcome {
    let mut out = Outcome::default();
    let mut pos = 0usize;
    // Record::parse indexes the leader without checking its length: guard it here.
    while buf.len() - pos >= 24 {
        match marc::Record::parse(&buf[pos..]) {
            Ok(record) => {
                out.records += 1;
                out.checksum += each(&record);
                pos += record.as_ref().len();
            }
            Err(_) => {
                out.errors += 1;
                break;
            }
        }
    }
    out
}

fn marc_parse_fields(buf: &[u8]) -> Outcome {
    marc_parse_loop(buf, |record| {
        record
            .fields()
            .map(|f| f.get_data::<[u8]>().len() as u64)
            .sum()
    })
}

fn marc_parse_values(buf: &[u8]) -> Outcome {
    marc_parse_loop(buf, marc_values)
}

struct Args {
    files: Vec<String>,
    json: Option<String>,
    runs: usize,
    large_runs: usize,
    large_bytes: u64,
    only: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: rust_peers FILE... [--json OUT] [--runs N (5)] [--large-runs N (1)] \
         [--large-bytes B (200000000)] [--only SUBSTRING]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        files: Vec::new(),
        json: None,
        runs: 5,
        large_runs: 1,
        large_bytes: 200_000_000,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match a.as_str() {
            "--json" => args.json = Some(value("--json")),
            "--runs" => args.runs = value("--runs").parse().unwrap_or_else(|_| usage()),
            "--large-runs" => {
                args.large_runs = value("--large-runs").parse().unwrap_or_else(|_| usage())
            }
            "--large-bytes" => {
                args.large_bytes = value("--large-bytes").parse().unwrap_or_else(|_| usage())
            }
            "--only" => args.only = Some(value("--only")),
            "-h" | "--help" => usage(),
            s if s.starts_with("--") => usage(),
            _ => args.files.push(a),
        }
    }
    if args.files.is_empty() || args.runs == 0 || args.large_runs == 0 {
        usage();
    }
    args
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Row {
    peer: &'static str,
    variant: &'static str,
    file: String,
    file_bytes: u64,
    records: u64,
    seconds: f64,
    runs: usize,
    note: String,
}

impl Row {
    fn json(&self) -> String {
        let rps = if self.seconds > 0.0 {
            self.records as f64 / self.seconds
        } else {
            0.0
        };
        format!(
            "{{\"peer\": {}, \"path_variant\": {}, \"file\": {}, \"records\": {}, \
             \"seconds\": {:.6}, \"records_per_sec\": {:.1}, \"note\": {}, \
             \"partial\": false, \"harness\": \"rust\", \"runs\": {}, \"file_bytes\": {}}}",
            json_str(self.peer),
            json_str(self.variant),
            json_str(&self.file),
            self.records,
            self.seconds,
            rps,
            json_str(&self.note),
            self.runs,
            self.file_bytes
        )
    }
}

fn main() {
    let args = parse_args();
    let mut rows: Vec<Row> = Vec::new();
    let mut warnings = 0usize;
    println!(
        "{:<14} {:<50} {:>9} {:>6} {:>10} {:>12} {:>9} {:>14}",
        "peer", "variant", "records", "errors", "best ms", "records/s", "MB/s", "checksum"
    );
    for file in &args.files {
        let buf = std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
        let size = buf.len() as u64;
        let runs = if size > args.large_bytes {
            args.large_runs
        } else {
            args.runs
        };
        println!("# {file}: {size} bytes, best of {runs}");
        let mut results: Vec<(&Variant, Outcome, f64)> = Vec::new();
        for v in VARIANTS {
            if let Some(only) = &args.only {
                if !format!("{} {}", v.peer, v.variant).contains(only.as_str()) {
                    continue;
                }
            }
            let mut best = f64::INFINITY;
            let mut outcome = None;
            for _ in 0..runs {
                let t = Instant::now();
                let o = black_box((v.run)(black_box(&buf)));
                let s = t.elapsed().as_secs_f64();
                best = best.min(s);
                if let Some(prev) = outcome {
                    assert_eq!(prev, o, "{} {}: runs disagree", v.peer, v.variant);
                }
                outcome = Some(o);
            }
            let o = outcome.unwrap();
            println!(
                "{:<14} {:<50} {:>9} {:>6} {:>10.3} {:>12.0} {:>9.1} {:>14}",
                v.peer,
                v.variant,
                o.records,
                o.errors,
                best * 1e3,
                o.records as f64 / best,
                size as f64 / best / 1e6,
                o.checksum
            );
            results.push((v, o, best));
        }
        // Cross-checks: records across all variants, checksums within a level.
        let mut disagreements: Vec<String> = Vec::new();
        if let Some((v0, o0, _)) = results.first() {
            for (v, o, _) in &results[1..] {
                if o.records != o0.records {
                    disagreements.push(format!(
                        "records: {} {} = {} but {} {} = {}",
                        v0.peer, v0.variant, o0.records, v.peer, v.variant, o.records
                    ));
                }
            }
        }
        for level in [Level::Fields, Level::Values] {
            let same: Vec<_> = results
                .iter()
                .filter(|(v, _, _)| v.level == level)
                .collect();
            if let Some((v0, o0, _)) = same.first() {
                for (v, o, _) in &same[1..] {
                    if o.checksum != o0.checksum {
                        disagreements.push(format!(
                            "checksum: {} {} = {} but {} {} = {}",
                            v0.peer, v0.variant, o0.checksum, v.peer, v.variant, o.checksum
                        ));
                    }
                }
            }
        }
        for d in &disagreements {
            eprintln!("WARNING: {file}: {d}");
        }
        warnings += disagreements.len();
        for (v, o, best) in results {
            let level = match v.level {
                Level::Fields => "fields",
                Level::Values => "values",
            };
            let mut note = format!(
                "{}. Single thread; best of {runs}; checksum ({level}) {}; errors {}",
                v.note, o.checksum, o.errors
            );
            if !disagreements.is_empty() {
                note.push_str("; WARNING: variants disagree on this file: ");
                note.push_str(&disagreements.join(" | "));
            }
            rows.push(Row {
                peer: v.peer,
                variant: v.variant,
                file: file.clone(),
                file_bytes: size,
                records: o.records,
                seconds: best,
                runs,
                note,
            });
        }
    }
    if let Some(path) = &args.json {
        let body: Vec<String> = rows.iter().map(|r| format!("  {}", r.json())).collect();
        let text = format!("[\n{}\n]\n", body.join(",\n"));
        std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        println!("wrote {path}");
    }
    if warnings > 0 {
        eprintln!("{warnings} cross-check warning(s)");
    }
}
