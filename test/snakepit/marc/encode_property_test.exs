defmodule Snakepit.Marc.EncodePropertyTest do
  # The rule of issue #10: encode/1 either returns bytes that parse/2 reads back to an equal
  # record, or raises a clear error. Never a third outcome. Records are generated, valid and
  # invalid, from a fixed seed (PropEr is not installed), so a failure replays exactly.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, Formats, ParseError, Record}

  @cases 3_000
  @content_kinds [:invalid_value, :no_fields, :too_large]

  # ------------------------------------------------------------------ generators

  defp pick(list), do: Enum.random(list)

  defp value do
    case :rand.uniform(12) do
      n when n <= 5 -> pick(["", "x", "Title /", "Moby Dick", "café", "中文", "a b c"])
      6 -> pick(["T\x1FzINJECTED", "end\x1E", "\x1Dnext"])
      7 -> pick(["caf\xE9", <<0xC3>>, <<0xFF, 0xFE>>])
      8 -> pick(["tab\there", "bell\x07", "nul\0", "\r\n"])
      9 -> :crypto.strong_rand_bytes(:rand.uniform(8))
      10 -> String.duplicate("x", pick([9_990, 9_996, 9_997, 10_000]))
      11 -> pick([5, :atom, nil, ["io", "list"]])
      12 -> "ok"
    end
  end

  defp control_tag, do: pick(["001", "003", "005", "008", "009"])
  defp data_tag, do: pick(["245", "100", "650", "999", "ABC", "01A", "  1"])
  defp bad_tag, do: pick(["é1", "2\x1E5", "24", "2455", "\x1F45", "0\x7F1", 245])

  defp indicator, do: pick([" ", "0", "1", "a", nil, nil, "\x1F", "\x1E", <<0xC3>>, "10", 1])
  defp code, do: pick(["a", "a", "b", "c", "0", "9", "\x1F", "\x1D", <<0xC3>>, "ab", ""])

  defp field do
    case :rand.uniform(10) do
      n when n <= 3 ->
        %Field{tag: control_tag(), value: value()}

      n when n <= 7 ->
        subfields = for _ <- 1..:rand.uniform(4)//1, do: {code(), value()}
        %Field{tag: data_tag(), ind1: indicator(), ind2: indicator(), subfields: subfields}

      8 ->
        # A control value under a data tag, a data field under a control tag.
        pick([%Field{tag: data_tag(), value: "x"}, %Field{tag: control_tag(), subfields: []}])

      9 ->
        %Field{tag: bad_tag(), value: "x"}

      10 ->
        # Both a value and subfields, or indicators on a control field.
        pick([
          %Field{tag: control_tag(), value: "x", subfields: [{"a", "b"}]},
          %Field{tag: control_tag(), value: "x", ind1: "1"}
        ])
    end
  end

  defp leader do
    base = "00000nam a2200000 a 4500"

    case :rand.uniform(8) do
      1 -> "00000nam  2200000 a 4500"
      2 -> "     nam a22     4a     "
      3 -> "00000nam \x1D2200000 a 4500"
      4 -> pick(["short", nil, 24])
      _ -> base
    end
  end

  # Fields that can be written (with, rarely, one too large), so that half the records
  # exercise the round trip itself.
  defp clean_field do
    clean_value = fn ->
      if :rand.uniform(40) == 1,
        do: String.duplicate("y", 9_000),
        else: pick(["", "x", "Title /", "café", "中文", "tab\there", "bell\x07", "\r\n"])
    end

    if :rand.uniform(3) == 1 do
      %Field{tag: control_tag(), value: clean_value.()}
    else
      subfields =
        for _ <- 1..:rand.uniform(4)//1, do: {pick(["a", "b", "6", "z"]), clean_value.()}

      ind = fn -> pick([" ", "0", "1", nil]) end
      %Field{tag: data_tag(), ind1: ind.(), ind2: ind.(), subfields: subfields}
    end
  end

  defp record do
    count = pick([0, 1, 1, 2, 3, 5, 12])

    if :rand.uniform(2) == 1 do
      leader = pick(["00000nam a2200000 a 4500", "     nam a22     4a     "])
      %Record{leader: leader, fields: for(_ <- 1..max(count, 1)//1, do: clean_field())}
    else
      %Record{leader: leader(), fields: for(_ <- 1..count//1, do: field())}
    end
  end

  # ------------------------------------------------------------------ oracle

  # What parse/2 should give back for an encoded record: leader/00-04 and 12-16 as
  # written, 10-11 and 20-23 defaulted where not digits, nil indicators blank.
  defp expected(%Record{leader: leader, fields: fields}, bytes) do
    <<_::binary-5, a::binary-5, b::binary-2, _::binary-5, c::binary-3, d::binary-4>> = leader
    <<len::binary-5, _::binary-7, base::binary-5, _::binary>> = bytes

    leader = len <> a <> digits_or(b, "22") <> base <> c <> digits_or(d, "4500")

    fields =
      for f <- fields do
        if is_binary(f.value),
          do: f,
          else: %{f | ind1: f.ind1 || " ", ind2: f.ind2 || " "}
      end

    %Record{leader: leader, fields: fields}
  end

  defp digits_or(bytes, defaults) do
    for {b, d} <- Enum.zip(:binary.bin_to_list(bytes), :binary.bin_to_list(defaults)),
        into: "",
        do: if(b in ?0..?9, do: <<b>>, else: <<d>>)
  end

  defp outcome(fun) do
    {:ok, fun.()}
  rescue
    e in ParseError -> {:refused, e}
    e in ArgumentError -> {:bad_shape, e}
  end

  test "encode/1 gives bytes that parse back to the record, or a clear error: never else" do
    :rand.seed(:exsss, {10, 11, 2709})

    tally =
      Enum.reduce(1..@cases, %{}, fn i, tally ->
        record = record()
        encoded = outcome(fn -> record |> Marc.encode() |> IO.iodata_to_binary() end)
        label = "case #{i}: #{inspect(record, limit: 8, printable_limit: 40)}"

        # The convert task's native stream is the same encoder: the same outcome.
        assert outcome(fn -> [record] |> Formats.iso_stream() |> Enum.join() end) == encoded,
               label

        case encoded do
          {:ok, bytes} ->
            assert {:ok, [back]} = Marc.parse(bytes, to_unicode: false), label
            assert back == expected(record, bytes), label
            assert String.to_integer(binary_part(bytes, 0, 5)) == byte_size(bytes), label

            # The JSON writer takes every record encode/1 takes, and it reads back (exactly,
            # when there is no invalid UTF-8 for it to write as U+FFFD).
            json = outcome(fn -> Marc.to_json(record) end)
            assert {:ok, json} = json, label
            if String.valid?(bytes), do: assert({:ok, [^back]} = Marc.from_json(json), label)
            Map.update(tally, :ok, 1, &(&1 + 1))

          {:refused, %ParseError{kind: kind, record_index: 0, detail: detail} = e} ->
            assert kind in @content_kinds, label
            assert detail =~ ~r/field \d+ \(|leader|no fields|record would be/, label
            assert Exception.message(e) =~ Atom.to_string(kind), label
            Map.update(tally, kind, 1, &(&1 + 1))

          {:bad_shape, %ArgumentError{message: message}} ->
            assert message =~ ~r/^record 0: |expected a %Snakepit/, label
            Map.update(tally, :bad_shape, 1, &(&1 + 1))
        end
      end)

    # The generator reaches every outcome, and valid records are not rare.
    for key <- [:ok, :bad_shape | @content_kinds],
        do: assert(Map.get(tally, key, 0) > 0, inspect({key, tally}))

    assert tally.ok > @cases / 4
  end
end
