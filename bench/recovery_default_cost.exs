# parse/2 of a binary with the default options (struct records, no repair): median of 15
# passes. Run it on two builds in turn (e.g. this commit and `git archive` of the one before
# the recovery options, built with its own CARGO_TARGET_DIR) to see what the options and the
# `repairs` field cost the fast path (docs/performance.md, Recovery):
#
#     MIX_ENV=test mix run bench/recovery_default_cost.exs
for {name, file} <- [
      {"records_10k", "../shared/corpus/synthetic/records_10k.mrc"},
      {"loc_bibliographic", "../shared/corpus/real/loc_bibliographic.mrc"}
    ] do
  bytes = File.read!(file)
  {:ok, records} = Snakepit.Marc.parse(bytes)

  times =
    for _ <- 1..15,
        do: elem(:timer.tc(fn -> {:ok, _} = Snakepit.Marc.parse(bytes) end), 0)

  median = Enum.at(Enum.sort(times), 7)
  IO.puts("#{name}: #{round(length(records) / (median / 1.0e6))} records/s (median #{median} us)")
end
