# .mrk (MarcEdit mnemonic) write and read, records/s, beside pymarc's str(record) writer
# and MARCMakerReader on the same records in the same run, and the ratios.
#
#     MIX_ENV=prod mix run bench/mrk.exs FILE...        (part of `make bench`)
#
# Snakepit: to_mrk/2 of the records in memory (write), from_mrk/2 of that text into
# records (read), and stream(path, format: :mrk) counting the records of a .mrk file
# (stream read); and MARCMaker's MARC-8 .mrk, to_mrk(records, encoding: :marc8) (write
# MARC-8, no peer: pymarc cannot write MARC-8) and from_mrk/2 of it back to UTF-8 records
# (read MARC-8). pymarc runs from bench/.venv (or $SNAKEPIT_BENCH_PYTHON); without it only
# Snakepit's rows are printed. Best of 3 runs each.

alias Snakepit.Marc

Code.require_file("timing.exs", __DIR__)

defmodule Bench.Mrk do
  defdelegate best(runs, fun), to: Bench.Timing

  def python do
    [System.get_env("SNAKEPIT_BENCH_PYTHON"), Path.expand("bench/.venv/bin/python")]
    |> Enum.find(&(&1 && File.exists?(&1)))
  end

  def peers(path) do
    case python() do
      nil ->
        %{}

      python ->
        {out, 0} = System.cmd(python, ["bench/mrk.py", path, "--runs", "3"])

        for line <- String.split(out, "\n", trim: true), into: %{} do
          [_peer, op, records, seconds, version] = String.split(line, "\t")
          {op, {String.to_integer(records) / String.to_float(seconds), version}}
        end
    end
  end

  def fmt(x), do: :erlang.float_to_binary(x / 1, decimals: 0)
end

IO.puts("| file | operation | Snakepit records/s | pymarc records/s | Snakepit / pymarc |")
IO.puts("| --- | --- | ---: | ---: | ---: |")

for path <- System.argv() do
  records = path |> Marc.stream() |> Enum.to_list()
  n = length(records)
  text = Marc.to_mrk(records)

  mrk_path =
    Path.join(System.tmp_dir!(), "snakepit_bench_#{System.unique_integer([:positive])}.mrk")

  File.write!(mrk_path, text)

  {write_s, _} = Bench.Mrk.best(3, fn -> byte_size(Marc.to_mrk(records)) end)
  {read_s, ^n} = Bench.Mrk.best(3, fn -> text |> Marc.from_mrk() |> elem(1) |> length() end)

  {stream_s, ^n} =
    Bench.Mrk.best(3, fn -> mrk_path |> Marc.stream(format: :mrk) |> Enum.count() end)

  {marc8_write_s, _} =
    Bench.Mrk.best(3, fn -> byte_size(Marc.to_mrk(records, encoding: :marc8)) end)

  marc8_text = Marc.to_mrk(records, encoding: :marc8)

  {marc8_read_s, ^n} =
    Bench.Mrk.best(3, fn -> marc8_text |> Marc.from_mrk() |> elem(1) |> length() end)

  File.rm!(mrk_path)
  peers = Bench.Mrk.peers(path)

  for {op, seconds, peer_op} <- [
        {"write (to_mrk/2; pymarc str(record))", write_s, "write"},
        {"read (from_mrk/2; pymarc MARCMakerReader)", read_s, "read"},
        {"stream read (stream(format: :mrk))", stream_s, "read"},
        {"write MARC-8 (to_mrk/2, encoding: :marc8)", marc8_write_s, nil},
        {"read MARC-8 (from_mrk/2 of it, to UTF-8)", marc8_read_s, nil}
      ] do
    ours = n / seconds

    {theirs, ratio} =
      case peers[peer_op] do
        {rate, _version} ->
          {Bench.Mrk.fmt(rate), :erlang.float_to_binary(ours / rate, decimals: 1)}

        nil ->
          {"-", "-"}
      end

    IO.puts(
      "| #{Path.basename(path)} (#{n}) | #{op} | #{Bench.Mrk.fmt(ours)} | #{theirs} | #{ratio} |"
    )
  end
end
