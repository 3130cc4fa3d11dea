defmodule Snakepit.Marc.TableTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Spec, Table}
  alias Snakepit.Test.Corpus

  doctest Snakepit.Marc.Table

  @rows [
    %{t: ["plain"], v: ["a", "b"]},
    %{t: ["comma, \"quote\"\r\nnewline"], v: []},
    {:error, :left_out},
    %{t: ["tab\there \\ back"], v: ["x|y"]}
  ]

  defp text(rows, opts), do: rows |> Table.stream(opts) |> Enum.join()

  test "CSV: RFC 4180 quoting, CRLF, multi-valued cells joined, errors left out" do
    assert text(@rows, columns: [:t, :v]) ==
             "t,v\r\nplain,a|b\r\n\"comma, \"\"quote\"\"\r\nnewline\",\r\ntab\there \\ back,x|y\r\n"

    assert text(@rows, columns: [:v], header: false, joiner: "; ") ==
             "a; b\r\n\r\nx|y\r\n"
  end

  test "TSV escapes what a cell cannot hold" do
    assert text(@rows, columns: [:t], format: :tsv) ==
             "t\nplain\ncomma, \"quote\"\\r\\nnewline\ntab\\there \\\\ back\n"
  end

  test "JSON Lines keeps the columns' order and every value" do
    assert text(@rows, columns: [:v, :t], format: :jsonl) ==
             ~s({"v":["a","b"],"t":["plain"]}\n) <>
               ~s({"v":[],"t":["comma, \\"quote\\"\\r\\nnewline"]}\n) <>
               ~s({"v":["x|y"],"t":["tab\\there \\\\ back"]}\n)
  end

  test "columns default to the first row's keys; a header even without rows when given" do
    assert text([%{b: ["1"], a: ["2"]}], []) == "a,b\r\n2,1\r\n"
    assert text([], columns: [:a]) == "a\r\n"
    assert text([], []) == ""
  end

  test "bad options and rows" do
    assert_raise ArgumentError, ~r/unknown option \[:colums\]/, fn ->
      Table.stream([], colums: [:a])
    end

    assert_raise ArgumentError, ~r/:format must be one of/, fn ->
      Table.stream([], format: :xlsx)
    end

    assert_raise ArgumentError, ~r/expected extraction rows/, fn -> text([:nope], []) end
    assert_raise ArgumentError, ~r/a path or an IO device/, fn -> Table.write([], 42) end
  end

  @tag :tmp_dir
  test "write/3 to a path through a temporary file, with counts", %{tmp_dir: dir} do
    spec = Spec.compile!(title: "245a", isbn: "020a")
    path = Path.join(dir, "out.csv")

    rows = Marc.extract(Corpus.path("bad/pymarc_bad_records.mrc"), spec, mode: :permissive)
    assert {:ok, %{rows: 2, errors: 7}} = Table.write(rows, path, columns: Spec.names(spec))
    assert [header | lines] = path |> File.read!() |> String.split("\r\n", trim: true)
    assert header == "title,isbn"
    assert length(lines) == 2
    assert File.ls!(dir) == ["out.csv"]

    # A run that fails leaves no file behind, and the old one as it was.
    failing = Stream.map([%{title: ["x"]}, :boom], & &1)
    assert_raise ArgumentError, fn -> Table.write(failing, path, columns: [:title]) end
    assert File.ls!(dir) == ["out.csv"]
    assert File.read!(path) =~ "title,isbn"
  end

  test "write/3 to a device" do
    {:ok, device} = StringIO.open("")
    assert {:ok, %{rows: 1, errors: 0}} = Table.write([%{a: ["1"]}], device, format: :jsonl)
    assert {_, ~s({"a":["1"]}\n)} = StringIO.contents(device)
  end
end
