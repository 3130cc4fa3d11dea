defmodule Mix.Tasks.Snakepit.LintTest do
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  alias Mix.Tasks.Snakepit.Lint
  alias Snakepit.Test.Corpus

  # {exit status, standard output, standard error} of a run.
  defp lint(args) do
    parent = self()

    stderr =
      capture_io(:stderr, fn ->
        stdout = capture_io(fn -> send(parent, {:status, Lint.status(args)}) end)
        send(parent, {:stdout, stdout})
      end)

    assert_received {:status, status}
    assert_received {:stdout, stdout}
    {status, stdout, stderr}
  end

  defp tmp(name),
    do: Path.join(System.tmp_dir!(), "#{System.unique_integer([:positive])}_#{name}")

  test "lists the issues, then the summary by code and by tag; exit 1 when there are issues" do
    Mix.shell(Mix.Shell.Process)
    on_exit(fn -> Mix.shell(Mix.Shell.IO) end)
    {status, out, err} = lint([Corpus.path("formats/pymarc_test.dat")])
    assert status == 1

    assert out ==
             "record 9 (byte 5895) 100 error indicator.undefined: 100 indicator 1 is 2; allowed: 0 1 3\n"

    assert err =~ "10 records, 1 issue"

    assert err =~
             ~r/code\s+severity\s+issues\s+first record\nindicator.undefined\s+error\s+1\s+9\n/

    assert err =~ ~r/tag\s+issues\s+first record\n100\s+1\s+9/
  end

  test "exit 0 when clean, --only and --except" do
    {status, out, _err} =
      lint([Corpus.path("formats/pymarc_test.dat"), "--except", "indicator.*"])

    assert {status, out} == {0, ""}

    {status, _out, _err} =
      lint([Corpus.path("formats/pymarc_test.dat"), "--only", "field.missing,isbn.checksum"])

    assert status == 0
  end

  test "--format json and csv, --output, --rules" do
    rules = tmp("rules.json")

    File.write!(
      rules,
      ~s({"builtin": false, "rules": [{"code": "local.no500", "forbid": "500"}]})
    )

    out = tmp("issues.csv")
    on_exit(fn -> Enum.each([rules, out], &File.rm/1) end)
    Mix.shell(Mix.Shell.Process)
    on_exit(fn -> Mix.shell(Mix.Shell.IO) end)

    {status, "", _} =
      lint([
        Corpus.path("formats/pymarc_test.dat"),
        "--rules",
        rules,
        "--format",
        "csv",
        "--output",
        out
      ])

    assert status == 1
    [header | rows] = out |> File.read!() |> String.split("\r\n", trim: true)

    assert header ==
             "record_index,record_offset,severity,code,tag,field_index,subfield,byte_offset,message"

    assert [_ | _] = rows
    assert Enum.all?(rows, &(&1 =~ ",error,local.no500,500,"))

    {1, json, _} = lint([Corpus.path("formats/pymarc_test.dat"), "--format", "json"])
    [first | _] = String.split(json, "\n", trim: true)
    assert first =~ ~s("code":"indicator.undefined")
    assert first =~ ~s("record_index":9)
  end

  test "exit 2 when it cannot run, saying why" do
    assert {2, _, err} = lint(["/nonexistent.mrc"])
    assert err =~ "mix snakepit.lint: cannot read /nonexistent.mrc"
    assert {2, _, err} = lint([Corpus.path("formats/pymarc_test.dat"), "--only", "nope"])
    assert err =~ ~s(only[0]: "nope" names no code)
    assert {2, _, err} = lint([Corpus.path("formats/pymarc_test.dat"), "--format", "xml"])
    assert err =~ "--format must be one of text, json, csv"
    assert {2, _, _} = lint([])
    # Through Mix: the message, and exit status 2.
    error = assert_raise Mix.Error, fn -> Lint.run(["/nonexistent.mrc"]) end
    assert error.mix == 2

    assert catch_exit(capture_io(fn -> Lint.run([Corpus.path("formats/pymarc_test.dat")]) end)) ==
             {:shutdown, 1}
  end
end
