#!/usr/bin/env python3
"""Generate native/snakepit_core/data/marc21/*.tsv from the Avram MARC 21 bibliographic schema.

The source is marc-schema.json as shipped by Debian's libmarc-schema-perl (MARC::Schema by
Johann Rolschewski, Artistic or GPL-1+), an Avram-format (https://format.gbv.de/schema/avram)
transcription of the Library of Congress "MARC 21 Format for Bibliographic Data". The Rust
build (native/snakepit_core/build.rs) and the Elixir module Snakepit.Marc.MARC21 both read
the committed TSV files and nothing else: neither CI nor a build needs the package.

Usage:
    python3 scripts/gen_marc21_tables.py                  # the Debian copy, version from dpkg
    python3 scripts/gen_marc21_tables.py path/to/marc-schema.json --source-version 0.14-1

Output files (tab-separated, UTF-8, `#` lines are comments, then one header row). Every
file starts with the same comment block naming the source, its version, sha256 and licence.

    fields.tsv          tag, repeatable (1/0), label, url
    indicators.tsv      tag, indicator (1/2), label. A field with no row for an indicator
                        leaves it undefined (blank).
    indicator_codes.tsv tag, indicator, code, code_end, obsolete (1/0), label
    subfields.tsv       tag, code, obsolete, repeatable (1/0; empty for obsolete subfields,
                        which the schema gives no repeatability), codelist (an id of
                        codelists.tsv or empty), label
    positions.tsv       tag (LDR/006/007/008), type, start, end (exclusive),
                        repeatable_content (1/0), unit_length (0 = the whole position),
                        label, url. `type` is the schema's name: "Leader" for LDR;
                        "All Materials", "Books", ... for 006/008; "Common", "Map", ... for 007.
    position_codes.tsv  tag, type, start, code, code_end, obsolete, label
    codelists.tsv       id, name, url. Ids are short names (languages, countries,
                        geographic_areas, ...), derived from the list's name.
    codelist_codes.tsv  id, code, obsolete, label
    material_types.tsv  key, type, leader06, leader07, form006

`code` and `code_end`: a code is the literal `code` when `code_end` is empty, otherwise the
inclusive range code..code_end of same-length strings (the schema writes "1-9", "001-999").
A leading "-" in a code list marks an obsolete code (the Library of Congress convention); it
is dropped from the code and recorded in `obsolete`. Geographic area codes are padded with
"-" to their 7 characters, as they appear in 043 $a.

obsolete_fields.tsv (tag, label) is NOT in the schema either, which drops obsolete fields
instead of marking them: it comes from the Library of Congress "MARC 21 Format for
Bibliographic Data: Field List" (ecbdlist.html), which marks them "[OBSOLETE]", as MARC::Lint
ships it (etc/ecbdlist.html of the MARC-Lint distribution; Debian: `apt-get source
libmarc-lint-perl`). Written only with `--field-list PATH` (and `--field-list-version`);
tags the schema defines are left out (the newer source wins), and a tag listed obsolete
twice (090, 590: once per former use) keeps both labels.

    python3 scripts/gen_marc21_tables.py --field-list MARC-Lint_1.53/etc/ecbdlist.html \
        --field-list-version "MARC-Lint 1.53 (Debian libmarc-lint-perl 1.53-2)"

material_types.tsv is NOT in the schema: it is the MARC 21 rule (bd008.html, bd006.html)
that picks the 008/006 layout, typed here once so both languages share it. A row applies
when leader/06 is one of `leader06` and leader/07 is one of `leader07` (`*` = any), or, for
006, when 006/00 is one of `form006`. Rows are tried in order; the first match wins.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

DEBIAN_PATH = "/usr/share/perl5/auto/share/dist/MARC-Schema/marc-schema.json"
DEBIAN_PACKAGE = "libmarc-schema-perl"
OUT_DIR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "native", "snakepit_core", "data", "marc21"
))

# key, schema type name, leader/06 codes, leader/07 codes, 006/00 codes.
# Manuscript language material (t) is Books whatever leader/07 says: MARC 21 defines
# continuing resources for leader/06 = a only. Language material with an undefined
# leader/07 falls back to Books, the 008 layout a cataloguer would expect.
MATERIAL_TYPES = [
    ("continuing_resources", "Continuing Resources", "a", "bis", "s"),
    ("books", "Books", "at", "*", "at"),
    ("computer_files", "Computer Files", "m", "*", "m"),
    ("maps", "Maps", "ef", "*", "ef"),
    ("music", "Music", "cdij", "*", "cdij"),
    ("visual_materials", "Visual Materials", "gkor", "*", "gkor"),
    ("mixed_materials", "Mixed Materials", "p", "*", "p"),
]

# Short ids for the code lists the decoders and validators look up by name.
CODELIST_IDS = {
    "MARC Code List for Languages": "languages",
    "MARC Code List for Countries": "countries",
    "MARC Code List for Geographic Areas": "geographic_areas",
    "MARC Code List for Relators": "relators",
    "MARC Organization Codes": "organizations",
}

RANGE = re.compile(r"^(\d+)-(\d+)$")


def codelist_id(name):
    if name in CODELIST_IDS:
        return CODELIST_IDS[name]
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return re.sub(r"_(source_)?codes?(_list)?$", "", slug)


def split_code(code):
    """(code, code_end) for a literal or a same-length numeric range."""
    m = RANGE.match(code)
    if m and len(m.group(1)) == len(m.group(2)):
        assert m.group(1) <= m.group(2), code
        return m.group(1), m.group(2)
    return code, ""


def clean(text):
    assert not any(c in text for c in "\t\r\n"), repr(text)
    return text


def flag(value):
    return "1" if value else "0"


def code_rows(codes, historical):
    rows = []
    for obsolete, table in ((False, codes or {}), (True, historical or {})):
        for code, spec in table.items():
            first, last = split_code(code)
            rows.append((first, last, flag(obsolete), clean(spec["label"])))
    return rows


def list_code_rows(list_id, codes):
    rows = []
    for code, spec in codes.items():
        obsolete = code.startswith("-")
        code = code[1:] if obsolete else code
        if list_id == "geographic_areas":
            code = code.ljust(7, "-")
        rows.append((code, flag(obsolete), clean(spec["label"])))
    return rows


def build(schema):
    fields = schema["fields"]
    out = {
        name: []
        for name in (
            "fields",
            "indicators",
            "indicator_codes",
            "subfields",
            "positions",
            "position_codes",
            "codelists",
            "codelist_codes",
            "material_types",
        )
    }
    lists = {}  # id -> (name, url, {(code, obsolete): label})

    def add_positions(tag, type_name, positions):
        for key, pos in sorted(positions.items(), key=lambda kv: kv[1]["start"]):
            start, end = pos["start"], pos["end"]
            assert 0 <= start < end, (tag, type_name, key)
            out["positions"].append(
                (
                    tag,
                    type_name,
                    str(start),
                    str(end),
                    flag(pos.get("repeatableContent")),
                    str(pos.get("unitLength", 0)),
                    clean(pos["label"]),
                    pos.get("url", ""),
                )
            )
            for row in code_rows(pos.get("codes"), pos.get("historical-codes")):
                out["position_codes"].append((tag, type_name, str(start)) + row)

    for tag in sorted(fields, key=lambda t: (t != "LDR", t)):
        spec = fields[tag]
        if tag == "LDR":
            add_positions(tag, "Leader", spec["positions"])
            continue
        assert re.match(r"^[0-9]{3}$", tag), tag
        out["fields"].append(
            (tag, flag(spec["repeatable"]), clean(spec["label"]), spec.get("url", ""))
        )
        for type_name, layout in (spec.get("types") or {}).items():
            add_positions(tag, type_name, layout["positions"])
        for n in ("1", "2"):
            ind = spec.get("indicator" + n)
            if not ind:
                continue
            out["indicators"].append((tag, n, clean(ind["label"])))
            for row in code_rows(ind.get("codes"), ind.get("historical-codes")):
                assert len(row[0]) == 1 and len(row[1]) <= 1, (tag, n, row)
                out["indicator_codes"].append((tag, n) + row)
        for obsolete, table in (
            (False, spec.get("subfields") or {}),
            (True, spec.get("historical-subfields") or {}),
        ):
            for code, sub in table.items():
                assert len(code) == 1, (tag, code)
                list_ref = ""
                if "codelist" in sub:
                    cl = sub["codelist"]
                    list_ref = codelist_id(cl["name"])
                    entry = lists.setdefault(list_ref, (cl["name"], cl.get("url", ""), {}))
                    assert entry[0] == cl["name"], (list_ref, cl["name"], entry[0])
                    for c, o, label in list_code_rows(list_ref, cl.get("codes", {})):
                        # 365 and 366 carry different parts of one list: take the union.
                        entry[2].setdefault((c, o), label)
                repeatable = "" if obsolete else flag(sub["repeatable"])
                out["subfields"].append(
                    (tag, code, flag(obsolete), repeatable, list_ref, clean(sub["label"]))
                )

    for list_ref in sorted(lists):
        name, url, codes = lists[list_ref]
        out["codelists"].append((list_ref, clean(name), url))
        for (code, obsolete), label in sorted(codes.items()):
            out["codelist_codes"].append((list_ref, code, obsolete, label))

    layouts = {row[1] for row in out["positions"] if row[0] == "008"}
    for key, type_name, l06, l07, f006 in MATERIAL_TYPES:
        assert type_name in layouts, type_name
        out["material_types"].append((key, type_name, l06, l07, f006))
    return out


HEADERS = {
    "fields": "tag\trepeatable\tlabel\turl",
    "indicators": "tag\tindicator\tlabel",
    "indicator_codes": "tag\tindicator\tcode\tcode_end\tobsolete\tlabel",
    "subfields": "tag\tcode\tobsolete\trepeatable\tcodelist\tlabel",
    "positions": "tag\ttype\tstart\tend\trepeatable_content\tunit_length\tlabel\turl",
    "position_codes": "tag\ttype\tstart\tcode\tcode_end\tobsolete\tlabel",
    "codelists": "id\tname\turl",
    "codelist_codes": "id\tcode\tobsolete\tlabel",
    "material_types": "key\ttype\tleader06\tleader07\tform006",
}


def debian_version():
    try:
        return subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", DEBIAN_PACKAGE],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# A field line of the LoC field list: `440 - SERIES STATEMENT/ADDED ENTRY--TITLE (R) [OBSOLETE]`.
FIELD_LINE = re.compile(r"^(\d{3}) - (.*?)\s*-?\s*\[OBSOLETE\]\s*$")


def obsolete_fields(html, defined):
    """(tag, label) rows of the fields `html` (the LoC field list) marks obsolete, sorted,
    leaving out the tags in `defined`."""
    labels = {}
    for line in html.splitlines():
        m = FIELD_LINE.match(line)
        if m and m.group(1) not in defined:
            label = re.sub(r"\s+", " ", m.group(2)).strip()
            labels.setdefault(m.group(1), []).append(label)
    return [[tag, "; ".join(labels[tag])] for tag in sorted(labels)]


def write_obsolete_fields(path, version, out, defined):
    raw = open(path, "rb").read()
    html = raw.decode("utf-8")
    edition = re.search(r"Update No\. 1 \(October 2000\) through (Update No\. \d+ \([^)]*\))", html)
    rows = obsolete_fields(html, defined)
    target = os.path.join(out, "obsolete_fields.tsv")
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        f.write("# Generated by scripts/gen_marc21_tables.py. Do not edit.\n")
        f.write(f"# source: etc/ecbdlist.html of {version} (MARC::Lint, Bryan Baldus et al.;"
                " licence: Artistic or GPL-1+)\n")
        f.write(f"# source-sha256: {hashlib.sha256(raw).hexdigest()}\n")
        f.write("# derived from: MARC 21 Format for Bibliographic Data: Field List, 1999 edition"
                f" through {edition.group(1) if edition else '?'}."
                " https://www.loc.gov/marc/bibliographic/ecbdlist.html\n")
        f.write("# fields marked [OBSOLETE] there that the schema (fields.tsv) does not define\n")
        f.write("tag\tlabel\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    print(f"{target}: {len(rows)} rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("schema", nargs="?", default=DEBIAN_PATH)
    parser.add_argument("--source-version", help="the package version (default: dpkg's)")
    parser.add_argument("--out", default=OUT_DIR)
    parser.add_argument("--field-list", help="LoC's ecbdlist.html: writes obsolete_fields.tsv")
    parser.add_argument("--field-list-version", help="where --field-list came from")
    args = parser.parse_args()

    raw = open(args.schema, "rb").read()
    version = args.source_version or debian_version()
    if not version:
        sys.exit("cannot tell the source's version: pass --source-version")
    schema = json.loads(raw)
    tables = build(schema)

    preamble = [
        "# Generated by scripts/gen_marc21_tables.py. Do not edit.",
        f"# source: marc-schema.json of Debian {DEBIAN_PACKAGE} {version}"
        " (MARC::Schema, Johann Rolschewski; licence: Artistic or GPL-1+)",
        f"# source-sha256: {hashlib.sha256(raw).hexdigest()}",
        f"# derived from: {schema.get('title', '')} {schema.get('url', '')}",
    ]
    os.makedirs(args.out, exist_ok=True)
    for name, rows in tables.items():
        path = os.path.join(args.out, name + ".tsv")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(preamble) + "\n")
            f.write(HEADERS[name] + "\n")
            width = HEADERS[name].count("\t") + 1
            for row in rows:
                assert len(row) == width, (name, row)
                f.write("\t".join(row) + "\n")
        print(f"{path}: {len(rows)} rows")
    if args.field_list:
        if not args.field_list_version:
            sys.exit("--field-list needs --field-list-version")
        defined = {row[0] for row in tables["fields"]}
        write_obsolete_fields(args.field_list, args.field_list_version, args.out, defined)


if __name__ == "__main__":
    main()
