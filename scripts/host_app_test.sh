#!/usr/bin/env bash
# The host application test (`make test-host`, also run by .ci/run): Snakepit used the way a
# newcomer's project uses it. A throwaway Mix project in a temp dir depends on this checkout
# with `{:snakepit, path: ...}` and declares pools in its config/config.exs; it must
#   1. compile (snakepit as a dependency: prod env, no test hooks) and, under `mix run`,
#      start snakepit's pools and one of its own under its own supervision tree, then parse
#      a corpus file through both;
#   2. build a release with `MIX_ENV=prod mix release`, offline (no hex), whose
#      `bin/host_app eval` loads the NIF from the release's own priv dir (a regular file, not
#      a link into this checkout), carries NOTICE beside it, and parses the same file.
# Cargo shares this checkout's target dir (CARGO_TARGET_DIR, honoured by the Mix compiler),
# so the NIF is not rebuilt from scratch. SNAKEPIT_KEEP_HOST=1 keeps the temp dir.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$(cd "$repo/../shared/corpus" && pwd)"
file="$corpus/real/loc_bibliographic.mrc"
records=386
# The release library (no debug info) is about 7.5 MB since the MARC 21 tables, the lint
# checks (with the regex crate), the MARC-8 writer's tables and the .mrk mnemonics; with
# debug info it was 15 MB before them. The cap catches debug info coming back.
max_nif_bytes=$((10 * 1024 * 1024))

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/native/target}"
# The Makefile exports MIX_ENV; the host picks its own.
unset MIX_ENV MIX_BUILD_PATH MIX_DEPS_PATH MIX_EXS

work="$(mktemp -d "${TMPDIR:-/tmp}/snakepit_host.XXXXXX")"
if [ "${SNAKEPIT_KEEP_HOST:-}" = 1 ]; then
  trap 'echo "host-app: kept $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi

fail() {
  echo "host-app: FAILED: $*" >&2
  exit 1
}

app="$work/host_app"
mkdir -p "$app/config" "$app/lib"

cat >"$app/mix.exs" <<EOF
defmodule HostApp.MixProject do
  use Mix.Project

  def project do
    [
      app: :host_app,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: true,
      deps: [{:snakepit, path: "$repo"}],
      releases: [host_app: [include_executables_for: [:unix]]]
    ]
  end

  def application, do: [extra_applications: [:logger], mod: {HostApp.Application, []}]
end
EOF

cat >"$app/config/config.exs" <<'EOF'
import Config

config :snakepit,
  pools: [
    [name: :host_threads, worker_profile: :thread, threads_per_worker: 2],
    [name: :host_processes, worker_profile: :process, pool_size: 1]
  ]

config :logger, level: :warning
EOF

cat >"$app/lib/host_app.ex" <<'EOF'
defmodule HostApp.Application do
  use Application

  @impl true
  def start(_type, _args) do
    # A pool of the host's own, beside the ones snakepit starts from config.
    children = [{Snakepit.Pool, name: :host_own, worker_profile: :thread, threads_per_worker: 1}]
    Supervisor.start_link(children, strategy: :one_for_one, name: HostApp.Supervisor)
  end
end

defmodule HostApp do
  # Parses `file` through every pool and returns a line for the script to check.
  def check(file, expected) do
    {:ok, _} = Application.ensure_all_started(:host_app)
    bytes = File.read!(file)

    for pool <- [:host_threads, :host_processes, :host_own] do
      case Snakepit.execute(:parse, [bytes], pool: pool) do
        {:ok, records} when length(records) == expected -> :ok
        other -> raise "pool #{inspect(pool)} should parse #{expected} records, got: #{inspect(other, limit: 5)}"
      end
    end

    {:ok, records} = Snakepit.Marc.parse(bytes)
    title = Snakepit.Marc.Record.title(hd(records))
    priv = :code.priv_dir(:snakepit)
    IO.puts("host-app-ok records=#{length(records)} priv=#{priv} title=#{inspect(title)}")
  end
end
EOF

check="HostApp.check(\"$file\", $records)"
cd "$app"

echo "host-app: mix compile + mix run in $app"
out="$(mix run -e "$check")" || fail "mix run exited with $?: $out"
echo "$out" | grep -q "^host-app-ok records=$records " || fail "mix run printed no result line, got: $out"

echo "host-app: MIX_ENV=prod mix release"
MIX_ENV=prod mix release --overwrite --quiet || fail "mix release exited with $?"

rel="$app/_build/prod/rel/host_app"
out="$("$rel/bin/host_app" eval "$check")" || fail "bin/host_app eval exited with $?: $out"
echo "$out" | grep -q "^host-app-ok records=$records priv=$rel/lib/snakepit-" ||
  fail "the release should parse $records records with snakepit's priv dir under $rel/lib, got: $out"

priv="$(echo "$out" | sed -n 's/^host-app-ok .* priv=\([^ ]*\) .*/\1/p')"
nif="$priv/native/libsnakepit_nif.so"
[ -f "$nif" ] && [ ! -L "$nif" ] || fail "expected a regular file at $nif, got: $(ls -l "$priv/native" 2>&1)"
[ ! -e "$priv/native/libsnakepit_nif_test.so" ] || fail "the release carries the test build: $priv/native"
[ -f "$priv/native/NOTICE" ] || fail "the release has no NOTICE beside the NIF, got: $(ls "$priv/native")"
size=$(wc -c <"$nif" | tr -d " ")
[ "$size" -le "$max_nif_bytes" ] || fail "the release's NIF should be at most $max_nif_bytes bytes, got: $size"

echo "host-app: ok (release NIF $size bytes at $nif)"
