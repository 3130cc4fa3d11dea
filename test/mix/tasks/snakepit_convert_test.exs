defmodule Mix.Tasks.Snakepit.ConvertTest do
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  alias Mix.Tasks.Snakepit.Convert
  alias Snakepit.Test.Corpus

  setup do
    dir = Path.join(System.tmp_dir!(), "snakepit_convert_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir}
  end

  # Runs the task: {:ok | {:exit, reason}, stdout, stderr}.
  defp convert(args) do
    parent = self()

    stderr =
      capture_io(:stderr, fn ->
        stdout =
          capture_io(fn ->
            result =
              try do
                Convert.run(args)
                :ok
              catch
                :exit, reason -> {:exit, reason}
              end

            send(parent, {:result, result})
          end)

        send(parent, {:stdout, stdout})
      end)

    assert_received {:result, result}
    assert_received {:stdout, stdout}
    {result, stdout, stderr}
  end

  test "ISO 2709 -> JSON -> XML -> ISO 2709 gives equal records (and the same bytes)", %{dir: dir} do
    input = Corpus.path("real/loc_bibliographic.mrc")
    json = Path.join(dir, "bib.json")
    xml = Path.join(dir, "bib.xml")
    jsonl = Path.join(dir, "bib.ndjson")
    iso = Path.join(dir, "bib.mrc")

    {:ok, out, ""} = convert([input, json])
    assert out =~ "386 records written"
    assert out =~ "(iso2709)"
    {:ok, _, ""} = convert([json, xml])
    {:ok, _, ""} = convert([xml, jsonl])
    {:ok, out, ""} = convert([jsonl, iso])
    assert out =~ "386 records written, 0 bad records"

    {:ok, original} = Snakepit.Marc.parse(File.read!(input))
    assert Snakepit.Marc.parse(File.read!(iso)) == {:ok, original}
    assert File.read!(iso) == File.read!(input)
    assert String.starts_with?(File.read!(json), "[")
    assert File.read!(xml) =~ ~s(<collection xmlns="http://www.loc.gov/MARC21/slim">)
    assert File.read!(jsonl) |> String.split("\n", trim: true) |> length() == 386
    # No temporary files are left behind.
    assert dir |> File.ls!() |> Enum.sort() == ~w(bib.json bib.mrc bib.ndjson bib.xml)
  end

  test "explicit --from/--to override the extensions", %{dir: dir} do
    input = Path.join(dir, "records.bin")
    File.cp!(Corpus.path("formats/pymarc_test.dat"), input)
    output = Path.join(dir, "out.txt")

    {:ok, out, ""} =
      convert([input, output, "--from", "iso2709", "--to", "jsonl", "--no-to-unicode"])

    assert out =~ "10 records written"
    assert {:ok, records} = Snakepit.Marc.from_json(File.read!(output))

    assert Snakepit.Marc.parse(Corpus.read!("formats/pymarc_test.dat"), to_unicode: false) ==
             {:ok, records}
  end

  test "permissive: bad records are reported, left out, and summarised by kind", %{dir: dir} do
    output = Path.join(dir, "bad.xml")
    args = [Corpus.path("bad/pymarc_bad_records.mrc"), output, "--mode", "permissive"]
    {:ok, out, err} = convert(args)
    assert out =~ "2 records written, 7 bad records skipped"

    assert out =~
             "errors by kind: base_address_out_of_range: 2, invalid_base_address: 1, " <>
               "invalid_directory_entry: 1, invalid_directory_length: 1, no_fields: 1, truncated_record: 1"

    assert err =~ "bad record: base_address_out_of_range in record 1 at byte 139"
    assert {:ok, [_, _]} = Snakepit.Marc.from_xml(File.read!(output))

    {:ok, out, ""} =
      convert([Corpus.path("bad/pymarc_bad_records.mrc"), output, "--mode", "skip"])

    assert out =~ "2 records written, 7 bad records skipped"
  end

  test "strict: a bad record fails the task and writes nothing", %{dir: dir} do
    output = Path.join(dir, "bad.json")
    {result, out, err} = convert([Corpus.path("bad/pymarc_bad_records.mrc"), output])
    assert result == {:exit, {:shutdown, 1}}

    assert err =~
             "bad record (strict mode, nothing written): base_address_out_of_range in record 1"

    assert out =~ "failed after 1 good records"
    assert File.ls!(dir) == []
  end

  test "bad flags and unreadable input exit non-zero with a clear message", %{dir: dir} do
    input = Corpus.path("formats/pymarc_one.dat")
    out = Path.join(dir, "x.json")

    cases = [
      {[input, out, "--to", "csv"], "--to must be one of iso2709, json, jsonl, xml; got: csv"},
      {[input, out, "--from", "marc"], "--from must be one of iso2709, json, xml; got: marc"},
      {[input, out, "--mode", "lenient"],
       "--mode must be one of strict, permissive, skip; got: lenient"},
      {[input, out, "--bogus"], "unknown or malformed option --bogus; valid options: --from"},
      {[input], "expected INPUT and OUTPUT paths, got 1"},
      {[input, Path.join(dir, "x.csv")],
       "cannot infer the output format from \".csv\"; pass --to"},
      {[Path.join(dir, "missing.mrc"), out], "cannot read #{dir}/missing.mrc: no such file"},
      {[dir, out], "it is a directory"}
    ]

    for {args, message} <- cases do
      {result, _out, err} = convert(args)
      assert result == {:exit, {:shutdown, 1}}, inspect(args)
      assert err =~ message, "#{inspect(args)}: #{err}"
    end

    assert File.ls!(dir) == []
  end

  test "progress is printed as plain lines when not on a terminal", %{dir: dir} do
    Application.put_env(:snakepit, :convert_progress_ms, 0)
    on_exit(fn -> Application.delete_env(:snakepit, :convert_progress_ms) end)

    {:ok, out, ""} =
      convert([Corpus.path("synthetic/records_10k.mrc"), Path.join(dir, "10k.jsonl")])

    refute out =~ "\r"
    assert out =~ ~r/^snakepit.convert: 500 records, \d+ records\/s$/m
    assert out =~ ~r/^snakepit.convert: 10000 records, \d+ records\/s$/m
    assert out =~ ~r/10000 records written, 0 bad records, in [\d.]+ s \(\d+ records\/s\)/
  end
end
