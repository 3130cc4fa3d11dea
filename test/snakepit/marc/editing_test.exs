defmodule Snakepit.Marc.EditingTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, LazyRecord, ParseError, Record}
  alias Snakepit.Test.Corpus

  @utf8 "00000nam a2200000 a 4500"
  @marc8 "00000nam  2200000 a 4500"

  defp record(fields, leader \\ @utf8), do: %Record{leader: leader, fields: fields}
  defp note(text), do: Field.data("500", [{"a", text}])

  describe "values are checked where they are put in, naming the value and the rule" do
    test "tags: three ASCII letters or digits; control fields 00X, data fields not" do
      for tag <- ["24", "2455", "2 5", "é45", "24\x1E", 245, nil] do
        e = assert_raise ArgumentError, fn -> Field.data(tag, [{"a", "x"}]) end
        assert e.message =~ "a tag must be three ASCII letters or digits, got: #{inspect(tag)}"
      end

      assert Field.data("ABC", [{"a", "x"}]).tag == "ABC"

      assert_raise ArgumentError, ~r/tags 000-009 are control fields.*"008"/, fn ->
        Field.data("008", [{"a", "x"}])
      end

      assert_raise ArgumentError, ~r/control field's tag .*"010"/, fn ->
        Field.control("010", "x")
      end
    end

    test "indicators and codes: exactly one ASCII byte, not a delimiter" do
      for bad <- ["", "10", "é", <<0xC3>>, "\x1F", "\x1E", "\x1D", nil, ?a] do
        assert_raise ArgumentError, ~r/an indicator must be exactly one ASCII byte/, fn ->
          Field.data("245", bad, " ", [])
        end

        assert_raise ArgumentError, ~r/a subfield code must be exactly one ASCII byte/, fn ->
          Field.data("245", [{bad, "x"}])
        end

        field = Field.data("245", [{"a", "x"}])

        assert_raise ArgumentError, fn -> Field.put_indicators(field, " ", bad) end
        assert_raise ArgumentError, fn -> Field.add_subfield(field, bad, "x") end
      end
    end

    test "values: no 0x1D, 0x1E or 0x1F, anywhere a value goes in" do
      for {byte, name} <- [
            {0x1D, "the record terminator"},
            {0x1E, "the field terminator"},
            {0x1F, "the subfield delimiter"}
          ] do
        bad = "Title" <> <<byte>> <> "zX"
        message = ~r/0x#{Integer.to_string(byte, 16)} \(#{name}\) at byte 5/
        field = Field.data("245", [{"a", "ok"}])

        assert_raise ArgumentError, message, fn -> Field.data("245", [{"a", bad}]) end
        assert_raise ArgumentError, message, fn -> Field.control("001", bad) end
        assert_raise ArgumentError, message, fn -> Field.add_subfield(field, "b", bad) end

        assert_raise ArgumentError, message, fn ->
          Field.update_subfields(field, "a", fn _ -> bad end)
        end

        assert_raise ArgumentError, message, fn ->
          record([field])
          |> Record.add_field(%Field{tag: "246", ind1: " ", ind2: " ", subfields: [{"a", bad}]})
        end

        assert_raise ArgumentError, ~r/a leader cannot hold/, fn ->
          Record.put_leader(record([field]), "00000nam a22" <> <<byte>> <> "0000 a 4500")
        end
      end
    end

    test "UTF-8: invalid bytes are refused in a UTF-8 record, kept in a MARC-8 one" do
      latin1 = Field.data("500", [{"a", "caf\xE9"}])
      message = ~r/UTF-8 \(leader\/09 = a\) but this 500 value is not valid UTF-8: "caf\\xE9"/

      assert_raise ArgumentError, message, fn -> Record.add_field(record([]), latin1) end
      assert_raise ArgumentError, message, fn -> Record.insert_field(record([]), 0, latin1) end

      assert_raise ArgumentError, message, fn ->
        record([note("x")]) |> Record.update_fields("500", fn _ -> latin1 end)
      end

      marc8 = Record.add_field(record([], @marc8), latin1)
      assert marc8.fields == [latin1]
      # Making the record UTF-8 checks what it already holds.
      assert_raise ArgumentError, message, fn -> Record.put_leader(marc8, @utf8) end
    end

    test "fields of the wrong shape are refused by the record editors" do
      for bad <- [
            %Field{tag: "001", value: "x", subfields: [{"a", "b"}]},
            %Field{tag: "001", value: "x", ind1: "1"},
            %Field{tag: "245", value: "x"},
            %Field{tag: "001", ind1: " ", ind2: " ", subfields: []},
            {"245", "x"}
          ] do
        assert_raise ArgumentError, fn -> Record.add_field(record([]), bad) end
        assert_raise ArgumentError, fn -> Record.add_ordered_field(record([]), bad) end
      end
    end

    test "updates through Access are checked too" do
      r = record([Field.data("245", [{"a", "Title"}])])
      assert put_in(r["245"]["a"], "New").fields == [Field.data("245", [{"a", "New"}])]

      assert_raise ArgumentError, ~r/0x1F \(the subfield delimiter\)/, fn ->
        put_in(r["245"]["a"], "T\x1FzX")
      end

      assert_raise ArgumentError, ~r/not valid UTF-8/, fn ->
        put_in(r["245"], Field.data("245", [{"a", "caf\xE9"}]))
      end
    end

    test "control fields have no subfields or indicators to edit" do
      control = Field.control("001", "x")

      assert_raise ArgumentError, ~r/field 001 is a control field/, fn ->
        Field.add_subfield(control, "a", "x")
      end

      assert_raise ArgumentError, ~r/control field/, fn ->
        Field.put_indicators(control, "1", "0")
      end

      assert_raise ArgumentError, ~r/control field/, fn ->
        Field.delete_subfields(control, "a")
      end
    end

    test "selectors: a tag (or code), a list of them or a predicate, nothing else" do
      assert_raise ArgumentError,
                   ~r/expected a tag, a list of tags or a one-argument predicate, got: :all/,
                   fn ->
                     Record.remove_fields(record([note("x")]), :all)
                   end

      assert_raise ArgumentError, ~r/a tag must be/, fn ->
        Record.remove_fields(record([]), "5")
      end

      assert_raise ArgumentError, ~r/expected a subfield code, a list of codes/, fn ->
        Field.delete_subfields(note("x"), 5)
      end
    end
  end

  describe "ordered and grouped insertion follow pymarc" do
    test "add_ordered_field: before the first greater tag; non-numeric tags at the end" do
      r = record([Field.control("001", "1"), note("x"), Field.data("650", [{"a", "s"}])])

      assert r |> Record.add_ordered_field(Field.data("100", [{"a", "a"}])) |> Record.tags() ==
               ["001", "100", "500", "650"]

      assert r |> Record.add_ordered_field(Field.data("999", [{"a", "a"}])) |> Record.tags() ==
               ["001", "500", "650", "999"]

      assert r |> Record.add_ordered_field(Field.data("500", [{"a", "b"}])) |> Record.tags() ==
               ["001", "500", "500", "650"]

      assert r |> Record.add_ordered_field(Field.data("FMT", [{"a", "b"}])) |> Record.tags() ==
               ["001", "500", "650", "FMT"]

      # A field goes before the first non-numeric tag.
      with_local = Record.add_field(r, Field.data("CAT", [{"a", "b"}]))

      assert with_local
             |> Record.add_ordered_field(Field.data("700", [{"a", "a"}]))
             |> Record.tags() ==
               ["001", "500", "650", "700", "CAT"]

      assert record([])
             |> Record.add_ordered_field([note("b"), Field.control("001", "1")])
             |> Record.tags() ==
               ["001", "500"]
    end

    test "add_grouped_field: after the last field of the same hundred" do
      r =
        record([
          Field.data("245", [{"a", "t"}]),
          Field.data("650", [{"a", "s"}]),
          Field.data("600", [{"a", "p"}]),
          Field.data("700", [{"a", "n"}])
        ])

      assert r |> Record.add_grouped_field(Field.data("610", [{"a", "c"}])) |> Record.tags() ==
               ["245", "650", "600", "610", "700"]

      assert r |> Record.add_grouped_field(Field.data("100", [{"a", "c"}])) |> Record.tags() ==
               ["100", "245", "650", "600", "700"]
    end
  end

  describe "a LazyRecord is edited as the Record it reads as" do
    setup do
      bytes = Corpus.read!("formats/pymarc_one.dat")
      [lazy] = Marc.parse!(bytes, records: :lazy)
      [record] = Marc.parse!(bytes)
      %{lazy: lazy, record: record}
    end

    test "every editor takes one and returns a Record", %{lazy: lazy, record: record} do
      edits = [
        &Record.add_field(&1, note("Lazy.")),
        &Record.add_ordered_field(&1, note("Lazy.")),
        &Record.add_grouped_field(&1, note("Lazy.")),
        &Record.insert_field(&1, 1, note("Lazy.")),
        &Record.remove_fields(&1, "650"),
        &Record.update_fields(&1, "245", fn f -> Field.put_indicators(f, "0", "0") end),
        &Record.put_leader(&1, "00000cam a2200000 a 4500")
      ]

      for edit <- edits do
        assert %Record{} = from_lazy = edit.(lazy)
        assert from_lazy == edit.(record)
      end

      assert %LazyRecord{} = lazy
    end

    test "anything else is refused" do
      assert_raise ArgumentError,
                   ~r/expected a %Snakepit.Marc.Record{} or a %Snakepit.Marc.LazyRecord{}/,
                   fn ->
                     Record.add_field(%{fields: []}, note("x"))
                   end
    end
  end

  describe "encode/1 refuses what the editors refuse, for records built as bare structs" do
    defp refused(record) do
      e = assert_raise ParseError, fn -> Marc.encode(record) end
      e.kind
    end

    test "each rule" do
      bare = fn tag, ind1, ind2, subfields ->
        %Field{tag: tag, ind1: ind1, ind2: ind2, subfields: subfields}
      end

      assert refused(record([bare.("24\x1E", " ", " ", [{"a", "x"}])])) == :invalid_value
      assert refused(record([bare.("245", "\x1F", " ", [{"a", "x"}])])) == :invalid_value
      assert refused(record([bare.("245", <<0xC3>>, " ", [{"a", "x"}])])) == :invalid_value
      assert refused(record([bare.("245", " ", " ", [{"\x1D", "x"}])])) == :invalid_value
      assert refused(record([bare.("245", " ", " ", [{"a", "T\x1FzX"}])])) == :invalid_value
      assert refused(record([%Field{tag: "001", value: "a\x1Eb"}])) == :invalid_value
      assert refused(record([bare.("245", " ", " ", [{"a", "caf\xE9"}])])) == :invalid_value
      assert refused(record([%Field{tag: "245", value: "x"}])) == :invalid_value
      assert refused(record([])) == :no_fields
    end

    test "a field over 9,999 bytes or a record over 99,999 bytes is too large" do
      # Each field is valid on its own; the editors do not limit sizes, the encoder does.
      big_field = Field.data("500", [{"a", String.duplicate("x", 10_000)}])
      assert refused(record([big_field])) == :too_large

      # 11 fields of 9,095 bytes (2 indicators, $a, 9,090 bytes, terminator) and their
      # directory: 100,203 bytes with the leader and the record terminator.
      fields = for _ <- 1..11, do: note(String.duplicate("y", 9_090))
      big = Record.add_field(record([]), fields)
      assert refused(big) == :too_large

      # 99,999 bytes exactly encodes and reads back.
      fits =
        Record.add_field(
          record([]),
          Enum.take(fields, 10) ++ [note(String.duplicate("z", 8_886))]
        )

      assert fits |> Marc.encode() |> IO.iodata_to_binary() |> byte_size() == 99_999
      assert {:ok, [back]} = fits |> Marc.encode() |> IO.iodata_to_binary() |> Marc.parse()
      assert back.fields == fits.fields
    end
  end
end
