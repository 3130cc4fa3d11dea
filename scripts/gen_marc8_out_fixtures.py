"""Independent decodings of Snakepit's MARC-8 output, for test/snakepit/marc/marc8_oracles_test.exs.

    bench/.venv/bin/python scripts/gen_marc8_out_fixtures.py    (from the project root)

Needs: mix (the project compiled for MIX_ENV=test), pymarc 5.4 in the Python running this
(bench/setup_peers.sh installs it), Debian's yaz (yaz-marcdump) and libmarc-charset-perl +
libmarc-record-perl. CI needs none of them: the outputs are committed.

For each source (corpus files, plus one record per line of pymarc's test_utf8.txt), writes
to test/fixtures/marc8_out/:

- NAME.utf8.mrc   - the source as UTF-8 records, as Snakepit reads it (`encode/1`);
- NAME.marc8.mrc  - Snakepit's MARC-8 for them (`encode(records, encoding: :marc8)`); the
                    test checks the encoder still writes exactly these bytes;
- NAME.pymarc.jsonl, NAME.yaz.jsonl, NAME.charset.jsonl - NAME.marc8.mrc decoded by pymarc's
                    MARC-8 reader (`MARCReader(to_unicode=True)`), by
                    `yaz-marcdump -f MARC-8 -t UTF-8 -o marc`, and by MARC::Charset's
                    `marc8_to_utf8` (value by value): one JSON array of fields per record,
                    text in NFC;
- NAME.charset_encode.jsonl - every value where MARC::Charset's `utf8_to_marc8` of the
                    UTF-8 value differs byte for byte from ours: record, tag, code, both
                    encodings in hex (theirs `null` where it has no mapping for a character) (docs/formats.md explains the differences).
"""
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

import pymarc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
OUT = os.path.join(ROOT, "test", "fixtures", "marc8_out")

SOURCES = {
    "loc_bibliographic": "real/loc_bibliographic.mrc",
    "loc_authority": "real/loc_authority.mrc",
    "loc_edge_cases": "real/loc_edge_cases.mrc",
    "mixed_scripts": "synthetic/encoding_mixed_scripts.mrc",
    "utf8_titles": "synthetic/encoding_utf8_titles.mrc",
    "pymarc_marc": "marc8/pymarc_marc.dat",
    "rustmarc_marc8_sample": "marc8/rustmarc_marc8_sample.mrc",
    # One record per line of pymarc's test_utf8.txt (scripts of every MARC-8 set).
    "pymarc_test_utf8": "marc8/pymarc_test_utf8.txt",
}

# Run by `mix run`: the UTF-8 and MARC-8 encodings of a source.
ENCODE = r"""
[source, utf8_out, marc8_out] = System.argv()
records =
  if String.ends_with?(source, ".txt") do
    source
    |> File.read!()
    |> String.split("\n", trim: true)
    |> Enum.with_index(1)
    |> Enum.map(fn {line, n} ->
      %Snakepit.Marc.Record{
        leader: "00000nam a2200000 a 4500",
        fields: [
          Snakepit.Marc.Field.control("001", "line#{n}"),
          Snakepit.Marc.Field.data("245", "0", "0", [{"a", line}])
        ]
      }
    end)
  else
    {:ok, records} = Snakepit.Marc.parse(File.read!(source), mode: :skip)
    records
  end
File.write!(utf8_out, Snakepit.Marc.encode(records))
File.write!(marc8_out, Snakepit.Marc.encode(records, encoding: :marc8))
"""

# MARC::Charset both ways, value by value. Reads the MARC-8 file and the UTF-8 file side by
# side (same records, same fields), writes the decodings and the encode differences.
CHARSET = r"""
use strict; use warnings;
use MARC::Batch; use MARC::Charset qw(marc8_to_utf8 utf8_to_marc8);
use JSON::PP; use Encode qw(decode encode);
MARC::Charset->ignore_errors(1);
my ($marc8, $utf8, $dec_out, $enc_out) = @ARGV;
my $json = JSON::PP->new->canonical;
sub batch { my $b = MARC::Batch->new('USMARC', $_[0]); $b->strict_off; $b->warnings_off; $b }
my ($m, $u) = (batch($marc8), batch($utf8));
open(my $dec, '>:encoding(UTF-8)', $dec_out) or die; open(my $enc, '>', $enc_out) or die;
my $n = 0;
while (my $mr = $m->next) {
    my $ur = $u->next;
    my @mf = $mr->fields; my @uf = $ur->fields; my @fields;
    for my $i (0 .. $#mf) {
        my ($f, $g) = ($mf[$i], $uf[$i]);
        my $conv = sub { my $v = marc8_to_utf8($_[0]); defined $v ? $v : '' };
        # utf8_to_marc8 takes characters (MARC::File::USMARC decodes UTF-8 records).
        my $cmp = sub { my ($code, $ours, $utf8v) = @_;
            my $chars = utf8::is_utf8($utf8v) ? $utf8v : decode('UTF-8', $utf8v);
            # Errors not ignored: it returns undef for a character it has no mapping for
            # (ignoring them dies on that character in MARC::Charset 1.35).
            my $theirs = do { local $SIG{__WARN__} = sub {}; utf8_to_marc8($chars, 0) };
            return if defined $theirs && $theirs eq $ours;
            my $shown = defined $theirs ? unpack('H*', $theirs) : undef;
            print $enc $json->encode([$n, $f->tag, $code, unpack('H*', $ours), $shown]), "\n";
        };
        if ($f->is_control_field) {
            push @fields, [$f->tag, $conv->($f->data)];
            $cmp->(undef, $f->data, $g->data);
        } else {
            my @s = $f->subfields; my @t = $g->subfields; my @subs;
            for my $j (0 .. $#s) {
                push @subs, [$s[$j][0], $conv->($s[$j][1])];
                $cmp->($s[$j][0], $s[$j][1], $t[$j][1]);
            }
            push @fields, [$f->tag, $f->indicator(1), $f->indicator(2), \@subs];
        }
    }
    print $dec $json->encode(\@fields), "\n";
    $n++;
}
"""


def nfc(text):
    return unicodedata.normalize("NFC", text)


def fields_of(record):
    out = []
    for f in record.fields:
        if f.is_control_field():
            out.append([f.tag, nfc(f.data)])
        else:
            subs = [[s.code, nfc(s.value)] for s in f.subfields]
            out.append([f.tag, f.indicators[0], f.indicators[1], subs])
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def pymarc_decoding(marc8_path, force_utf8=False):
    with open(marc8_path, "rb") as f:
        reader = pymarc.MARCReader(f, to_unicode=True, force_utf8=force_utf8)
        rows = []
        for record in reader:
            if record is None:
                raise SystemExit(f"{marc8_path}: pymarc could not read a record: {reader.current_exception}")
            rows.append(fields_of(record))
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, rel in SOURCES.items():
        utf8 = os.path.join(OUT, f"{name}.utf8.mrc")
        marc8 = os.path.join(OUT, f"{name}.marc8.mrc")
        subprocess.run(
            ["mix", "run", "-e", ENCODE, "--", os.path.join(CORPUS, rel), utf8, marc8],
            cwd=ROOT, check=True, env={**os.environ, "MIX_ENV": "test"},
        )
        write_jsonl(os.path.join(OUT, f"{name}.pymarc.jsonl"), pymarc_decoding(marc8))
        with tempfile.NamedTemporaryFile(suffix=".mrc") as yaz_out:
            subprocess.run(
                ["yaz-marcdump", "-f", "MARC-8", "-t", "UTF-8", "-o", "marc", marc8],
                stdout=yaz_out, check=True,
            )
            yaz_out.flush()
            write_jsonl(os.path.join(OUT, f"{name}.yaz.jsonl"), pymarc_decoding(yaz_out.name, force_utf8=True))
        charset_dec = os.path.join(OUT, f"{name}.charset.jsonl")
        charset_enc = os.path.join(OUT, f"{name}.charset_encode.jsonl")
        subprocess.run(["perl", "-e", CHARSET, marc8, utf8, charset_dec, charset_enc], check=True)
        # MARC::Charset's decodings, normalised like the others.
        rows = [json.loads(line) for line in open(charset_dec, encoding="utf-8")]
        for row in rows:
            for field in row:
                if len(field) == 2:
                    field[1] = nfc(field[1])
                else:
                    field[3] = [[c, nfc(v)] for c, v in field[3]]
        write_jsonl(charset_dec, rows)
        print(f"{name}: {len(rows)} records", file=sys.stderr)


if __name__ == "__main__":
    main()
