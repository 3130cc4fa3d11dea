#!/usr/bin/env bash
# Builds and runs the cargo-fuzz target `parse` for SECONDS (default 60), seeded with the
# shared test corpus. Usage: scripts/fuzz.sh [SECONDS]
#
# cargo fuzz needs a nightly compiler (for -Zsanitizer). It uses `+nightly` when rustup has
# one and falls back to RUSTC_BOOTSTRAP=1 on stable otherwise. Seeds are copied into
# native/fuzz/corpus/parse (gitignored) at run time; crashes land in native/fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
root="$(pwd)"
corpus_src="${CORPUS_DIR:-$root/../shared/corpus}"
[ -d "$corpus_src" ] || corpus_src="/work/shared/corpus"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

seeds="$root/native/fuzz/corpus/parse"
mkdir -p "$seeds"
if [ -d "$corpus_src" ]; then
  # Whole files and, for the big ones, the first records only: libFuzzer truncates seeds
  # to -max_len, so small seeds keep their structure.
  find "$corpus_src" -type f \( -name '*.mrc' -o -name '*.dat' \) -print0 |
    while IFS= read -r -d '' f; do
      name="seed_$(basename "$f")"
      head -c 4096 "$f" >"$seeds/$name"
    done
else
  echo "fuzz: no corpus at $corpus_src; starting from an empty seed set" >&2
fi

cd native/fuzz
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cargo "${toolchain[@]}" fuzz build parse
cargo "${toolchain[@]}" fuzz run parse "corpus/parse" -- \
  -max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1
