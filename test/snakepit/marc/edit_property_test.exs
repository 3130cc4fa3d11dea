defmodule Snakepit.Marc.EditPropertyTest do
  # Issue #13's round trip: a record edited by any sequence of the editing functions
  # encodes, and parses back to the edited record; an edit with a bad value raises
  # ArgumentError and leaves nothing half done. Edits are generated from a fixed seed
  # (no PropEr or StreamData here), so a failure replays exactly.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, ParseError, Record}

  @cases 1_500

  defp pick(list), do: Enum.random(list)

  # ------------------------------------------------------------------ generators

  @utf8_leader "00000nam a2200000 a 4500"
  @marc8_leader "00000cam  2200000 i 4500"

  defp text(leader) do
    ascii = ["", "x", "Moby Dick /", "tab\there", "bell\x07", "1851.", "\r\n"]
    if leader == @utf8_leader, do: pick(ascii ++ ["café", "中文", "Ẓ̌"]), else: pick(ascii)
  end

  defp bad_text, do: pick(["T\x1FzX", "end\x1E", "\x1Dnext", "caf\xE9", <<0xFF>>])
  defp code, do: pick(["a", "b", "c", "6", "8", "z", "A", "0"])
  defp bad_code, do: pick(["", "ab", <<0xC3>>, "\x1F", nil])
  defp indicator, do: pick([" ", "0", "1", "4", "#"])
  defp bad_indicator, do: pick(["", "10", "é", "\x1E", nil])

  defp data_tag,
    do: pick(["100", "245", "246", "500", "590", "650", "651", "700", "880", "999", "CAT", "FMT"])

  defp bad_tag, do: pick(["24", "2455", "2 5", "é45", "008"])

  defp field(leader) do
    if :rand.uniform(4) == 1 do
      Field.control(pick(["001", "003", "005", "008"]), text(leader))
    else
      subfields = for _ <- 1..:rand.uniform(4), do: {code(), text(leader)}
      Field.data(data_tag(), indicator(), indicator(), subfields)
    end
  end

  # A field that the editors must refuse: bad values are put in as bare structs, since
  # the constructors already refuse them.
  defp bad_field(leader) do
    case :rand.uniform(5) do
      1 ->
        %Field{tag: bad_tag(), ind1: " ", ind2: " ", subfields: [{"a", "x"}]}

      2 ->
        %Field{tag: "245", ind1: bad_indicator(), ind2: " ", subfields: [{"a", "x"}]}

      3 ->
        %Field{tag: "245", ind1: " ", ind2: " ", subfields: [{bad_code(), "x"}]}

      4 when leader == @utf8_leader ->
        %Field{tag: "500", ind1: " ", ind2: " ", subfields: [{"a", bad_text()}]}

      _ ->
        %Field{tag: "001", value: pick(["T\x1FzX", "end\x1E", "\x1Dnext"])}
    end
  end

  defp selector do
    case :rand.uniform(3) do
      1 -> data_tag()
      2 -> [data_tag(), data_tag()]
      3 -> fn %Field{tag: tag} -> tag >= "500" end
    end
  end

  # A field edit: {:ok, fun} when it is valid, {:bad, fun} when it must raise.
  defp field_edit(leader) do
    case :rand.uniform(10) do
      1 ->
        {:ok, &Field.add_subfield(&1, code(), text(leader))}

      2 ->
        {:ok, &Field.add_subfield(&1, code(), text(leader), :rand.uniform(4) - 2)}

      3 ->
        {:ok,
         &Field.delete_subfields(&1, pick([code(), [code(), code()], fn {c, _} -> c == "z" end]))}

      4 ->
        {:ok, &Field.update_subfields(&1, code(), fn v -> v <> text(leader) end)}

      5 ->
        {:ok, &Field.put_indicators(&1, indicator(), indicator())}

      6 ->
        {:bad, &Field.add_subfield(&1, bad_code(), "x")}

      7 ->
        {:bad, &Field.add_subfield(&1, "a", pick(["T\x1FzX", "end\x1E"]))}

      8 ->
        {:bad, &Field.put_indicators(&1, bad_indicator(), " ")}

      9 ->
        {:bad, &Field.update_subfields(&1, fn _ -> true end, fn _ -> "x\x1Fy" end)}

      10 ->
        {:ok, &Field.update_subfields(&1, ["a", "b"], fn v -> String.upcase(v) end)}
    end
  end

  # A record edit: {:ok | :bad | :maybe, description, fun}. :maybe is a field edit mapped
  # over selected fields, which raises only when a data field is selected.
  defp edit(%Record{leader: leader}) do
    case :rand.uniform(12) do
      1 ->
        {:ok, :add_field, &Record.add_field(&1, field(leader))}

      2 ->
        {:ok, :add_fields, &Record.add_field(&1, [field(leader), field(leader)])}

      3 ->
        {:ok, :add_ordered_field, &Record.add_ordered_field(&1, field(leader))}

      4 ->
        {:ok, :add_grouped_field, &Record.add_grouped_field(&1, field(leader))}

      5 ->
        {:ok, :insert_field, &Record.insert_field(&1, :rand.uniform(5) - 3, field(leader))}

      6 ->
        {:ok, :remove_fields, &Record.remove_fields(&1, selector())}

      7 ->
        {:bad, :bad_field, &Record.add_field(&1, bad_field(leader))}

      8 ->
        {:bad, :bad_ordered, &Record.add_ordered_field(&1, bad_field(leader))}

      9 ->
        {:bad, :bad_leader,
         &Record.put_leader(&1, pick(["short", "00000nam a22\x1E0000 a 4500", nil]))}

      10 ->
        {:ok, :put_leader,
         &Record.put_leader(&1, String.replace(leader, "nam", pick(["cam", "nas", "ngm"])))}

      _ ->
        field_edits()
    end
  end

  defp field_edits do
    {kind, fun} = field_edit(@marc8_leader)
    tag = pick(["245", "500", "650", "880"])

    {if(kind == :ok, do: :ok, else: {:maybe, tag}), {:update_fields, tag},
     &Record.update_fields(&1, tag, fun)}
  end

  defp start do
    leader = pick([@utf8_leader, @utf8_leader, @marc8_leader])
    fields = for _ <- 1..:rand.uniform(6), do: field(leader)
    %Record{leader: leader, fields: fields}
  end

  # ------------------------------------------------------------------ the property

  defp apply_edit(record, {:ok, what, fun}, label) do
    edited = fun.(record)
    assert %Record{} = edited, "#{label}: #{inspect(what)}"
    edited
  end

  defp apply_edit(record, {:bad, what, fun}, label) do
    refuses!(fun, record, "#{label}: #{inspect(what)}")
    record
  end

  defp apply_edit(record, {{:maybe, tag}, what, fun}, label) do
    if Enum.any?(record.fields, &(&1.tag == tag)) do
      refuses!(fun, record, "#{label}: #{inspect(what)}")
      record
    else
      assert fun.(record) == record, "#{label}: #{inspect(what)}"
      record
    end
  end

  defp refuses!(fun, record, label) do
    fun.(record)
    flunk("#{label}: the edit was taken, it should raise ArgumentError")
  rescue
    ArgumentError -> :ok
  end

  defp without_lengths(<<_::binary-5, a::binary-7, _::binary-5, b::binary>>), do: a <> b

  test "edited records encode and parse back to themselves; bad edits raise" do
    :rand.seed(:exsss, {13, 2709, 880})

    tally =
      Enum.reduce(1..@cases, %{round_trips: 0, refused_edits: 0, no_fields: 0}, fn i, tally ->
        record = start()
        edits = for _ <- 1..:rand.uniform(8), do: edit(record)
        label = "case #{i}"

        {edited, refused} =
          Enum.reduce(edits, {record, 0}, fn edit, {acc, refused} ->
            {apply_edit(acc, edit, label), refused + if(elem(edit, 0) == :ok, do: 0, else: 1)}
          end)

        tally = %{tally | refused_edits: tally.refused_edits + refused}

        case edited.fields do
          [] ->
            e = assert_raise ParseError, fn -> Marc.encode(edited) end
            assert e.kind == :no_fields
            %{tally | no_fields: tally.no_fields + 1}

          _ ->
            bytes = edited |> Marc.encode() |> IO.iodata_to_binary()
            assert {:ok, [back]} = Marc.parse(bytes, to_unicode: false), label
            assert back.fields == edited.fields, label
            assert without_lengths(back.leader) == without_lengths(edited.leader), label
            %{tally | round_trips: tally.round_trips + 1}
        end
      end)

    assert tally.round_trips > @cases / 2, inspect(tally)
    assert tally.refused_edits > @cases / 4, inspect(tally)
  end

  test "add_ordered_field keeps numerically ordered tags ordered" do
    :rand.seed(:exsss, {13, 1, 1})

    for i <- 1..300 do
      fields = for(_ <- 1..:rand.uniform(6), do: field(@utf8_leader), into: [])
      numeric = Enum.filter(fields, &(&1.tag =~ ~r/\A[0-9]{3}\z/))
      sorted = %Record{leader: @utf8_leader, fields: Enum.sort_by(numeric, & &1.tag)}
      added = field(@utf8_leader)
      tags = sorted |> Record.add_ordered_field(added) |> Record.tags()

      if added.tag =~ ~r/\A[0-9]{3}\z/,
        do: assert(tags == Enum.sort(tags), "case #{i}: #{inspect(tags)}"),
        else: assert(List.last(tags) == added.tag, "case #{i}")
    end
  end
end
