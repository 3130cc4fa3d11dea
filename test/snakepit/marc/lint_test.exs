defmodule Snakepit.Marc.LintTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, Issue, Record, Rules}
  alias Snakepit.Test.Corpus

  doctest Snakepit.Marc.Rules

  @bib Corpus.path("real/loc_bibliographic.mrc")

  defp record(fields, leader \\ "00000nam a2200000 a 4500"),
    do: %Record{leader: leader, fields: fields}

  defp good_fields do
    [
      Field.control("001", "1"),
      Field.control("008", "850101s1985    nyu           000 0 eng d"),
      Field.data("245", "1", "0", [{"a", "Programming Perl /"}, {"c", "Larry Wall."}])
    ]
  end

  describe "lint/2" do
    test "a sound record has no issues; a broken one has each of its problems" do
      assert Marc.lint(record(good_fields())) == []

      bad =
        record(
          good_fields() ++
            [
              Field.data("245", "9", "0", [{"a", "Again"}, {"a", ""}]),
              Field.data("020", " ", " ", [{"a", "0471383148"}])
            ]
        )

      codes = bad |> Marc.lint() |> Enum.map(& &1.code)

      assert codes == [
               "subfield.empty",
               "indicator.undefined",
               "subfield.not_repeatable",
               "field.not_repeatable",
               "isbn.checksum"
             ]
    end

    test "an issue says where, and what was found and what is allowed" do
      bytes =
        record(good_fields() ++ [Field.data("100", "9", " ", [{"a", "Wall"}])])
        |> Marc.encode()
        |> IO.iodata_to_binary()

      {:ok, [lazy]} = Marc.parse(bytes, records: :lazy)

      assert [
               %Issue{code: "indicator.undefined", severity: :error, tag: "100", field_index: 3} =
                 issue
             ] = Marc.lint(lazy)

      assert issue.message == "100 indicator 1 is 9; allowed: 0 1 3"
      assert binary_part(bytes, issue.byte_offset, 2) == "9 "
    end

    test "only:, except: and a rule set" do
      rec = record([Field.control("001", "1"), Field.data("590", " ", " ", [{"a", ""}])])

      assert rec |> Marc.lint() |> Enum.map(& &1.code) == [
               "field.missing",
               "field.missing",
               "subfield.empty",
               "field.local"
             ]

      assert rec |> Marc.lint(only: ["field.*"]) |> Enum.map(& &1.code) == [
               "field.missing",
               "field.missing",
               "field.local"
             ]

      assert rec |> Marc.lint(except: ["field.missing", "subfield.empty"]) |> Enum.map(& &1.code) ==
               ["field.local"]

      rules = [builtin: false, rules: [[code: "local.035", require: "035", severity: :warning]]]

      assert [%Issue{code: "local.035", severity: :warning, message: message}] =
               Marc.lint(rec, rules: rules)

      assert message =~ "no 035 field; rule local.035 requires one"

      assert_raise ArgumentError, ~r/only\[0\]: "nope" names no code/, fn ->
        Marc.lint(rec, only: ["nope"])
      end

      assert_raise ArgumentError, ~r/:except must be a list of code names/, fn ->
        Marc.lint(rec, except: "x")
      end
    end

    test "a rule set file" do
      path = Path.join(System.tmp_dir!(), "lint_rules_#{System.unique_integer([:positive])}.json")
      File.write!(path, ~s({"rules": [{"code": "local.no590", "forbid": "590"}]}))
      on_exit(fn -> File.rm(path) end)
      rec = record(good_fields() ++ [Field.data("590", " ", " ", [{"a", "x"}])])

      assert rec |> Marc.lint(rules: path, except: ["field.local"]) |> Enum.map(& &1.code) == [
               "local.no590"
             ]

      File.write!(path, ~s({"rules": [\n  {"code": 1}]}))

      assert_raise ArgumentError,
                   ~r/#{path}: invalid rule set: rules\[0\].code: every rule needs a code/,
                   fn -> Rules.load!(path) end

      File.write!(path, ~s({"rules": [\n  {"code": "x",}]}))

      assert_raise ArgumentError, ~r/not valid JSON at line 2 column 16/, fn ->
        Rules.load!(path)
      end
    end

    test "rejects what it cannot lint" do
      assert_raise ArgumentError, ~r/expected a %Snakepit.Marc.Record/, fn ->
        Marc.lint("bytes")
      end

      assert_raise ArgumentError, ~r/a rule set is a map or keyword list/, fn ->
        Rules.compile!(:nope)
      end
    end
  end

  describe "lint_stream/2" do
    test "one entry per record, issues as lint/2 finds them record by record" do
      entries = @bib |> Marc.lint_stream() |> Enum.to_list()
      {:ok, records} = Marc.parse(File.read!(@bib), records: :lazy)
      assert length(entries) == length(records)
      assert Enum.map(entries, &elem(&1, 0)) == Enum.to_list(0..(length(records) - 1))
      assert Enum.map(entries, &elem(&1, 2)) == Enum.map(records, &Marc.lint/1)
      offsets = Enum.map(entries, &elem(&1, 1))
      assert offsets == Enum.map(Marc.scan(File.read!(@bib)), &elem(&1, 0))
    end

    test "structural errors come in the same stream" do
      entries =
        "bad/pymarc_bad_records.mrc" |> Corpus.path() |> Marc.lint_stream() |> Enum.to_list()

      invalid =
        for {i, _, issues} <- entries,
            %Issue{code: "record.invalid"} = issue <- issues,
            do: {i, issue.message}

      assert length(invalid) >= 5
      assert {1, "base_address_out_of_range: " <> _} = hd(invalid)

      assert length(
               Marc.lint_stream(Corpus.path("bad/pymarc_bad_records.mrc"),
                 except: ["record.invalid"]
               )
               |> Enum.filter(fn {_, _, i} -> i != [] end)
             ) < length(entries)
    end

    test "MARC-in-JSON and MARCXML, binaries and enumerables give the same issues" do
      xml = Corpus.path("formats/pymarc_batch.xml")
      {:ok, records} = Marc.from_xml(File.read!(xml))
      from_xml = xml |> Marc.lint_stream() |> Enum.map(&elem(&1, 2))
      assert from_xml == Enum.map(records, &Marc.lint/1)
      assert Enum.all?(xml |> Marc.lint_stream() |> Enum.to_list(), &match?({_, nil, _}, &1))

      bytes = File.read!(@bib)
      expected = @bib |> Marc.lint_stream() |> Enum.to_list()
      assert bytes |> Marc.lint_stream() |> Enum.to_list() == expected

      assert [bytes] |> Marc.lint_stream(format: :iso2709) |> Enum.map(&elem(&1, 2)) ==
               Enum.map(expected, &elem(&1, 2))
    end

    test "workers: and the options of stream/2" do
      expected = @bib |> Marc.lint_stream() |> Enum.to_list()
      assert @bib |> Marc.lint_stream(workers: 2, batch_size: 17) |> Enum.to_list() == expected

      assert_raise ArgumentError, ~r/unknown option \[:mode\]/, fn ->
        Marc.lint_stream(@bib, mode: :strict)
      end
    end

    # Groups of batches are linted one ahead (lint.ex): stopping early leaves one running,
    # which is dropped, and a group's entries are given once.
    test "a group linted ahead: the stream stops early, and a group's entries come once" do
      expected = @bib |> Marc.lint_stream() |> Enum.to_list()
      assert @bib |> Marc.lint_stream(batch_size: 5) |> Enum.take(12) == Enum.take(expected, 12)

      [batch | _] = @bib |> Marc.batches(batch_size: 5) |> Enum.to_list()
      native = Snakepit.Marc.Options.native_as_read(:permissive)
      ref = Rules.ref(Rules.compile!([]))
      job = Snakepit.Native.lint_batches_start([{batch.data, 0, 0}], ref, native)
      assert Snakepit.Native.lint_batches_finish(job) == Enum.take(expected, 5)
      assert_raise ArgumentError, fn -> Snakepit.Native.lint_batches_finish(job) end
    end
  end

  describe "through a pool" do
    setup do
      Snakepit.Test.BothProfiles.start_pools!(:lint)
    end

    test "Snakepit.execute(:lint, ...) and lint_stream(pool:) give what lint_stream/2 gives, on both profiles",
         %{pools: pools} do
      bytes = File.read!(@bib)
      expected = @bib |> Marc.lint_stream() |> Enum.to_list()
      rules = Rules.compile!(disable: ["field.local"])
      filtered = @bib |> Marc.lint_stream(rules: rules) |> Enum.to_list()

      for pool <- pools do
        assert {:ok, ^expected} = Snakepit.execute(:lint, [bytes], pool: pool)
        assert {:ok, ^filtered} = Snakepit.execute(:lint, [bytes, [rules: rules]], pool: pool)
        assert @bib |> Marc.lint_stream(pool: pool) |> Enum.to_list() == expected

        assert {:error, %Snakepit.Error{reason: :invalid_arguments}} =
                 Snakepit.execute(:lint, [bytes, [only: ["nope"]]], pool: pool)
      end
    end
  end
end
