defmodule Snakepit.Marc.MARC21Test do
  use ExUnit.Case, async: true

  alias Snakepit.Marc.MARC21

  doctest MARC21

  @materials ~w(books continuing_resources maps music visual_materials computer_files mixed_materials)a

  test "every field is found by its tag; control fields have no indicators or subfields" do
    tags = MARC21.tags()
    assert length(tags) > 200

    for tag <- tags do
      f = MARC21.field(tag)
      assert f.tag == tag
      control? = String.starts_with?(tag, "00")
      assert control? == (f.subfields == %{}), tag
      if control?, do: assert(f.indicators == {nil, nil}, tag)
    end
  end

  test "indicator ranges cover their digits, and undefined values are nil" do
    codes = MARC21.indicator("245", 2).codes
    for d <- ?0..?9, do: assert(MARC21.lookup(codes, <<d>>), <<d>>)
    refute MARC21.lookup(codes, " ")
    refute MARC21.lookup(MARC21.indicator("100", 1).codes, "2")
  end

  test "every subfield's code list exists" do
    for tag <- MARC21.tags(), {code, sub} <- MARC21.field(tag).subfields, sub.codelist do
      assert MARC21.codelist(sub.codelist), "#{tag} $#{code}: #{sub.codelist}"
    end
  end

  test "008 and 006 layouts are whole, and 006/01-17 are 008/18-34" do
    for m <- @materials do
      l008 = MARC21.layout_008(m)
      l006 = MARC21.layout_006(m)
      assert {l008.length, l006.length} == {40, 18}

      for start <- [0, 6, 7, 11, 15, 35, 38, 39], do: assert(MARC21.position(l008, start))

      own_008 =
        for p <- l008.positions, p.start in 18..34, do: {p.start - 17, p.end - 17, p.label}

      own_006 = for p <- tl(l006.positions), do: {p.start, p.end, p.label}
      assert own_008 == own_006, inspect(m)
    end
  end

  test "007 layouts exist for every category 007/00 defines" do
    common = MARC21.layout_007("a").positions |> hd()
    categories = for %{obsolete: false, code: c} <- common.codes, do: c
    assert Enum.join(categories) == "acdfghkmoqrstvz"

    for c <- categories do
      layout = MARC21.layout_007(c)
      assert hd(layout.positions).label == "Category of material"
      assert Enum.all?(layout.positions, &(&1.end <= layout.length))
    end

    assert MARC21.layout_007("c").length == 14
    assert MARC21.layout_007("m").length == 23
  end

  test "material types follow leader/06-07 like the Rust core" do
    leader = fn l06, l07 -> "00000n" <> l06 <> l07 <> " a2200000 a 4500" end

    for {l06, l07, expected} <- [
          {"a", "m", :books},
          {"a", "d", :books},
          {"a", "s", :continuing_resources},
          {"a", "i", :continuing_resources},
          {"t", "s", :books},
          {"e", "m", :maps},
          {"f", "m", :maps},
          {"c", "m", :music},
          {"j", "m", :music},
          {"g", "m", :visual_materials},
          {"r", "m", :visual_materials},
          {"m", "m", :computer_files},
          {"p", "c", :mixed_materials},
          {"z", " ", :authority},
          {"y", " ", :holdings},
          {"w", " ", :classification},
          {"q", " ", :community_information},
          {"b", "m", :unknown}
        ] do
      assert MARC21.material_type(leader.(l06, l07)) == expected, l06 <> l07
    end

    assert MARC21.material_type("0000") == :unknown
  end

  test "code lists prefer a current code over an obsolete one spelled the same" do
    ai = MARC21.country("ai")
    refute ai.obsolete
    assert ai.label =~ "Armenia"
    assert MARC21.country("xxu").label == "United States"
    refute MARC21.language("xyz")
    refute MARC21.geographic_area("n-us----x")
  end

  # Where the Debian package is installed (not in CI), the committed tables must be what
  # the generator makes of it.
  @schema "/usr/share/perl5/auto/share/dist/MARC-Schema/marc-schema.json"
  if File.exists?(@schema) and System.find_executable("python3") do
    @tag :tmp_dir
    test "the committed tables are the generator's output for the installed schema", %{
      tmp_dir: out
    } do
      root = Path.expand("../../..", __DIR__)
      script = Path.join(root, "scripts/gen_marc21_tables.py")
      {_, 0} = System.cmd("python3", [script, @schema, "--out", out], stderr_to_stdout: true)
      committed = Path.join(root, "native/snakepit_core/data/marc21")
      files = out |> File.ls!() |> Enum.sort()
      # obsolete_fields.tsv comes from another source (LoC's field list, with --field-list).
      assert files == committed |> File.ls!() |> List.delete("obsolete_fields.tsv") |> Enum.sort()

      for file <- files do
        assert File.read!(Path.join(out, file)) == File.read!(Path.join(committed, file)), file
      end
    end
  end

  test "the obsolete fields are tags the schema no longer defines, sorted" do
    rows =
      "../../../native/snakepit_core/data/marc21/obsolete_fields.tsv"
      |> Path.expand(__DIR__)
      |> File.read!()
      |> String.split("\n", trim: true)
      |> Enum.reject(&String.starts_with?(&1, "#"))

    assert ["tag\tlabel" | rows] = rows

    tags =
      Enum.map(rows, fn row ->
        [tag, label] = String.split(row, "\t")
        assert label != ""
        tag
      end)

    assert length(tags) >= 30 and tags == Enum.sort(Enum.uniq(tags))
    assert Enum.all?(tags, &(&1 =~ ~r/^\d{3}$/ and MARC21.field(&1) == nil))
    assert "503" in tags and "840" in tags and "440" not in tags
  end

  test "numeric code ranges match same-length digit strings only" do
    running = MARC21.position(MARC21.layout_008(:visual_materials), 18)
    assert MARC21.lookup(running.codes, "095").label == "Running time"
    assert MARC21.lookup(running.codes, "000").label =~ "exceeds"
    refute MARC21.lookup(running.codes, "1a0")
    refute MARC21.lookup(running.codes, "01")
    special = MARC21.position(MARC21.layout_008(:maps), 33)
    assert MARC21.units(special, "||") == ["||"]
    assert MARC21.units(special, "ej") == ["e", "j"]
  end
end
