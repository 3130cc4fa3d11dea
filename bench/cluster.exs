# Cluster benchmark: a second node on this machine (OTP's :peer, running this project's
# code), a pool on each. Measures the round trip of a request to the local pool against the
# same request to the other node's pool (`nodes: :cluster` to a pool that runs only there),
# with a small argument, with a whole file's bytes going out (`:count`: a small result
# back) and with records coming back (`:parse`), then Marc.map throughput through the local
# pool, the remote one, and both (`nodes: :cluster`). Both nodes share this machine's cores:
# the figures give the cost of the wire, not the gain of a second machine.
#
#     MIX_ENV=prod mix run bench/cluster.exs [file.mrc]
#
# Environment: BENCH_ROUND_TRIPS (default 2000), BENCH_MAP_RUNS (default 3).

defmodule Bench.Cluster do
  def samples(n, fun) do
    for _ <- 1..n do
      t0 = System.monotonic_time()
      {:ok, _} = fun.()
      System.monotonic_time() - t0
    end
    |> Enum.map(&System.convert_time_unit(&1, :native, :nanosecond))
    |> Enum.sort()
  end

  def median(sorted), do: Enum.at(sorted, div(length(sorted), 2))
  def p99(sorted), do: Enum.at(sorted, min(length(sorted) - 1, trunc(length(sorted) * 0.99)))
  def us(ns), do: :erlang.float_to_binary(ns / 1000, decimals: 1)

  def start_peer! do
    unless Node.alive?() do
      System.cmd("epmd", ["-daemon"])
      {:ok, _} = :net_kernel.start([:"snakepit_bench_#{System.os_time()}@127.0.0.1", :longnames])
    end

    code_path = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
    args = [~c"-setcookie", Atom.to_charlist(Node.get_cookie())] ++ code_path

    {:ok, peer, node} =
      :peer.start(%{name: :snakepit_bench_peer, host: ~c"127.0.0.1", longnames: true, args: args})

    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:snakepit])
    {peer, node}
  end

  def start_pool!(node, opts),
    do:
      {:ok, _} =
        :erpc.call(node, Supervisor, :start_child, [Snakepit.Supervisor, {Snakepit.Pool, opts}])

  # Until this node's directory has a snapshot of `pool` from `count` nodes.
  def await_pool(pool, count) do
    known =
      Snakepit.Pool.Cluster.Directory.snapshot()
      |> Enum.count(fn {_n, p} -> Map.has_key?(p, pool) end)

    if known >= count,
      do: :ok,
      else:
        (
          Process.sleep(50)
          await_pool(pool, count)
        )
  end

  def map_seconds(path, opts) do
    {us, n} =
      :timer.tc(fn ->
        path |> Snakepit.Marc.map(&Snakepit.Marc.Record.title/1, opts) |> Enum.count()
      end)

    {us / 1_000_000, n}
  end
end

alias Bench.Cluster

path = List.first(System.argv()) || "../shared/corpus/synthetic/realistic_2000.mrc"
round_trips = String.to_integer(System.get_env("BENCH_ROUND_TRIPS", "2000"))
map_runs = String.to_integer(System.get_env("BENCH_MAP_RUNS", "3"))
bytes = File.read!(path)
{peer, remote} = Cluster.start_peer!()
pool_opts = [worker_profile: :process, pool_size: 2]

# :bench_local runs here only, :bench_remote on the peer only, :bench_both on both.
{:ok, _} =
  Supervisor.start_child(Snakepit.Supervisor, {Snakepit.Pool, [name: :bench_local] ++ pool_opts})

{:ok, _} =
  Supervisor.start_child(Snakepit.Supervisor, {Snakepit.Pool, [name: :bench_both] ++ pool_opts})

Cluster.start_pool!(remote, [name: :bench_remote] ++ pool_opts)
Cluster.start_pool!(remote, [name: :bench_both] ++ pool_opts)
Cluster.await_pool(:bench_remote, 1)
Cluster.await_pool(:bench_both, 2)

IO.puts(
  "# Cluster: #{node()} and #{remote} on one machine (#{System.schedulers_online()} schedulers each)"
)

IO.puts("file: #{path} (#{byte_size(bytes)} bytes)\n")

IO.puts(
  "| request | local median µs | remote median µs | remote/local | remote overhead µs | local p99 µs | remote p99 µs |"
)

IO.puts("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")

requests = [
  {":ping (small term)", {:ping, [:x]}, max(round_trips, 1)},
  {":count (file bytes out, small result back)", {:count, [bytes]},
   max(div(round_trips, 20), 20)},
  {":parse (file bytes out, records back)", {:parse, [bytes]}, max(div(round_trips, 100), 10)}
]

for {label, {command, args}, n} <- requests do
  local = Cluster.samples(n, fn -> Snakepit.execute(command, args, pool: :bench_local) end)

  far =
    Cluster.samples(n, fn ->
      Snakepit.execute(command, args, pool: :bench_remote, nodes: :cluster)
    end)

  {lm, fm} = {Cluster.median(local), Cluster.median(far)}

  IO.puts(
    "| #{label} | #{Cluster.us(lm)} | #{Cluster.us(fm)} | " <>
      "#{:erlang.float_to_binary(fm / lm, decimals: 2)} | #{Cluster.us(fm - lm)} | " <>
      "#{Cluster.us(Cluster.p99(local))} | #{Cluster.us(Cluster.p99(far))} |"
  )
end

IO.puts(
  "\n| Marc.map(&Record.title/1), workers: 4 | best seconds of #{map_runs} | records/s | vs local |"
)

IO.puts("| --- | ---: | ---: | ---: |")

runs = [
  {"local pool", [pool: :bench_local, workers: 4]},
  {"remote pool (nodes: :cluster)", [pool: :bench_remote, nodes: :cluster, workers: 4]},
  {"both nodes (nodes: :cluster)", [pool: :bench_both, nodes: :cluster, workers: 4]}
]

[{_, base} | _] =
  results =
  for {label, opts} <- runs do
    {best, n} =
      Enum.min_by(for(_ <- 1..map_runs, do: Cluster.map_seconds(path, opts)), &elem(&1, 0))

    {label, {best, n}}
  end

{base_s, _} = base

for {label, {s, n}} <- results do
  IO.puts(
    "| #{label} | #{:erlang.float_to_binary(s, decimals: 3)} | #{round(n / s)} | " <>
      "#{:erlang.float_to_binary(base_s / s, decimals: 2)} |"
  )
end

:peer.stop(peer)
