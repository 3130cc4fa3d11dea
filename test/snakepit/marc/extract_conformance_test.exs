defmodule Snakepit.Marc.ExtractConformanceTest do
  # Extraction against expected outputs made by an independent implementation of traject's
  # semantics (Python over pymarc's records: scripts/gen_extract_fixtures.py), committed in
  # test/fixtures/extract/, so CI needs neither.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Test.Corpus

  @fixtures Path.expand("../../fixtures/extract", __DIR__)

  for {file, rel} <- [
        {"loc_bibliographic", "real/loc_bibliographic.mrc"},
        {"loc_authority", "real/loc_authority.mrc"},
        {"loc_edge_cases", "real/loc_edge_cases.mrc"}
      ] do
    test "#{rel} gives what the traject-semantics generator wrote" do
      {:ok, cases} = :file.consult(Path.join(@fixtures, unquote(file) <> ".terms"))
      assert length(cases) >= 20

      for {spec, opts, expected} <- cases do
        got =
          Corpus.path(unquote(rel))
          |> Marc.extract([v: spec], Keyword.put(opts, :mode, :skip))
          |> Enum.map(& &1.v)

        assert length(got) == length(expected), "#{spec} #{inspect(opts)}: record count"

        mismatches =
          for {{g, e}, i} <- Enum.with_index(Enum.zip(got, expected)), g != e, do: {i, g, e}

        assert mismatches == [],
               "#{spec} #{inspect(opts)}: #{length(mismatches)} records differ, first: " <>
                 inspect(hd(mismatches ++ [nil]))
      end
    end
  end
end
