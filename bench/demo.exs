# `make demo` (mix run bench/demo.exs): Snakepit end to end on this machine.
#
#   1. starts a :process pool and a :thread pool;
#   2. generates, once, a corpus of at least 200 MB from ../shared/corpus (cached in
#      bench/data/, which git ignores);
#   3. streams it through each pool with a live progress line, then prints records/s per
#      profile, for Snakepit.Marc.map/3 with `pool:` and for Snakepit.execute(:parse, ...) on
#      batches;
#   4. shows what happened to the bad records of ../shared/corpus/bad/;
#   5. ends with the profile inspector's report on both pools.
alias Snakepit.Diagnostics.{ProfileInspector, Report}
alias Snakepit.Marc
alias Snakepit.Marc.Record

root = Path.expand("..", __DIR__)
corpus = Path.expand("../shared/corpus", root)
started = System.monotonic_time(:millisecond)
tty? = Report.terminal?()
paint = fn text, color -> Report.paint(text, color, tty?) end
section = fn title -> IO.puts("\n" <> paint.("== #{title} ==", :bright) <> "\n") end

unless File.dir?(corpus) do
  IO.puts(:stderr, "The shared corpus is not at #{corpus}; the demo reads it from there.")
  System.halt(1)
end

# -- 1. pools ---------------------------------------------------------------------------------

cores = Snakepit.Config.Options.logical_cores()
dirty = :erlang.system_info(:dirty_cpu_schedulers_online)

{:ok, _} =
  Snakepit.Pool.start_link(name: :demo_process, worker_profile: :process, pool_size: dirty)

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :demo_thread,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: cores
  )

section.("Pools")
IO.puts("  :demo_process  :process profile, #{dirty} workers (one per dirty CPU scheduler)")
IO.puts("  :demo_thread   :thread profile, 1 worker with #{cores} native threads (one per core)")

# -- 2. corpus --------------------------------------------------------------------------------

section.("Corpus")
data_dir = Path.join(root, "bench/data")
big = Path.join(data_dir, "demo_200mb.mrc")
target = 200 * 1024 * 1024

unit_files =
  ~w(synthetic/realistic_2000.mrc real/loc_bibliographic.mrc real/loc_authority.mrc synthetic/records_10k.mrc)

if File.exists?(big) and File.stat!(big).size >= target do
  IO.puts("  using #{Path.relative_to(big, root)} (cached)")
else
  IO.puts("  generating #{Path.relative_to(big, root)} from #{Enum.join(unit_files, ", ")} ...")
  File.mkdir_p!(data_dir)
  unit = Enum.map(unit_files, &File.read!(Path.join(corpus, &1)))
  copies = div(target + IO.iodata_length(unit) - 1, IO.iodata_length(unit))
  tmp = big <> ".tmp"
  File.open!(tmp, [:write, :binary], fn io -> for _ <- 1..copies, do: IO.binwrite(io, unit) end)
  File.rename!(tmp, big)
end

size = File.stat!(big).size
IO.puts("  #{Report.bytes(size)} of ISO 2709")

# -- 3. throughput through each pool ------------------------------------------------------------

# Runs `fun.(counter)` while a ticker redraws "records, records/s" every 200 ms (on a
# terminal; elsewhere a line every 2 s). Returns {records, seconds}.
measure = fn label, fun ->
  counter = :counters.new(1, [:write_concurrency])
  t0 = System.monotonic_time(:millisecond)
  parent = self()

  line = fn ->
    n = :counters.get(counter, 1)
    ms = max(System.monotonic_time(:millisecond) - t0, 1)

    "  #{String.pad_trailing(label, 44)} #{String.pad_leading(Report.int(n), 9)} records  " <>
      "#{String.pad_leading(Report.int(n / ms * 1000), 9)} records/s"
  end

  ticker =
    spawn_link(fn ->
      every = if tty?, do: 200, else: 2000

      Stream.repeatedly(fn ->
        receive do
          :stop -> send(parent, :ticker_done) && :stop
        after
          every -> if tty?, do: IO.write("\r\e[K" <> line.()), else: IO.puts(line.())
        end
      end)
      |> Enum.find(&(&1 == :stop))
    end)

  fun.(counter)
  send(ticker, :stop)
  receive do: (:ticker_done -> :ok)
  seconds = (System.monotonic_time(:millisecond) - t0) / 1000
  IO.puts(if(tty?, do: "\r\e[K", else: "") <> line.())
  {:counters.get(counter, 1), seconds}
end

section.("Streaming #{Report.bytes(size)} through each pool")

runs =
  for pool <- [:demo_process, :demo_thread] do
    # map/3: native code frames the file; each batch is parsed and handled (here: the title)
    # under one of the pool's slots; only titles come back.
    {n_map, s_map} =
      measure.("#{inspect(pool)} Marc.map/3 (titles)", fn counter ->
        big
        |> Marc.map(&Record.title/1, pool: pool, workers: cores * 2, ordered: false)
        |> Stream.chunk_every(500)
        |> Enum.each(&:counters.add(counter, 1, length(&1)))
      end)

    # execute/3: each batch of raw records is one :parse request; the pool's workers (or
    # native threads) build the records and send them to the caller.
    {n_exec, s_exec} =
      measure.("#{inspect(pool)} execute(:parse, batch)", fn counter ->
        big
        |> Marc.batches(batch_size: 200)
        |> Task.async_stream(
          fn batch ->
            {:ok, records} = Snakepit.execute(:parse, [batch.data], pool: pool, timeout: 60_000)
            :counters.add(counter, 1, length(records))
          end,
          max_concurrency: cores * 2,
          ordered: false,
          timeout: :infinity
        )
        |> Stream.run()
      end)

    {pool, n_map, s_map, n_exec, s_exec}
  end

IO.puts("\n  records/s        Marc.map/3 (titles)   execute(:parse, batch)")

for {pool, n_map, s_map, n_exec, s_exec} <- runs do
  {:ok, %{profile: profile}} = Snakepit.pool_status(pool)

  IO.puts(
    "  #{String.pad_trailing(":#{profile}", 16)}" <>
      String.pad_leading(Report.int(n_map / s_map), 20) <>
      String.pad_leading(Report.int(n_exec / s_exec), 25)
  )
end

# -- 4. bad records -----------------------------------------------------------------------------

section.("What happened to the bad records (../shared/corpus/bad/, mode: :permissive)")

for path <- Path.wildcard(Path.join(corpus, "bad/*")) |> Enum.sort() do
  # Through the :thread pool: a bad record is an error in its place, never a crash.
  {:ok, items} =
    Snakepit.execute(:parse, [File.read!(path), [mode: :permissive]], pool: :demo_thread)

  good = Enum.count(items, &match?(%Record{}, &1))
  errors = for {:error, e} <- items, do: e

  IO.puts(
    "  #{String.pad_trailing(Path.basename(path), 34)} " <>
      paint.("#{good} good record(s) kept", :green) <>
      ", " <> paint.("#{length(errors)} error(s)", if(errors == [], do: :green, else: :yellow))
  )

  for e <- errors do
    IO.puts("      record #{e.record_index} at byte #{e.byte_offset}: #{e.kind} (#{e.detail})")
  end
end

# -- 5. the profile inspector ---------------------------------------------------------------------

section.("Profile inspector (mix snakepit.profile_inspector --detailed --recommendations)")

ProfileInspector.get_comprehensive_report()
|> Map.update!(:pools, fn pools ->
  Enum.filter(pools, &(&1.pool in [:demo_process, :demo_thread]))
end)
|> Report.text(detailed: true, recommendations: true, color: tty?)
|> IO.write()

elapsed = (System.monotonic_time(:millisecond) - started) / 1000
IO.puts("\nDemo finished in #{Float.round(elapsed, 1)} s.")
