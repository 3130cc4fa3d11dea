# `parse/2` of whole files in memory, both record shapes: the best of three fresh processes,
# each timing back-to-back parses after an untimed one (60 a run for a small file, 3 for a
# file over 10 MB). To compare two builds, run it in a checkout of each, alternately.
#
#     MIX_ENV=prod mix run bench/parse_whole.exs FILE...
alias Snakepit.Marc

files = System.argv()
if files == [], do: raise("usage: mix run bench/parse_whole.exs FILE...")

for path <- files, shape <- [:struct, :lazy] do
  bin = File.read!(path)
  n = if byte_size(bin) > 10_000_000, do: 3, else: 60

  parse = fn ->
    {:ok, records} = Marc.parse(bin, records: shape, mode: :skip)
    length(records)
  end

  # A fresh process a run, so that no run collects the garbage of the one before.
  run = fn ->
    {_pid, ref} =
      spawn_monitor(fn ->
        parse.()
        {us, _} = :timer.tc(fn -> Enum.each(1..n, fn _ -> parse.() end) end)
        exit({:us, us / n})
      end)

    receive do
      {:DOWN, ^ref, :process, _, {:us, us}} -> us
    end
  end

  best = 1..3 |> Enum.map(fn _ -> run.() end) |> Enum.min()
  IO.puts("#{Path.basename(path)} records: #{shape}: #{Float.round(best / 1000, 2)} ms a parse")
end
