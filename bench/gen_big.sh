#!/usr/bin/env bash
# Writes bench/data/big.mrc: at least 1 GiB of MARC made by repeating the corpus's good
# files. Generated once; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus
out=bench/data/big.mrc
target=$((1024 * 1024 * 1024))
if [ -f "$out" ] && [ "$(stat -c %s "$out")" -ge "$target" ]; then
  echo "$out"
  exit 0
fi
mkdir -p bench/data
unit=$(mktemp)
cat "$corpus"/synthetic/realistic_2000.mrc "$corpus"/real/loc_bibliographic.mrc \
  "$corpus"/real/loc_authority.mrc "$corpus"/synthetic/records_10k.mrc > "$unit"
: > "$out.tmp"
while [ "$(stat -c %s "$out.tmp")" -lt "$target" ]; do cat "$unit" >> "$out.tmp"; done
rm -f "$unit"
mv "$out.tmp" "$out"
echo "$out"
