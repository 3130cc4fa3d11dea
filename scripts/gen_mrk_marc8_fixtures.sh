#!/bin/sh
# Regenerates test/fixtures/mrk_marc8/: MARC::File::MARCMaker's MARC-8 .mrk of MARC-8
# ISO 2709 records, the reference of test/snakepit/marc/mrk_marc8_test.exs. Needs Perl with
# Debian's libmarc-file-marcmaker-perl (and libmarc-record-perl); the tests need only the
# committed output.
#
# Sources: the corpus's MARC-8 files (every record), and Snakepit's own MARC-8 output of
# the corpus's UTF-8 records (test/fixtures/marc8_out/*.marc8.mrc, made and checked against
# three independent decoders by scripts/gen_marc8_out_fixtures.py), for escape sequences of
# every MARC-8 set: of those, the records holding an escape or a byte above 0x7F (at most
# 60 of each LoC file; every one of pymarc's test lines). For each source NAME:
#
#   NAME.records          - the source's path (from the project root), then the index of
#                           each record taken, one a line;
#   NAME.marcmaker.mrk.gz - MARC::File::MARCMaker->encode of each of those records, in order
#                           (gzip -n: the same bytes every run).
set -eu
cd "$(dirname "$0")/.."
out=test/fixtures/mrk_marc8
mkdir -p "$out"
rm -f "$out"/*.records "$out"/*.marcmaker.mrk.gz
version="MARC::File::MARCMaker $(perl -MMARC::File::MARCMaker -e 'print $MARC::File::MARCMaker::VERSION')"

convert() { # NAME SOURCE CAP: `all` records, `any` holding non-ASCII, or at most CAP of those
    perl -e '
        use strict;
        use warnings;
        use MARC::File::USMARC;
        use MARC::File::MARCMaker;
        my ($source, $cap, $records, $mrk) = @ARGV;
        my $all = $cap eq "all";
        # Records are framed by their terminator, as MARC::File::USMARC reads them; its
        # decode keeps MARC-8 bytes as they are (one Perl character a byte).
        open(my $in, "<:raw", $source) or die "$source: $!";
        local $/ = "\x1D";
        open(my $ids, ">", $records) or die $!;
        open(my $text, ">:raw", $mrk) or die $!;
        print $ids "$source\n";
        my ($index, $taken) = (0, 0);
        while (my $raw = <$in>) {
            my $i = $index++;
            next unless $all || ($raw =~ /[\x1B\x80-\xFF]/ && ($cap eq "any" || $taken < $cap));
            my $record = MARC::File::USMARC->decode($raw);
            print $ids "$i\n";
            print $text MARC::File::MARCMaker->encode($record);
            $taken++;
        }
    ' "$2" "$3" "$out/$1.records" "$out/$1.marcmaker.mrk" 2>/dev/null
    gzip -n -9 -f "$out/$1.marcmaker.mrk"
}

# The corpus's MARC-8 files (../shared/corpus/README.md), whole.
convert pymarc_marc ../shared/corpus/marc8/pymarc_marc.dat all
convert pymarc_marc8 ../shared/corpus/marc8/pymarc_marc8.dat all
convert rustmarc_marc8_sample ../shared/corpus/marc8/rustmarc_marc8_sample.mrc all
convert encoding_marc8_ascii ../shared/corpus/synthetic/encoding_marc8_ascii.mrc all
# Snakepit's MARC-8 of UTF-8 records: escape sequences, EACC, every diacritic.
for name in loc_bibliographic loc_authority loc_edge_cases; do
    convert "$name" "test/fixtures/marc8_out/$name.marc8.mrc" 60
done
for name in mixed_scripts utf8_titles pymarc_test_utf8; do
    convert "$name" "test/fixtures/marc8_out/$name.marc8.mrc" any
done
echo "# $version (scripts/gen_mrk_marc8_fixtures.sh)" > "$out/VERSION"
du -sh "$out"
