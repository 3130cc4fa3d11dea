defmodule Snakepit.Marc.RecoveryTest do
  # The repair options (docs/formats.md, Recovery) on every read path: each must give the
  # same items, repairs included, as parse/2.
  use ExUnit.Case, async: true
  import Snakepit.PoolCase

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, LazyRecord, ParseError, Record, Repair}
  alias Snakepit.Test.Corpus

  @repairs [mode: :permissive, utf8_errors: :replace, encoding: :auto, repair_directory: true]

  # A record the directory points past (testbed_bad_directory.mrc's last), one labelled
  # MARC-8 that is UTF-8, pymarc's record with a U+FFFD subfield code, a good record and a
  # MARC-8 one, and a chunk that is no record.
  defp damaged do
    says_marc8 =
      %Record{
        leader: "00000nam a2200000   4500",
        fields: [Field.control("001", "lie"), Field.data("245", "1", "0", [{"a", "Café"}])]
      }
      |> Marc.encode()
      |> IO.iodata_to_binary()
      |> then(fn <<head::binary-9, "a", tail::binary>> -> head <> " " <> tail end)

    Enum.join([
      "00043nam  2200037   4500001005099999\x1etest\x1e\x1d",
      says_marc8,
      Corpus.read!("bad/pymarc_utf8_invalid.mrc"),
      Corpus.read!("formats/pymarc_one.dat"),
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\x1d",
      Corpus.read!("marc8/pymarc_marc8.dat")
    ])
  end

  defp damaged_path do
    path =
      Path.join(System.tmp_dir!(), "snakepit_recovery_#{System.unique_integer([:positive])}.mrc")

    File.write!(path, damaged())
    on_exit(fn -> File.rm(path) end)
    path
  end

  defp expected do
    {:ok, items} = Marc.parse(damaged(), @repairs)
    items
  end

  test "the repairs read what the defaults refuse, and list what they changed" do
    {:ok, plain} = Marc.parse(damaged(), mode: :permissive)

    assert [
             {:error, %ParseError{kind: :field_out_of_bounds}},
             %Record{repairs: []},
             {:error, %ParseError{kind: :invalid_utf8}},
             %Record{repairs: []},
             {:error, %ParseError{kind: :invalid_record_length}},
             %Record{repairs: []}
           ] = plain

    assert [
             %Record{repairs: [%Repair{kind: :directory}]} = rebuilt,
             %Record{repairs: [%Repair{kind: :encoding_utf8, byte_offset: at}]} = relabelled,
             %Record{repairs: [%Repair{kind: :subfield_code, tag: "260"}]},
             %Record{repairs: []},
             {:error, %ParseError{kind: :invalid_record_length}},
             %Record{repairs: []}
           ] = expected()

    assert rebuilt["001"].value == "test"
    assert relabelled["245"]["a"] == "Café"
    assert binary_part(damaged(), at, 1) == " "
  end

  test "strict mode stays strict about invalid UTF-8 unless asked" do
    bytes = Corpus.read!("bad/pymarc_utf8_invalid.mrc")
    assert {:error, %ParseError{kind: :invalid_utf8}} = Marc.parse(bytes)
    assert {:ok, [%Record{repairs: [_]}]} = Marc.parse(bytes, utf8_errors: :replace)
    assert {:ok, [%Record{}]} = Marc.parse(bytes, utf8_errors: :drop)
  end

  test "stream/2 gives parse/2's items, from a path, a binary and as lazy records" do
    path = damaged_path()
    assert Marc.stream(path, @repairs ++ [batch_size: 2]) |> Enum.to_list() == expected()
    assert Marc.stream({:binary, damaged()}, @repairs) |> Enum.to_list() == expected()

    lazy = Marc.stream(path, @repairs ++ [records: :lazy]) |> Enum.to_list()
    assert [%LazyRecord{repairs: [%Repair{kind: :directory}]} | _] = lazy

    assert Enum.map(lazy, fn
             %LazyRecord{} = r -> LazyRecord.to_record(r)
             error -> error
           end) == expected()
  end

  test "batches, parse_batch/2 and map/3 workers give parse/2's items" do
    path = damaged_path()

    from_batches =
      path
      |> Marc.batches(batch_size: 2)
      |> Enum.flat_map(fn batch ->
        {:ok, items} = Marc.parse_batch(batch, @repairs)
        items
      end)

    assert from_batches == expected()

    assert Marc.map(path, & &1, @repairs ++ [workers: 2, batch_size: 2]) |> Enum.to_list() ==
             expected()
  end

  for profile <- [:process, :thread] do
    test "a #{profile} pool's parse command and pooled streams give parse/2's items" do
      pool = start_pool!(worker_profile: unquote(profile), pool_size: 1, threads_per_worker: 2)
      assert Snakepit.execute(:parse, [damaged(), @repairs], pool: pool) == {:ok, expected()}

      assert Marc.stream(damaged_path(), @repairs ++ [pool: pool, batch_size: 2])
             |> Enum.to_list() == expected()
    end
  end

  test "extract/3 reads repaired records" do
    values = damaged_path() |> Marc.extract([id: "001"], @repairs) |> Enum.to_list()
    assert [%{id: ["test"]}, %{id: ["lie"]} | _] = values
  end

  test "Repair's kinds are the native RepairKind::ALL, in order" do
    assert Repair.kinds() == Snakepit.Native.repair_kinds()
  end

  test "encoding_report/2 counts declared against detected encodings" do
    assert Marc.encoding_report(damaged_path()) == %{
             records: 4,
             errors: 2,
             counts: %{{:utf8, :utf8} => 2, {:marc8, :utf8} => 1, {:marc8, :marc8} => 1}
           }

    assert %{records: 5, errors: 1, counts: %{{:marc8, :marc8} => 2}} =
             Marc.encoding_report(damaged_path(), repair_directory: true)

    assert_raise ArgumentError, ~r/unknown option \[:mode\]/, fn ->
      Marc.encoding_report(damaged_path(), mode: :strict)
    end
  end

  test "records over 99,999 bytes are framed by their terminator" do
    # 12 fields of 9,000 bytes: the leader says 99999, each directory length is 0000
    # ("not recorded") with start 00000, as writers of oversize records do.
    value = String.duplicate("x", 8_995)
    fields = for _ <- 1..12, do: "  \x1fa" <> value <> "\x1e"
    directory = String.duplicate("50000000" <> "0000", 12)
    base = 24 + byte_size(directory) + 1
    leader = "99999nam a22#{String.pad_leading("#{base}", 5, "0")}   4500"
    bytes = leader <> directory <> "\x1e" <> Enum.join(fields) <> "\x1d"
    assert byte_size(bytes) > 99_999
    two = bytes <> bytes

    assert {:ok, [%Record{} = a, %Record{} = b]} = Marc.parse(two)
    assert a == b and length(a.fields) == 12
    assert Enum.all?(a.fields, &(&1["a"] == value))
    assert Marc.stream({:binary, two}) |> Enum.to_list() == [a, b]
  end
end
