# Records/s of the record paths that regressed on 2026-12-01 (see docs/performance.md):
# stream/2 of structs and map/3 without a pool and through each profile, on one file.
#
#     BIGFILE=bench/data/demo_200mb.mrc MIX_ENV=prod mix run bench/record_paths.exs
#
# (`make demo` generates bench/data/demo_200mb.mrc.) Run it against two checkouts one
# after the other to compare them; each figure is the second of two runs.
alias Snakepit.Marc
alias Snakepit.Marc.Record
path = System.get_env("BIGFILE", "bench/data/demo_200mb.mrc")
{:ok, _} = Snakepit.Pool.start_link(name: :bp, worker_profile: :process, pool_size: 2)

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :bt,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: 2
  )

n = Marc.stream(path, records: :lazy) |> Enum.count()

t = fn label, f ->
  f.()
  {us, _} = :timer.tc(f)
  IO.puts("#{label}: #{round(n / (us / 1_000_000))} rec/s")
end

t.("stream structs", fn -> Marc.stream(path) |> Stream.run() end)

t.("map no pool", fn ->
  Marc.map(path, &Record.title/1, workers: 4, ordered: false) |> Stream.run()
end)

t.("map :process", fn ->
  Marc.map(path, &Record.title/1, pool: :bp, workers: 4, ordered: false) |> Stream.run()
end)

t.("map :thread", fn ->
  Marc.map(path, &Record.title/1, pool: :bt, workers: 4, ordered: false) |> Stream.run()
end)
