"""Conformance fixtures of the .mrk reader and writer and of the line dump, both ways,
against pymarc 5.4 (its MARCMakerReader and its str(record) writer), on every record of the
well-formed corpus files.

    /work/main/bench/.venv/bin/python scripts/gen_mrk_fixtures.py   (run from the project root)

For each corpus file NAME it writes, under test/fixtures/mrk/:

  NAME.pymarc.txt.gz   pymarc's str(record) of each record pymarc reads from the file
                       (MARCReader, to_unicode=True), each followed by a blank line. It is
                       what Snakepit.Marc.to_text/2 must give, and what from_mrk/2 reads.
  NAME.pymarc.json.gz  the same records as MARC-in-JSON (pymarc's as_dict): what from_mrk/2
                       of NAME.pymarc.txt.gz must equal.
  NAME.ours.mrk.gz     Snakepit's .mrk of the file (`mix snakepit.convert --to mrk
                       --no-to-unicode`: the .mrk writer converts MARC-8 itself): what
                       to_mrk/2 must keep giving.
  NAME.verdict         an Erlang term (read with :file.consult/1) recording what pymarc said:
                       {file, Path}, {records, N}, {pymarc_reads_ours, Equal, Differing},
                       {ambiguous, [Index]}, {pymarc_self_round_trip, Equal}.

"pymarc reads ours": MARCMakerReader's reading of NAME.ours.mrk, with the .mrk conventions
pymarc leaves undone applied (a `\\` is a blank in the leader, control fields and
indicators; MARCMaker mnemonics decoded with the same table as ours, from
scripts/gen_mrk_mnemonics.py), equals pymarc's own record (leader/09 set to `a` for a
MARC-8 record: .mrk8 is UTF-8).

"ambiguous": records whose str(record) no reader can read back, pymarc's included: a `$`
in a subfield value (str() does not escape it), a `\\` in a control field (str() spells
blanks that way), a `{` in a value (it may start a mnemonic), a line end in a value. The
test leaves them out of the reading check and checks this list.

CI needs neither Python nor pymarc: the fixtures are committed.
"""
import gzip
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile

import pymarc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_mrk_mnemonics  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
OUT = os.path.join(ROOT, "test", "fixtures", "mrk")

FILES = [
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
]


def mnemonic_table():
    with open(gen_mrk_mnemonics.PM, "rb") as f:
        text = f.read().decode("latin-1")
    rows = gen_mrk_mnemonics.table(text, gen_mrk_mnemonics.ansel())
    return {name: char for name, (char, _combining) in rows.items()}


MNEMONICS = mnemonic_table()


def decode(value, blanks):
    if blanks:
        value = value.replace("\\", " ")
    return re.sub(r"\{(\w{1,8})\}", lambda m: MNEMONICS.get(m.group(1), m.group(0)), value)


def as_tuple(record, marc8_to_utf8=False):
    """A record as plain data, for comparison."""
    leader = str(record.leader)
    if marc8_to_utf8:
        leader = leader[:9] + "a" + leader[10:]
    fields = []
    for f in record.fields:
        if f.control_field:
            fields.append((f.tag, f.data))
        else:
            subs = tuple((s.code, s.value) for s in f.subfields)
            fields.append((f.tag, f.indicator1, f.indicator2, subs))
    return (leader, fields)


def read_by_pymarc(text):
    """pymarc's MARCMakerReader over `text`, the trailing empty chunk dropped, with the
    .mrk conventions pymarc leaves undone applied."""
    out = []
    for r in pymarc.MARCMakerReader(text):
        if not r.fields:
            continue
        leader = decode(str(r.leader), True)
        fields = []
        for f in r.fields:
            if f.control_field:
                fields.append((f.tag, decode(f.data, True)))
            else:
                i1, i2 = (" " if i == "\\" else i for i in (f.indicator1, f.indicator2))
                subs = tuple((s.code, decode(s.value, False)) for s in f.subfields)
                fields.append((f.tag, i1, i2, subs))
        out.append((leader, fields))
    return out


def ambiguous(record):
    for f in record.fields:
        if f.control_field:
            if "\\" in f.data or "{" in f.data or "\n" in f.data:
                return True
        else:
            for s in f.subfields:
                if any(c in s.value for c in "${\n\r"):
                    return True
            if "\\" in (f.indicator1, f.indicator2):
                return True
    return False


def ours_mrk(path):
    """Snakepit's .mrk of `path`, made by the convert task."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.mrk")
        env = dict(os.environ, MIX_ENV=os.environ.get("MIX_ENV", "test"))
        subprocess.run(
            ["mix", "snakepit.convert", path, out, "--to", "mrk", "--no-to-unicode"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with open(out, "rb") as f:
            return f.read()


def gz(path, data):
    # mtime=0: the same input gives the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    version = importlib.metadata.version("pymarc")
    for rel in FILES:
        path = os.path.join(CORPUS, rel)
        name = os.path.basename(rel).rsplit(".", 1)[0]
        with open(path, "rb") as f:
            records = [r for r in pymarc.MARCReader(f, to_unicode=True) if r is not None]
        text = "".join(str(r) + "\n" for r in records)
        gz(os.path.join(OUT, name + ".pymarc.txt.gz"), text.encode("utf-8"))
        gz(
            os.path.join(OUT, name + ".pymarc.json.gz"),
            json.dumps([r.as_dict() for r in records], ensure_ascii=False).encode("utf-8"),
        )
        ours = ours_mrk(path)
        gz(os.path.join(OUT, name + ".ours.mrk.gz"), ours)

        expected = [as_tuple(r, r.leader[9] != "a") for r in records]
        got = read_by_pymarc(ours.decode("utf-8"))
        differing = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
        if len(got) != len(expected):
            differing.append(("count", len(got), len(expected)))
        amb = [i for i, r in enumerate(records) if ambiguous(r)]
        self_read = read_by_pymarc(text)
        self_equal = sum(
            1 for r, g in zip(records, self_read) if as_tuple(r) == g
        )
        with open(os.path.join(OUT, name + ".verdict"), "w") as f:
            f.write(f"% Made by scripts/gen_mrk_fixtures.py with pymarc {version} from {rel}.\n")
            f.write(f'{{file, "{rel}"}}.\n')
            f.write(f"{{records, {len(records)}}}.\n")
            f.write(f"{{pymarc_reads_ours, {len(expected) - len(differing)}, {erl(differing)}}}.\n")
            f.write(f"{{ambiguous, {erl(amb)}}}.\n")
            f.write(f"{{pymarc_self_round_trip, {self_equal}}}.\n")
        print(
            f"{rel}: {len(records)} records; pymarc reads ours: {len(differing)} differ; "
            f"ambiguous {len(amb)}; pymarc reads its own str() back: {self_equal}"
        )


def erl(items):
    return "[" + ",".join(str(i) if isinstance(i, int) else f"{{{','.join(map(str, i))}}}" for i in items) + "]"


if __name__ == "__main__":
    main()
