# The :thread profile: one worker owning a native pool of threads, callers submitting
# straight to it. Runs the same parse through a :thread and a :process pool, shows that
# the results are identical, that a busy :thread pool holds no BEAM scheduler, and what
# the profile inspector sees.
#
#     mix run examples/threaded_profile_demo.exs
alias Snakepit.Diagnostics.ProfileInspector

cores = Snakepit.Config.Options.logical_cores()

{:ok, sup} =
  Supervisor.start_link(
    [
      {Snakepit.Pool,
       name: :example_threads, worker_profile: :thread, pool_size: 1, threads_per_worker: cores},
      {Snakepit.Pool, name: :example_processes, worker_profile: :process, pool_size: cores}
    ],
    strategy: :one_for_one
  )

bytes = File.read!(Path.expand("../shared/corpus/synthetic/realistic_2000.mrc"))
IO.puts("Parsing #{byte_size(bytes)} bytes (2,000 records) 8 times through each pool:")

results =
  for pool <- [:example_threads, :example_processes] do
    {us, parsed} =
      :timer.tc(fn ->
        1..8
        |> Task.async_stream(
          fn _ -> Snakepit.execute(:parse, [bytes], pool: pool, timeout: 60_000) end,
          max_concurrency: cores * 2,
          timeout: :infinity
        )
        |> Enum.map(fn {:ok, {:ok, records}} -> records end)
      end)

    IO.puts("  #{inspect(pool)}: #{round(8 * 2000 / (us / 1_000_000))} records/s")
    hd(parsed)
  end

[a, b] = results
IO.puts("Same records from both profiles: #{a == b}")

# While every slot of the thread pool is held (here by functions given to
# Snakepit.Pool.run/3, each holding one slot for 300 ms), BEAM schedulers stay free: a dirty
# NIF still runs at once.
sleepers =
  for _ <- 1..cores,
      do: Task.async(fn -> Snakepit.Pool.run(:example_threads, fn -> Process.sleep(300) end) end)

Process.sleep(50)
{:ok, cap} = ProfileInspector.get_capacity_stats(:example_threads)

IO.puts(
  "Thread pool: #{cap.used}/#{cap.total} slots busy, #{cap.threads.live} native threads running"
)

{us, %{records: 2000}} = :timer.tc(fn -> Snakepit.Marc.count(bytes) end)
IO.puts("A count on a dirty scheduler meanwhile took #{div(us, 1000)} ms")
Enum.each(sleepers, &Task.await/1)

{:ok, advice} = ProfileInspector.get_recommendations(:example_threads)
for rec <- advice, do: IO.puts("  #{rec.severity} #{rec.topic}: #{rec.message}")

Supervisor.stop(sup)
