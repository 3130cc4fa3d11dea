defmodule Snakepit.Marc.MrkMarc8Test do
  # MARCMaker's MARC-8 .mrk (`to_mrk(records, encoding: :marc8)`, and reading it), against
  # Debian's MARC::File::MARCMaker: test/fixtures/mrk_marc8 comes from
  # scripts/gen_mrk_marc8_fixtures.sh (its header says what each file holds); this test
  # needs neither Perl nor the module.
  # Not async: its mix task tests capture :stderr, which is global (Snakepit.Test.MixTask).
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Test.Corpus

  @root Path.expand("../../..", __DIR__)
  @fixtures Path.expand("../../fixtures/mrk_marc8", __DIR__)

  # docs/formats.md, ".mrk in MARC-8", lists every difference from MARC::File::MARCMaker's
  # output; `marcmaker_form/1` makes each of them in our output, so what is left must be
  # byte for byte the same:
  #
  # 1. the leader: we spell its blanks `\` (MarcEdit, LC's MARCBreaker), MARCMaker.pm
  #    writes it as stored;
  # 2. `&name;` with at most 7 characters and no blank between `&` and `;` (the numeric
  #    character references `&#xHHHH;` of characters MARC-8 lacks): MARCMaker.pm rewrites it
  #    `{name}`, which its own reader does not read back for references; we write it as the
  #    MARC-8 text holds it (and read MARCMaker's `{#xHHHH}` as `&#xHHHH;`).
  #
  # 3. And one record is not MARC-8 at all: its leader says MARC-8 over UTF-8 bytes. Read
  #    with `to_unicode: true` we take it for the UTF-8 it is and write real MARC-8;
  #    MARCMaker.pm writes the UTF-8 bytes as mnemonics of MARC-8 bytes. Read with
  #    `to_unicode: false` its bytes are written as they are, as MARCMaker.pm does.
  @not_marc8 %{"rustmarc_marc8_sample" => :leader_says_marc8_over_utf8}

  defp fixtures do
    for path <- @fixtures |> Path.join("*.records") |> Path.wildcard() |> Enum.sort() do
      name = Path.basename(path, ".records")
      [source | indexes] = path |> File.read!() |> String.split("\n", trim: true)
      marcmaker = @fixtures |> Path.join(name <> ".marcmaker.mrk.gz") |> File.read!()

      %{
        name: name,
        source: Path.expand(source, @root),
        indexes: Enum.map(indexes, &String.to_integer/1),
        marcmaker: :zlib.gunzip(marcmaker)
      }
    end
  end

  # The records of a fixture's source that MARCMaker.pm converted, read with `opts`.
  defp records(fixture, opts) do
    all = fixture.source |> Marc.stream([format: :iso2709] ++ opts) |> Enum.to_list()
    Enum.map(fixture.indexes, &Enum.at(all, &1))
  end

  # Our .mrk with differences 1 and 2 made as MARCMaker.pm makes them.
  defp marcmaker_form(mrk) do
    mrk
    |> String.split("\n")
    |> Enum.map(fn
      "=LDR  " <> leader -> "=LDR  " <> String.replace(leader, "\\", " ")
      "=" <> <<tag::binary-3, "  ", rest::binary>> -> "=#{tag}  " <> entities_in_braces(rest)
      other -> other
    end)
    |> Enum.join("\n")
  end

  # _char2maker's `while (s/(&)([^ ]{1,7}?)(;)/{$2}/o) {}`, value by value (a `$` in a
  # value is `{dollar}`, so `$` splits subfields exactly).
  defp entities_in_braces(field) do
    field |> String.split("$") |> Enum.map_join("$", &rewrite_entities/1)
  end

  defp rewrite_entities(value) do
    case Regex.replace(~r/&([^ ]{1,7}?);/, value, "{\\1}", global: false) do
      ^value -> value
      rewritten -> rewrite_entities(rewritten)
    end
  end

  test "every source has its fixtures, and they hold what the differences are about" do
    fixtures = fixtures()
    assert length(fixtures) == 10
    assert Enum.sum(Enum.map(fixtures, &length(&1.indexes))) > 1_500
    marcmaker = Enum.map_join(fixtures, & &1.marcmaker)
    # Escape sequences (EACC's `ESC $ 1` too: its `$` is `{dollar}`; Cyrillic, Arabic,
    # Hebrew, superscripts, back to ASCII), ANSEL diacritics and letters, hex forms,
    # MARCMaker's `{#xHHHH}`. (Greek, subscripts and the G1 sets: the core's unit tests.)
    for mnemonic <-
          ["{esc}{dollar}1", "{esc}(N", "{esc}(3", "{esc}(2", "{esc}p", "{esc}s", "{esc}(B"] ++
            ["{acute}", "{uml}", "{Lstrok}", "{C7}", "{#x"] do
      assert marcmaker =~ mnemonic, mnemonic
    end
  end

  describe "against MARC::File::MARCMaker" do
    test "our MARC-8 .mrk is its output, byte for byte, but for the listed differences" do
      for fixture <- fixtures(), to_unicode <- [false, true] do
        ours = fixture |> records(to_unicode: to_unicode) |> Marc.to_mrk(encoding: :marc8)
        what = "#{fixture.name} (to_unicode: #{to_unicode})"

        if to_unicode and Map.has_key?(@not_marc8, fixture.name) do
          # Difference 3: not the same bytes, but the same records.
          assert marcmaker_form(ours) != fixture.marcmaker, what
          assert read!(ours) == read!(fixture.marcmaker), what
        else
          assert marcmaker_form(ours) == fixture.marcmaker, what
        end
      end
    end

    test "the listed differences occur: every leader, and the references" do
      ours =
        Enum.map_join(fixtures(), fn f -> f |> records([]) |> Marc.to_mrk(encoding: :marc8) end)

      leaders = for "=LDR  " <> leader <- String.split(ours, "\n"), do: leader
      assert length(leaders) > 1_500
      assert Enum.all?(leaders, &String.contains?(&1, "\\"))
      assert length(Regex.scan(~r/&#x[0-9A-F]{4,5};/, ours)) >= 5
    end

    test "we read its .mrk as we read the MARC-8 ISO 2709 records it came from" do
      for fixture <- fixtures(),
          opts <- [[], [decode_ncrs: true, normalize: :nfc], [to_unicode: false]] do
        what = "#{fixture.name} #{inspect(opts)}"
        assert {:ok, read} = Marc.from_mrk(fixture.marcmaker, opts), what
        assert read == records(fixture, opts), what
      end
    end

    @tag :tmp_dir
    test "stream(path, format: :mrk) reads it as from_mrk/2 does", %{tmp_dir: dir} do
      for fixture <- fixtures() do
        path = Path.join(dir, fixture.name <> ".mrk")
        File.write!(path, fixture.marcmaker)
        opts = [decode_ncrs: true]
        streamed = path |> Marc.stream(opts) |> Enum.to_list()
        assert {:ok, ^streamed} = Marc.from_mrk(fixture.marcmaker, opts), fixture.name
      end
    end
  end

  defp read!(mrk) do
    {:ok, records} = Marc.from_mrk(mrk)
    Enum.map(records, & &1.fields)
  end

  test "every corpus record reads back from its MARC-8 .mrk as from its MARC-8 ISO 2709" do
    # (The core test `every_corpus_record_survives_utf8_to_marc8_mrk_to_utf8` checks that
    # this is the original text after NFC.)
    checked =
      for {rel, _count} <- Corpus.good_files(), reduce: 0 do
        acc ->
          records = rel |> Corpus.path() |> Marc.stream(format: :iso2709) |> Enum.to_list()
          iso = records |> Marc.encode(encoding: :marc8) |> IO.iodata_to_binary()
          mrk = Marc.to_mrk(records, encoding: :marc8)
          {:ok, from_iso} = Marc.parse(iso, decode_ncrs: true)
          assert {:ok, ^from_iso} = Marc.from_mrk(mrk, decode_ncrs: true), rel
          acc + length(records)
      end

    assert checked == 12_635
  end

  test "characters MARC-8 lacks follow :unrepresentable, as encode/2 does" do
    record = %Marc.Record{
      leader: "00000nam a2200000 a 4500",
      fields: [Marc.Field.data("245", "1", "0", [{"a", "Snow \u2603 in Κέρκυρα"}])]
    }

    assert Marc.to_mrk(record, encoding: :marc8) =~
             "=245  10$aSnow &#x2603; in {esc}(SM{acute}fumyua{esc}(B\n"

    assert Marc.to_mrk(record, encoding: :marc8, unrepresentable: :replace) =~ "$aSnow | in "

    assert_raise Marc.ParseError, ~r/U\+2603/, fn ->
      Marc.to_mrk(record, encoding: :marc8, unrepresentable: :error)
    end

    {:ok, [back]} = record |> Marc.to_mrk(encoding: :marc8) |> Marc.from_mrk(decode_ncrs: true)
    assert back["245"]["a"] == :unicode.characters_to_nfd_binary("Snow \u2603 in Κέρκυρα")
  end

  test "MARC-8 errors and repairs are the read options' own, placed at the record" do
    # 0xBE is no ANSEL character; the second record is fine.
    mrk =
      "=LDR  00000nam  2200000   4500\n=245  10$aBad {BE}x\n\n" <>
        "=LDR  00000nam  2200000   4500\n=245  10$aGood\n"

    assert {:error, %Marc.ParseError{kind: :invalid_marc8, record_index: 0, byte_offset: 0} = e} =
             Marc.from_mrk(mrk)

    assert e.detail =~ "245"

    assert {:ok, [{:error, %Marc.ParseError{kind: :invalid_marc8}}, good]} =
             Marc.from_mrk(mrk, mode: :permissive)

    assert good["245"]["a"] == "Good"
    assert {:ok, [bad, _]} = Marc.from_mrk(mrk, marc8_errors: :replace)
    assert bad["245"]["a"] == "Bad \uFFFDx"
    assert binary_part(bad.leader, 9, 1) == "a"

    # Leader/09 says MARC-8 over UTF-8 text: `encoding: :auto` reads it as UTF-8 and says so.
    mislabelled = "=LDR  00000nam  2200000   4500\n=245  10$aСлово\n"
    assert {:ok, [read]} = Marc.from_mrk(mislabelled, encoding: :auto)
    assert read["245"]["a"] == "Слово"
    assert [%Marc.Repair{}] = read.repairs
  end

  test "options are checked" do
    record = %Marc.Record{
      leader: "00000nam a2200000 a 4500",
      fields: [Marc.Field.control("001", "1")]
    }

    assert_raise ArgumentError, ~r/encoding.*got: :latin1/, fn ->
      Marc.to_mrk(record, encoding: :latin1)
    end

    assert_raise ArgumentError, ~r/unrepresentable.*got: :drop/, fn ->
      Marc.to_mrk(record, encoding: :marc8, unrepresentable: :drop)
    end
  end

  describe "mix snakepit.convert" do
    @describetag :tmp_dir
    test "--to mrk --to-encoding marc8 writes what to_mrk/2 does, and reads back", %{tmp_dir: dir} do
      input = Corpus.path("real/loc_bibliographic.mrc")
      out = Path.join(dir, "loc.mrk")
      back = Path.join(dir, "back.mrc")

      to_mrk8 = [input, out, "--to-encoding", "marc8"]
      assert {:ok, stdout, _} = Snakepit.Test.MixTask.run(Mix.Tasks.Snakepit.Convert, to_mrk8)
      assert stdout =~ "386 records written"
      records = input |> Marc.stream() |> Enum.to_list()
      assert File.read!(out) == Marc.to_mrk(records, encoding: :marc8)

      assert {:ok, _, _} =
               Snakepit.Test.MixTask.run(Mix.Tasks.Snakepit.Convert, [out, back, "--from", "mrk"])

      {:ok, from_iso} =
        records |> Marc.encode(encoding: :marc8) |> IO.iodata_to_binary() |> Marc.parse()

      assert back |> Marc.stream() |> Enum.to_list() == from_iso
    end
  end
end
