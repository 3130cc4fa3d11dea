defmodule Snakepit.Marc.Marc8Test do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.ParseError
  alias Snakepit.Test.Corpus

  test "MARC-8 records read as UTF-8 equal to pymarc's conversion (NFC, as pymarc applies)" do
    {:ok, [converted]} = Marc.parse(Corpus.read!("marc8/pymarc_marc8.dat"), normalize: :nfc)
    {:ok, [expected]} = Marc.parse(Corpus.read!("marc8/pymarc_marc8-to-unicode.dat"))
    assert converted == expected
    assert binary_part(converted.leader, 9, 1) == "a"

    assert Enum.all?(
             converted.fields,
             &String.valid?(&1.value || Enum.map_join(&1.subfields, "", fn {_, v} -> v end))
           )
  end

  test "streams convert too, and converted records re-encode with correct lengths" do
    path = Corpus.path("marc8/pymarc_marc.dat")
    records = path |> Marc.stream() |> Enum.to_list()
    assert length(records) == 20
    assert Enum.all?(records, &(binary_part(&1.leader, 9, 1) == "a"))
    encoded = records |> Marc.encode() |> IO.iodata_to_binary()
    assert {:ok, ^records} = Marc.parse(encoded)
  end

  test "to_unicode: false keeps the MARC-8 bytes" do
    bytes = Corpus.read!("marc8/pymarc_marc8.dat")
    {:ok, [raw]} = Marc.parse(bytes, to_unicode: false)
    assert binary_part(raw.leader, 9, 1) == " "
    assert IO.iodata_to_binary(Marc.encode(raw)) == bytes
  end

  test "a bad MARC-8 byte follows the mode, or is replaced or dropped on request" do
    record =
      IO.iodata_to_binary(
        Marc.encode(%Marc.Record{
          leader: "00000nam  2200000   4500",
          fields: [Marc.Field.data("245", [{"a", <<"ok ", 0x1B, 0x28, 0x21, "x">>}])]
        })
      )

    assert {:error, %ParseError{kind: :invalid_marc8, record_index: 0}} = Marc.parse(record)

    assert {:ok, [{:error, %ParseError{kind: :invalid_marc8}}]} =
             Marc.parse(record, mode: :permissive)

    assert {:ok, [], %{skipped: 1}} = Marc.parse(record, mode: :skip, report: true)
    assert {:ok, [r]} = Marc.parse(record, marc8_errors: :replace)
    assert r["245"]["a"] =~ "\uFFFD"
    assert {:ok, [r]} = Marc.parse(record, marc8_errors: :drop)
    refute r["245"]["a"] =~ "\uFFFD"
    assert r["245"]["a"] =~ "ok"
  end
end
