defmodule Snakepit.Marc.IdentifiersTest do
  # The normalising helpers on the examples of the rules they follow.
  use ExUnit.Case, async: true

  alias Snakepit.Marc.{Field, Record}

  defp record(fields, leader \\ "00000nam a2200000 a 4500"),
    do: %Record{leader: leader, fields: fields}

  defp lccn(a), do: Record.lccn(record([Field.data("010", [{"a", a}])]))

  test "lccn/1: the examples of https://www.loc.gov/marc/lccn-namespace.html" do
    for {raw, normalised} <- [
          {"n78-890351", "n78890351"},
          {"n78-89035", "n78089035"},
          {"n 78890351 ", "n78890351"},
          {" 85000002 ", "85000002"},
          {"85-2 ", "85000002"},
          {"2001-000002", "2001000002"},
          {"75-425165//r75", "75425165"},
          {" 79139101 /AC/r932", "79139101"}
        ] do
      assert lccn(raw) == normalised, inspect(raw)
    end

    assert lccn("85-1234567") == nil
    assert lccn("   ") == nil
    assert Record.lccn(record([Field.data("010", [{"z", "85-2"}])])) == nil
    assert Record.lccn(record([])) == nil
  end

  test "isbns/1: check digits of ISBN-10 and ISBN-13" do
    isbns = fn values ->
      Record.isbns(record(for v <- values, do: Field.data("020", [{"a", v}])))
    end

    assert isbns.(["0-306-40615-2", "978-0-306-40615-7", "0-8044-2957-X (pbk.)"]) == [
             {"0306406152", :valid},
             {"9780306406157", :valid},
             {"080442957X", :valid}
           ]

    assert isbns.(["0306406153", "9780306406158", "030640615X", "978030640615X"]) == [
             {"0306406153", :invalid_checksum},
             {"9780306406158", :invalid_checksum},
             {"030640615X", :invalid_checksum},
             {"978030640615X", :invalid_checksum}
           ]

    # Not a number at the start, or not 10 or 13 digits: not an ISBN.
    assert isbns.(["pbk.", "12345678901", "(set)"]) == []
    # $z (cancelled) is not read.
    assert Record.isbns(record([Field.data("020", [{"z", "0306406152"}])])) == []
  end

  test "oclc_numbers/1: (OCoLC) prefixes, letters and zeros stripped, repeats dropped" do
    r =
      record(
        for a <- [
              "(OCoLC)ocm00012345",
              "(OCoLC)ocn987654321",
              "(OCoLC)on1234567890",
              "(OCoLC) 12345",
              "(OCoLC)abc",
              "(DLC)12345",
              "ocm555"
            ],
            do: Field.data("035", [{"a", a}])
      )

    assert Record.oclc_numbers(r) == ["12345", "987654321", "1234567890"]
  end

  test "languages/1: 008/35-37 of a bibliographic record, then 041 codes" do
    f008 = Field.control("008", "850423s1851    nyu           000 1 eng  ")

    f041 =
      Field.data("041", "1", " ", [
        {"a", "ENG"},
        {"a", "frelat"},
        {"2", "iso639-2b"},
        {"h", "ger"}
      ])

    assert Record.languages(record([f008, f041])) == ["eng", "fre", "lat", "ger"]

    # An authority record's 008/35-37 is not a language.
    assert Record.languages(record([f008], "00000nz  a2200000n  4500")) == []
    blank = Field.control("008", String.duplicate(" ", 35) <> "|||  ")
    assert Record.languages(record([blank])) == []
    assert Record.languages(record([Field.control("008", "short")])) == []
  end

  test "pubyear/1: 264 ind2 1, then 260, then 008 date 1" do
    f008 = Field.control("008", "850423s1851    nyu           000 1 eng  ")
    f260 = Field.data("260", [{"c", "c1852."}])
    f264_1 = Field.data("264", " ", "1", [{"c", "[1853]"}])
    f264_4 = Field.data("264", " ", "4", [{"c", "©1850"}])

    assert Record.pubyear(record([f008, f260, f264_4, f264_1])) == "1853"
    assert Record.pubyear(record([f008, f264_4, f260])) == "1852"
    assert Record.pubyear(record([f008, f264_4])) == "1851"
    assert Record.pubyear(record([Field.data("260", [{"c", "[n.d.]"}]), f008])) == "1851"
    assert Record.pubyear(record([Field.data("260", [{"c", "[n.d.]"}])])) == nil
    assert Record.pubyear(record([f008], "00000nz  a2200000n  4500")) == nil
  end
end
