"""Expected outputs of extraction specs on corpus files, made with traject's semantics by an
implementation independent of Snakepit's: Python over pymarc's records, written from
traject's MarcExtractor, MarcExtractor::Spec and the extract_marc macro (separator, the
joinable rule, 880 linkage through $6, byteslice for control fields, first / trim /
uniq / default in that order).

    bench/.venv/bin/python scripts/gen_extract_fixtures.py    (bench/setup_peers.sh installs pymarc)

Writes test/fixtures/extract/NAME.terms, read by test/snakepit/marc/extract_conformance_test.exs
with :file.consult/1: one {Spec, Options, [[Values per record]]} tuple per spec. CI needs
neither Python nor pymarc: the fixtures are committed.
"""
import importlib.metadata
import os
import re
import sys
import unicodedata

import pymarc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
OUT = os.path.join(ROOT, "test", "fixtures", "extract")

FILES = ["real/loc_bibliographic.mrc", "real/loc_authority.mrc", "real/loc_edge_cases.mrc"]

# (spec, options): options are traject's (separator, alternate_script, first,
# trim_punctuation, allow_duplicates = not dedupe, default).
SPECS = [
    ("245abnp", {}),
    ("100a:110a:111a", {}),
    ("020a", {}),
    ("020aa", {}),
    ("600a:610a:611a:630a:650a:651a", {}),
    ("650|*0|a", {}),
    ("245", {"separator": " -- "}),
    ("245ab", {"separator": None}),
    ("001:003:005", {}),
    ("008[35-37]", {}),
    ("008[7-10]", {}),
    ("008[60-70]", {}),
    ("245a", {"trim_punctuation": True}),
    ("260b:264b", {"trim_punctuation": True}),
    ("650a", {"allow_duplicates": True}),
    ("035a:020a", {"first": True}),
    ("999z", {"default": "none"}),
    ("245:100", {"alternate_script": "only"}),
    ("245a", {"alternate_script": False}),
    ("880", {"alternate_script": False, "separator": None}),
    ("100|1 |a", {}),
    ("700|1*|ad", {}),
]

FIELD = re.compile(r"\A([a-zA-Z0-9]{3})(\|([a-z0-9 *])([a-z0-9 *])\|)?([a-z0-9]*)?\Z")
CONTROL = re.compile(r"\A([a-zA-Z0-9]{3})(\[(\d+)(-(\d+))?\])\Z")


def parse(spec):
    out = []
    for part in re.split(r"\s*:\s*", spec):
        m = FIELD.match(part)
        if m:
            tag, i1, i2, codes = m.group(1), m.group(3), m.group(4), m.group(5)
            out.append({"tag": tag,
                        "ind1": None if i1 in (None, "*") else i1,
                        "ind2": None if i2 in (None, "*") else i2,
                        "codes": list(codes) if codes else None, "bytes": None})
            continue
        m = CONTROL.match(part)
        if m:
            a, b = int(m.group(3)), m.group(5)
            out.append({"tag": m.group(1), "ind1": None, "ind2": None, "codes": None,
                        "bytes": (a, int(b)) if b is not None else (a, None)})
            continue
        raise ValueError(part)
    return out


def byteslice(value, rng):
    data = value.encode("utf-8")
    a, b = rng
    if b is None:
        return data[a:a + 1].decode("utf-8", "replace") if a < len(data) else None
    if a > len(data):
        return None
    return data[a:b + 1].decode("utf-8", "replace")


def ruby_word(c):
    # Onigmo's [[:word:]] on a UTF-8 string: letters, marks, decimal digits, connector
    # punctuation. Python's \w leaves out the marks (a decomposed "ę" is "e" + U+0328).
    cat = unicodedata.category(c)
    return cat[0] in "LM" or cat in ("Nd", "Pc")


def trim_punctuation(s):
    # traject's Marc21.trim_punctuation; Ruby's \Z is Python's (?=\n?\Z).
    s = re.sub(r" *[ ,/;:] *(?=\n?\Z)", "", s, count=1)
    # /( *[[:word:]]{3,})\. *\Z/ -> '\1': a period (and spaces after it) at the end, after at
    # least three word characters.
    m = re.search(r"\. *(?=\n?\Z)", s)
    if m and m.start() >= 3 and all(ruby_word(c) for c in s[m.start() - 3:m.start()]):
        s = s[:m.start()] + s[m.end():]
    s = re.sub(r"\A\[?([^\[\]]+)\]?(?=\n?\Z)", r"\1", s, count=1)
    return s.strip(" \t\n\v\f\r\0")


def extract(record, specs, opts):
    sep = opts.get("separator", " ")
    alt = opts.get("alternate_script", "include")
    results = []
    tags = {s["tag"] for s in specs}
    for field in record.fields:
        tag = field.tag
        interesting = (tag in tags and alt != "only") or (tag == "880" and alt is not False)
        if not interesting:
            continue
        effective = tag
        if alt is not False and tag == "880" and not field.is_control_field():
            six = field.get_subfields("6")
            effective = six[0].encode("utf-8")[:3].decode("utf-8", "replace") if six else "880"
        for spec in specs:
            if spec["tag"] != effective:
                continue
            if field.is_control_field():
                value = field.data
                if spec["bytes"] is not None:
                    value = byteslice(value, spec["bytes"])
                if value is not None:
                    results.append(value)
                continue
            if spec["ind1"] is not None and spec["ind1"] != field.indicator1:
                continue
            if spec["ind2"] is not None and spec["ind2"] != field.indicator2:
                continue
            codes = spec["codes"]
            selected = [sf.value for sf in field.subfields if codes is None or sf.code in codes]
            if not selected:
                continue
            joinable = codes is None or len(codes) != 1
            if sep is not None and joinable:
                results.append(sep.join(selected))
            else:
                results.extend(selected)
    if opts.get("first"):
        results = results[:1]
    if opts.get("trim_punctuation"):
        results = [trim_punctuation(v) for v in results]
    if not opts.get("allow_duplicates"):
        seen, kept = set(), []
        for v in results:
            if v not in seen:
                seen.add(v)
                kept.append(v)
        results = kept
    if "default" in opts and not results:
        results = [opts["default"]]
    return results


def erl_binary(s):
    body = s.replace("\\", "\\\\").replace('"', '\\"')
    body = "".join(c if 32 <= ord(c) < 127 or ord(c) > 127 else "\\x{%x}" % ord(c) for c in body)
    return '<<"%s"/utf8>>' % body


def erl_value(v):
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return erl_binary(v)
    raise TypeError(v)


def erl_options(opts):
    keys = {"separator": "separator", "first": "first", "trim_punctuation": "trim_punctuation",
            "default": "default", "alternate_script": "alternate_script"}
    items = []
    for k, v in opts.items():
        if k == "allow_duplicates":
            items.append("{dedupe, %s}" % ("false" if v else "true"))
        elif k == "alternate_script":
            items.append("{alternate_script, %s}" % ({"include": "include", "only": "only", False: "false"}[v]))
        else:
            items.append("{%s, %s}" % (keys[k], erl_value(v)))
    return "[" + ", ".join(items) + "]"


def main():
    os.makedirs(OUT, exist_ok=True)
    for rel in FILES:
        with open(os.path.join(CORPUS, rel), "rb") as f:
            records = [r for r in pymarc.MARCReader(f, to_unicode=True, force_utf8=True) if r is not None]
        name = os.path.splitext(os.path.basename(rel))[0]
        lines = ["%% -*- coding: utf-8 -*-",
                 "%% Made by scripts/gen_extract_fixtures.py from ../shared/corpus/%s (%d records, pymarc %s)."
                 % (rel, len(records), importlib.metadata.version("pymarc")),
                 "%% One {Spec, Options, [Values of each record]} per spec."]
        for spec, opts in SPECS:
            parsed = parse(spec)
            per_record = ["[" + ", ".join(erl_binary(v) for v in extract(r, parsed, opts)) + "]" for r in records]
            lines.append("{%s, %s, [%s]}." % (erl_binary(spec), erl_options(opts), ",\n  ".join(per_record)))
        with open(os.path.join(OUT, name + ".terms"), "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        print(f"{rel}: {len(records)} records, {len(SPECS)} specs", file=sys.stderr)


if __name__ == "__main__":
    main()
