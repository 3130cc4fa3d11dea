# Streams a file larger than memory would like, in bounded memory, counting records per
# publication year, and reports bad records in place instead of stopping.
#
#     mix run examples/stream_big_file.exs [PATH]
alias Snakepit.Marc
alias Snakepit.Marc.Record

path =
  case System.argv() do
    [path | _] -> path
    [] -> Path.expand("../shared/corpus/synthetic/realistic_2000.mrc")
  end

{us, {years, errors}} =
  :timer.tc(fn ->
    path
    |> Marc.stream(mode: :permissive)
    |> Enum.reduce({%{}, 0}, fn
      %Record{} = record, {years, errors} ->
        {Map.update(years, Record.pubyear(record), 1, &(&1 + 1)), errors}

      {:error, %Marc.ParseError{} = e}, {years, errors} ->
        IO.puts(:stderr, "bad record: " <> Exception.message(e))
        {years, errors + 1}
    end)
  end)

records = years |> Map.values() |> Enum.sum()
IO.puts("#{records} records, #{errors} bad, in #{div(us, 1000)} ms from #{path}")

years
|> Enum.sort_by(fn {_year, n} -> -n end)
|> Enum.take(5)
|> Enum.each(fn {year, n} -> IO.puts("  #{year || "no year"}: #{n}") end)
