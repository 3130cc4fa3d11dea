//! Turns the committed MARC-8 code table (data/marc8/marc8.tsv, generated from pymarc's copy
//! of the Library of Congress tables by scripts/gen_marc8_tables.py) into static lookup
//! arrays in $OUT_DIR/marc8_tables.rs. Reads that one file only.
//!
//! Encoding of a table entry (u32): 0 = unmapped; bits 0-20 = Unicode scalar value;
//! bit 31 = combining mark (written before its base in MARC-8).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

// The MARC 21 bibliographic tables (snakepit_core::marc21) have their own generator.
#[path = "build_marc21.rs"]
mod marc21_tables;

/// Single-byte (94-character) sets, by the final byte of their escape sequence, in the order
/// of the generated `SINGLE_SETS` array. Names are for error messages.
const SINGLE: [(u8, &str); 11] = [
    (0x42, "Basic Latin (ASCII)"),
    (0x45, "Extended Latin (ANSEL)"),
    (0x32, "Basic Hebrew"),
    (0x33, "Basic Arabic"),
    (0x34, "Extended Arabic"),
    (0x4E, "Basic Cyrillic"),
    (0x51, "Extended Cyrillic"),
    (0x53, "Basic Greek"),
    (0x62, "Subscripts"),
    (0x67, "Greek Symbols"),
    (0x70, "Superscripts"),
];
const EACC: u8 = 0x31;
const COMBINING: u32 = 1 << 31;

fn main() {
    marc21_tables::generate();
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let src = manifest.join("data/marc8/marc8.tsv");
    println!("cargo:rerun-if-changed=data/marc8/marc8.tsv");
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(&src)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));

    let mut single = vec![[0u32; 128]; SINGLE.len()];
    let mut c1 = [0u32; 32];
    let mut eacc: BTreeMap<u32, u32> = BTreeMap::new();
    let mut odd: Vec<(u32, u32)> = Vec::new();
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            assert_eq!(line, "charset\tcode\tunicode\tcombining", "bad header line");
            header_seen = true;
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "line {}: expected 4 columns", n + 1);
        let hex = |s: &str| {
            u32::from_str_radix(s, 16).unwrap_or_else(|_| panic!("line {}: bad hex {s}", n + 1))
        };
        let code = hex(cols[1]);
        let uni = hex(cols[2]);
        assert!(
            char::from_u32(uni).is_some() && uni != 0,
            "line {}: U+{uni:04X} is not a usable scalar value",
            n + 1
        );
        let value = uni
            | match cols[3] {
                "1" => COMBINING,
                "0" => 0,
                other => panic!("line {}: combining flag {other}", n + 1),
            };
        if cols[0] == "odd" {
            odd.push((code, value));
            continue;
        }
        let cs = hex(cols[0]) as u8;
        if cs == EACC {
            assert!(cols[1].len() == 6, "line {}: EACC codes are 3 bytes", n + 1);
            assert!(
                eacc.insert(code, value).is_none(),
                "line {}: duplicate",
                n + 1
            );
            continue;
        }
        let Some(idx) = SINGLE.iter().position(|&(f, _)| f == cs) else {
            panic!("line {}: unknown charset {}", n + 1, cols[0]);
        };
        assert!(code <= 0xFF, "line {}: single-byte code expected", n + 1);
        match code {
            // C0 controls and space are handled by the decoder itself, whatever the set.
            0x00..=0x20 => {}
            // ANSEL's C1 entries (NSB, NSE, ZWJ, ZWNJ) are control functions, active
            // whatever set is designated.
            0x80..=0x9F => {
                assert!(
                    c1[(code - 0x80) as usize] == 0,
                    "line {}: duplicate C1",
                    n + 1
                );
                c1[(code - 0x80) as usize] = value;
            }
            // A 94-character set is the same set in G0 (0x21-0x7E) and G1 (0xA1-0xFE);
            // pymarc keys each table in one of the two ranges. Fold to the 7-bit position.
            0x21..=0x7E | 0xA1..=0xFE => {
                let slot = &mut single[idx][(code & 0x7F) as usize];
                assert!(
                    *slot == 0 || *slot == value,
                    "line {}: conflicting entries for {:02X} in set {}",
                    n + 1,
                    code,
                    cols[0]
                );
                *slot = value;
            }
            _ => panic!("line {}: code {code:02X} outside a 94-character set", n + 1),
        }
    }
    assert!(header_seen, "no header line in {}", src.display());
    // ODD_MAP (III's nonstandard codes) only fills gaps in EACC.
    for (code, value) in odd {
        eacc.entry(code).or_insert(value);
    }
    assert!(eacc.len() > 15_000, "EACC table looks truncated");

    let mut out = String::new();
    out.push_str("// @generated by build.rs from data/marc8/marc8.tsv. Do not edit.\n");
    let _ = writeln!(
        out,
        "/// Final bytes of the single-byte sets, index-aligned with [`SINGLE_SETS`].\n\
         pub(crate) const SINGLE_FINALS: [u8; {n}] = [{}];",
        SINGLE
            .iter()
            .map(|(f, _)| format!("0x{f:02X}"))
            .collect::<Vec<_>>()
            .join(", "),
        n = SINGLE.len()
    );
    let _ = writeln!(
        out,
        "/// Names of the single-byte sets, index-aligned with [`SINGLE_SETS`].\n\
         pub(crate) const SINGLE_NAMES: [&str; {n}] = [{}];",
        SINGLE
            .iter()
            .map(|(_, name)| format!("{name:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        n = SINGLE.len()
    );
    let _ = writeln!(
        out,
        "/// One 128-entry table per single-byte set, indexed by the 7-bit code.\n\
         pub(crate) static SINGLE_SETS: [[u32; 128]; {}] = [",
        SINGLE.len()
    );
    for table in &single {
        out.push_str("    [");
        push_u32s(&mut out, table);
        out.push_str("],\n");
    }
    out.push_str("];\n");
    out.push_str("/// C1 control functions 0x80-0x9F.\npub(crate) static C1: [u32; 32] = [");
    push_u32s(&mut out, &c1);
    out.push_str("];\n");
    let keys: Vec<u32> = eacc.keys().copied().collect();
    let values: Vec<u32> = eacc.values().copied().collect();
    let _ = writeln!(
        out,
        "/// EACC 3-byte codes (b1 << 16 | b2 << 8 | b3), sorted.\n\
         pub(crate) static EACC_KEYS: [u32; {}] = [",
        keys.len()
    );
    push_u32s(&mut out, &keys);
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "/// Entries for [`EACC_KEYS`], index-aligned.\n\
         pub(crate) static EACC_VALUES: [u32; {}] = [",
        values.len()
    );
    push_u32s(&mut out, &values);
    out.push_str("];\n");

    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("marc8_tables.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}

fn push_u32s(out: &mut String, values: &[u32]) {
    for (i, v) in values.iter().enumerate() {
        if i % 12 == 0 {
            out.push_str("\n        ");
        }
        let _ = write!(out, "0x{v:X}, ");
    }
    out.push_str("\n    ");
}
