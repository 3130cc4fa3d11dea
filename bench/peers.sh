#!/usr/bin/env bash
# Peer side of `make bench`: times Snakepit's peers on the same files, side by side.
#   bench/peers.sh [FILE...]
# With no FILE: the two corpus files (shared/corpus beside the repository) plus
# bench/data/big.mrc when it exists.
#
# 1. bench/setup_peers.sh: bench/.venv with mrrc==0.9.2 and pymarc (idempotent).
# 2. bench/peers.py: Python peers (mrrc's Python API, pymarc).
# 3. bench/rust_peers: snakepit_core vs the mrrc and marc crates (its own cargo workspace).
# Writes bench/results/peers.json (all rows, one JSON array), plus peers_python.json and
# peers_rust.json. Extra options go through PEERS_PY_ARGS and RUST_PEERS_ARGS, e.g.
#   PEERS_PY_ARGS="--runs 5" RUST_PEERS_ARGS="--runs 10" bench/peers.sh FILE
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH")"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

if [ "$#" -eq 0 ]; then
    CORPUS="${SNAKEPIT_CORPUS:-$ROOT/../shared/corpus}"
    CORPUS="$(cd "$CORPUS" 2>/dev/null && pwd || echo "$CORPUS")"
    set -- "$CORPUS/synthetic/realistic_2000.mrc" "$CORPUS/real/loc_bibliographic.mrc"
    [ -f "$BENCH/data/big.mrc" ] && set -- "$@" "$BENCH/data/big.mrc"
fi
for f in "$@"; do
    [ -f "$f" ] || { echo "peers.sh: no such file: $f" >&2; exit 2; }
done

OUT="$BENCH/results"
mkdir -p "$OUT"

"$BENCH/setup_peers.sh"

echo "== Python peers (mrrc, pymarc)"
# shellcheck disable=SC2086
"$BENCH/.venv/bin/python" "$BENCH/peers.py" "$@" --json "$OUT/peers_python.json" ${PEERS_PY_ARGS:-}

echo "== Rust peers (snakepit_core, mrrc crate, marc crate)"
(cd "$BENCH/rust_peers" && cargo build --release --quiet)
# shellcheck disable=SC2086
"$BENCH/rust_peers/target/release/rust_peers" "$@" --json "$OUT/peers_rust.json" ${RUST_PEERS_ARGS:-}

"$BENCH/.venv/bin/python" - "$OUT/peers_python.json" "$OUT/peers_rust.json" "$OUT/peers.json" <<'PY'
import json, sys
*parts, out = sys.argv[1:]
rows = [r for p in parts for r in json.load(open(p))]
with open(out, "w") as f:
    json.dump(rows, f, indent=1)
    f.write("\n")
print(f"\n== Side by side (records/s, best run)")
for path in dict.fromkeys(r["file"] for r in rows):
    print(f"# {path}")
    for r in sorted((r for r in rows if r["file"] == path), key=lambda r: -r["records_per_sec"]):
        label = f"{r['peer']} ({r['harness']})"
        capped = " (first %d records only)" % r["records"] if r.get("partial") else ""
        print(f"  {label:<22} {r['path_variant']:<74} {r['records_per_sec']:>12,.0f}{capped}")
print(f"wrote {out} ({len(rows)} rows)")
PY
