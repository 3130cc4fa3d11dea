# The "index" workload (issue: extraction specs): title, author, ISBN and subjects of every
# record, the way an indexer pulls them, beside mrrc's and pymarc's properties in the same
# run. Prints records/s per variant and the ratios the targets are stated in.
#
#     MIX_ENV=prod mix run bench/index.exs FILE...        (part of `make bench`)
#
# Peers run from bench/.venv (bench/setup_peers.sh installs them); without it only
# Snakepit's rows are printed. Small files are run 5 times and large ones once; best kept.

alias Snakepit.Marc
alias Snakepit.Marc.{LazyRecord, Spec}

Code.require_file("timing.exs", __DIR__)

defmodule Bench.Index do
  defdelegate best(runs, fun), to: Bench.Timing

  # {seconds, result, cores}: the fastest of `runs`, with the CPU time the whole OS process
  # spent in it (every scheduler and native thread) over its wall time: on 2 cores, 2.0 is
  # the ceiling any variant can reach.
  def best_with_cores(runs, fun) do
    {seconds, {n, cpu_ms}} =
      Bench.Timing.best(runs, fn ->
        cpu0 = process_cpu_ms()
        n = fun.()
        {n, process_cpu_ms() - cpu0}
      end)

    {seconds, n, cpu_ms / (seconds * 1000)}
  end

  # utime + stime of this OS process, from /proc (clock ticks of 10 ms on Linux).
  defp process_cpu_ms do
    case File.read("/proc/self/stat") do
      {:ok, stat} ->
        [_, after_name] = String.split(stat, ") ", parts: 2)
        fields = String.split(after_name, " ")
        (String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))) * 10

      {:error, _} ->
        0
    end
  end

  def peers(path) do
    python = Path.expand("bench/.venv/bin/python")

    if File.exists?(python) do
      {out, 0} = System.cmd(python, ["bench/index.py", path, "--runs", "1"])

      for line <- String.split(out, "\n", trim: true) do
        [peer, variant, records, seconds, _values, version] = String.split(line, "\t")
        {"#{peer} #{version} #{variant}", String.to_integer(records) / String.to_float(seconds)}
      end
    else
      []
    end
  end

  def fmt(x), do: :erlang.float_to_binary(x / 1, decimals: 0)
  def ratio(a, b), do: :erlang.float_to_binary(a / b, decimals: 2)
end

specs = [
  title: "245abnp",
  author: "100a:110a:111a",
  isbn: "020a",
  subjects: "600a:610a:611a:630a:650a:651a"
]

compiled = Spec.compile!(specs)
cores = System.schedulers_online()

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :index_thread,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: cores
  )

files = System.argv()
if files == [], do: raise("usage: mix run bench/index.exs FILE...")

IO.puts("| file | variant | records/s | cores used |")
IO.puts("|---|---|---|---|")

for path <- files do
  runs = if File.stat!(path).size > 200_000_000, do: 1, else: 5
  name = Path.basename(path)

  snakepit = [
    {"LazyRecord accessors (stream records: :lazy)",
     fn ->
       Marc.stream(path, records: :lazy, mode: :skip)
       |> Stream.map(
         &{LazyRecord.title(&1), LazyRecord.author(&1), LazyRecord.isbn(&1),
          LazyRecord.subjects(&1)}
       )
       |> Enum.count()
     end},
    {"extract/3, one process",
     fn -> Marc.extract(path, compiled, mode: :skip) |> Enum.count() end},
    {"extract/3, workers: 2",
     fn -> Marc.extract(path, compiled, mode: :skip, workers: 2) |> Enum.count() end},
    {"extract/3, pool: :thread",
     fn -> Marc.extract(path, compiled, mode: :skip, pool: :index_thread) |> Enum.count() end}
  ]

  measured =
    Enum.map(snakepit, fn {variant, fun} ->
      {seconds, n, cores} = Bench.Index.best_with_cores(runs, fun)
      # /proc counts in 10 ms ticks: too coarse for a run under a second.
      cores = if seconds >= 1, do: :erlang.float_to_binary(cores, decimals: 2), else: "-"
      {"snakepit " <> variant, n / seconds, cores}
    end) ++ Enum.map(Bench.Index.peers(path), fn {variant, rate} -> {variant, rate, "-"} end)

  rates = Enum.map(measured, fn {variant, rate, _} -> {variant, rate} end)

  for {variant, rate, cores} <- measured,
      do: IO.puts("| #{name} | #{variant} | #{Bench.Index.fmt(rate)} | #{cores} |")

  # CSV export: extraction and the table writer together, as `mix snakepit.extract` runs them.
  csv = Path.join(System.tmp_dir!(), "snakepit_index_#{System.unique_integer([:positive])}.csv")

  {csv_seconds, _} =
    Bench.Index.best(runs, fn ->
      {:ok, %{rows: n}} =
        Marc.extract(path, compiled, mode: :skip)
        |> Snakepit.Marc.Table.write(csv, columns: Spec.names(compiled))

      n
    end)

  csv_mb = File.stat!(csv).size / 1_000_000
  input_mb = File.stat!(path).size / 1_000_000
  File.rm!(csv)

  IO.puts(
    "| #{name} | snakepit extract/3 |> Table.write CSV | #{:erlang.float_to_binary(csv_mb / csv_seconds, decimals: 1)} MB/s of CSV " <>
      "(#{:erlang.float_to_binary(input_mb / csv_seconds, decimals: 1)} MB/s of MARC in) |"
  )

  r = Map.new(rates)
  one = r["snakepit extract/3, one process"]
  mrrc = Enum.find_value(rates, fn {v, rate} -> String.starts_with?(v, "mrrc ") && rate end)

  IO.puts("""

  #{name}: extract/3 one process vs mrrc: #{if mrrc, do: Bench.Index.ratio(one, mrrc), else: "n/a"}x (target >= 10); \
  workers: 2 vs one process: #{Bench.Index.ratio(r["snakepit extract/3, workers: 2"], one)}x (target >= 1.5); \
  pool: :thread vs one process: #{Bench.Index.ratio(r["snakepit extract/3, pool: :thread"], one)}x (target >= 1.0); \
  lazy accessors vs mrrc: #{if mrrc, do: Bench.Index.ratio(r["snakepit LazyRecord accessors (stream records: :lazy)"], mrrc), else: "n/a"}x
  """)
end
