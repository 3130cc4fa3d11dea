defmodule Mix.Tasks.Snakepit.ConvertTest do
  use ExUnit.Case, async: false

  alias Mix.Tasks.Snakepit.Convert
  alias Snakepit.Test.Corpus

  setup do
    dir = Path.join(System.tmp_dir!(), "snakepit_convert_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir}
  end

  defp convert(args), do: Snakepit.Test.MixTask.run(Convert, args)

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
    {{:error, message}, out, _err} = convert([Corpus.path("bad/pymarc_bad_records.mrc"), output])

    assert message =~
             "mix snakepit.convert: bad record (strict mode, nothing written): " <>
               "base_address_out_of_range in record 1"

    assert out =~ "failed after 1 good record, nothing written, 1 bad record, in"
    assert File.ls!(dir) == []
  end

  test "bad flags and unreadable input exit non-zero with a clear message", %{dir: dir} do
    input = Corpus.path("formats/pymarc_one.dat")
    out = Path.join(dir, "x.json")

    cases = [
      {[input, out, "--to", "csv"],
       ~s(--to must be one of iso2709, json, jsonl, xml, mrk, text, got: "csv")},
      {[input, out, "--from", "marc"],
       ~s(--from must be one of iso2709, json, xml, mrk, got: "marc")},
      {[input, out, "--mode", "lenient"],
       ~s(--mode must be one of strict, permissive, skip, got: "lenient")},
      {[input, out, "--bogus"], "unknown option --bogus; valid options: --from"},
      {[input, out, "--mode"], "--mode needs a value"},
      {[input], ~s(expected 2 arguments, got 1: [#{inspect(input)}])},
      {[input, Path.join(dir, "x.csv")],
       "cannot infer the output format from \".csv\"; pass --to"},
      {[Path.join(dir, "missing.mrc"), out], "cannot read #{dir}/missing.mrc: no such file"},
      {[dir, out], "it is a directory"},
      {[input, dir, "--to", "json"], "cannot write #{dir}: it is a directory"}
    ]

    for {args, message} <- cases do
      {{:error, error}, _out, _err} = convert(args)
      assert String.starts_with?(error, "mix snakepit.convert: "), error
      assert error =~ message, "#{inspect(args)}: #{error}"
    end

    assert File.ls!(dir) == []
  end

  test "every flag error ends with the usage line", %{dir: dir} do
    {{:error, error}, _, _} = convert([Path.join(dir, "a.mrc"), Path.join(dir, "b.json"), "-x"])
    assert error =~ ~r/\nusage: mix snakepit.convert INPUT OUTPUT .*\nmix snakepit.convert --help/
  end

  test "a missing output directory is named, not a temporary file", %{dir: dir} do
    missing = Path.join(dir, "no/such/dir")
    output = Path.join(missing, "out.json")
    {{:error, error}, _, _} = convert([Corpus.path("formats/pymarc_one.dat"), output])

    assert error ==
             "mix snakepit.convert: cannot write #{output}: its directory #{missing} does not exist"

    refute error =~ ".tmp"
  end

  test "INPUT equal to OUTPUT is refused, through a symlink or a hard link too", %{dir: dir} do
    input = Path.join(dir, "records.mrc")
    File.cp!(Corpus.path("bad/pymarc_bad_records.mrc"), input)
    original = File.read!(input)
    symlink = Path.join(dir, "symlink.mrc")
    hardlink = Path.join(dir, "hardlink.mrc")
    :ok = File.ln_s(input, symlink)
    :ok = File.ln(input, hardlink)
    relative = Path.relative_to(input, File.cwd!())

    for output <- [input, symlink, hardlink, Path.join(dir, "./records.mrc"), relative] do
      {{:error, error}, _, _} = convert([input, output, "--mode", "permissive"])
      assert error =~ "#{output} is the input file #{input}", error
      assert File.read!(input) == original
    end

    # The other way round: the input given through the link.
    {{:error, error}, _, _} = convert([symlink, input, "--mode", "skip"])
    assert error =~ "is the input file"
    assert File.read!(input) == original
    assert dir |> File.ls!() |> Enum.sort() == ~w(hardlink.mrc records.mrc symlink.mrc)
  end

  # -- the task as a user runs it: `mix snakepit.convert` in its own OS process -------------

  @root Path.expand("../../..", __DIR__)

  defp mix_port(args) do
    Port.open({:spawn_executable, System.find_executable("mix")}, [
      :binary,
      :exit_status,
      :stderr_to_stdout,
      args: ["snakepit.convert" | args],
      cd: @root,
      env: [{~c"MIX_ENV", ~c"test"}]
    ])
  end

  defp await_exit(port, output \\ "") do
    receive do
      {^port, {:data, data}} -> await_exit(port, output <> data)
      {^port, {:exit_status, status}} -> {status, output}
    after
      300_000 -> flunk("mix snakepit.convert did not exit; output so far:\n#{output}")
    end
  end

  # Polls (bounded) until `fun` is true: waits for an event, not for a duration.
  defp eventually(fun, tries \\ 1200) do
    cond do
      fun.() -> :ok
      tries == 0 -> flunk("condition never became true")
      true -> Process.sleep(100) && eventually(fun, tries - 1)
    end
  end

  # A FIFO at `path` fed `file` by a shell once it reads a line from the returned port.
  defp fifo_writer(path, file) do
    {_, 0} = System.cmd("mkfifo", [path])

    port =
      Port.open({:spawn_executable, System.find_executable("sh")},
        args: ["-c", ~s(exec 3>"$1"; read go; cat "$2" >&3 2>/dev/null), "sh", path, file]
      )

    {:os_pid, pid} = Port.info(port, :os_pid)
    on_exit(fn -> System.cmd("kill", ["#{pid}"], stderr_to_stdout: true) end)
    port
  end

  @tag timeout: 600_000
  test "two runs to one OUTPUT at once both succeed: no shared temporary file", %{dir: dir} do
    # Each run reads a FIFO that stays empty until both runs are under way, so they overlap
    # on any machine.
    records = Corpus.path("real/loc_bibliographic.mrc")
    writers = for i <- 1..2, do: fifo_writer(Path.join(dir, "in#{i}.mrc"), records)
    output = Path.join(dir, "same.jsonl")
    ports = for i <- 1..2, do: mix_port([Path.join(dir, "in#{i}.mrc"), output])

    # Both are under way, each with its own temporary file.
    eventually(fn -> length(temp_files(dir)) == 2 end)
    for writer <- writers, do: Port.command(writer, "go\n")

    for port <- ports do
      {status, out} = await_exit(port)
      assert status == 0, out
      refute out =~ "RenameError"
    end

    assert output |> File.stream!() |> Enum.count() == 386
    assert temp_files(dir) == []
  end

  defp temp_files(dir), do: File.ls!(dir) -- ~w(in1.mrc in2.mrc same.jsonl)

  @tag timeout: 600_000
  test "SIGTERM mid-run exits non-zero and removes the temporary file", %{dir: dir} do
    # A FIFO whose writer never closes it: the conversion is mid-run until it is killed,
    # however fast or slow this machine is.
    fifo = Path.join(dir, "input.mrc")
    fifo_writer(fifo, Corpus.path("real/loc_bibliographic.mrc"))

    output = Path.join(dir, "out.json")
    port = mix_port([fifo, output])
    {:os_pid, pid} = Port.info(port, :os_pid)

    # Running: its temporary file exists.
    eventually(fn -> File.ls!(dir) -- ["input.mrc"] != [] end)
    {_, 0} = System.cmd("kill", ["-TERM", "#{pid}"])

    {status, out} = await_exit(port)
    assert status != 0, out
    assert out =~ "terminated by SIGTERM"
    assert File.ls!(dir) == ["input.mrc"]
  end

  test "progress is printed as plain lines when not on a terminal", %{dir: dir} do
    Application.put_env(:snakepit, :convert_progress_ms, 0)
    on_exit(fn -> Application.delete_env(:snakepit, :convert_progress_ms) end)

    {:ok, out, ""} =
      convert([Corpus.path("synthetic/records_10k.mrc"), Path.join(dir, "10k.jsonl")])

    refute out =~ "\r"
    assert out =~ ~r/^snakepit.convert: 500 records, \d+ records\/s$/m
    assert out =~ ~r/^snakepit.convert: 10000 records, \d+ records\/s$/m
    assert out =~ ~r/10,000 records written, 0 bad records, in [\d.]+ s \(\d+ records\/s\)/
  end
end
