# Snakepit's own side of `make bench`. Usage: mix run bench/marc.exs OUT.tsv FILE...
# Prints a table and writes one TSV row per measurement:
#   case  file  records  seconds  records_per_sec  note
alias Snakepit.Marc
alias Snakepit.Marc.{Field, LazyRecord, Record}

[out | files] = System.argv()
min_seconds = String.to_float(System.get_env("BENCH_MIN_SECONDS", "1.0"))
big_bytes = 200 * 1024 * 1024

extract = fn %Record{} = r ->
  # "title plus every field's value": what a catalogue ingest touches.
  {Record.title(r), Enum.map(r.fields, &Field.value/1)}
end

# The same workload on a record read with `records: :lazy`: the same values, built on access.
lazy_extract = fn %LazyRecord{} = r -> {LazyRecord.title(r), LazyRecord.values(r)} end

# Runs `fun` (returning a record count) in a fresh process, repeating until min_seconds
# have passed (at least once; big files exactly twice); best rate wins.
measure = fn fun, big? ->
  parent = self()

  runner = fn ->
    deadline = System.monotonic_time(:millisecond) + round(min_seconds * 1000)

    best =
      Stream.repeatedly(fn -> :timer.tc(fun) end)
      |> Stream.with_index(1)
      |> Enum.reduce_while(nil, fn {{us, n}, run}, best ->
        best = if best == nil or us < elem(best, 0), do: {us, n}, else: best
        done? = if big?, do: run >= 2, else: System.monotonic_time(:millisecond) >= deadline
        if done?, do: {:halt, best}, else: {:cont, best}
      end)

    send(parent, {:best, best})
  end

  spawn_link(runner)
  receive do: ({:best, {us, n}} -> {n, us / 1_000_000})
end

rss_kb = fn ->
  "/proc/self/status"
  |> File.read!()
  |> then(&Regex.run(~r/VmRSS:\s+(\d+) kB/, &1))
  |> then(fn [_, kb] -> String.to_integer(kb) end)
end

rows =
  for file <- files do
    size = File.stat!(file).size
    big? = size > big_bytes
    name = Path.basename(file)
    IO.puts(:stderr, "#{name} (#{div(size, 1024 * 1024)} MB)")

    cases = [
      {"parse_binary", "parse/2 of the whole file read into a binary",
       fn ->
         {:ok, rs} = Marc.parse(File.read!(file))
         length(rs)
       end},
      {"stream", "stream/2 of the path, counted in one process",
       fn -> file |> Marc.stream() |> Enum.count() end},
      {"stream_extract", "stream/2 + title and every field's value, one process",
       fn -> file |> Marc.stream() |> Stream.map(extract) |> Enum.count() end},
      {"parse_binary_lazy", "parse/2 of the whole file, records: :lazy",
       fn ->
         {:ok, rs} = Marc.parse(File.read!(file), records: :lazy)
         length(rs)
       end},
      {"stream_lazy", "stream/2 of the path, records: :lazy, counted in one process",
       fn -> file |> Marc.stream(records: :lazy) |> Enum.count() end},
      {"stream_lazy_extract", "stream/2 records: :lazy + title and every field's value",
       fn -> file |> Marc.stream(records: :lazy) |> Stream.map(lazy_extract) |> Enum.count() end},
      {"map_1", "map/3 title + values, 1 worker (results: titles)",
       fn -> file |> Marc.map(&elem(extract.(&1), 0), workers: 1) |> Enum.count() end},
      {"map_2", "map/3 title + values, 2 workers (results: titles)",
       fn -> file |> Marc.map(&elem(extract.(&1), 0), workers: 2) |> Enum.count() end},
      {"map_1_lazy", "map/3 records: :lazy, title + values, 1 worker",
       fn ->
         file
         |> Marc.map(&elem(lazy_extract.(&1), 0), workers: 1, records: :lazy)
         |> Enum.count()
       end},
      {"map_2_lazy", "map/3 records: :lazy, title + values, 2 workers",
       fn ->
         file
         |> Marc.map(&elem(lazy_extract.(&1), 0), workers: 2, records: :lazy)
         |> Enum.count()
       end}
    ]

    cases =
      if big?,
        do: Enum.reject(cases, &(elem(&1, 0) in ["parse_binary", "parse_binary_lazy"])),
        else: cases

    measured =
      for {id, note, fun} <- cases do
        {n, secs} = measure.(fun, big?)

        IO.puts(
          :stderr,
          "  #{String.pad_trailing(id, 16)} #{round(n / secs)} rec/s (#{n} records)"
        )

        [id, name, n, secs, n / secs, note]
      end

    rss =
      if big? do
        :erlang.garbage_collect()
        before = rss_kb.()
        peak = :atomics.new(1, signed: false)
        :atomics.put(peak, 1, before)

        sampler =
          spawn_link(fn ->
            Stream.repeatedly(fn ->
              now = rss_kb.()
              if now > :atomics.get(peak, 1), do: :atomics.put(peak, 1, now)
              Process.sleep(10)
            end)
            |> Stream.run()
          end)

        {us, n} = :timer.tc(fn -> file |> Marc.stream() |> Enum.count() end)
        Process.unlink(sampler)
        Process.exit(sampler, :kill)
        growth_mb = (:atomics.get(peak, 1) - before) / 1024
        IO.puts(:stderr, "  peak RSS growth while streaming: #{Float.round(growth_mb, 1)} MB")

        [
          [
            "stream_rss_growth_mb",
            name,
            n,
            us / 1_000_000,
            growth_mb,
            "peak RSS growth of the VM while streaming (MB, in the rate column)"
          ]
        ]
      else
        []
      end

    measured ++ rss
  end
  |> Enum.concat()

File.write!(out, Enum.map_join(rows, "", fn row -> Enum.join(row, "\t") <> "\n" end))
