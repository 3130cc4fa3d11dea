#!/bin/sh
# Regenerates test/fixtures/lint/: what MARC::Lint and MARC::Schema (marcvalidate's check)
# report for every ISO 2709 file of the corpus, the references of
# test/snakepit/marc/lint_conformance_test.exs. Needs the Debian packages libmarc-lint-perl
# and libmarc-schema-perl; the tests need only the committed output.
set -eu
cd "$(dirname "$0")/.."
corpus=../shared/corpus
out=test/fixtures/lint
mkdir -p "$out"
rm -f "$out"/*.tsv
versions="MARC::Lint $(perl -MMARC::Lint -e 'print $MARC::Lint::VERSION'), MARC::Schema $(perl -MMARC::Schema -e 'print $MARC::Schema::VERSION')"
for path in "$corpus"/real/*.mrc "$corpus"/synthetic/*.mrc "$corpus"/marc8/*.dat \
            "$corpus"/marc8/*.mrc "$corpus"/formats/*.dat "$corpus"/bad/*; do
    rel=${path#"$corpus"/}
    name=$(echo "$rel" | tr '/' '_')
    {
        echo "# $rel: $versions (scripts/gen_lint_fixtures.sh)"
        perl scripts/lint_oracles.pl "$path"
    } > "$out/$name.tsv"
done
ls "$out" | wc -l
