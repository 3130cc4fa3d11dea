#!/usr/bin/env python3
"""The tables and verdicts of docs/performance.md, from one `make bench` run's result files.

Usage:
  bench/report.py [--results DIR]               print every region, between its markers
  bench/report.py [--results DIR] --update DOC  rewrite DOC's regions in place

DIR (default bench/results) holds what bench/run.sh writes: snakepit.tsv (bench/marc.exs)
and peers.json (bench/peers.sh), from which the regions are made, and the other benches'
own reports (RESULT_FILES: pools, cluster, scheduler, index, MARC-8 encode, .mrk, lint,
fixed fields, metrics, machine scaling), which the printed report shows after the regions
as they are, each under its title; a file the run lacks is named as missing. A region of DOC
is everything between

  <!-- bench/report.py: begin NAME, from DIR -->
  <!-- bench/report.py: end NAME -->

and --update writes each one (and the DIR it came from) from the results; the rest of DOC
is left as it is. A region that DOC lacks, or that DOC has and this script does not know,
is an error, so the doc and the script cannot drift apart quietly.
"""
import argparse
import json
import os
import re
import sys

SNAKEPIT_CASES = [
    ("parse_binary", "**Snakepit** `parse/2` of a binary, structs"),
    ("parse_binary_lazy", "**Snakepit** `parse/2` of a binary, lazy"),
    ("stream", "**Snakepit** `stream/2`, one process, structs"),
    ("stream_lazy", "**Snakepit** `stream/2`, one process, lazy"),
    ("stream_extract", "**Snakepit** `stream/2` + extraction, structs"),
    ("stream_lazy_extract", "**Snakepit** `stream/2` + extraction, lazy"),
]
MAP_CASES = [
    ("", "**Snakepit** `map/3` + extraction, structs, 1 / 2 workers"),
    ("_lazy", "**Snakepit** `map/3` + extraction, lazy, 1 / 2 workers"),
]
# Rust rows: (peer, variant) -> label, in the doc's order.
RUST_ROWS = [
    ("snakepit_core", "read::for_each_item: spans", "snakepit_core, spans (UTF-8 checked)"),
    ("snakepit_core", "read::for_each_item: spans, validate_utf8=false",
     "snakepit_core, spans, no UTF-8 check"),
    ("snakepit_core", "read::for_each_item: spans + subfields", "snakepit_core, spans + subfields"),
    ("marc", "Record::parse loop (borrowed): fields", "marc `Record::parse` loop, fields"),
    ("marc", "Record::parse loop (borrowed): fields + subfields",
     "marc `Record::parse` loop, fields + subfields"),
    ("marc", "Records::new(Cursor<&[u8]>): fields + subfields",
     "marc `Records::new(reader)`, fields + subfields"),
    ("mrrc", "MarcReader<Cursor<&[u8]>>::read_record", "mrrc `MarcReader::read_record`"),
]
# The other result files of bench/run.sh, in its order: (file, what it measures, its script).
RESULT_FILES = [
    ("pools.txt", "Pools: round trips and parse throughput per profile", "bench/pools.exs"),
    ("cluster.md", "Cluster: local against remote requests", "bench/cluster.exs"),
    ("scheduler.md", "Scheduler discipline", "bench/scheduler.exs"),
    ("index.md", "Index workload beside mrrc and pymarc", "bench/index.exs"),
    ("table.md", "Table writer: extraction rows as CSV, TSV and JSON Lines", "bench/table.exs"),
    ("marc8_encode.txt", "MARC-8 encode beside yaz-marcdump", "bench/marc8_encode.exs"),
    ("mrk.md", ".mrk write and read beside pymarc", "bench/mrk.exs"),
    ("lint.md", "Validation beside MARC::Lint and marcvalidate", "bench/lint.exs"),
    ("fixed_fields.txt", "Leader and fixed-field decoding", "bench/fixed_fields.exs"),
    ("metrics.md", "What Snakepit.Metrics costs", "bench/metrics.exs"),
    ("machine_scaling.txt", "What a second thread adds on this machine",
     "bench/rust_peers machine_scaling"),
]
MARKER = re.compile(
    r"<!-- bench/report\.py: begin (?P<name>[\w-]+)(?:, from [^>]*)? -->\n"
    r"(?P<body>.*?)"
    r"<!-- bench/report\.py: end (?P=name) -->",
    re.S,
)


class Run:
    """One run's rows: ours[(file, case)] = records/s; peers: the rows of peers.json."""

    def __init__(self, results):
        self.ours = {}
        self.files = []
        self.missing = [name for name in ("snakepit.tsv", "peers.json")
                        if not os.path.exists(os.path.join(results, name))]
        if "snakepit.tsv" not in self.missing:
            for line in open(os.path.join(results, "snakepit.tsv")):
                case, path, _records, _seconds, rps, _note = line.rstrip("\n").split("\t")
                self._file(path)
                self.ours[(stem(path), case)] = float(rps)
        self.peers = []
        if "peers.json" not in self.missing:
            self.peers = json.load(open(os.path.join(results, "peers.json")))
        for row in self.peers:
            self._file(row["file"])

    def _file(self, path):
        if stem(path) not in self.files:
            self.files.append(stem(path))

    def peer(self, f, harness, pred):
        rows = [r for r in self.peers
                if stem(r["file"]) == f and r["harness"] == harness and pred(r)]
        return max(rows, key=lambda r: r["records_per_sec"], default=None)

    def python(self, f, peer, extraction, inner=False):
        return self.peer(f, "python", lambda r: r["peer"] == peer
                         and r["path_variant"].startswith("extraction") == extraction
                         and ("_inner" in r["path_variant"]) == inner)

    def rate(self, f, peer, variant, harness="rust"):
        row = self.peer(f, harness, lambda r: r["peer"] == peer and r["path_variant"] == variant)
        return row and row["records_per_sec"]


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def rate(x):
    return "–" if x is None else f"{x:,.0f}"


def times(x):
    if x is None:
        return "–"
    return f"{x:.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def ratio(a, b):
    return a / b if a is not None and b else None


def per_file(run, fn, fmt=times):
    return " / ".join(fmt(fn(f)) for f in run.files)


def table(header, rows, numbers=True):
    """A markdown table; with `numbers`, every column but the first is right-aligned."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i and numbers else "---" for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def records_region(run):
    F = run.files
    rows = [[label] + [rate(run.ours.get((f, case))) for f in F] for case, label in SNAKEPIT_CASES]
    for suffix, label in MAP_CASES:
        rows.append([label] + [f"{rate(run.ours.get((f, 'map_1' + suffix)))} / "
                               f"{rate(run.ours.get((f, 'map_2' + suffix)))}" for f in F])
    fastest = {f: run.python(f, "mrrc", False) for f in F}
    peer_rows = [
        ("mrrc fastest reading path (see below)", lambda f: fastest[f]),
        ("mrrc `MARCReader(path)`",
         lambda f: run.peer(f, "python", lambda r: r["peer"] == "mrrc"
                            and r["path_variant"] == "MARCReader(path)")),
        ("mrrc extraction, public API", lambda f: run.python(f, "mrrc", True)),
        ("mrrc extraction, `_inner` (private API)", lambda f: run.python(f, "mrrc", True, True)),
        ("pymarc `MARCReader`", lambda f: run.python(f, "pymarc", False)),
        ("pymarc extraction", lambda f: run.python(f, "pymarc", True)),
    ]
    for label, find in peer_rows:
        rows.append([label] + [rate(find(f) and find(f)["records_per_sec"]) for f in F])
    out = table([""] + F, rows)

    by_variant = {}
    for f in F:
        if fastest[f]:
            by_variant.setdefault(fastest[f]["path_variant"], []).append(f)
    out += ["", "mrrc's fastest path was " + "; ".join(
        f"`{v}` on {', '.join(fs)}" for v, fs in by_variant.items()) + "."]
    partial = [(f, r["records"]) for f in F for r in [run.python(f, "pymarc", False)]
               if r and r.get("partial")]
    if partial:
        out += ["", "pymarc read only the first " + ", ".join(
            f"{n:,} records of {f}" for f, n in partial) + "."]
    for f in F:
        rss = run.ours.get((f, "stream_rss_growth_mb"))
        if rss is not None:
            out += ["", f"Peak RSS growth of the VM while streaming {f}: **{rss:.1f} MB**."]
    return out


def verdict(structs, lazy=None, unit="files"):
    """Met on every file, on some, or on none: for structs and, if given, lazy records."""
    n = len(structs)
    if lazy is None:
        return "met" if all(structs) else f"**partly**: {sum(structs)} of {n} {unit}" \
            if any(structs) else "**missed**"
    if all(structs) and all(lazy):
        return "met"
    if all(lazy):
        return "met with lazy records" + (
            f"; with structs on {sum(structs)} of {n} {unit}" if any(structs) else ", not with structs")
    return f"**missed**: structs on {sum(structs)}, lazy records on {sum(lazy)} of {n} {unit}"


def targets_region(run):
    F, ours = run.files, run.ours
    fast = {f: run.python(f, "mrrc", False) for f in F}
    ext = {f: run.python(f, "mrrc", True) for f in F}
    pym = {f: run.python(f, "pymarc", False) for f in F}

    def vs(case, base):
        return lambda f: ratio(ours.get((f, case)), base[f] and base[f]["records_per_sec"])

    def scaling(suffix):
        return lambda f: ratio(ours.get((f, "map_2" + suffix)), ours.get((f, "map_1" + suffix)))

    def core(ours_variant, peer, variant):
        return lambda f: ratio(run.rate(f, "snakepit_core", ours_variant),
                               run.rate(f, peer, variant))

    subs, spans = "read::for_each_item: spans + subfields", "read::for_each_item: spans"
    marc_loop = core(subs, "marc", "Record::parse loop (borrowed): fields + subfields")
    marc_reader = core(subs, "marc", "Records::new(Cursor<&[u8]>): fields + subfields")
    marc_dir = core(spans, "marc", "Record::parse loop (borrowed): fields")
    vs_mrrc = core(spans, "mrrc", "MarcReader<Cursor<&[u8]>>::read_record")

    def ok(fn, at_least):
        return [v >= at_least for v in map(fn, F) if v is not None]

    rows, checks = [], []
    for target, s, l, at_least in [
        ("stream into one process ≥ 2× mrrc's fastest Python path",
         vs("stream", fast), vs("stream_lazy", fast), 2.0),
        ("stream ≥ 25× pymarc", vs("stream", pym), vs("stream_lazy", pym), 25.0),
        ("extraction ≥ 10× mrrc Python (public API)",
         vs("stream_extract", ext), vs("stream_lazy_extract", ext), 10.0),
        ("parallel processing: 2 workers ≥ 1.8× one", scaling(""), scaling("_lazy"), 1.8),
    ]:
        s_ok, l_ok = ok(s, at_least), ok(l, at_least)
        checks += [all(s_ok), all(l_ok)]
        rows.append([target, per_file(run, s), per_file(run, l), verdict(s_ok, l_ok)])

    equal_work = ok(marc_loop, 1.0) + ok(marc_reader, 1.0)
    checks.append(all(equal_work))
    rows.append(["core structural parse ≥ the `marc` crate",
                 f"at equal work (fields + subfields): {per_file(run, marc_loop)} its borrowed "
                 f"loop, {per_file(run, marc_reader)} its reader; {per_file(run, marc_dir)} "
                 "its directory-only loop", "", verdict(equal_work, unit="comparisons")])
    checks.append(all(ok(vs_mrrc, 10.0)))
    rows.append(["core structural parse ≥ 10× the `mrrc` crate", per_file(run, vs_mrrc), "",
                 verdict(ok(vs_mrrc, 10.0))])
    rss = [(f, ours[(f, "stream_rss_growth_mb")]) for f in F if (f, "stream_rss_growth_mb") in ours]
    if rss:
        checks.append(all(mb <= 100 for _, mb in rss))
        rows.append([f"streaming {', '.join(f for f, _ in rss)}: peak RSS growth ≤ 100 MB",
                     ", ".join(f"{mb:.1f} MB" for _, mb in rss), "",
                     verdict([mb <= 100 for _, mb in rss])])
    return ([f"Per file: {' / '.join(F)}."] + [""]
            + table(["target", "structs", "lazy records", "verdict"], rows, numbers=False)
            + ["", f"Targets met in full: {sum(checks)} of {len(checks)} (structs and lazy "
               "records counted apart)."])


def rust_region(run):
    F = run.files
    rows = [[label] + [rate(run.rate(f, peer, variant)) for f in F]
            for peer, variant, label in RUST_ROWS
            if any(run.rate(f, peer, variant) for f in F)]
    subs = "read::for_each_item: spans + subfields"

    def vs(peer, variant, ours=subs):
        return per_file(run, lambda f: ratio(run.rate(f, "snakepit_core", ours),
                                             run.rate(f, peer, variant)))

    mrrc = [ratio(run.rate(f, "snakepit_core", "read::for_each_item: spans"),
                  run.rate(f, "mrrc", "MarcReader<Cursor<&[u8]>>::read_record")) for f in F]
    mrrc = [x for x in mrrc if x is not None]
    return table([""] + F, rows) + [
        "",
        "At equal work (fields and subfields) snakepit_core is "
        f"{vs('marc', 'Record::parse loop (borrowed): fields + subfields')} the `marc` crate's "
        f"borrowed loop and {vs('marc', 'Records::new(Cursor<&[u8]>): fields + subfields')} "
        "its reader." + (f" snakepit_core's spans are {times(min(mrrc))}–{times(max(mrrc))} the "
                         "mrrc crate." if mrrc else ""),
    ]


REGIONS = {"records": records_region, "targets": targets_region, "rust": rust_region}


def regions(run):
    return {name: "\n".join(fn(run)) + "\n" for name, fn in REGIONS.items()}


def result_files(results):
    """The other benches' reports, each under its title, as they are; missing ones named."""
    out = []
    for name, title, script in RESULT_FILES:
        path = os.path.join(results, name)
        out.append(f"== {title} ({name}, {script})")
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                body = f.read().strip("\n")
            out.append(body if body else "(empty)")
        else:
            out.append("(not in this run)")
        out.append("")
    return "\n".join(out)


def wrap(name, body, results):
    return (f"<!-- bench/report.py: begin {name}, from {results} -->\n{body}"
            f"<!-- bench/report.py: end {name} -->")


def update(doc, generated, results):
    """`doc` with every region rewritten; raises ValueError on a missing or unknown region."""
    found = [m.group("name") for m in MARKER.finditer(doc)]
    unknown = sorted(set(found) - set(generated))
    missing = [name for name in generated if name not in found]
    if unknown or missing:
        raise ValueError(f"regions unknown to bench/report.py: {unknown}; "
                         f"regions the doc lacks: {missing}")
    return MARKER.sub(lambda m: wrap(m.group("name"), generated[m.group("name")], results), doc)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="bench/results",
                    help="the run's result files (default bench/results)")
    ap.add_argument("--update", metavar="DOC", help="rewrite DOC's regions in place")
    args = ap.parse_args(argv)
    run = Run(args.results)
    if run.missing:
        # The regions are made from both files: without one there are none to print.
        print(f"{args.results}: no {' or '.join(run.missing)}: no regions", file=sys.stderr)
        if args.update:
            return 2
    generated = regions(run) if not run.missing else {}
    if args.update:
        doc = open(args.update, encoding="utf-8").read()
        try:
            new = update(doc, generated, args.results)
        except ValueError as e:
            print(f"{args.update}: {e}", file=sys.stderr)
            return 2
        with open(args.update, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"{args.update}: {len(generated)} regions written from {args.results}")
    else:
        print("\n\n".join(wrap(n, body, args.results) for n, body in generated.items()))
        print(("\n" if generated else "") + result_files(args.results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
