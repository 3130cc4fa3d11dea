defmodule Snakepit.Marc.FixedFieldsTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc.{Field, FixedField, Leader, Record}

  doctest Snakepit.Marc.Leader
  doctest Snakepit.Marc.FixedField
  doctest Snakepit.Marc.FixedFields

  @corpus "../shared/corpus/real/"
  @bibliographic @corpus <> "loc_bibliographic.mrc"

  defp records(file, opts \\ []), do: Snakepit.Marc.parse!(File.read!(file), opts)

  # %{start => {value, label}} of a decoded field, for the positions asked.
  defp labels(%FixedField{positions: positions}, starts) do
    for p <- positions, p.start in starts, into: %{}, do: {p.start, {p.value, p.label}}
  end

  defp first_of(records, material) do
    Enum.find(records, &(Record.material_type(&1) == material)) ||
      flunk("no #{material} record in the corpus")
  end

  # An 008: positions 00-17, the material-specific 18-34 (given as {start, value} pairs
  # over blanks), 35-39.
  defp f008(head \\ "200101s2020    xxu", specific, tail \\ "eng d") do
    middle =
      Enum.reduce(specific, String.duplicate(" ", 17), fn {start, value}, acc ->
        at = start - 18
        rest = 17 - at - byte_size(value)
        binary_part(acc, 0, at) <> value <> binary_part(acc, at + byte_size(value), rest)
      end)

    value = head <> middle <> tail
    40 = byte_size(value)
    value
  end

  # A record the corpus has no example of, written and read back.
  defp generated(leader, fields) do
    %Record{leader: leader, fields: [Field.control("001", "generated") | fields]}
    |> Snakepit.Marc.encode()
    |> IO.iodata_to_binary()
    |> Snakepit.Marc.parse!()
    |> hd()
  end

  describe "one record of each material type" do
    setup do
      {:ok, records: records(@bibliographic)}
    end

    test "books (corpus 20593163)", %{records: records} do
      r = first_of(records, :books)
      assert r["001"].value == "20593163"
      ff = Record.fixed_fields(r)
      assert ff.material_type == :books
      assert ff.field_008.issues == []

      assert labels(ff.field_008, [6, 15, 18, 24, 29, 33, 35, 38, 39]) == %{
               6 => {"s", "Single known date/probable date"},
               15 => {"ck ", "Colombia"},
               18 => {"    ", "No illustrations"},
               24 => {"    ", "No specified nature of contents"},
               29 => {"0", "Not a conference publication"},
               33 => {"0", "Not fiction (not further specified)"},
               35 => {"spa", "Spanish"},
               38 => {" ", "Not modified"},
               39 => {" ", "National bibliographic agency"}
             }

      dates = labels(ff.field_008, [7, 11])
      assert dates == %{7 => {"2017", nil}, 11 => {"    ", nil}}
    end

    test "maps, with a 007 (corpus 16901760)", %{records: records} do
      ff = records |> first_of(:maps) |> Record.fixed_fields()

      assert labels(ff.field_008, [15, 25, 31]) == %{
               15 => {"er ", "Estonia"},
               25 => {"e", "Atlas"},
               31 => {"1", "Index present"}
             }

      [map] = ff.fields_007
      assert {map.type, map.value, map.issues} == {"Map", "ad canzn", []}

      assert labels(map, [1, 3, 4]) == %{
               1 => {"d", "Atlas"},
               3 => {"c", "Multicolored"},
               4 => {"a", "Paper"}
             }
    end

    test "music (corpus 10470328): fill characters and a two-unit position", %{records: records} do
      ff = records |> first_of(:music) |> Record.fixed_fields()

      assert labels(ff.field_008, [18, 20, 38]) == %{
               18 => {"||", "No attempt to code"},
               20 => {"|", "No attempt to code"},
               38 => {"o", "Completely romanized/printed cards romanized"}
             }

      text = Enum.find(ff.field_008.positions, &(&1.start == 30))
      assert {text.value, text.label} == {"n ", nil}
      assert Enum.map(text.codes, & &1.code) == ["n", " "]
    end

    test "continuing resources (corpus 11283322)", %{records: records} do
      ff = records |> first_of(:continuing_resources) |> Record.fixed_fields()
      assert ff.leader.bibliographic_level == %{code: "s", label: "Serial"}

      assert labels(ff.field_008, [6, 18, 24, 33, 34]) == %{
               6 => {"d", "Continuing resource ceased publication"},
               18 => {"u", "Unknown"},
               24 => {"r", "Directories"},
               33 => {"a", "Basic Roman"},
               34 => {"0", "Successive entry"}
             }
    end

    test "visual materials (corpus 11703477): an undefined running time is reported", %{
      records: records
    } do
      ff = records |> first_of(:visual_materials) |> Record.fixed_fields()

      assert labels(ff.field_008, [33, 34, 35]) == %{
               33 => {"v", "Videorecording"},
               34 => {"l", "Live action"},
               35 => {"und", "Undetermined"}
             }

      assert ff.field_008.issues == [
               %{
                 problem: :undefined_code,
                 start: 18,
                 name: "Running time for motion pictures and videorecordings",
                 value: "   "
               }
             ]

      assert [%FixedField{type: "Videorecording", issues: []}] = ff.fields_007
    end

    test "a sound recording's 007 of the wrong length is reported", %{records: records} do
      r =
        Enum.find(records, fn r ->
          Enum.any?(Record.fields(r, "007"), &(&1.value =~ ~r/^s.{12}$/))
        end)

      [sound | _] = Record.fixed_fields(r).fields_007
      assert sound.type == "Sound recording"
      assert %{problem: :wrong_length, expected: 14, actual: 13} in sound.issues
      assert length(sound.positions) == 14
      assert List.last(sound.positions).value == nil
    end

    test "a lazy record decodes as the record it stands for", %{records: records} do
      lazies = records(@bibliographic, records: :lazy)

      for {lazy, record} <- Enum.zip(lazies, records) do
        assert Record.fixed_fields(lazy) == Record.fixed_fields(record)
        assert Record.material_type(lazy) == Record.material_type(record)
        assert Leader.decode(lazy) == Leader.decode(record)
      end
    end
  end

  test "computer files (generated: the corpus has none), with an 007" do
    r =
      generated("00000nmm a2200000 a 4500", [
        Field.control("007", "cr " <> String.duplicate("|", 11)),
        Field.control("008", f008([{23, "o"}, {26, "d"}]))
      ])

    ff = Record.fixed_fields(r)
    assert ff.material_type == :computer_files
    assert ff.field_008.issues == []
    assert labels(ff.field_008, [23, 26]) == %{23 => {"o", "Online"}, 26 => {"d", "Document"}}
    assert [%FixedField{type: "Electronic resource", issues: []}] = ff.fields_007
  end

  test "mixed materials (generated: the corpus has none)" do
    r =
      generated("00000npcaa2200000 a 4500", [
        Field.control("008", f008("200101i18501890xx ", [], "eng d"))
      ])

    ff = Record.fixed_fields(r)
    assert ff.material_type == :mixed_materials
    assert ff.leader.type_of_control == %{code: "a", label: "Archival"}

    assert labels(ff.field_008, [6, 7, 11, 23]) == %{
             6 => {"i", "Inclusive dates of collection"},
             7 => {"1850", nil},
             11 => {"1890", nil},
             23 => {" ", "None of the following"}
           }

    assert ff.field_008.issues == []
  end

  test "006s are decoded by their own form of material" do
    r =
      generated("00000nam a2200000 a 4500", [
        Field.control("006", "m     o  d        "),
        Field.control("006", "b"),
        Field.control("008", "920219s1993    caua   j      000 0 eng d")
      ])

    [computer, undefined] = Record.fixed_fields(r).fields_006
    assert computer.type == :computer_files
    assert labels(computer, [6, 9]) == %{6 => {"o", "Online"}, 9 => {"d", "Document"}}
    assert undefined.type == nil
    assert undefined.issues == [%{problem: :undefined_type, start: 0, value: "b"}]
  end

  test "authority records are recognised, not decoded as bibliographic" do
    [r | _] = records(@corpus <> "loc_authority.mrc")
    ff = Record.fixed_fields(r)
    assert ff.material_type == :authority
    assert ff.leader.type_of_record == %{code: "z", label: "Authority data"}
    assert ff.leader.encoding_level == nil
    assert ff.field_008.positions == []
    assert ff.field_008.issues == [%{problem: :not_bibliographic, record: :authority}]
  end

  test "holdings records are recognised too" do
    r = %Record{leader: "00000nx  a2200000   4500", fields: [Field.control("008", "x")]}
    assert Record.material_type(r) == :holdings

    assert Record.fixed_fields(r).field_008.issues == [
             %{problem: :not_bibliographic, record: :holdings}
           ]
  end

  test "wrong lengths, undefined and obsolete codes are reported, never raised" do
    short = FixedField.decode_008("9202", :books)
    assert %{problem: :wrong_length, expected: 40, actual: 4} in short.issues
    assert Enum.all?(Enum.drop(short.positions, 1), &(&1.value == nil))

    long = FixedField.decode_008(String.duplicate(" ", 45), :books)
    assert %{problem: :wrong_length, expected: 40, actual: 45} in long.issues

    odd =
      FixedField.decode_008(
        f008("920219s1993    yu ", [{18, "a"}, {23, "x"}, {29, "000"}, {33, "0"}], "esk b"),
        :books
      )

    assert %{problem: :undefined_code, start: 23, name: "Form of item", value: "x"} in odd.issues

    assert %{
             problem: :obsolete_code,
             start: 15,
             name: "Place of publication, production, or execution",
             value: "yu "
           } in odd.issues

    assert %{problem: :obsolete_code, start: 35, name: "Language", value: "esk"} in odd.issues

    assert %{problem: :obsolete_code, start: 39, name: "Cataloging source", value: "b"} in odd.issues

    undefined =
      FixedField.decode_008(
        f008("920219s1993    cau", [{22, "j"}, {29, "0001"}, {33, "0"}]),
        :books
      )

    assert %{problem: :value_in_undefined_position, start: 32, value: "1"} in undefined.issues

    assert FixedField.decode_007("").issues == [%{problem: :undefined_type, start: 0, value: ""}]

    assert Leader.decode(%Record{leader: nil}).issues == [
             %{problem: :wrong_length, expected: 24, actual: 0}
           ]
  end

  test "a repeated 008 is reported, a missing one is nil" do
    leader = "00000nam a2200000 a 4500"
    one = f008([{22, "j"}, {29, "000"}, {33, "0"}])

    twice = %Record{
      leader: leader,
      fields: [Field.control("008", one), Field.control("008", one)]
    }

    ff = Record.fixed_fields(twice)
    assert ff.field_008.issues == [%{problem: :repeated_field, count: 2}]
    assert Record.fixed_fields(%Record{leader: leader, fields: []}).field_008 == nil
  end

  # Hand-written generator (the project uses no property-testing library): values of any
  # length over ASCII, MARC delimiters and UTF-8 bytes, for every decoder.
  test "no value makes a decoder raise" do
    alphabet = ~c"abcdefghijklmnopqrstuvwxyz0123456789 |-#" ++ [0x1E, 0x1F, 0xC3, 0xA9, 0xFF]
    :rand.seed(:exsss, {13, 13, 13})

    for _ <- 1..2_000 do
      value = for _ <- 1..:rand.uniform(46), into: "", do: <<Enum.random(alphabet)>>

      material =
        Enum.random(
          ~w(books continuing_resources maps music visual_materials computer_files mixed_materials)a
        )

      for f <- [
            FixedField.decode_008(value, material),
            FixedField.decode_006(value),
            FixedField.decode_007(value)
          ] do
        assert Enum.all?(f.positions, &(is_nil(&1.value) or is_binary(&1.value)))
      end

      assert %Leader{} = Leader.decode(value)
    end
  end

  test "the whole corpus decodes without raising" do
    for file <- Path.wildcard(@corpus <> "*.mrc"), r <- records(file) do
      ff = Record.fixed_fields(r)
      assert %Leader{} = ff.leader
    end
  end
end
