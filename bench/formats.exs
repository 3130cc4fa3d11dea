# Throughput of the formats layer through the Elixir API. No dependencies.
#
#     MIX_ENV=prod mix run bench/formats.exs
#
# Each figure is the median of several timed runs after a warm-up; records/s, and MB/s of
# the bytes produced (writers) or consumed (readers).

Code.require_file("timing.exs", __DIR__)

defmodule Bench.Formats do
  @corpus Path.expand("../../shared/corpus", __DIR__)
  @runs 7

  def path(rel), do: Path.join(@corpus, rel)

  def time(fun), do: Bench.Timing.median_us(@runs, fun)

  def report(label, records, bytes, us) do
    secs = us / 1_000_000
    rate = round(records / secs)
    mb = Float.round(bytes / 1_000_000 / secs, 1)

    IO.puts(
      String.pad_trailing(label, 44) <>
        String.pad_leading("#{rate}", 10) <>
        " records/s " <>
        String.pad_leading("#{mb}", 8) <> " MB/s   (#{records} records, #{bytes} bytes)"
    )
  end

  def run do
    IO.puts("snakepit formats bench, #{System.schedulers_online()} schedulers\n")

    # MARC-8 decode: pymarc_marc.dat (20 real MARC-8 records) repeated.
    marc8 = File.read!(path("marc8/pymarc_marc.dat"))
    marc8_big = :binary.copy(marc8, 500)
    {:ok, rs} = Snakepit.Marc.parse(marc8_big)
    n = length(rs)

    report(
      "parse MARC-8 -> UTF-8 (to_unicode)",
      n,
      byte_size(marc8_big),
      time(fn -> Snakepit.Marc.parse(marc8_big) end)
    )

    report(
      "parse MARC-8 -> UTF-8, normalize: :nfc",
      n,
      byte_size(marc8_big),
      time(fn -> Snakepit.Marc.parse(marc8_big, normalize: :nfc) end)
    )

    report(
      "parse MARC-8 kept (to_unicode: false)",
      n,
      byte_size(marc8_big),
      time(fn -> Snakepit.Marc.parse(marc8_big, to_unicode: false) end)
    )

    IO.puts("")
    iso = File.read!(path("synthetic/realistic_2000.mrc"))
    {:ok, records} = Snakepit.Marc.parse(iso)
    n = length(records)

    report(
      "parse ISO 2709 (baseline)",
      n,
      byte_size(iso),
      time(fn -> Snakepit.Marc.parse(iso) end)
    )

    json = Snakepit.Marc.to_json(records)
    lines = Snakepit.Marc.to_json(records, lines: true)
    xml = Snakepit.Marc.to_xml(records)
    report("to_json (array)", n, byte_size(json), time(fn -> Snakepit.Marc.to_json(records) end))

    report(
      "to_json (lines: true)",
      n,
      byte_size(lines),
      time(fn -> Snakepit.Marc.to_json(records, lines: true) end)
    )

    report("to_xml", n, byte_size(xml), time(fn -> Snakepit.Marc.to_xml(records) end))

    report(
      "xml_stream |> Stream.run (batches of 200)",
      n,
      byte_size(xml),
      time(fn -> records |> Snakepit.Marc.xml_stream() |> Stream.run() end)
    )

    report(
      "encode (ISO 2709, Elixir iodata)",
      n,
      byte_size(iso),
      time(fn -> records |> Snakepit.Marc.encode() |> IO.iodata_length() end)
    )

    report(
      "ISO 2709, native batch writer (convert task)",
      n,
      byte_size(iso),
      time(fn -> records |> Snakepit.Marc.Formats.iso_stream() |> Stream.run() end)
    )

    IO.puts("")
    report("from_json (array)", n, byte_size(json), time(fn -> Snakepit.Marc.from_json(json) end))

    report(
      "from_json (JSON Lines)",
      n,
      byte_size(lines),
      time(fn -> Snakepit.Marc.from_json(lines) end)
    )

    report("from_xml", n, byte_size(xml), time(fn -> Snakepit.Marc.from_xml(xml) end))

    IO.puts("")
    tmp = System.tmp_dir!()
    big = 10
    xml_path = Path.join(tmp, "snakepit_bench.xml")
    jsonl_path = Path.join(tmp, "snakepit_bench.jsonl")
    iso_path = Path.join(tmp, "snakepit_bench.mrc")
    many = Stream.flat_map(1..big, fn _ -> records end)
    many |> Snakepit.Marc.xml_stream() |> Stream.into(File.stream!(xml_path)) |> Stream.run()

    many
    |> Snakepit.Marc.json_stream(lines: true)
    |> Stream.into(File.stream!(jsonl_path))
    |> Stream.run()

    File.write!(iso_path, :binary.copy(iso, big))

    for {label, p} <- [
          {"stream/2 file, ISO 2709", iso_path},
          {"stream/2 file, JSON Lines", jsonl_path},
          {"stream/2 file, MARCXML", xml_path}
        ] do
      size = File.stat!(p).size
      report(label, n * big, size, time(fn -> p |> Snakepit.Marc.stream() |> Stream.run() end))
    end

    Enum.each([xml_path, jsonl_path, iso_path], &File.rm/1)
  end
end

Bench.Formats.run()
