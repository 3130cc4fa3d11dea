#!/bin/sh
# Expected outputs of the recovery differential test (test/snakepit/marc/recovery_conformance_test.exs):
# the records two permissive readers recover from every bad, real, MARC-8 and ISO 2709
# formats corpus file, written as Erlang terms read with :file.consult/1.
#   - marc4j 2.9's MarcPermissiveStreamReader (Debian libmarc4j-java; needs javac):
#     scripts/recovery/RecoveryOracleMarc4j.java, compiled here;
#   - pymarc 5.4's MARCReader(permissive=True, utf8_handling="replace"):
#     scripts/recovery/recovery_oracle_pymarc.py, run with bench/.venv's python.
# CI needs neither: the outputs are committed in test/fixtures/recovery/.
#
#   scripts/gen_recovery_fixtures.sh [PYTHON]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus="$root/../shared/corpus"
out="$root/test/fixtures/recovery"
python=${1:-$root/bench/.venv/bin/python}
[ -x "$python" ] || python=/work/main/bench/.venv/bin/python
jar=$(ls /usr/share/java/marc4j.jar /usr/share/java/marc4j-*.jar 2>/dev/null | head -n 1)
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT

set --
for f in "$corpus"/bad/* "$corpus"/real/*.mrc "$corpus"/marc8/*.dat "$corpus"/marc8/*.mrc \
  "$corpus"/formats/*.dat; do
  set -- "$@" "${f#"$corpus"/}" "$f"
done

mkdir -p "$out"
javac -d "$classes" -cp "$jar" "$root/scripts/recovery/RecoveryOracleMarc4j.java"
java -cp "$classes:$jar" RecoveryOracleMarc4j "$@" >"$out/marc4j.terms"
# pymarc warns on stderr about every byte it cannot read: noise here.
"$python" "$root/scripts/recovery/recovery_oracle_pymarc.py" "$@" >"$out/pymarc.terms" 2>/dev/null
echo "wrote $out/marc4j.terms and $out/pymarc.terms"
