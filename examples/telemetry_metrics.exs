# Telemetry handlers feeding per-pool counters, then a snapshot: the pattern to adapt to
# StatsD, Prometheus or logs.
#
#     mix run examples/telemetry_metrics.exs
counters = :ets.new(:example_metrics, [:public, :set])

handler = fn
  [:snakepit, :request, :stop], %{duration: d}, meta, table ->
    us = System.convert_time_unit(d, :native, :microsecond)
    :ets.update_counter(table, {meta.pool, meta.command}, [{2, 1}, {3, us}], {nil, 0, 0})

  [:snakepit, :pool, :saturated], _measurements, meta, table ->
    :ets.update_counter(table, {meta.pool, :saturated}, {2, 1}, {nil, 0})
end

:ok =
  Snakepit.Telemetry.attach_many(
    "example-metrics",
    [[:snakepit, :request, :stop], [:snakepit, :pool, :saturated]],
    handler,
    counters
  )

{:ok, sup} =
  Supervisor.start_link(
    [{Snakepit.Pool, name: :example_metrics, pool_size: 1, max_queue_size: 0}],
    strategy: :one_for_one
  )

bytes = File.read!(Path.expand("../shared/corpus/formats/pymarc_test.dat"))
for _ <- 1..20, do: {:ok, _} = Snakepit.execute(:count, [bytes], pool: :example_metrics)

# One slot, no queue: a second caller while the slot is held is turned away.
holder = Task.async(fn -> Snakepit.Pool.run(:example_metrics, fn -> Process.sleep(500) end) end)

Enum.find(1..500, fn _ ->
  match?({:ok, %{load: 1}}, Snakepit.pool_status(:example_metrics)) or
    (Process.sleep(10) && false)
end)

{:error, :pool_saturated} = Snakepit.execute(:ping, [1], pool: :example_metrics)
Task.await(holder)

for {key, count, total_us} <- :ets.tab2list(counters) |> Enum.filter(&(tuple_size(&1) == 3)) do
  IO.puts("#{inspect(key)}: #{count} requests, #{div(total_us, max(count, 1))} µs on average")
end

for {key, n} <- :ets.tab2list(counters) |> Enum.filter(&(tuple_size(&1) == 2)),
    do: IO.puts("#{inspect(key)}: #{n}")

:ok = Snakepit.Telemetry.detach("example-metrics")
Supervisor.stop(sup)
