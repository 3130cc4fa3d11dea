# Pool benchmarks: round-trip latency of a trivial command through each worker profile
# against a direct NIF call and a bare GenServer.call, then parse throughput with 1, 2 and 4
# concurrent callers per profile, then how start, routing and waiting callers scale with pool_size.
#
#     MIX_ENV=prod mix run bench/pools.exs
#
# Environment: BENCH_ROUND_TRIPS (default 20000), BENCH_SECONDS per throughput run (default 3),
# BENCH_BIG_POOL workers for the pool size scaling run (default 10000).

defmodule Bench.Timing do
  # A tiny timing helper: per-call samples in nanoseconds, summarised as median and p99.
  def samples(n, fun) do
    for _ <- 1..n do
      t0 = System.monotonic_time()
      fun.()
      System.monotonic_time() - t0
    end
    |> Enum.map(&System.convert_time_unit(&1, :native, :nanosecond))
  end

  def summary(samples) do
    sorted = Enum.sort(samples)
    n = length(sorted)
    %{median: Enum.at(sorted, div(n, 2)), p99: Enum.at(sorted, min(n - 1, trunc(n * 0.99)))}
  end

  def us(ns), do: :erlang.float_to_binary(ns / 1000, decimals: 1)

  # Runs `fun` in `callers` concurrent processes for `seconds`; returns completed calls.
  def throughput(callers, seconds, fun) do
    deadline = System.monotonic_time(:millisecond) + seconds * 1000

    1..callers
    |> Enum.map(fn _ -> Task.async(fn -> loop(fun, deadline, 0) end) end)
    |> Enum.map(&Task.await(&1, :infinity))
    |> Enum.sum()
  end

  defp loop(fun, deadline, count) do
    if System.monotonic_time(:millisecond) >= deadline do
      count
    else
      fun.()
      loop(fun, deadline, count + 1)
    end
  end
end

defmodule Bench.Echo do
  use GenServer
  def init(state), do: {:ok, state}
  def handle_call(msg, _from, state), do: {:reply, msg, state}
end

alias Bench.Timing

round_trips = String.to_integer(System.get_env("BENCH_ROUND_TRIPS", "20000"))
seconds = String.to_integer(System.get_env("BENCH_SECONDS", "3"))
cores = Snakepit.Config.Options.logical_cores()

corpus = Path.expand("../../shared/corpus/synthetic/realistic_2000.mrc", __DIR__)
bytes = File.read!(corpus)
{:ok, records} = Snakepit.Marc.parse(bytes)
record_count = length(records)

{:ok, _} =
  Snakepit.Pool.start_link(name: :bench_process, worker_profile: :process, pool_size: cores)

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :bench_thread,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: cores
  )

{:ok, echo} = GenServer.start_link(Bench.Echo, nil)

info = Snakepit.Environment.info()

IO.puts("""
Snakepit pool benchmarks
  OTP #{info.otp_release}, ERTS #{info.erts_version}, #{info.logical_cores} logical cores,
  #{info.schedulers_online} schedulers, #{info.dirty_cpu_schedulers} dirty CPU schedulers,
  native #{info.native_version} (#{info.native_build}, #{info.native_target})
  :process pool: #{cores} workers; :thread pool: 1 worker x #{cores} threads
""")

IO.puts("Round trip of a trivial command, #{round_trips} sequential calls (microseconds)")

IO.puts(
  String.pad_trailing("  path", 34) <>
    String.pad_leading("median", 8) <> String.pad_leading("p99", 8)
)

round_trip_cases = [
  {"direct NIF call (echo)", fn -> Snakepit.Native.echo(:ping) end},
  {"bare GenServer.call", fn -> GenServer.call(echo, :ping) end},
  {"Snakepit.execute :ping, :process",
   fn -> {:ok, :x} = Snakepit.execute(:ping, [:x], pool: :bench_process) end},
  {"Snakepit.execute :ping, :thread",
   fn -> {:ok, :x} = Snakepit.execute(:ping, [:x], pool: :bench_thread) end}
]

for {label, fun} <- round_trip_cases do
  # Warm up, then measure.
  Timing.samples(1000, fun)
  %{median: median, p99: p99} = Timing.summary(Timing.samples(round_trips, fun))

  IO.puts(
    String.pad_trailing("  " <> label, 34) <>
      String.pad_leading(Timing.us(median), 8) <> String.pad_leading(Timing.us(p99), 8)
  )
end

mb = byte_size(bytes) / 1_000_000

IO.puts("""

Parse throughput: #{Path.basename(corpus)} (#{record_count} records, #{:erlang.float_to_binary(mb, decimals: 2)} MB) \
from memory, #{seconds} s per run
""")

IO.puts(
  String.pad_trailing("  path", 30) <>
    String.pad_leading("callers", 8) <>
    String.pad_leading("parses/s", 10) <>
    String.pad_leading("records/s", 12) <>
    String.pad_leading("MB/s", 8)
)

throughput_cases = [
  {"direct Snakepit.Marc.parse", fn -> {:ok, _} = Snakepit.Marc.parse(bytes) end},
  {":process pool",
   fn -> {:ok, _} = Snakepit.execute(:parse, [bytes], pool: :bench_process, timeout: 60_000) end},
  {":thread pool",
   fn -> {:ok, _} = Snakepit.execute(:parse, [bytes], pool: :bench_thread, timeout: 60_000) end}
]

for {label, fun} <- throughput_cases, callers <- [1, 2, 4] do
  fun.()
  done = Timing.throughput(callers, seconds, fun)
  per_second = done / seconds

  IO.puts(
    String.pad_trailing("  " <> label, 30) <>
      String.pad_leading(to_string(callers), 8) <>
      String.pad_leading(:erlang.float_to_binary(per_second, decimals: 1), 10) <>
      String.pad_leading(to_string(round(per_second * record_count)), 12) <>
      String.pad_leading(:erlang.float_to_binary(per_second * mb, decimals: 1), 8)
  )
end

# Pool size scaling: start time and round trip of a 10,000-worker :process pool, and the
# memory of callers waiting on it (should not depend on pool_size).
defmodule Bench.Scaling do
  def run(size, waiting, round_trips) do
    IO.puts("\nPool size scaling: #{size} :process workers, #{waiting} waiting callers")

    {start_us, {:ok, pool}} =
      :timer.tc(fn ->
        Snakepit.Pool.start_link(
          name: :bench_big,
          worker_profile: :process,
          pool_size: size,
          max_queue_size: waiting,
          queue_timeout: 600_000
        )
      end)

    IO.puts("  start: #{:erlang.float_to_binary(start_us / 1_000_000, decimals: 2)} s")

    ping = fn -> {:ok, :x} = Snakepit.execute(:ping, [:x], pool: :bench_big) end
    Bench.Timing.samples(1000, ping)
    %{median: median, p99: p99} = Bench.Timing.summary(Bench.Timing.samples(round_trips, ping))

    IO.puts(
      "  round trip :ping: median #{Bench.Timing.us(median)} us, p99 #{Bench.Timing.us(p99)} us"
    )

    ref = Snakepit.Pool.Ref.lookup(:bench_big)
    for _ <- 1..size, do: spawn(&hold/0)
    wait_until(fn -> status().load == size end)
    parent = self()
    callers = for i <- 1..waiting, do: spawn(fn -> send(parent, {:served, ping(i)}) end)
    wait_until(fn -> status().queue_length == waiting end)

    caller_bytes = callers |> Enum.map(&elem(Process.info(&1, :memory), 1)) |> Enum.sum()
    {:memory, manager_bytes} = Process.info(ref.manager, :memory)

    IO.puts(
      "  per waiting caller: #{div(caller_bytes, waiting)} bytes (caller process); " <>
        "manager: #{div(manager_bytes, 1024)} KiB"
    )

    for w <- Snakepit.Pool.Manager.workers(ref.manager), do: send(w.handle.pid, :release)
    for _ <- callers, do: receive(do: ({:served, {:ok, _}} -> :ok))
    Supervisor.stop(pool)
  end

  defp hold,
    do: Snakepit.Pool.run(:bench_big, fn -> receive do: (:release -> :ok) end, 600_000)

  defp ping(i), do: Snakepit.execute(:ping, [i], pool: :bench_big)
  defp status, do: elem(Snakepit.pool_status(:bench_big), 1)

  defp wait_until(fun) do
    unless fun.() do
      Process.sleep(10)
      wait_until(fun)
    end
  end
end

Bench.Scaling.run(String.to_integer(System.get_env("BENCH_BIG_POOL", "10000")), 1000, round_trips)
