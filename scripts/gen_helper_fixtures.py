"""Expected answers of the record helpers (Snakepit.Marc.Record.notes/1, series/1, ...) on
every well-formed corpus file, from pymarc 5.4.

    /work/main/bench/.venv/bin/python scripts/gen_helper_fixtures.py    (bench/setup_peers.sh installs pymarc)

For each record, two kinds of answer:

- pymarc's own properties (physicaldescription, series, notes, uniformtitle, location,
  sudoc, issnl, pubyear), as pymarc computes them;
- for the helpers pymarc does not have (isbns, lccn, oclc_numbers, languages) and for
  Snakepit's pubyear (which reads 264 before 260 before 008), the rule written in
  docs/editing-records.md, implemented here again over pymarc's records, independently of
  Snakepit's code.

Records in which pymarc's MARC-8 decoder failed (it writes "Unable to parse character"
and drops the character) are marked with the number of failures.

Also the corpus's MARCXML and MARC-in-JSON files, through pymarc's readers of them
(fixtures NAME_xml, NAME_json).

Writes test/fixtures/helpers/NAME.terms.gz (gzipped Erlang terms, one
{Index, [{Helper, Answer}]} per record), read by test/snakepit/marc/helpers_conformance_test.exs.
CI needs neither Python nor pymarc: the fixtures are committed.
"""
import contextlib
import gzip
import importlib.metadata
import io
import os
import re
import sys

import pymarc

# The one writer of Erlang binaries for fixtures (this script's folder is on sys.path).
from gen_extract_fixtures import erl_binary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
OUT = os.path.join(ROOT, "test", "fixtures", "helpers")

# Every well-formed ISO 2709 file of the corpus (test/support/corpus.ex lists the same).
FILES = [
    "real/loc_bibliographic.mrc", "real/loc_authority.mrc", "real/loc_edge_cases.mrc",
    "synthetic/realistic_2000.mrc", "synthetic/records_10k.mrc",
    "synthetic/encoding_marc8_ascii.mrc", "synthetic/encoding_mixed_scripts.mrc",
    "synthetic/encoding_replacement_chars.mrc", "synthetic/encoding_utf8_titles.mrc",
    "marc8/pymarc_marc.dat", "marc8/pymarc_marc8.dat", "marc8/pymarc_marc8-to-unicode.dat",
    "marc8/rustmarc_marc8_sample.mrc", "formats/pymarc_test.dat", "formats/pymarc_one.dat",
]

# The MARCXML and MARC-in-JSON files of the corpus, read by pymarc's readers of them.
OTHER_FORMATS = [
    "formats/pymarc_batch.xml", "formats/pymarc_utf8.xml",
    "formats/pymarc_one.json", "formats/pymarc_test.json",
]

BIBLIOGRAPHIC = set("acdefgijkmoprt")


# ------------------------------------------------------------------ the rules pymarc lacks

ISBN = re.compile(r"^\s*([0-9][0-9\-\s]{8,16}[0-9Xx])\b")


def isbn_number(text):
    m = ISBN.match(text)
    if not m:
        return None
    number = m.group(1).replace("-", "").replace(" ", "").upper()
    return number if len(number) in (10, 13) else None


def isbn_check(number):
    body, check = number[:-1], number[-1]
    if "X" in body:
        return "invalid_checksum"
    if len(number) == 10:
        total = sum(int(d) * (10 - i) for i, d in enumerate(body)) + (10 if check == "X" else int(check))
        return "valid" if total % 11 == 0 else "invalid_checksum"
    if check == "X":
        return "invalid_checksum"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return "valid" if (10 - total % 10) % 10 == int(check) else "invalid_checksum"


def isbns(record):
    out = []
    for f in record.get_fields("020"):
        for a in f.get_subfields("a"):
            n = isbn_number(a)
            if n:
                out.append((n, isbn_check(n)))
    return out


def lccn(record):
    f = record.get("010")
    if f is None or f.get("a") is None:
        return None
    # https://www.loc.gov/marc/lccn-namespace.html, "Normalization"
    s = re.sub(r"\s", "", f.get("a")).split("/", 1)[0]
    if "-" not in s:
        return s or None
    prefix, serial = s.split("-", 1)
    if not re.fullmatch(r"[0-9]{1,6}", serial):
        return None
    return prefix + serial.rjust(6, "0")


def oclc_numbers(record):
    out = []
    for f in record.get_fields("035"):
        for a in f.get_subfields("a"):
            if not a.startswith("(OCoLC)"):
                continue
            rest = a[len("(OCoLC)"):].strip()
            for p in ("ocm", "ocn", "on"):
                if rest.startswith(p):
                    rest = rest[len(p):]
                    break
            m = re.fullmatch(r"0*([0-9]+)", rest)
            if m and m.group(1) not in out:
                out.append(m.group(1))
    return out


def bibliographic(record):
    leader = str(record.leader)
    return len(leader) > 6 and leader[6] in BIBLIOGRAPHIC


def languages(record):
    out = []
    f008 = record.get("008")
    if bibliographic(record) and f008 is not None and f008.data is not None:
        code = f008.data.encode("utf-8")[35:38].decode("utf-8", "replace")
        if re.fullmatch(r"[a-z]{3}", code):
            out.append(code)
    for f in record.get_fields("041"):
        for sf in f.subfields:
            if len(sf.code) == 1 and "a" <= sf.code <= "z":
                v = sf.value.strip()
                if re.fullmatch(r"(?:[A-Za-z]{3})+", v):
                    out.extend(v[i:i + 3].lower() for i in range(0, len(v), 3))
    seen = []
    for c in out:
        if c not in seen:
            seen.append(c)
    return seen


def year(value):
    m = re.search(r"[0-9]{4}", value or "")
    return m.group(0) if m else None


def pubyear(record):
    sources = [f for f in record.get_fields("264") if f.indicator2 == "1"] + record.get_fields("260")
    for f in sources:
        y = year(f.get("c"))
        if y:
            return y
    f008 = record.get("008")
    if bibliographic(record) and f008 is not None and f008.data is not None:
        d = f008.data.encode("utf-8")[7:11].decode("utf-8", "replace")
        if re.fullmatch(r"[0-9]{4}", d):
            return d
    return None


# ------------------------------------------------------------------ Erlang terms

def erl(v):
    if v is None:
        return "nil"
    if isinstance(v, str):
        return erl_binary(v)
    if isinstance(v, tuple):
        return "{" + ", ".join(erl(x) for x in v) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(erl(x) for x in v) + "]"
    if isinstance(v, pymarc.Field):
        if v.is_control_field():
            return "{%s, %s}" % (erl(v.tag), erl(v.data))
        subfields = [(sf.code, sf.value) for sf in v.subfields]
        return "{%s, %s, %s, %s}" % (erl(v.tag), erl(v.indicator1), erl(v.indicator2), erl(subfields))
    raise TypeError(v)


def atom_pair(name, value):
    return "{%s, %s}" % (name, erl(value))


def answers(record):
    # Atoms in isbns are written bare: valid / invalid_checksum.
    isbn_terms = "[" + ", ".join("{%s, %s}" % (erl(n), c) for n, c in isbns(record)) + "]"
    return ", ".join([
        atom_pair("physical_description", record.physicaldescription),
        atom_pair("series", record.series),
        atom_pair("notes", record.notes),
        atom_pair("uniform_title", record.uniformtitle),
        atom_pair("location", record.location),
        atom_pair("sudoc", record.sudoc),
        atom_pair("issnl", record.issnl),
        atom_pair("pymarc_pubyear", record.pubyear),
        "{isbns, %s}" % isbn_terms,
        atom_pair("lccn", lccn(record)),
        atom_pair("oclc_numbers", oclc_numbers(record)),
        atom_pair("languages", languages(record)),
        atom_pair("pubyear", pubyear(record)),
    ])


def read_iso(path):
    # pymarc's MARC-8 decoder writes "Unable to parse character ..." to stderr and leaves
    # the character out; such records are marked, their text is not pymarc's best.
    records, failures = [], []
    with open(path, "rb") as f:
        reader = pymarc.MARCReader(f, to_unicode=True, force_utf8=False)
        while True:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                r = next(reader, StopIteration)
            if r is StopIteration:
                break
            if r is None:
                raise SystemExit(f"{path}: pymarc could not read record {len(records)}")
            records.append(r)
            failures.append(err.getvalue().count("Unable to parse character"))
    return records, failures


def read_other(path):
    if path.endswith(".xml"):
        records = pymarc.parse_xml_to_array(path)
    else:
        with open(path, encoding="utf-8") as f:
            records = list(pymarc.JSONReader(f.read()))
    return records, [0] * len(records)


def write(rel, name, records, failures):
    lines = ["%% -*- coding: utf-8 -*-",
             "%% Made by scripts/gen_helper_fixtures.py from ../shared/corpus/%s (%d records, pymarc %s)."
             % (rel, len(records), importlib.metadata.version("pymarc")),
             "%% One {Index, [{Helper, Answer}]} per record."]
    for i, (r, failed) in enumerate(zip(records, failures)):
        lines.append("{%d, [{pymarc_marc8_failures, %d}, %s]}." % (i, failed, answers(r)))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    # mtime=0 and no file name in the header: the same input gives the same bytes.
    with open(os.path.join(OUT, name + ".terms.gz"), "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)
    print(f"{rel}: {len(records)} records, {sum(1 for n in failures if n)} with MARC-8 "
          "characters pymarc could not decode", file=sys.stderr)


def main():
    os.makedirs(OUT, exist_ok=True)
    for rel in FILES:
        records, failures = read_iso(os.path.join(CORPUS, rel))
        write(rel, os.path.splitext(os.path.basename(rel))[0], records, failures)
    for rel in OTHER_FORMATS:
        records, failures = read_other(os.path.join(CORPUS, rel))
        # pymarc_one.json beside pymarc_one.dat: the extension is part of the name.
        write(rel, os.path.basename(rel).replace(".", "_"), records, failures)


if __name__ == "__main__":
    main()
