#!/usr/bin/env python3
"""Python peers of Snakepit, timed on the same files: mrrc (Rust with Python bindings) and
pymarc. Neither is a dependency of the library; bench/setup_peers.sh installs both into
bench/.venv.

    bench/.venv/bin/python bench/peers.py FILE [FILE...] --json OUT.json [--runs N]

For each file, each variant is run N times (default 3) and the fastest run is kept; files
over --large-bytes (default 200,000,000) get --large-runs (default 1) runs. On such files
pymarc reads only the first --pymarc-cap records (default 200,000), which the row says.

Output: a JSON array of rows
    {peer, path_variant, file, records, seconds, records_per_sec, note,
     partial, harness: "python", runs, file_bytes}
where records is what that run read (all records, or the capped prefix for pymarc on large
files: then partial is true) and seconds is the best run's wall time.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as md
import json
import os
import sys
import time

import mrrc
import pymarc

MIB = 1024 * 1024


def _versions() -> str:
    return f"mrrc {md.version('mrrc')}, pymarc {md.version('pymarc')}, Python {sys.version.split()[0]}"


# --------------------------------------------------------------------------- variants
# Each variant takes (path, cap) and returns (records, extra) where extra is a dict of
# counters used for cross-checks and notes. cap=None means the whole file.


def _count(reader, cap):
    """Counts non-None records (and Nones: records a reader gave up on)."""
    n = 0
    bad = 0
    for rec in reader:
        if rec is None:
            bad += 1
        else:
            n += 1
        if cap is not None and n + bad >= cap:
            break
    return n, {"none": bad}


def mrrc_reader_path(path, cap):
    return _count(mrrc.MARCReader(path), cap)


def mrrc_reader_fileobj(path, cap):
    with open(path, "rb") as f:
        return _count(mrrc.MARCReader(f), cap)


def mrrc_reader_bytes(path, cap):
    with open(path, "rb") as f:
        data = f.read()
    return _count(mrrc.MARCReader(data), cap)


def mrrc_pipeline_iter(path, cap):
    return _count(mrrc.ProducerConsumerPipeline.from_file(path), cap)


def mrrc_pipeline_next(path, cap):
    pipeline = mrrc.ProducerConsumerPipeline.from_file(path)
    nxt = pipeline.next  # blocks until a record is ready; None only at the end
    n = 0
    while nxt() is not None:
        n += 1
    return n, {"none": 0}


def mrrc_batch_parallel(path, cap, chunk_bytes):
    """Reads the file (whole, or chunk_bytes at a time, carrying the partial record over),
    scans boundaries and parses each batch with parse_batch_parallel. All inside the
    timing."""
    scanner = mrrc.RecordBoundaryScanner()
    n = 0
    chunks = 0
    carry = b""
    with open(path, "rb", buffering=0) as f:
        while True:
            data = f.read(chunk_bytes) if chunk_bytes else f.read()
            if not data:
                break
            buf = carry + data if carry else data
            del data
            bounds = scanner.scan(buf)
            end = 0
            if bounds:
                records = mrrc.parse_batch_parallel(bounds, buf)
                n += len(records)
                chunks += 1
                off, length = bounds[-1]
                end = off + length
                del records
            carry = buf[end:]
            del buf, bounds
            if not chunk_bytes:
                break
    return n, {"none": 0, "trailing_bytes": len(carry), "batches": chunks}


def _mrrc_value(field) -> str:
    # What mrrc's Field.value() returns: data for a control field, else the subfield
    # values joined by a space (no stripping, unlike pymarc).
    return field.value()


def mrrc_extract_api(path, cap, check_at):
    """Public pymarc-compatible API: record.title, record.fields(), field.value()."""
    n = 0
    nfields = 0
    chars = 0
    titles = 0
    at_check = None
    for rec in mrrc.MARCReader(path):
        if rec is None:
            continue
        title = rec.title
        if title is not None:
            titles += 1
        for field in rec.fields():
            chars += len(field.value())
            nfields += 1
        n += 1
        if n == check_at:
            at_check = (nfields, chars)
        if cap is not None and n >= cap:
            break
    return n, {"fields": nfields, "chars": chars, "titles": titles, "at_check": at_check}


def mrrc_extract_inner(path, cap, check_at):
    """Same values through the Rust record's own accessors (record._inner: title(),
    control_fields() -> [(tag, value)], fields() -> data fields with subfields()), skipping
    the live Field handles whose value() re-fetches the field from the record on every
    call."""
    n = 0
    nfields = 0
    chars = 0
    titles = 0
    at_check = None
    for rec in mrrc.MARCReader(path):
        if rec is None:
            continue
        inner = rec._inner
        if inner.title() is not None:
            titles += 1
        for _tag, value in inner.control_fields():
            chars += len(value)
            nfields += 1
        for field in inner.fields():
            chars += len(" ".join([sf.value for sf in field.subfields()]))
            nfields += 1
        n += 1
        if n == check_at:
            at_check = (nfields, chars)
        if cap is not None and n >= cap:
            break
    return n, {"fields": nfields, "chars": chars, "titles": titles, "at_check": at_check}


def pymarc_reader(path, cap):
    with open(path, "rb") as f:
        return _count(pymarc.MARCReader(f), cap)


def pymarc_extract(path, cap, check_at):
    n = 0
    nfields = 0
    chars = 0
    titles = 0
    at_check = None
    with open(path, "rb") as f:
        for rec in pymarc.MARCReader(f):
            if rec is None:
                continue
            if rec.title is not None:
                titles += 1
            for field in rec.fields:
                chars += len(field.value())
                nfields += 1
            n += 1
            if n == check_at:
                at_check = (nfields, chars)
            if cap is not None and n >= cap:
                break
    return n, {"fields": nfields, "chars": chars, "titles": titles, "at_check": at_check}


# --------------------------------------------------------------------------- harness


def best_of(fn, runs):
    best = None
    result = None
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        r = fn()
        s = time.perf_counter() - t
        if result is not None and r[0] != result[0]:
            raise RuntimeError(f"runs disagree: {r[0]} then {result[0]} records")
        result = r
        best = s if best is None else min(best, s)
    return best, result


def warn(msg, warnings):
    print(f"WARNING: {msg}", file=sys.stderr)
    warnings.append(msg)


def bench_file(path, args):
    size = os.path.getsize(path)
    large = size > args.large_bytes
    runs = args.large_runs if large else args.runs
    pymarc_cap = args.pymarc_cap if large else None
    chunk = args.pbp_chunk_mib * MIB
    pbp_whole = chunk == 0 or size <= chunk
    rows = []
    warnings: list[str] = []
    print(f"# {path}: {size} bytes, best of {runs}" + (f"; pymarc capped at {pymarc_cap} records" if pymarc_cap else ""))

    mt = "mrrc runs Rust on a background thread / rayon pool: uses more than one core"
    variants = [
        ("mrrc", "MARCReader(path)", lambda: mrrc_reader_path(path, None),
         "backend rust_file: Rust reads the file; each record wrapped as a pymarc-compatible mrrc.Record; default recovery_mode='permissive'"),
        ("mrrc", "MARCReader(open(path,'rb'))", lambda: mrrc_reader_fileobj(path, None),
         "backend python_file: reads through the Python file object; otherwise as MARCReader(path)"),
        ("mrrc", "MARCReader(bytes)", lambda: mrrc_reader_bytes(path, None),
         "backend cursor: file read into a bytes object first (inside the timing)"),
        ("mrrc", "ProducerConsumerPipeline.from_file(path): for-iteration", lambda: mrrc_pipeline_iter(path, None),
         "producer thread reads chunks, scans and parses in parallel; yields raw Rust Records (not the mrrc.Record wrapper); default buffer_size/channel_capacity; " + mt),
        ("mrrc", "ProducerConsumerPipeline.from_file(path): next() loop", lambda: mrrc_pipeline_next(path, None),
         "as the for-iteration variant, consuming with pipeline.next() until None (try_next() is non-blocking and returns None while the producer is behind, so it cannot tell the end); " + mt),
        ("mrrc",
         "parse_batch_parallel(RecordBoundaryScanner().scan(buf), buf)" + ("" if pbp_whole else f", {args.pbp_chunk_mib} MiB chunks"),
         lambda: mrrc_batch_parallel(path, None, 0 if pbp_whole else chunk),
         ("whole file read into one bytes buffer" if pbp_whole else
          f"file read {args.pbp_chunk_mib} MiB at a time (partial record carried to the next chunk) to bound memory")
         + "; timing includes the read, the boundary scan and the parse; yields a list of raw Rust Records per batch; " + mt),
    ]
    check_at = pymarc_cap  # compare extraction sums over pymarc's prefix when capped
    extraction = [
        ("mrrc", "extraction: record.title + field.value() for record.fields()",
         lambda: mrrc_extract_api(path, None, check_at),
         "MARCReader(path); public pymarc-compatible API; title is 245$a only; Field is a live handle whose value() re-fetches the field from the record (field_at) on every call"),
        ("mrrc", "extraction: record._inner title()/control_fields()/fields()+subfields()",
         lambda: mrrc_extract_inner(path, None, check_at),
         "MARCReader(path); same values as field.value() (control data; subfield values joined by a space) read off the Rust record directly, without live handles; _inner is private API"),
    ]
    py_cap_note = f"; limited to the first {pymarc_cap} records (pymarc is slow; file over {args.large_bytes} bytes)" if pymarc_cap else ""
    py_variants = [
        ("pymarc", "MARCReader(open(path,'rb'))", lambda: pymarc_reader(path, pymarc_cap),
         "pure Python; to_unicode=True (default); every record fully decoded into Field/Subfield objects" + py_cap_note),
        ("pymarc", "extraction: record.title + field.value() for record.fields", lambda: pymarc_extract(path, pymarc_cap, check_at),
         "title is 245$a + ' ' + $b; value() strips each subfield value" + py_cap_note),
    ]

    results = []
    for peer, variant, fn, note in variants + extraction + py_variants:
        if args.only and args.only not in f"{peer} {variant}":
            continue
        seconds, (records, extra) = best_of(fn, runs)
        results.append((peer, variant, note, seconds, records, extra))
        capped = peer == "pymarc" and pymarc_cap is not None
        print(f"{peer:<7} {variant:<74} {records:>9} {seconds:>9.3f} s {records / seconds:>11.0f} rec/s{' (capped at %d)' % pymarc_cap if capped else ''}")

    # Cross-checks. Full reads must agree on records; capped pymarc reads must have read
    # exactly min(cap, total) records.
    full = [(p, v, r, e) for p, v, _n, _s, r, e in results if not (p == "pymarc" and pymarc_cap)]
    total = full[0][2] if full else None
    for p, v, r, e in full:
        if r != total:
            warn(f"{path}: {p} {v} read {r} records, {full[0][0]} {full[0][1]} read {total}", warnings)
        if e.get("none"):
            warn(f"{path}: {p} {v} gave None for {e['none']} records", warnings)
        if e.get("trailing_bytes"):
            warn(f"{path}: {p} {v} left {e['trailing_bytes']} trailing bytes unscanned", warnings)
    for p, v, _n, _s, r, e in results:
        if p == "pymarc" and pymarc_cap and total is not None and r != min(pymarc_cap, total):
            warn(f"{path}: {p} {v} read {r} records, expected min(cap, {total})", warnings)
        if p == "pymarc" and pymarc_cap and e.get("none"):
            warn(f"{path}: {p} {v} gave None for {e['none']} records", warnings)
    mrrc_ext = [e for p, v, _n, _s, r, e in results if p == "mrrc" and "fields" in e]
    if len(mrrc_ext) == 2 and (mrrc_ext[0]["fields"], mrrc_ext[0]["chars"]) != (mrrc_ext[1]["fields"], mrrc_ext[1]["chars"]):
        warn(f"{path}: the two mrrc extraction variants disagree: {mrrc_ext[0]} vs {mrrc_ext[1]}", warnings)
    py_ext = [e for p, v, _n, _s, r, e in results if p == "pymarc" and "fields" in e]
    if mrrc_ext and py_ext:
        m = mrrc_ext[0]
        mfields = m["at_check"][0] if pymarc_cap and m["at_check"] else m["fields"]
        if mfields != py_ext[0]["fields"]:
            warn(f"{path}: mrrc and pymarc extraction visited {mfields} and {py_ext[0]['fields']} fields", warnings)

    for peer, variant, note, seconds, records, extra in results:
        detail = []
        if "fields" in extra:
            detail.append(f"{extra['fields']} fields, {extra['chars']} value chars, {extra['titles']} titles")
            if extra.get("at_check"):
                detail.append(f"first {check_at} records: {extra['at_check'][0]} fields, {extra['at_check'][1]} value chars")
        partial = peer == "pymarc" and pymarc_cap is not None and total is not None and records < total
        if peer == "pymarc" and pymarc_cap is not None and total is not None:
            detail.append(f"read the first {records} of {total} records" if partial
                          else f"the file has only {total} records: read whole")
        if extra.get("batches"):
            detail.append(f"{extra['batches']} batch(es)")
        full_note = f"{note}. Best of {runs}; {_versions()}" + ("; " + "; ".join(detail) if detail else "")
        if warnings:
            full_note += "; WARNING: cross-checks failed on this file: " + " | ".join(warnings)
        rows.append({
            "peer": peer,
            "path_variant": variant,
            "file": path,
            "records": records,
            "seconds": round(seconds, 6),
            "records_per_sec": round(records / seconds, 1) if seconds > 0 else 0.0,
            "note": full_note,
            "partial": partial,
            "harness": "python",
            "runs": runs,
            "file_bytes": size,
        })
    return rows, warnings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--json", help="write the rows here as a JSON array")
    ap.add_argument("--runs", type=int, default=3, help="runs per variant, best kept (default 3)")
    ap.add_argument("--large-bytes", type=int, default=200_000_000,
                    help="files over this many bytes are 'large' (default 200000000)")
    ap.add_argument("--large-runs", type=int, default=1, help="runs per variant on large files (default 1)")
    ap.add_argument("--pymarc-cap", type=int, default=200_000,
                    help="records pymarc reads of a large file (default 200000)")
    ap.add_argument("--pbp-chunk-mib", type=int, default=64,
                    help="parse_batch_parallel reads files larger than this many MiB in chunks "
                         "of that size (default 64; 0 = always the whole file at once)")
    ap.add_argument("--only", help="run only variants whose 'peer variant' contains this")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.large_runs < 1 or args.pymarc_cap < 1 or args.pbp_chunk_mib < 0:
        ap.error("--runs, --large-runs and --pymarc-cap must be >= 1, --pbp-chunk-mib >= 0")

    print(_versions())
    rows = []
    warnings = []
    for path in args.files:
        r, w = bench_file(path, args)
        rows += r
        warnings += w
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")
    if warnings:
        print(f"{len(warnings)} cross-check warning(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
