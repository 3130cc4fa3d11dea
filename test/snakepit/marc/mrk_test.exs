defmodule Snakepit.Marc.MrkTest do
  # MarcEdit's mnemonic format (.mrk) and the line dump, against pymarc 5.4: the fixtures
  # in test/fixtures/mrk come from scripts/gen_mrk_fixtures.py (its docstring says what each
  # holds); this test needs neither Python nor pymarc.
  # Not async: its mix task tests capture :stderr, which is global (Snakepit.Test.MixTask).
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, ParseError, Record}
  alias Snakepit.Test.Corpus

  @fixtures Path.expand("../../fixtures/mrk", __DIR__)

  # The one record pymarc reads differently: its leader says MARC-8 but its bytes are UTF-8
  # (Arabic), so its "MARC-8" holds bytes no MARC-8 table has. pymarc writes a blank for
  # each, Snakepit's converter U+FFFD (its :replace), so the two readings differ there.
  @known_differences %{"marc8/rustmarc_marc8_sample.mrc" => [0]}

  defp gunzip(name), do: @fixtures |> Path.join(name) |> File.read!() |> :zlib.gunzip()

  defp verdicts do
    for path <- @fixtures |> Path.join("*.verdict") |> Path.wildcard() |> Enum.sort() do
      {:ok, terms} = :file.consult(path)

      terms
      |> Map.new(fn
        {key, value} -> {key, value}
        {key, equal, differing} -> {key, {equal, differing}}
      end)
      |> Map.put(:name, Path.basename(path, ".verdict"))
    end
  end

  defp records(rel, opts),
    do: rel |> to_string() |> Corpus.path() |> Marc.stream(opts) |> Enum.to_list()

  test "every corpus file has its fixtures" do
    files = Enum.map(verdicts(), &to_string(&1.file))
    assert length(files) == 15

    for good <- ~w(real/loc_bibliographic.mrc synthetic/records_10k.mrc marc8/pymarc_marc.dat) do
      assert good in files
    end
  end

  describe "against pymarc, on every corpus record" do
    test "to_text/2 is pymarc's str(record), byte for byte" do
      for v <- verdicts() do
        records = records(v.file, to_unicode: false)
        assert length(records) == v.records, v.name
        text = Marc.to_text(records)
        expected = gunzip(v.name <> ".pymarc.txt.gz")

        if Map.has_key?(@known_differences, to_string(v.file)) do
          # Where the MARC-8 is bad, pymarc writes blanks, we U+FFFD: the other lines agree.
          [ours, theirs] = Enum.map([text, expected], &String.split(&1, "\n"))
          assert length(ours) == length(theirs)
          same = for {a, b} <- Enum.zip(ours, theirs), a == b, do: a
          assert length(same) > div(length(ours), 2), v.name
        else
          assert text == expected, v.name
        end
      end
    end

    test "pymarc reads our .mrk as its own record (the fixture is still what we write)" do
      for v <- verdicts() do
        records = records(v.file, to_unicode: false)
        assert Marc.to_mrk(records) == gunzip(v.name <> ".ours.mrk.gz"), v.name
        {equal, differing} = v.pymarc_reads_ours
        known = Map.get(@known_differences, to_string(v.file), [])
        assert differing == known, "#{v.name}: pymarc differs on #{inspect(differing)}"
        assert equal == v.records - length(known)
      end
    end

    test "we read pymarc's str(record) output as pymarc's record" do
      verdicts = verdicts()

      checked =
        for v <- verdicts, reduce: 0 do
          acc ->
            # The ambiguous ones may not even read (`$$`): permissive, and they are left out.
            # pymarc's str() keeps a MARC-8 record's leader/09 blank over its Unicode text,
            # which a .mrk reader takes for MARC-8 text: `to_unicode: false` keeps the bytes.
            {:ok, ours} =
              Marc.from_mrk(gunzip(v.name <> ".pymarc.txt.gz"),
                mode: :permissive,
                to_unicode: false
              )

            {:ok, theirs} = Marc.from_json(gunzip(v.name <> ".pymarc.json.gz"))
            assert length(ours) == length(theirs), v.name

            pairs =
              for {{a, b}, i} <- Enum.with_index(Enum.zip(ours, theirs)),
                  i not in v.ambiguous,
                  do: {i, a, b}

            for {i, a, b} <- pairs, a != b do
              flunk("#{v.name} record #{i}: #{inspect(first_difference(a, b))}")
            end

            acc + length(pairs)
        end

      # The records whose str() nobody reads back (a `$` in a value...) are left out: 32.
      total = verdicts |> Enum.map(& &1.records) |> Enum.sum()
      assert total == 12_635
      assert checked == total - 32
    end
  end

  defp first_difference(%Record{} = a, %Record{} = b) do
    if a.leader != b.leader,
      do: {:leader, a.leader, b.leader},
      else: a.fields |> Enum.zip(b.fields) |> Enum.find(fn {x, y} -> x != y end)
  end

  test "every corpus record reads back exactly from its .mrk" do
    for v <- verdicts() do
      records = records(v.file, to_unicode: true)
      {:ok, back} = records |> Marc.to_mrk() |> Marc.from_mrk()
      assert Enum.map(back, & &1.fields) == Enum.map(records, & &1.fields), v.name
    end
  end

  test "values with every reserved character read back" do
    value = "US$ 5 {acute} \\ back\\slash \e\n\t\x7F é 漢字"

    record = %Record{
      leader: "00000nam a2200000 a 4500",
      fields: [
        Field.control("001", " a b "),
        Field.data("245", " ", "0", [{"a", value}, {"b", ""}]),
        Field.data("500", " ", " ", [])
      ]
    }

    text = Marc.to_mrk(record)

    assert text =~
             "=245  \\0$aUS{dollar} 5 {lcub}acute{rcub} {bsol} back{bsol}slash {esc}{0A}{09}{7F}"

    assert {:ok, [back]} = Marc.from_mrk(text)
    assert back.fields == record.fields
    assert String.starts_with?(back.leader, "00")
  end

  describe "reading" do
    test "a bad line is an :invalid_mrk error naming the line, in every source" do
      good = "=LDR  00000nam\\a2200000\\a\\4500\n=001  1\n\n"
      bad = "=LDR  00000nam a2200000 a 4500\n=245  10$aOK\n=650  \\0 $aNo delimiter\n\n"
      input = good <> bad <> good
      offset = byte_size(good) + byte_size("=LDR  00000nam a2200000 a 4500\n=245  10$aOK\n")

      assert {:error, %ParseError{kind: :invalid_mrk, record_index: 1} = e} = Marc.from_mrk(input)
      assert e.byte_offset == offset
      assert e.detail =~ ~r/^line 6: expected `\$`/

      path = Path.join(System.tmp_dir!(), "mrk_test_#{System.unique_integer([:positive])}.mrk")
      File.write!(path, input)
      on_exit(fn -> File.rm(path) end)

      sources = [
        {path, []},
        {path, [format: :mrk]},
        {{:binary, input}, [format: :mrk]},
        {{:binary, input}, []},
        {[input], []},
        {[input], [format: :mrk]},
        {for(<<c::binary-size(1) <- input>>, do: c), [format: :mrk]}
      ]

      for {source, opts} <- sources do
        assert [%Record{}, {:error, %ParseError{kind: :invalid_mrk} = e}, %Record{}] =
                 source |> Marc.stream([mode: :permissive] ++ opts) |> Enum.to_list()

        assert e.byte_offset == offset
        assert e.detail =~ "line 6:"

        assert_raise ParseError, ~r/line 6/, fn ->
          source |> Marc.stream(opts) |> Enum.to_list()
        end
      end

      assert {:ok, [_, _], %{skipped: 1}} = Marc.from_mrk(input, mode: :skip, report: true)
    end

    test "a hostile .mrk stops at max_record_bytes with a typed error" do
      head = "=LDR  00000nam a2200000 a 4500\n"

      endless_line =
        Stream.concat([head <> "=500  \\\\$a"], Stream.repeatedly(fn -> "{dollar}" end))

      endless_record = Stream.concat([head], Stream.repeatedly(fn -> "=500  \\\\$ax\n" end))

      for source <- [endless_line, endless_record] do
        assert [{:error, %ParseError{kind: :too_large, record_index: 0} = e}] =
                 source
                 |> Marc.stream(format: :mrk, mode: :permissive, max_record_bytes: 64 * 1024)
                 |> Enum.to_list()

        assert e.detail =~ "max_record_bytes"
      end
    end

    test "from_mrk/2 takes only binaries" do
      assert_raise ArgumentError, ~r/expects a binary/, fn -> Marc.from_mrk([]) end
    end
  end

  test "writers refuse what they cannot write" do
    assert_raise ArgumentError, ~r/expected a %Snakepit.Marc.Record/, fn -> Marc.to_mrk(:nope) end
    assert_raise ArgumentError, ~r/expected a %Snakepit.Marc.Record/, fn -> Marc.to_text(1) end
    # A bare struct: Field.control/2 itself refuses the delimiter.
    bad = %Record{
      leader: "00000nam a2200000 a 4500",
      fields: [%Field{tag: "001", value: "a\x1Fb"}]
    }

    assert_raise ParseError, fn -> Marc.to_mrk(bad) end
  end

  describe "mix snakepit.convert" do
    setup do
      dir = Path.join(System.tmp_dir!(), "snakepit_mrk_#{System.unique_integer([:positive])}")
      File.mkdir_p!(dir)
      on_exit(fn -> File.rm_rf!(dir) end)
      %{dir: dir}
    end

    defp convert(args), do: Snakepit.Test.MixTask.run(Mix.Tasks.Snakepit.Convert, args)

    test "ISO 2709 -> .mrk -> .mrk -> ISO 2709 gives the same records, and --to text", %{dir: dir} do
      input = Corpus.path("real/loc_bibliographic.mrc")
      [mrk, mrk2, iso, txt] = Enum.map(~w(a.mrk b.mrk8 c.mrc d.txt), &Path.join(dir, &1))

      {:ok, out, ""} = convert([input, mrk])
      assert out =~ "386 records written"
      {:ok, _, ""} = convert([mrk, mrk2, "--from", "mrk", "--to", "mrk"])
      assert File.read!(mrk2) == File.read!(mrk)
      {:ok, out, ""} = convert([mrk2, iso])
      assert out =~ "(mrk)"
      assert Marc.parse(File.read!(iso)) == Marc.parse(File.read!(input))

      {:ok, _, ""} = convert([input, txt, "--no-to-unicode"])
      assert File.read!(txt) == gunzip("loc_bibliographic.pymarc.txt.gz")
    end
  end
end
