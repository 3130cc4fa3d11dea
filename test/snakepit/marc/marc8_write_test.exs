defmodule Snakepit.Marc.Marc8WriteTest do
  # Writing MARC-8 (encode/2, iso_stream/2, mix snakepit.convert --to-encoding marc8), the
  # unrepresentable and oversize policies, and reading NCRs back. The byte-level rules are
  # tested in native/snakepit_core/tests/marc8_write.rs; the agreement of other decoders
  # with our output in native/snakepit_core/tests/marc8_oracles.rs.
  # Not async: its mix task tests capture :stderr, which is global (Snakepit.Test.MixTask).
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, ParseError, Record}
  alias Snakepit.Test.Corpus

  defp record(subfields) do
    %Record{
      leader: "00000nam a2200000 a 4500",
      fields: [Field.control("001", "x1"), Field.data("245", "1", "0", subfields)]
    }
  end

  defp marc8(records, opts \\ []),
    do: records |> Marc.encode([encoding: :marc8] ++ opts) |> IO.iodata_to_binary()

  defp nfc(text), do: :unicode.characters_to_nfc_binary(text)

  test "leader/09 becomes blank, lengths are recomputed, and the text reads back" do
    original = record([{"a", "Война и мир /"}, {"c", "Tolstoĭ ; 战争与和平 · Ελληνικά"}])
    bytes = marc8(original)
    assert binary_part(bytes, 9, 1) == " "
    assert binary_part(bytes, 0, 5) == String.pad_leading("#{byte_size(bytes)}", 5, "0")
    assert bytes =~ "\e(N"
    assert bytes =~ "\e$1"

    {:ok, [back]} = Marc.parse(bytes, normalize: :nfc)
    assert binary_part(back.leader, 9, 1) == "a"
    assert back["245"]["a"] == "Война и мир /"
    assert back["245"]["c"] == nfc("Tolstoĭ ; 战争与和平 · Ελληνικά")
  end

  test "MARC-8 records are written as they are" do
    raw = Corpus.read!("marc8/pymarc_marc8.dat")
    {:ok, [record]} = Marc.parse(raw, to_unicode: false)
    assert marc8(record) == raw
  end

  test "every record of the real files reads back equal after NFC" do
    for file <- ~w(real/loc_bibliographic.mrc real/loc_edge_cases.mrc marc8/pymarc_marc.dat) do
      {:ok, records} = Marc.parse(Corpus.read!(file), mode: :skip)
      {:ok, back} = Marc.parse(marc8(records), normalize: :nfc, decode_ncrs: true)
      assert length(back) == length(records)

      for {r, b} <- Enum.zip(records, back), {f, g} <- Enum.zip(r.fields, b.fields) do
        assert {f.tag, f.ind1, f.ind2} == {g.tag, g.ind1, g.ind2}
        assert nfc_values(f) == nfc_values(g), "#{file} #{f.tag}"
      end
    end
  end

  defp nfc_values(%Field{value: value}) when is_binary(value), do: nfc(value)

  defp nfc_values(%Field{subfields: subfields}),
    do: for({code, value} <- subfields, do: {code, halves(nfc(value))})

  # U+0361 before a second base is written as ANSEL's halves, read back as U+FE20/U+FE21
  # (docs/formats.md, "Writing MARC-8").
  defp halves(text), do: String.replace(text, ~r/\x{0361}(\X)/u, "\u{FE20}\\1\u{FE21}")

  describe "unrepresentable characters" do
    test ":ncr (the default) writes &#xHHHH; and decode_ncrs: true reads it back" do
      bytes = marc8(record([{"a", "Snow ☃ & ice"}]))
      assert bytes =~ "Snow &#x2603; & ice"
      {:ok, [kept]} = Marc.parse(bytes)
      assert kept["245"]["a"] == "Snow &#x2603; & ice"
      {:ok, [back]} = Marc.parse(bytes, decode_ncrs: true)
      assert back["245"]["a"] == "Snow ☃ & ice"
    end

    test "decode_ncrs applies to MARC-8 records only, in every reader" do
      utf8 = record([{"a", "&#x2603;"}]) |> Marc.encode() |> IO.iodata_to_binary()
      assert {:ok, [r]} = Marc.parse(utf8, decode_ncrs: true)
      assert r["245"]["a"] == "&#x2603;"

      bytes = marc8(record([{"a", "☃"}]))
      [r] = bytes |> Marc.stream(decode_ncrs: true) |> Enum.to_list()
      assert r["245"]["a"] == "☃"
    end

    test ":replace writes the fill character" do
      bytes = marc8(record([{"a", "Snow ☃"}]), unrepresentable: :replace)
      assert bytes =~ "Snow |"
    end

    test ":error makes the record bad; mode: :skip leaves it out" do
      bad = record([{"a", "ok"}, {"b", "Snow ☃"}])
      good = record([{"a", "fine"}])

      error = assert_raise ParseError, fn -> marc8([good, bad], unrepresentable: :error) end
      assert error.kind == :invalid_value
      assert error.record_index == 1
      assert error.detail =~ "field 1 (245) subfield 1 (code $b)"
      assert error.detail =~ "U+2603"

      bytes = marc8([good, bad, good], unrepresentable: :error, mode: :skip)
      assert Marc.count(bytes) == %{records: 2, errors: 0}
    end
  end

  describe "oversize" do
    defp big(n_fields, size),
      do: %Record{
        leader: "00000nam a2200000 a 4500",
        fields: [
          Field.control("001", "big")
          | for(_ <- 1..n_fields, do: Field.data("500", [{"a", String.duplicate("x", size)}]))
        ]
      }

    test ":error (the default) raises :too_large naming the field" do
      error = assert_raise ParseError, fn -> Marc.encode(big(1, 12_000)) end
      assert error.kind == :too_large
      assert error.detail =~ "field 1 (500) would be 12005 bytes; ISO 2709 allows 9999"
    end

    test ":zero_length writes 0000 and 00000, and the record reads back" do
      field = big(1, 12_000) |> Marc.encode(oversize: :zero_length) |> IO.iodata_to_binary()
      assert binary_part(field, 24 + 12 + 3, 4) == "0000"
      assert {:ok, [back]} = Marc.parse(field)
      assert back["500"]["a"] == String.duplicate("x", 12_000)

      record = big(13, 9_000) |> Marc.encode(oversize: :zero_length) |> IO.iodata_to_binary()
      assert byte_size(record) > 99_999
      assert binary_part(record, 0, 5) == "00000"
      assert {:ok, [back, again]} = Marc.parse(record <> record)
      assert length(back.fields) == 14
      assert back == again
    end

    test "iso_stream/2 takes the same options" do
      chunks = [big(13, 9_000), big(1, 10)] |> Marc.iso_stream(oversize: :zero_length)
      assert chunks |> Enum.join() |> Marc.count() == %{records: 2, errors: 0}

      assert [big(13, 9_000), big(1, 10)]
             |> Marc.iso_stream(mode: :skip)
             |> Enum.join()
             |> Marc.count() == %{records: 1, errors: 0}
    end
  end

  describe "mix snakepit.convert --to-encoding marc8" do
    @tag :tmp_dir
    test "writes MARC-8 that reads back to the same records", %{tmp_dir: dir} do
      out = Path.join(dir, "out.mrc")
      input = Corpus.path("real/loc_bibliographic.mrc")

      assert {:ok, stdout, _} =
               Snakepit.Test.MixTask.run(Mix.Tasks.Snakepit.Convert, [
                 input,
                 out,
                 "--to-encoding",
                 "marc8"
               ])

      assert stdout =~ "records written"
      {:ok, original} = Marc.parse(File.read!(input), normalize: :nfc)
      bytes = File.read!(out)
      {:ok, raw} = Marc.parse(bytes, to_unicode: false)
      assert Enum.all?(raw, &(binary_part(&1.leader, 9, 1) == " "))
      {:ok, back} = Marc.parse(bytes, normalize: :nfc, decode_ncrs: true)
      titles = fn records -> Enum.map(records, &halves(nfc(&1["245"]["a"]))) end
      assert titles.(back) == titles.(original)
    end

    @tag :tmp_dir
    test "records it cannot write are bad records, as --mode says", %{tmp_dir: dir} do
      input = Path.join(dir, "in.mrc")

      big = %Record{
        leader: "00000nam a2200000 a 4500",
        fields: [Field.data("500", [{"a", String.duplicate("x", 12_000)}])]
      }

      File.write!(input, [
        Marc.encode(record([{"a", "ok"}])),
        Marc.encode(big, oversize: :zero_length)
      ])

      out = Path.join(dir, "out.mrc")

      marc8 = ["--to-encoding", "marc8"]

      assert {{:error, message}, _, _} =
               Snakepit.Test.MixTask.run(Mix.Tasks.Snakepit.Convert, [input, out | marc8])

      assert message =~ "too_large"
      refute File.exists?(out)

      for mode <- ~w(skip permissive) do
        assert {:ok, stdout, stderr} =
                 Snakepit.Test.MixTask.run(
                   Mix.Tasks.Snakepit.Convert,
                   [input, out, "--mode", mode | marc8]
                 )

        assert stdout =~ "1 record written, 1 bad record skipped"
        assert stdout =~ "too_large: 1"
        if mode == "permissive", do: assert(stderr =~ "bad record: ")
      end

      assert Marc.count(File.read!(out)) == %{records: 1, errors: 0}

      assert {:ok, stdout, _} =
               Snakepit.Test.MixTask.run(
                 Mix.Tasks.Snakepit.Convert,
                 [input, out, "--oversize", "zero_length" | marc8]
               )

      assert stdout =~ "2 records written"

      assert {{:error, message}, _, _} =
               Snakepit.Test.MixTask.run(Mix.Tasks.Snakepit.Convert, [
                 input,
                 Path.join(dir, "out.json"),
                 "--to-encoding",
                 "marc8"
               ])

      assert message =~ "ISO 2709 output only"
    end
  end
end
