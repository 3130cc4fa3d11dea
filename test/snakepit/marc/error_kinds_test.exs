defmodule Snakepit.Marc.ErrorKindsTest do
  # One list of error kinds: the Rust enum (through the NIF), Snakepit.Marc.ParseError and
  # the kinds table of docs/formats.md must name the same kinds in the same order.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.ParseError
  alias Snakepit.Test.Corpus

  @doc_path Path.expand("../../../docs/formats.md", __DIR__)

  test "ParseError's kinds are the native ErrorKind::ALL, in order" do
    native = Snakepit.Native.error_kinds()
    assert length(native) == 22, inspect(native)

    assert ParseError.kinds() == native,
           "Snakepit.Marc.ParseError's @kinds differ from the Rust ErrorKind::ALL: " <>
             "only in Elixir: #{inspect(ParseError.kinds() -- native)}, " <>
             "only in Rust: #{inspect(native -- ParseError.kinds())} (both empty: the order differs)"
  end

  test "the kind type lists exactly the kinds" do
    {:ok, types} = Code.Typespec.fetch_types(ParseError)

    {:type, {:kind, {:type, _, :union, atoms}, []}} =
      Enum.find(types, &match?({:type, {:kind, _, _}}, &1))

    assert Enum.map(atoms, fn {:atom, _, atom} -> atom end) == ParseError.kinds()
  end

  test "docs/formats.md holds the kinds table, and no other kind row" do
    doc = File.read!(@doc_path)

    assert doc =~ ParseError.kinds_table(),
           "docs/formats.md is out of date: paste Snakepit.Marc.ParseError.kinds_table()"

    rows = Regex.scan(~r/^\| `:([a-z0-9_]+)` \|/m, doc, capture: :all_but_first)
    assert Enum.map(rows, &String.to_atom(hd(&1))) == ParseError.kinds()
  end

  test "the moduledoc lists every kind" do
    {:docs_v1, _, _, _, %{"en" => moduledoc}, _, _} = Code.fetch_docs(ParseError)
    for kind <- ParseError.kinds(), do: assert(moduledoc =~ "`#{inspect(kind)}` - ")
  end

  test "errors that reach Elixir carry kinds of the list" do
    bad = Corpus.read!("bad/pymarc_bad_records.mrc")
    {:ok, items} = Marc.parse(bad, mode: :permissive)
    kinds = for {:error, %ParseError{kind: kind}} <- items, uniq: true, do: kind
    assert length(kinds) >= 5
    assert kinds -- ParseError.kinds() == []
  end
end
