# What happens to each bad record of ../shared/corpus/bad/ in each mode.
#
#     mix run examples/bad_records.exs
alias Snakepit.Marc
alias Snakepit.Marc.Record

for path <- Path.wildcard(Path.expand("../shared/corpus/bad/*")) |> Enum.sort() do
  bytes = File.read!(path)
  {:ok, items} = Marc.parse(bytes, mode: :permissive)
  good = Enum.count(items, &match?(%Record{}, &1))

  strict =
    case Marc.parse(bytes) do
      {:ok, records} -> "ok (#{length(records)} records)"
      {:error, e} -> "error #{e.kind} in record #{e.record_index} at byte #{e.byte_offset}"
    end

  {:ok, _kept, %{skipped: skipped}} = Marc.parse(bytes, mode: :skip, report: true)

  IO.puts(Path.basename(path))
  IO.puts("  :strict      #{strict}")
  IO.puts("  :permissive  #{good} good, errors in place:")

  for {:error, e} <- items,
      do: IO.puts("                record #{e.record_index} @ #{e.byte_offset}: #{e.kind}")

  IO.puts("  :skip        #{good} kept, #{skipped} skipped")
end
