"""The "index" workload of the peers: title, author, ISBN and subjects of every record, as
an indexer pulls them, through mrrc's properties and pymarc's. Prints one line per variant:
peer, variant, records, seconds, values and the peer's version, separated by tabs.

    bench/.venv/bin/python bench/index.py FILE [--runs 3] [--pymarc-cap N] [--warmup]

Benchmark peers only; never dependencies of the library.
"""
import argparse
import importlib.metadata
import time

import mrrc
import pymarc


def _count(values):
    return sum(len(v) if isinstance(v, list) else (v is not None) for v in values)


def properties(records, cap):
    """The four properties of each record (None records, unreadable ones, skipped)."""
    n = values = 0
    for rec in records:
        if rec is None:
            continue
        values += _count([rec.title, rec.author, rec.isbn, rec.subjects])
        n += 1
        if cap and n >= cap:
            break
    return n, values


def mrrc_properties(path, cap):
    return properties(mrrc.MARCReader(path), cap)


def pymarc_properties(path, cap):
    with open(path, "rb") as f:
        return properties(pymarc.MARCReader(f), cap)


def timed(fn, runs, warmup):
    """The best of `runs` runs' seconds, or with `warmup` the median of the runs after the
    first, and the last run's result."""
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    if warmup and len(times) > 1:
        kept = sorted(times[1:])
        return kept[len(kept) // 2], out
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pymarc-cap", type=int, default=50_000)
    ap.add_argument("--warmup", action="store_true", help="median of the runs after the first")
    a = ap.parse_args()
    for peer, variant, fn in [
        ("mrrc", "record.title/.author/.isbn/.subjects", lambda: mrrc_properties(a.file, None)),
        ("pymarc", "record.title/.author/.isbn/.subjects", lambda: pymarc_properties(a.file, a.pymarc_cap)),
    ]:
        seconds, (records, values) = timed(fn, a.runs, a.warmup)
        version = importlib.metadata.version(peer)
        print("\t".join([peer, variant, str(records), repr(seconds), str(values), version]))


if __name__ == "__main__":
    main()
