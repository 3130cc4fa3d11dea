defmodule Snakepit.Marc.LinkageTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, LazyRecord, Record}
  alias Snakepit.Test.Corpus

  defp record(fields), do: %Record{leader: "00000nam a2200000 a 4500", fields: fields}
  defp f(tag, six, a), do: Field.data(tag, [{"6", six}, {"a", a}])

  test "links are followed both ways, by tag and occurrence number" do
    r =
      record([
        f("100", "880-01", "Sima, Qian"),
        f("245", "880-02", "Shi ji"),
        f("880", "100-01/$1", "司馬遷"),
        f("880", "245-02/$1", "史記"),
        # Same occurrence number, another tag: not linked to the 245 (pymarc would link it).
        f("880", "246-02/$1", "太史公書"),
        f("880", "500-00/$1", "附錄")
      ])

    assert Record.linked_fields(r, Enum.at(r.fields, 1)) |> Enum.map(& &1["a"]) == ["史記"]
    assert Record.linked_fields(r, Enum.at(r.fields, 3)) == [Enum.at(r.fields, 1)]
    assert Record.linked_fields(r, Enum.at(r.fields, 0)) |> Enum.map(& &1["a"]) == ["司馬遷"]
    # Occurrence 00: an 880 without an original field.
    assert Record.linked_fields(r, Enum.at(r.fields, 5)) == []
    # A field without $6, and a control field.
    assert Record.linked_fields(r, Field.data("650", [{"a", "China"}])) == []
    assert Record.linked_fields(r, Field.control("001", "1")) == []

    assert Record.alternate_graphic(r, "500") |> Enum.map(& &1["a"]) == ["附錄"]
    assert Record.alternate_graphic(r, "246") |> Enum.map(& &1["a"]) == ["太史公書"]
    assert Record.alternate_graphic(r, "650") == []

    assert [%{kind: :orphan_880, index: 4, tag: "880", link: "246-02/$1"}] =
             Record.link_problems(r)
  end

  test "every kind of problem, as data" do
    r =
      record([
        f("245", "880-01", "Title"),
        f("880", "246-01", "標題"),
        f("500", "88O-02", "Note."),
        f("520", "880", "Summary."),
        f("700", "245-03", "Wrong way round."),
        f("880", "710-04", "No original.")
      ])

    problems = Record.link_problems(r)

    assert Enum.map(problems, &{&1.kind, &1.index}) == [
             {:missing_880, 0},
             {:mismatched, 1},
             {:malformed, 2},
             {:malformed, 3},
             {:mismatched, 4},
             {:orphan_880, 5}
           ]

    assert Enum.all?(problems, &(is_binary(&1.detail) and &1.detail != ""))
    assert Enum.at(problems, 1).detail =~ "field 0 (245) links to 880-01"
  end

  test "a LazyRecord answers as its Record, on every corpus record with 880s" do
    bytes = Corpus.read!("real/loc_bibliographic.mrc")
    pairs = Enum.zip(Marc.parse!(bytes), Marc.parse!(bytes, records: :lazy))
    with_880 = Enum.filter(pairs, fn {r, _} -> r["880"] end)
    assert length(with_880) >= 5

    for {record, lazy} <- with_880, field <- record.fields do
      assert LazyRecord.linked_fields(lazy, field) == Record.linked_fields(record, field)

      assert LazyRecord.alternate_graphic(lazy, field.tag) ==
               Record.alternate_graphic(record, field.tag)

      assert Record.link_problems(lazy) == Record.link_problems(record)
    end

    # Every 880 of these records is linked to its field and back.
    for {record, _} <- with_880, %Field{tag: "880"} = alt <- record.fields do
      if not String.contains?(alt["6"], "-00") do
        assert [original] = Record.linked_fields(record, alt)
        assert alt in Record.linked_fields(record, original)
      end
    end
  end

  test "the well-formed corpus has no broken links" do
    for {rel, _} <- Corpus.good_files(), record <- Marc.parse!(Corpus.read!(rel)) do
      assert Record.link_problems(record) == [], "#{rel}: #{inspect(record["001"])}"
    end
  end
end
