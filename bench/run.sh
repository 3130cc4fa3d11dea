#!/usr/bin/env bash
# `make bench`: measures Snakepit and its peers (mrrc via Python, pymarc, the mrrc and marc
# crates) on the same files in one run, and prints records/s, ratios and verdicts
# (bench/report.py: the tables of docs/performance.md).
# The peers are installed into bench/.venv and bench/rust_peers/target, never into the library.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus
big=$(bench/gen_big.sh)
files=("$corpus/synthetic/realistic_2000.mrc" "$corpus/real/loc_bibliographic.mrc" "$big")
mkdir -p bench/results
export MIX_ENV=prod
mix compile >/dev/null
echo "== Snakepit" >&2
mix run bench/marc.exs bench/results/snakepit.tsv "${files[@]}"
echo "== Peers" >&2
bench/peers.sh "${files[@]}"
if [ -f bench/pools.exs ]; then
  echo "== Pools" >&2
  mix run bench/pools.exs | tee bench/results/pools.txt
fi
if [ -f bench/cluster.exs ]; then
  echo "== Cluster: a second node on this machine, local against remote requests" >&2
  mix run bench/cluster.exs "${files[0]}" | tee bench/results/cluster.md
fi
echo "== Scheduler discipline (probe lateness, long schedules, native CPU per normal-scheduler call)" >&2
mix run bench/scheduler.exs | tee bench/results/scheduler.md
echo "== Index workload: extraction specs beside mrrc and pymarc (ratios against the targets)" >&2
mix run bench/index.exs "$corpus/real/loc_bibliographic.mrc" "${files[0]}" "$big" | tee bench/results/index.md
echo "== Table writer: extraction rows as CSV, TSV and JSON Lines" >&2
mix run bench/table.exs "$corpus/synthetic/records_10k.mrc" "$corpus/real/loc_bibliographic.mrc" | tee bench/results/table.md
echo "== MARC-8 encode beside yaz-marcdump (MB/s of UTF-8 input, same run)" >&2
mix run bench/marc8_encode.exs | tee bench/results/marc8_encode.txt
echo "== .mrk (MarcEdit mnemonic) write and read beside pymarc's" >&2
mix run bench/mrk.exs "${files[0]}" "$corpus/real/loc_bibliographic.mrc" | tee bench/results/mrk.md
echo "== Validation: lint_stream beside stream/2 (lazy) and MARC::Lint / marcvalidate on a slice" >&2
mix run bench/lint.exs "$corpus/real/loc_bibliographic.mrc" "${files[0]}" "$big" | tee bench/results/lint.md
echo "== Leader and fixed-field decoding (records/s)" >&2
FILE="$corpus/real/loc_bibliographic.mrc" mix run bench/fixed_fields.exs | tee bench/results/fixed_fields.txt
echo "== What Snakepit.Metrics costs on the request path" >&2
mix run bench/metrics.exs | tee bench/results/metrics.md
echo "== What a second thread adds on this machine (the ceiling of any 2-worker figure)" >&2
bench/rust_peers/target/release/machine_scaling "${files[0]}" | tee bench/results/machine_scaling.txt
python3 bench/report.py --results bench/results
run="bench/runs/$(date +%F)"
echo "== To put this run's figures into docs/performance.md (bench/results/ is not kept in git):" >&2
echo "  cp -r bench/results $run && bench/report.py --results $run --update docs/performance.md" >&2
