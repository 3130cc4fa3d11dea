# A digest of everything lint_stream/2 (built-in rules) finds in each file: entries,
# issues, and a hash of the entries as terms. Run it on two builds and diff the outputs to
# see that a change to the linter left every finding as it was, byte for byte.
#
#     MIX_ENV=prod mix run scripts/lint_digest.exs FILE...

for path <- System.argv() do
  result =
    try do
      entries = path |> Snakepit.Marc.lint_stream() |> Enum.to_list()
      issues = Enum.reduce(entries, 0, fn {_, _, i}, n -> n + length(i) end)
      hash = :crypto.hash(:sha256, :erlang.term_to_binary(entries)) |> Base.encode16()
      "#{length(entries)} entries\t#{issues} issues\t#{hash}"
    rescue
      e -> "raised #{inspect(e.__struct__)}: #{Exception.message(e)}"
    end

  IO.puts("#{path}\t#{result}")
end
