# `make demo`: reads the bundled corpus (../shared/corpus) and shows what Snakepit does with
# it: records per file, throughput, what happened to the bad records, a few titles.
alias Snakepit.Marc
alias Snakepit.Marc.Record

corpus = Path.expand("../../shared/corpus", __DIR__)

unless File.dir?(corpus) do
  IO.puts(:stderr, "The shared corpus is not at #{corpus}; the demo reads it from there.")
  System.halt(1)
end

rate = fn count, us -> if us == 0, do: "-", else: "#{round(count / (us / 1_000_000))}" end

IO.puts("\n== Records per file (stream, permissive mode) ==\n")

IO.puts(
  String.pad_trailing("file", 46) <>
    String.pad_leading("records", 9) <>
    String.pad_leading("errors", 8) <> String.pad_leading("rec/s", 10)
)

files =
  Path.wildcard(Path.join(corpus, "{real,synthetic,marc8,formats}/*.{mrc,dat}")) |> Enum.sort()

for path <- files do
  {us, items} = :timer.tc(fn -> path |> Marc.stream(mode: :permissive) |> Enum.to_list() end)
  errors = Enum.count(items, &match?({:error, _}, &1))

  IO.puts(
    String.pad_trailing(Path.relative_to(path, corpus), 46) <>
      String.pad_leading("#{length(items) - errors}", 9) <>
      String.pad_leading("#{errors}", 8) <> String.pad_leading(rate.(length(items), us), 10)
  )
end

IO.puts("\n== Throughput on synthetic/realistic_2000.mrc x 20 (46 MB) ==\n")
big = String.duplicate(File.read!(Path.join(corpus, "synthetic/realistic_2000.mrc")), 20)
path = Path.join(System.tmp_dir!(), "snakepit_demo_#{System.unique_integer([:positive])}.mrc")
File.write!(path, big)

try do
  {us, {:ok, records}} = :timer.tc(fn -> Marc.parse(big) end)
  IO.puts("parse/2 of a binary:           #{rate.(length(records), us)} records/s")
  {us, n} = :timer.tc(fn -> path |> Marc.stream() |> Enum.count() end)
  IO.puts("stream/2 of a file:            #{rate.(n, us)} records/s")
  {us, n} = :timer.tc(fn -> path |> Marc.map(&Record.title/1) |> Enum.count() end)
  IO.puts("map/3 title, #{System.schedulers_online()} workers:       #{rate.(n, us)} records/s")
after
  File.rm(path)
end

IO.puts("\n== What happened to the bad records (bad/) ==\n")

for path <- Path.wildcard(Path.join(corpus, "bad/*")) |> Enum.sort() do
  {:ok, items} = path |> File.read!() |> Marc.parse(mode: :permissive)
  good = Enum.count(items, &match?(%Record{}, &1))
  IO.puts("#{Path.basename(path)}: #{good} good record(s)")

  for {:error, e} <- items do
    IO.puts("    record #{e.record_index} @ byte #{e.byte_offset}: #{e.kind} (#{e.detail})")
  end
end

IO.puts("\n== A few titles (real/loc_bibliographic.mrc) ==\n")

Path.join(corpus, "real/loc_bibliographic.mrc")
|> Marc.stream()
|> Stream.take(8)
|> Enum.each(fn r ->
  IO.puts("  #{Record.title(r)}  | #{Record.author(r) || "-"} | #{Record.pubyear(r) || "-"}")
end)
