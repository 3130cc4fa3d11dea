"""pymarc's side of bench/mrk.exs: .mrk write (str(record), the writer pymarc has) and
read (MARCMakerReader) of the records of an ISO 2709 file, in memory. Prints one line per
operation: peer, operation, records, seconds (best of --runs) and pymarc's version,
separated by tabs.

    python bench/mrk.py FILE [--runs 3]

Benchmark peer only; never a dependency of the library.
"""
import argparse
import importlib.metadata
import time

import pymarc


def best(runs, fun):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        n = fun()
        times.append(time.perf_counter() - start)
    return n, min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with open(args.file, "rb") as f:
        records = [r for r in pymarc.MARCReader(f, to_unicode=True) if r is not None]
    text = "".join(str(r) + "\n" for r in records)
    version = importlib.metadata.version("pymarc")

    def write():
        return len(["".join(str(r) + "\n" for r in records)]) and len(records)

    def read():
        return sum(1 for r in pymarc.MARCMakerReader(text) if r.fields)

    for op, fun in [("write", write), ("read", read)]:
        n, s = best(args.runs, fun)
        print(f"pymarc\t{op}\t{n}\t{s:.6f}\t{version}")


if __name__ == "__main__":
    main()
