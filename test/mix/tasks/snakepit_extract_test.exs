defmodule Mix.Tasks.Snakepit.ExtractTest do
  use ExUnit.Case, async: false

  alias Mix.Tasks.Snakepit.Extract
  alias Snakepit.Marc
  alias Snakepit.Test.Corpus

  setup do
    dir = Path.join(System.tmp_dir!(), "snakepit_extract_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir}
  end

  defp extract(args), do: Snakepit.Test.MixTask.run(Extract, args)

  @bib Corpus.path("real/loc_bibliographic.mrc")

  test "CSV to a file: the rows extract/3 gives, in spec order, and a summary", %{dir: dir} do
    out = Path.join(dir, "index.csv")

    {:ok, stdout, ""} =
      extract([@bib, "--spec", "title=245a", "--spec", "isbn=020a", "--output", out])

    assert stdout =~ ~r/386 rows written, 0 bad records, in [\d.]+ s \(\d+ rows\/s\)/
    expected = Marc.extract(@bib, title: "245a", isbn: "020a") |> Enum.to_list()

    [header | lines] = out |> File.read!() |> String.split("\r\n", trim: true)
    assert header == "title,isbn"
    assert length(lines) == 386

    assert hd(lines) ==
             Enum.join(
               [Enum.join(hd(expected).title, "|"), Enum.join(hd(expected).isbn, "|")],
               ","
             )

    assert File.ls!(dir) == ["index.csv"]
  end

  test "JSON Lines to standard output, summary on standard error; a spec file", %{dir: dir} do
    file = Path.join(dir, "specs.txt")
    File.write!(file, "# columns\nid=001\n\nlang=008[35-37]\n")

    {:ok, stdout, stderr} = extract([@bib, "--spec-file", file, "--format", "jsonl"])
    lines = String.split(stdout, "\n", trim: true)
    assert length(lines) == 386
    assert hd(lines) =~ ~r/^\{"id":\["[^"]+"\],"lang":\["spa"\]\}$/
    assert stderr =~ "386 rows written"
  end

  test "bad records: strict fails and writes nothing, permissive lists them", %{dir: dir} do
    bad = Corpus.path("bad/pymarc_bad_records.mrc")
    out = Path.join(dir, "out.tsv")

    {{:error, message}, _, _} = extract([bad, "--spec", "t=245a", "--output", out])
    assert message =~ "mix snakepit.extract: bad record (strict mode, nothing written)"
    assert File.ls!(dir) == []

    {:ok, stdout, _} = extract([bad, "--spec", "t=245a", "--output", out, "--mode", "permissive"])
    assert stdout =~ "bad record: "
    assert stdout =~ "2 rows written, 7 bad records left out"
    assert out |> File.read!() |> String.split("\n", trim: true) |> length() == 3
  end

  test "progress is printed as plain lines when not on a terminal", %{dir: dir} do
    Application.put_env(:snakepit, :convert_progress_ms, 0)
    on_exit(fn -> Application.delete_env(:snakepit, :convert_progress_ms) end)
    input = Corpus.path("synthetic/records_10k.mrc")

    {:ok, out, ""} = extract([input, "--spec", "t=245a", "--output", Path.join(dir, "t.tsv")])
    refute out =~ "\r"
    assert out =~ ~r/^snakepit.extract: 500 records, \d+ records\/s$/m
    assert out =~ ~r/^snakepit.extract: 10000 records, \d+ records\/s$/m

    # With the rows on standard output, progress goes to standard error.
    {:ok, rows, err} = extract([input, "--spec", "t=245a", "--format", "tsv"])
    refute rows =~ "snakepit.extract:"
    assert err =~ ~r/^snakepit.extract: 500 records/m
  end

  test "bad flags, specs and paths exit with a clear message", %{dir: dir} do
    for {args, text} <- [
          {[@bib], "give at least one --spec NAME=SPEC"},
          {[@bib, "--spec", "title"], "--spec must be NAME=SPEC, got: \"title\""},
          {[@bib, "--spec", "t=245|1|a"],
           "invalid extraction spec \"245|1|a\" for \"t\" at position 5"},
          {[@bib, "--spec", "t=245", "--format", "xlsx"],
           "--format must be one of csv, tsv, jsonl"},
          {[@bib, "--spec", "t=245", "--spec-file", "/nope"], "cannot read --spec-file /nope"},
          {["/nope.mrc", "--spec", "t=245"], "cannot read /nope.mrc"},
          {[@bib, "--spec", "t=245", "--output", Path.join(dir, "no/such/out.csv")],
           "does not exist"},
          {[@bib, "--spec", "t=245", "--output", @bib], "is the input file"},
          {[@bib, "--spec", "t=245", "--bogus"], "unknown option --bogus"}
        ] do
      assert {{:error, message}, _, _} = extract(args)
      assert message =~ "mix snakepit.extract: "
      assert message =~ text, message
    end
  end
end
