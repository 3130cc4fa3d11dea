# What Snakepit.Metrics costs on the request path (docs/metrics.md): `mix run bench/metrics.exs`
# (MIX_ENV=prod for release figures). Each figure is a ratio within this one run:
#
#   1. the handler alone: one [:snakepit, :request, :stop] event (a counter and two
#      histograms), ns per event in one process, beside an empty function call and the
#      diagnostics collector's handler (always attached) on the same event;
#   2. `Snakepit.execute(:ping, ...)` (the cheapest request: all overhead) on a :thread pool
#      from CALLERS processes, requests/s with the metrics off and on, in alternating rounds
#      so machine noise falls on both; the medians are compared.
callers = String.to_integer(System.get_env("CALLERS", "4"))
per_caller = String.to_integer(System.get_env("REQUESTS", "20000"))
rounds = String.to_integer(System.get_env("ROUNDS", "5"))

{:ok, _} =
  Snakepit.Pool.start_link(name: :bench_metrics, worker_profile: :thread, threads_per_worker: 4)

run_callers = fn fun ->
  {us, _} =
    :timer.tc(fn ->
      1..callers
      |> Enum.map(fn _ -> Task.async(fn -> for _ <- 1..per_caller, do: fun.() end) end)
      |> Enum.each(&Task.await(&1, :infinity))
    end)

  us
end

pings = fn ->
  run_callers.(fn -> {:ok, 1} = Snakepit.execute(:ping, [1], pool: :bench_metrics) end)
end

# 1. The handler, called as the dispatcher calls it.
{:ok, metrics} = Snakepit.Metrics.start_link([])

[{_, _, handler, config}] =
  :ets.lookup(Snakepit.Telemetry.Dispatcher, [:snakepit, :request, :stop])
  |> Enum.filter(fn {_, id, _, _} -> id == {Snakepit.Metrics.Store, :handler} end)

event = [:snakepit, :request, :stop]
measurements = %{duration: 150_000, queue_time: 2_000, monotonic_time: 0}
meta = %{pool: :bench_metrics, command: :ping, profile: :thread, worker: 1, result: :ok}
n = callers * per_caller

per_call_ns = fn fun ->
  {us, _} = :timer.tc(fn -> Enum.each(1..n, fn _ -> fun.() end) end)
  us * 1000 / n
end

_ = per_call_ns.(fn -> handler.(event, measurements, meta, config) end)
empty_ns = per_call_ns.(fn -> :ok end)
handler_ns = per_call_ns.(fn -> handler.(event, measurements, meta, config) end)
# For scale: the diagnostics collector's handler (always attached) on the same event.
collector_ns =
  per_call_ns.(fn ->
    Snakepit.Diagnostics.Collector.handle_event(event, measurements, meta, nil)
  end)

# 2. Requests with the metrics off and on, alternating.
Supervisor.stop(metrics)
_ = pings.()

{off, on} =
  Enum.reduce(1..rounds, {[], []}, fn _, {off, on} ->
    off_us = pings.()
    {:ok, metrics} = Snakepit.Metrics.start_link([])
    on_us = pings.()
    Supervisor.stop(metrics)
    {[off_us | off], [on_us | on]}
  end)

median = fn list -> list |> Enum.sort() |> Enum.at(div(length(list), 2)) end
rate = fn us -> round(n / (us / 1_000_000)) end

IO.puts("""
callers: #{callers}, requests per caller: #{per_caller}, rounds: #{rounds}
handler, one :stop event (1 counter + 2 histograms): #{round(handler_ns)} ns (an empty call: #{round(empty_ns)} ns; the diagnostics collector's handler: #{round(collector_ns)} ns)
execute(:ping), metrics off: #{rate.(median.(off))} req/s; on: #{rate.(median.(on))} req/s (medians)
throughput with metrics / without: #{Float.round(median.(off) / median.(on), 3)}
rounds off (us): #{inspect(Enum.reverse(off))}
rounds on (us):  #{inspect(Enum.reverse(on))}
""")
