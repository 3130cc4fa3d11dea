# Table writer throughput: the rows of the index workload's extraction, already made, written
# by Snakepit.Marc.Table.write/3 to a file as CSV, TSV and JSON Lines (MB/s of table written,
# rows/s; the best of 15 runs a format, each after a GC). bench/index.exs times extraction and
# the CSV writer together, as `mix snakepit.extract` runs them.
#
#     MIX_ENV=prod mix run bench/table.exs FILE...        (part of `make bench`)

alias Snakepit.Marc
alias Snakepit.Marc.{Spec, Table}

Code.require_file("timing.exs", __DIR__)

compiled =
  Spec.compile!(
    title: "245abnp",
    author: "100a:110a:111a",
    isbn: "020a",
    subjects: "600a:610a:611a:630a:650a:651a"
  )

columns = Spec.names(compiled)
out = Path.join(System.tmp_dir!(), "snakepit_bench_table_#{System.unique_integer([:positive])}")

IO.puts("| file | format | rows | MB/s of table | rows/s |")
IO.puts("|---|---|---:|---:|---:|")

for path <- System.argv() do
  rows = path |> Marc.extract(compiled) |> Enum.to_list()

  for format <- [:csv, :tsv, :jsonl] do
    {seconds, {:ok, %{rows: n}}} =
      Bench.Timing.best(15, fn -> Table.write(rows, out, columns: columns, format: format) end)

    mb = File.stat!(out).size / 1_000_000

    IO.puts(
      "| #{Path.basename(path)} | #{format} | #{n} | " <>
        "#{:erlang.float_to_binary(mb / seconds, decimals: 1)} | #{round(n / seconds)} |"
    )
  end
end

File.rm(out)
