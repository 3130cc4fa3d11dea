defmodule Snakepit.Marc.HelpersConformanceTest do
  # The record helpers against pymarc 5.4 on every well-formed corpus record: pymarc's own
  # properties where it has them, and an independent Python implementation of the rules
  # docs/editing-records.md states where it does not (scripts/gen_helper_fixtures.py,
  # fixtures committed in test/fixtures/helpers/, so CI needs neither). Record and
  # LazyRecord must both give the expected answers.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, LazyRecord, Record}
  alias Snakepit.Test.Corpus

  @fixtures Path.expand("../../fixtures/helpers", __DIR__)

  # Helpers whose answer is compared as it is (fields as tuples).
  @helpers ~w(physical_description series notes uniform_title location sudoc issnl isbns
              lccn oclc_numbers languages pubyear)a

  # MARCXML and MARC-in-JSON: fixture name (the extension in it) and reader.
  @other_formats [
    {"formats/pymarc_batch.xml", "pymarc_batch_xml", &Marc.from_xml/1},
    {"formats/pymarc_utf8.xml", "pymarc_utf8_xml", &Marc.from_xml/1},
    {"formats/pymarc_one.json", "pymarc_one_json", &Marc.from_json/1},
    {"formats/pymarc_test.json", "pymarc_test_json", &Marc.from_json/1}
  ]

  defp expected(rel), do: rel |> Path.basename() |> Path.rootname() |> fixture()

  defp fixture(name) do
    text = @fixtures |> Path.join(name <> ".terms.gz") |> File.read!() |> :zlib.gunzip()
    tmp = Path.join(System.tmp_dir!(), "helpers_#{name}_#{System.unique_integer([:positive])}")
    File.write!(tmp, text)

    try do
      {:ok, terms} = :file.consult(tmp)
      terms
    after
      File.rm(tmp)
    end
  end

  defp shape(%Field{tag: tag, value: value}) when is_binary(value), do: {tag, value}
  defp shape(%Field{tag: tag, ind1: i1, ind2: i2, subfields: sfs}), do: {tag, i1, i2, sfs}
  defp shape(list) when is_list(list), do: Enum.map(list, &shape/1)
  defp shape(other), do: other

  defp structure({tag, i1, i2, sfs}), do: {tag, i1, i2, Enum.map(sfs, &elem(&1, 0))}
  defp structure({tag, value}) when is_binary(tag) and is_binary(value), do: {tag, :text}
  defp structure(list) when is_list(list), do: Enum.map(list, &structure/1)
  defp structure(value) when is_binary(value), do: :text
  defp structure(other), do: other

  defp answer(module, record, helper), do: shape(apply(module, helper, [record]))

  for {rel, count} <- Corpus.good_files() do
    test "#{rel}: every helper gives pymarc's answer (or the documented rule's)" do
      rel = unquote(rel)
      expected = expected(rel)
      # pymarc puts text converted from MARC-8 in NFC; so does normalize: :nfc (UTF-8
      # records are not touched by it).
      records = Marc.parse!(Corpus.read!(rel), normalize: :nfc)
      lazies = Marc.parse!(Corpus.read!(rel), normalize: :nfc, records: :lazy)
      assert length(expected) == unquote(count)
      assert length(records) == unquote(count)

      assert_answers(expected, [Record, LazyRecord], Enum.zip(records, lazies))
    end
  end

  for {rel, _name, _reader} <- @other_formats do
    test "#{rel}: every helper gives pymarc's answer (or the documented rule's)" do
      # Funs cannot be unquoted: the reader is looked up at run time.
      {rel, name, reader} = List.keyfind(@other_formats, unquote(rel), 0)
      assert {:ok, records} = reader.(Corpus.read!(rel))
      expected = fixture(name)
      assert length(records) == length(expected) and records != []
      assert_answers(expected, [Record], Enum.map(records, &{&1}))
    end
  end

  # `records`: one tuple per record, the record as each of `modules` reads it.
  defp assert_answers(expected, modules, records) do
    mismatches =
      for {{index, answers}, forms} <- Enum.zip(expected, records),
          # Where pymarc's MARC-8 decoder failed (it drops the characters it cannot
          # decode: docs/editing-records.md), its text is wrong: compare the structure.
          view <- [if(answers[:pymarc_marc8_failures] > 0, do: &structure/1, else: & &1)],
          helper <- @helpers,
          # Generators, not filters: a nil answer must be compared, not skipped.
          want <- [view.(Keyword.fetch!(answers, helper))],
          {module, rec} <- Enum.zip(modules, Tuple.to_list(forms)),
          got <- [view.(answer(module, rec, helper))],
          got != want,
          do: {index, module, helper, got, want}

    assert mismatches == [],
           "#{length(mismatches)} answers differ, first: #{inspect(Enum.take(mismatches, 3))}"

    # pymarc's pubyear is the whole $c of the first 260 or 264 (2nd indicator 1); where a
    # record has only one such field and that $c has a year, the years agree.
    for {{index, answers}, forms} <- Enum.zip(expected, records),
        record = elem(forms, 0),
        [_one] <- [publication_fields(record)],
        raw when is_binary(raw) <- [answers[:pymarc_pubyear]],
        [year] <- [Regex.run(~r/[0-9]{4}/, raw)] do
      assert Record.pubyear(record) == year, "record #{index}: #{inspect(raw)}"
    end
  end

  defp publication_fields(record) do
    for %Field{tag: tag, ind2: ind2} = f <- record.fields,
        tag == "260" or (tag == "264" and ind2 == "1"),
        do: f
  end

  test "the fixtures cover what the helpers are for" do
    answers = for {rel, _} <- Corpus.good_files(), {_, a} <- expected(rel), do: a

    # Each helper gives a non-empty answer somewhere, and each check-digit outcome occurs.
    for helper <- @helpers do
      assert Enum.any?(answers, &(&1[helper] not in [nil, []])), "#{helper} is never answered"
    end

    outcomes = for a <- answers, {_, outcome} <- a[:isbns], uniq: true, do: outcome
    assert :valid in outcomes

    # Only one record is compared by structure alone.
    assert Enum.count(answers, &(&1[:pymarc_marc8_failures] > 0)) == 1
  end
end
