# MARC-8 encode throughput beside yaz-marcdump's, in the same run, on the same UTF-8 input.
#
#     MIX_ENV=prod mix run bench/marc8_encode.exs [REPEAT]
#
# Input: the corpus's UTF-8 files with the most non-ASCII text (real/loc_bibliographic.mrc:
# Latin with diacritics, Cyrillic, CJK, Arabic, Hebrew; synthetic/realistic_2000.mrc),
# each repeated REPEAT times (default 20) so that yaz's process start is a small part of
# its time. Figures are MB/s of UTF-8 input, the median of several runs after a warm-up:
#
# - `snakepit file -> MARC-8`: read the bytes, parse (lazy records), encode(encoding: :marc8);
#   what yaz-marcdump does, in one BEAM process;
# - `snakepit encode only`: encode(encoding: :marc8) of records already read;
# - `yaz-marcdump -f UTF-8 -t MARC-8 -o marc`: the same file, output to /dev/null.
#
# Ratios are within this run (the machine is shared; absolute figures drift).

Code.require_file("timing.exs", __DIR__)

defmodule Bench.Marc8Encode do
  @corpus Path.expand("../../shared/corpus", __DIR__)
  @runs 5

  def median(fun), do: Bench.Timing.median_us(@runs, fun)

  defp mb_s(bytes, us), do: Float.round(bytes / 1_000_000 / (us / 1_000_000), 1)

  def run(repeat) do
    yaz = System.find_executable("yaz-marcdump")

    IO.puts(
      "MARC-8 encode, #{System.schedulers_online()} schedulers, input repeated #{repeat}x\n"
    )

    IO.puts(
      String.pad_trailing("file", 28) <>
        String.pad_leading("snakepit file->MARC-8", 22) <>
        String.pad_leading("encode only", 13) <>
        String.pad_leading("yaz-marcdump", 14) <> String.pad_leading("snakepit/yaz", 14)
    )

    for rel <- ["real/loc_bibliographic.mrc", "synthetic/realistic_2000.mrc"] do
      input = :binary.copy(File.read!(Path.join(@corpus, rel)), repeat)
      path = Path.join(System.tmp_dir!(), "snakepit_marc8_bench_#{Path.basename(rel)}")
      File.write!(path, input)

      whole =
        median(fn ->
          {:ok, records} = path |> File.read!() |> Snakepit.Marc.parse(records: :lazy)
          Snakepit.Marc.encode(records, encoding: :marc8)
        end)

      {:ok, records} = Snakepit.Marc.parse(input)
      encode = median(fn -> Snakepit.Marc.encode(records, encoding: :marc8) end)

      yaz_us =
        if yaz do
          median(fn ->
            {_, 0} =
              System.cmd("sh", ["-c", "#{yaz} -f UTF-8 -t MARC-8 -o marc '#{path}' > /dev/null"])
          end)
        end

      size = byte_size(input)

      IO.puts(
        String.pad_trailing(Path.basename(rel), 28) <>
          String.pad_leading("#{mb_s(size, whole)} MB/s", 22) <>
          String.pad_leading("#{mb_s(size, encode)} MB/s", 13) <>
          String.pad_leading(if(yaz_us, do: "#{mb_s(size, yaz_us)} MB/s", else: "absent"), 14) <>
          String.pad_leading(if(yaz_us, do: "#{Float.round(yaz_us / whole, 2)}x", else: "-"), 14)
      )

      File.rm(path)
    end
  end
end

repeat =
  case System.argv() do
    [n] -> String.to_integer(n)
    [] -> 20
  end

Bench.Marc8Encode.run(repeat)
