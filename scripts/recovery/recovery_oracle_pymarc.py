"""The records pymarc 5.4 recovers from each corpus file, read as a new user would for damaged
data: MARCReader(permissive=True, to_unicode=True, utf8_handling="replace").

    bench/.venv/bin/python scripts/recovery/recovery_oracle_pymarc.py FILE...

Prints one Erlang term per file, `{Path, pymarc, [Record]}.`, where a record is a list of
fields: `{Tag, Value}` for control fields, `{Tag, Ind1, Ind2, [{Code, Value}]}` for data
fields, every string as a binary of its UTF-8 bytes (printable ASCII, other bytes escaped). Run by scripts/gen_recovery_fixtures.sh.
"""
import sys

import pymarc


def binary(text):
    """An Erlang binary literal of the text's UTF-8 bytes: printable ASCII as it is, every
    other byte as a \\x{HH} escape (so the file is ASCII and quick to read back)."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    out = []
    for b in data:
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x{%02X}" % b)
    return '<<"' + "".join(out) + '">>'


def field_term(field):
    if field.is_control_field():
        return "{%s,%s}" % (binary(field.tag), binary(field.data or ""))
    subfields = ",".join(
        "{%s,%s}" % (binary(s.code), binary(s.value or "")) for s in field.subfields
    )
    return "{%s,%s,%s,[%s]}" % (
        binary(field.tag),
        binary(field.indicator1 or " "),
        binary(field.indicator2 or " "),
        subfields,
    )


def records(path):
    out = []
    with open(path, "rb") as fh:
        reader = pymarc.MARCReader(
            fh, to_unicode=True, permissive=True, utf8_handling="replace"
        )
        for record in reader:
            if record is not None:
                out.append("[" + ",".join(field_term(f) for f in record.fields) + "]")
    return out


for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    print("{%s,pymarc,[%s]}." % (binary(name), ",\n ".join(records(path))))
