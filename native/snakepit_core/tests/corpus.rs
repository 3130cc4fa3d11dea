use snakepit_core::{read_all, ErrorKind, Mode, ParseOptions};
use std::path::PathBuf;

fn corpus(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn summary(rel: &str) -> Vec<Result<usize, ErrorKind>> {
    let bytes = corpus(rel);
    let (items, _) = read_all(&bytes, Mode::Permissive, ParseOptions::default()).unwrap();
    items
        .iter()
        .map(|i| i.as_ref().map(|r| r.spans().len()).map_err(|e| e.kind))
        .collect()
}

#[test]
fn print_all() {
    for f in [
        "real/loc_bibliographic.mrc",
        "real/loc_authority.mrc",
        "real/loc_edge_cases.mrc",
        "synthetic/realistic_2000.mrc",
        "synthetic/records_10k.mrc",
        "synthetic/encoding_marc8_ascii.mrc",
        "synthetic/encoding_mixed_scripts.mrc",
        "synthetic/encoding_replacement_chars.mrc",
        "synthetic/encoding_utf8_titles.mrc",
        "marc8/pymarc_marc.dat",
        "marc8/pymarc_marc8.dat",
        "marc8/pymarc_marc8-to-unicode.dat",
        "marc8/rustmarc_marc8_sample.mrc",
        "formats/pymarc_test.dat",
        "formats/pymarc_one.dat",
        "bad/pymarc_bad_records.mrc",
        "bad/pymarc_utf8_invalid.mrc",
        "bad/pymarc_utf8_errors.dat",
        "bad/pymarc_bad_subfield_code.dat",
        "bad/pymarc_bad_indicator.dat",
        "bad/testbed_bad_directory.mrc",
        "bad/testbed_embedded_terminators.mrc",
        "bad/testbed_garbage.mrc",
        "bad/testbed_invalid_lengths.mrc",
        "bad/testbed_missing_terminators.mrc",
        "bad/testbed_truncated_leader.mrc",
    ] {
        let s = summary(f);
        let ok = s.iter().filter(|x| x.is_ok()).count();
        let errs: Vec<_> = s.iter().filter_map(|x| x.as_ref().err()).collect();
        println!("{f}: {} items, {ok} ok, errors {:?}", s.len(), errs);
    }
}
