defmodule Snakepit.Marc.EncodeInjectionTest do
  # Issue #10, "Keep the promises under attack": delimiter injection and records that
  # encode/1 wrote although parse/2 rejects them, or wrote with data lost.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, Formats, LazyRecord, ParseError, Record}

  @leader "00000nam a2200000 a 4500"

  defp record(fields, leader \\ @leader), do: %Record{leader: leader, fields: fields}

  # Fields built as bare structs: the constructors refuse these values (FieldCheck), but
  # encode/1 must refuse them too, whoever built the struct.
  defp bare_control(tag, value), do: %Field{tag: tag, value: value}

  defp bare_data(tag, ind1 \\ " ", ind2 \\ " ", subfields),
    do: %Field{tag: tag, ind1: ind1, ind2: ind2, subfields: subfields}

  # Every ISO 2709 writer: encode/1 and the convert task's batched native stream.
  defp iso_writers(record) do
    [
      fn -> record |> Marc.encode() |> IO.iodata_to_binary() end,
      fn -> [record] |> Formats.iso_stream() |> Enum.join() end
    ]
  end

  defp all_writers(record) do
    iso_writers(record) ++ [fn -> Marc.to_json(record) end, fn -> Marc.to_xml(record) end]
  end

  defp assert_refused(record, kind, detail) do
    for write <- all_writers(record) do
      e = assert_raise ParseError, write
      assert e.kind == kind
      assert e.record_index == 0
      assert e.detail =~ detail
    end
  end

  describe "delimiter bytes" do
    test "in a subfield value are refused by every writer, naming field, code and byte" do
      injected = record([bare_data("245", "1", "0", [{"a", "Title\x1FzINJECTED"}])])

      assert_refused(
        injected,
        :invalid_value,
        ~r/field 0 \(245\) subfield 0 \(code \$a\): byte 5 of the value is 0x1F/
      )

      for byte <- [0x1D, 0x1E] do
        assert_refused(
          record([bare_control("001", "id" <> <<byte>>)]),
          :invalid_value,
          "byte 2 of the value is 0x#{Integer.to_string(byte, 16)}"
        )
      end
    end

    test "as indicators, subfield codes or in the leader are refused" do
      assert_refused(
        record([bare_data("245", "\x1F", "0", [{"a", "x"}])]),
        :invalid_value,
        "ind1 is 0x1F"
      )

      assert_refused(
        record([bare_data("245", "1", "\x1D", [{"a", "x"}])]),
        :invalid_value,
        "ind2 is 0x1D"
      )

      assert_refused(
        record([bare_data("245", "1", "0", [{"\x1E", "x"}])]),
        :invalid_value,
        "subfield code is 0x1E"
      )

      assert_refused(
        record([bare_control("001", "1")], "00000nam \x1D2200000 a 4500"),
        :invalid_value,
        "leader/09 is 0x1D"
      )
    end

    test "from MARC-in-JSON (\\u001f) and MARCXML (&#31;) are refused on read" do
      for {byte, escaped} <- [{0x1D, "001d"}, {0x1E, "001e"}, {0x1F, "001f"}] do
        json =
          ~s({"leader":"#{@leader}","fields":[{"245":{"ind1":"1","ind2":"0","subfields":[{"a":"T\\u#{escaped}zX"}]}}]})

        assert {:error, %ParseError{kind: :invalid_value, record_index: 0} = e} =
                 Marc.from_json(json)

        assert e.detail =~ "0x#{Integer.to_string(byte, 16)}"

        xml =
          ~s(<record><leader>#{@leader}</leader><datafield tag="245" ind1="1" ind2="0"><subfield code="a">T&##{byte};zX</subfield></datafield></record>)

        assert {:error, %ParseError{kind: :invalid_value, record_index: 0}} = Marc.from_xml(xml)
      end

      json_ind =
        ~s({"leader":"#{@leader}","fields":[{"245":{"ind1":"\\u001f","ind2":"0","subfields":[]}}]})

      assert {:error, %ParseError{kind: :invalid_value}} = Marc.from_json(json_ind)
    end

    test "an XML value cannot smuggle a whole record into an ISO 2709 stream" do
      # A value ending one record and starting a fabricated one: refused on read, so it is
      # never written (it used to come back from the stream as a second, good record).
      fake = "00026nam a2200025 a 4500\x1E\x1D"
      escaped = fake |> String.replace("\x1E", "&#30;") |> String.replace("\x1D", "&#29;")

      xml =
        ~s(<collection><record><leader>#{@leader}</leader><controlfield tag="001">a&#29;#{escaped}</controlfield></record></collection>)

      assert {:ok, [{:error, %ParseError{kind: :invalid_value}}]} =
               Marc.from_xml(xml, mode: :permissive)
    end
  end

  describe "encode/1 never writes what parse/2 rejects or drops data" do
    test "an integer control-field value is an error, not an empty data field" do
      for write <- iso_writers(record([%Field{tag: "001", value: 5}])) do
        assert_raise ArgumentError, ~r/\(001\) the value must be a binary or nil, got: 5/, write
      end
    end

    test "a field with both a value and subfields (or indicators) is an error" do
      both = record([%Field{tag: "001", value: "x", subfields: [{"a", "lost"}]}])

      for write <- all_writers(both) do
        assert_raise ArgumentError, ~r/\(001\) a field with a binary value .* no subfields/, write
      end

      with_ind = record([%Field{tag: "001", value: "x", ind1: "1"}])

      for write <- all_writers(with_ind) do
        assert_raise ArgumentError, ~r/\(001\) a control field .* has no ind1/, write
      end
    end

    test "a control field needs a tag 001-009, and tags 001-009 are control fields" do
      assert_refused(record([bare_control("ABC", "x")]), :invalid_value, "field 0 (ABC)")

      assert_refused(
        record([bare_data("001", [{"a", "x"}])]),
        :invalid_value,
        "tags 001-009 are control fields"
      )
    end

    test "tags are three printable ASCII bytes" do
      # "é1" is three bytes; "2\x1E5" holds a field terminator.
      assert_refused(
        record([bare_data("é1", [{"a", "x"}])]),
        :invalid_value,
        "byte 0 of the tag is 0xC3"
      )

      assert_refused(
        record([bare_data("2\x1E5", [{"a", "x"}])]),
        :invalid_value,
        "byte 1 of the tag is 0x1E"
      )
    end

    test "invalid UTF-8 under leader/09 a is refused; in a MARC-8 record it is kept" do
      assert_refused(
        record([bare_data("245", [{"a", "caf\xE9"}])]),
        :invalid_value,
        "byte 3 of the value (0xE9) is not valid UTF-8"
      )

      marc8 = record([bare_data("245", " ", " ", [{"a", "caf\xE9"}])], "00000nam  2200000 a 4500")

      bytes = marc8 |> Marc.encode() |> IO.iodata_to_binary()
      assert {:ok, [%Record{fields: fields}]} = Marc.parse(bytes, to_unicode: false)
      assert fields == marc8.fields
    end

    test "an empty field list is refused" do
      assert_refused(record([]), :no_fields, "no fields")
    end

    test "a LazyRecord's bytes are checked, not returned as they are" do
      e = assert_raise ParseError, fn -> Marc.encode(%LazyRecord{bytes: "anything"}) end
      assert e.kind == :truncated_leader
      assert e.detail =~ "LazyRecord"

      assert_raise ArgumentError, ~r/LazyRecord's bytes must be a binary/, fn ->
        Marc.encode(%LazyRecord{bytes: 42})
      end

      [good] = Marc.parse!(File.read!("../shared/corpus/formats/pymarc_one.dat"), records: :lazy)
      assert Marc.encode(good) == good.bytes
      # Records in a list are named by their place in it.
      e = assert_raise ParseError, fn -> Marc.encode([good, good, %LazyRecord{bytes: ""}]) end
      assert e.record_index == 2
    end

    test "records in a list are named by their index, across batches" do
      good = record([bare_control("001", "1")])
      bad = record([bare_control("001", "\x1F")])
      e = assert_raise ParseError, fn -> Marc.encode(List.duplicate(good, 250) ++ [bad]) end
      assert e.record_index == 250

      assert_raise ArgumentError, ~r/expected a %Snakepit.Marc.Record/, fn ->
        Marc.encode(:not_a_record)
      end
    end
  end

  describe "MARCXML" do
    test "from_xml(\"hello\") is an error, not an empty list" do
      assert {:error, %ParseError{kind: :invalid_xml, byte_offset: 0} = e} =
               Marc.from_xml("hello")

      assert e.detail =~ "not an XML document"
      assert {:error, %ParseError{kind: :invalid_xml}} = Marc.from_xml("<collection/>trailing")
      assert {:ok, []} = Marc.from_xml("<collection/>\n")
    end

    test "characters XML 1.0 cannot hold are refused by the XML writer, not replaced" do
      ctl = record([bare_data("245", [{"a", "bell\x07"}])])
      e = assert_raise ParseError, fn -> Marc.to_xml(ctl) end
      assert e.kind == :invalid_value
      assert e.detail =~ "field 0 (245) subfield 0 (code $a): byte 4 is U+0007"
      # JSON carries it, and reads it back.
      assert {:ok, [back]} = Marc.from_json(Marc.to_json(ctl))
      assert back["245"]["a"] == "bell\x07"

      e = assert_raise ParseError, fn -> [ctl] |> Marc.xml_stream() |> Enum.to_list() end
      assert e.record_index == 0
    end
  end
end
