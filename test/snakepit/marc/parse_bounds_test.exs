defmodule Snakepit.Marc.ParseBoundsTest do
  # Issue #10: what native code builds is bounded by the input, and what it builds on a
  # normal scheduler is bounded by that scheduler's budget.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, LazyRecord, Options, ParseError, Record}
  alias Snakepit.Native

  # The issue's record: 99,989 bytes whose 7,497 directory entries all point at the same
  # 9,998-byte field of 4,998 subfields (37.5 M subfield terms if each entry were built).
  defp directory_bomb(coding, entries \\ 7_497, subfields \\ 4_998) do
    base = 24 + 12 * entries + 1
    field = "10" <> String.duplicate("\x1Fa", subfields) <> "\x1E"
    total = base + byte_size(field) + 1
    entry = "245" <> digits(byte_size(field), 4) <> "00000"

    digits(total, 5) <>
      "nam " <>
      coding <>
      "22" <>
      digits(base, 5) <>
      "   4500" <> String.duplicate(entry, entries) <> "\x1E" <> field <> "\x1D"
  end

  defp digits(n, width), do: n |> Integer.to_string() |> String.pad_leading(width, "0")

  defp light(data, opts),
    do: Native.parse_binary_light(data, Options.validate!(opts, :read), 0, 0)

  test "the directory bomb is one typed error on every path, and nothing is built" do
    for coding <- ["a", " "] do
      bomb = directory_bomb(coding)
      assert byte_size(bomb) == 99_989
      # The second directory entry claims the bytes the first one owns.
      assert {:error, %ParseError{kind: :overlapping_fields, record_index: 0, byte_offset: 36}} =
               Marc.parse(bomb)

      assert {:ok, [{:error, %ParseError{kind: :overlapping_fields}}]} =
               Marc.parse(bomb, mode: :permissive)

      assert {:ok, [], %{skipped: 1}} = Marc.parse(bomb, mode: :skip, report: true)

      # The normal-scheduler path declines what its budget could not build (it counts the
      # delimiters before parsing)...
      assert :dirty = light(bomb, mode: :permissive)

      # ...and a bomb within its budget is the same one typed error there.
      assert {:ok, [{:error, %ParseError{kind: :overlapping_fields}}], 0} =
               light(directory_bomb(coding, 1_000, 1_000), mode: :permissive)

      assert Marc.count(bomb) == %{records: 0, errors: 1}
      assert [%ParseError{kind: :overlapping_fields}] = Marc.validate(bomb)

      for source <- [{:binary, bomb}, [bomb]], records <- [:struct, :lazy] do
        assert [{:error, %ParseError{kind: :overlapping_fields}}] =
                 source |> Marc.stream(mode: :permissive, records: records) |> Enum.to_list()
      end

      lazy = %LazyRecord{bytes: bomb}

      small = directory_bomb(coding, 1_000, 1_000)

      for op <- [:fields, :values, :record] do
        # Declined on the normal scheduler (over its budget), the typed error on a dirty one.
        assert :dirty = Native.lazy(op, bomb, nil)
        assert {:error, %ParseError{kind: :overlapping_fields}} = Native.lazy_dirty(op, bomb, nil)
        assert {:error, %ParseError{kind: :overlapping_fields}} = Native.lazy(op, small, nil)
      end

      assert_raise ArgumentError, ~r/overlapping_fields/, fn -> LazyRecord.fields(lazy) end
      # Writers refuse a record they cannot write with its typed error.
      for write <- [&Marc.to_xml/1, &Marc.to_json/1, &Marc.encode/1] do
        assert %ParseError{kind: :overlapping_fields} = catch_error(write.([lazy]))
      end
    end
  end

  test "a run of record terminators is a few garbage errors, not one per byte" do
    run = :binary.copy(<<0x1D>>, 262_144)
    assert {:ok, errors} = Marc.parse(run, mode: :permissive)
    assert length(errors) <= 3
    assert Enum.all?(errors, &match?({:error, %ParseError{kind: :garbage}}, &1))
    assert [%ParseError{kind: :garbage, byte_offset: 0} | _] = Marc.validate(run)
    assert Marc.scan(run) == []
  end

  # A leader and a record terminator: 25 bytes that frame as a record with no directory.
  @broken "00025nam  2200025   4500\x1D"

  test "permissive error terms count against the normal scheduler's budget" do
    data = :binary.copy(@broken, 10_000)
    # 10,000 errors and no delimiter: too much to build on a normal scheduler.
    assert light(data, mode: :permissive) == :dirty
    assert {:ok, items} = Marc.parse(data, mode: :permissive)
    assert length(items) == 10_000
    assert Enum.all?(items, &match?({:error, %ParseError{kind: :invalid_directory_length}}, &1))
    # A few are built in place.
    assert {:ok, [_, _, _], 0} = light(:binary.copy(@broken, 3), mode: :permissive)
  end

  test "validate lists at most 10,000 errors and then says how many it left out" do
    data = :binary.copy(@broken, 12_345)
    errors = Marc.validate(data)
    assert length(errors) == 10_001
    assert Enum.all?(Enum.take(errors, 10_000), &(&1.kind == :invalid_directory_length))

    assert %ParseError{kind: :too_many_errors, record_index: 10_000, byte_offset: 250_024} =
             summary = List.last(errors)

    assert summary.detail =~ "2345 more errors"
  end

  test "LazyRecord accessors build on the caller's scheduler only what its budget allows" do
    fields =
      for i <- 1..40, do: Field.data("650", for(j <- 1..500, do: {"a", "#{rem(i + j, 10)}"}))

    record = %Record{leader: "00000nam a2200000 a 4500", fields: fields}
    bytes = IO.iodata_to_binary(Marc.encode(record))
    assert byte_size(bytes) < 100_000
    # 20,000 subfields: more than a normal scheduler builds at once.
    assert Native.lazy(:fields, bytes, nil) == :dirty
    assert LazyRecord.fields(%LazyRecord{bytes: bytes}) == fields
  end

  # ANSEL 0xC1 is U+2113 (three bytes in UTF-8).
  defp marc8_record(fields, len) do
    value = "10\x1Fa" <> :binary.copy(<<0xC1>>, len)
    field_len = byte_size(value) + 1
    base = 24 + 12 * fields + 1
    total = base + fields * field_len + 1

    directory =
      for i <- 0..(fields - 1),
          into: "",
          do: "245" <> digits(field_len, 4) <> digits(i * field_len, 5)

    digits(total, 5) <>
      "nam  22" <>
      digits(base, 5) <>
      "   4500" <> directory <> "\x1E" <> String.duplicate(value <> "\x1E", fields) <> "\x1D"
  end

  test "MARC-8 text that outgrows ISO 2709's limits once converted is kept" do
    for {fields, len} <- [{1, 4_500}, {10, 9_000}] do
      input = marc8_record(fields, len)
      want = String.duplicate("ℓ", len)

      assert {:ok, [%Record{fields: converted} = record]} = Marc.parse(input)
      assert length(converted) == fields
      assert Enum.all?(converted, &(&1.subfields == [{"a", want}]))

      assert {:ok, [lazy]} = Marc.parse(input, records: :lazy)
      assert LazyRecord.fields(lazy) == converted
      assert [^record] = input |> Marc.stream() |> Enum.to_list()

      # The limits apply where the record is written as ISO 2709.
      assert %ParseError{kind: :too_large, detail: detail} = catch_error(Marc.encode(record))
      assert detail =~ "ISO 2709 allows"
    end
  end
end
