defmodule Snakepit.Marc.RecoveryConformanceTest do
  # The measure of recovery (issue 14): with every repair option on, Snakepit recovers every
  # record that marc4j's MarcPermissiveStreamReader or pymarc (utf8_handling="replace")
  # recovers from the corpus, with equal field values (after NFC normalisation: the readers
  # compose MARC-8 diacritics differently), and lists a repair for each record it had to
  # change. The oracles' outputs are committed (scripts/gen_recovery_fixtures.sh made them);
  # the exceptions, each with its reason, are the table in the Recovery section of
  # docs/formats.md, and each must still hold, so the list cannot go stale.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, Record}
  alias Snakepit.Test.Corpus

  @fixtures Path.expand("../../fixtures/recovery", __DIR__)
  @repairs [mode: :permissive, utf8_errors: :replace, encoding: :auto, repair_directory: true]

  # {file, oracle, index of the record in the oracle's output} => why it differs.
  @exceptions %{
    {"bad/pymarc_bad_indicator.dat", :marc4j, 0} =>
      "marc4j takes a subfield delimiter in the indicator position for an indicator",
    {"bad/pymarc_bad_subfield_code.dat", :marc4j, 0} =>
      "marc4j keeps a subfield code's first byte (half of `á`) as the code",
    {"bad/pymarc_bad_subfield_code.dat", :pymarc, 0} =>
      "pymarc trusts the drifted directory offsets: values lose their last byte",
    {"bad/pymarc_utf8_invalid.mrc", :marc4j, 0} =>
      "marc4j keeps a subfield code's first byte (half of U+FFFD) as the code",
    {"bad/testbed_embedded_terminators.mrc", :marc4j, 1} =>
      "a 0x1E inside a value the directory counts: marc4j cuts the value there",
    {"bad/testbed_embedded_terminators.mrc", :pymarc, 1} =>
      "a 0x1E inside a value the directory counts: pymarc leaves the byte out",
    {"bad/testbed_bad_directory.mrc", :pymarc, 0} =>
      "two directory entries claim the same bytes: refused (:overlapping_fields)",
    {"bad/testbed_bad_directory.mrc", :pymarc, 1} =>
      "a start past the data: pymarc reads an empty 001, the rebuilt directory its bytes",
    {"marc8/rustmarc_marc8_sample.mrc", :pymarc, 0} =>
      "pymarc's MARC-8 decoder misplaces combining marks; marc4j reads as Snakepit does"
  }

  # Each oracle's output is read once (a second or two each).
  setup_all do
    read = fn name ->
      {:ok, terms} = :file.consult(Path.join(@fixtures, "#{name}.terms"))
      terms
    end

    %{oracles: %{"marc4j" => read.("marc4j"), "pymarc" => read.("pymarc")}}
  end

  defp nfc(value) do
    case :unicode.characters_to_nfc_binary(value) do
      text when is_binary(text) -> text
      _ -> value
    end
  end

  defp fields(%Record{fields: fields}), do: Enum.map(fields, &field/1)

  defp field(%Field{value: value, tag: tag}) when is_binary(value), do: {tag, nfc(value)}

  defp field(%Field{tag: tag, ind1: i1, ind2: i2, subfields: subfields}),
    do: {tag, i1, i2, Enum.map(subfields, fn {code, value} -> {code, nfc(value)} end)}

  defp oracle_fields(record) do
    Enum.map(record, fn
      {tag, value} -> {tag, nfc(value)}
      {tag, i1, i2, subs} -> {tag, i1, i2, Enum.map(subs, fn {c, v} -> {c, nfc(v)} end)}
    end)
  end

  defp recovered(file) do
    {:ok, items} = Marc.parse(Corpus.read!(file), @repairs)
    for %Record{} = record <- items, do: record
  end

  for {name, reader} <- [{"marc4j", :marc4j}, {"pymarc", :pymarc}] do
    test "every record #{name} recovers, Snakepit recovers with equal field values", %{
      oracles: oracles
    } do
      reader = unquote(reader)

      for {file, ^reader, records} <- oracles[unquote(name)] do
        ours = file |> recovered() |> Enum.map(&fields/1)

        for {record, index} <- Enum.with_index(records) do
          found = oracle_fields(record) in ours

          case Map.fetch(@exceptions, {file, reader, index}) do
            {:ok, reason} ->
              refute found,
                     "#{file}: #{reader}'s record #{index} is read alike now: drop " <>
                       "the exception (#{reason}) here and in docs/formats.md"

            :error ->
              assert found,
                     "#{file}: #{reader}'s record #{index} is not among Snakepit's: " <>
                       inspect(record, limit: 12, printable_limit: 120)
          end
        end
      end
    end
  end

  test "the oracles cover every bad, real, MARC-8 and ISO 2709 formats file", %{oracles: oracles} do
    files =
      for dir <- ["bad", "real", "marc8", "formats"],
          path <- Path.wildcard(Corpus.path("#{dir}/*")),
          Path.extname(path) in [".mrc", ".dat"],
          do: "#{dir}/#{Path.basename(path)}"

    for name <- ["marc4j", "pymarc"] do
      assert Enum.sort(for {file, _, _} <- oracles[name], do: file) == Enum.sort(files)
    end
  end

  test "a record read differently than by default lists its repairs", %{oracles: oracles} do
    for {file, _, _} <- oracles["pymarc"] do
      {:ok, plain} = Marc.parse(Corpus.read!(file), mode: :permissive)
      plain = for %Record{} = r <- plain, do: fields(r)

      for record <- recovered(file) do
        assert record.repairs != [] or fields(record) in plain,
               "#{file}: a record changed by the repairs lists none: #{inspect(record, limit: 6)}"
      end
    end
  end

  test "the repairs make pymarc_utf8_invalid.mrc and testbed_bad_directory.mrc readable" do
    assert [%Record{repairs: [%Marc.Repair{kind: :subfield_code, tag: "260"} = repair]} = r] =
             recovered("bad/pymarc_utf8_invalid.mrc")

    assert r["260"]["b"] == "bAssociation of Teacher Educators]"
    bytes = Corpus.read!("bad/pymarc_utf8_invalid.mrc")
    assert binary_part(bytes, repair.byte_offset, 3) == "\uFFFD"

    assert [%Record{repairs: [%Marc.Repair{kind: :directory, tag: nil}]} = rebuilt] =
             recovered("bad/testbed_bad_directory.mrc")

    assert rebuilt["001"].value == "test"
  end

  test "the docs list the same exceptions" do
    doc = File.read!(Path.expand("../../../docs/formats.md", __DIR__))

    for {{file, reader, index}, reason} <- @exceptions do
      assert doc =~ "| #{file} | #{reader} | #{index} | #{reason} |",
             "docs/formats.md lacks the exception row for #{file} (#{reader}, #{index})"
    end
  end
end
