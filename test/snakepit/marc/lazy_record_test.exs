defmodule Snakepit.Marc.LazyRecordTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, LazyRecord, ParseError, Record}
  alias Snakepit.Test.Corpus

  doctest Snakepit.Marc.LazyRecord

  @helpers [:title, :author, :isbn, :issn, :subjects, :publisher, :pubyear]

  describe "every well-formed corpus record" do
    for {file, count} <- Corpus.good_files() do
      test "#{file}: a lazy record answers as its Record does" do
        bytes = Corpus.read!(unquote(file))
        {:ok, records} = Marc.parse(bytes)
        {:ok, lazies} = Marc.parse(bytes, records: :lazy)
        assert length(lazies) == unquote(count)

        for {lazy, record} <- Enum.zip(lazies, records) do
          assert %LazyRecord{bytes: raw} = lazy
          assert LazyRecord.to_record(lazy) == record
          assert LazyRecord.leader(lazy) == record.leader
          assert LazyRecord.tags(lazy) == Enum.map(record.fields, & &1.tag)
          assert LazyRecord.fields(lazy) == record.fields
          assert LazyRecord.values(lazy) == Enum.map(record.fields, &Field.value/1)

          for helper <- @helpers,
              do: assert(apply(LazyRecord, helper, [lazy]) == apply(Record, helper, [record]))

          for tag <- Enum.uniq(LazyRecord.tags(lazy)) do
            assert LazyRecord.fields(lazy, tag) == Record.fields(record, tag)
            assert LazyRecord.field(lazy, tag) == Record.field(record, tag)
            assert lazy[tag] == record[tag]
          end

          # The bytes are the record's encoding: the same bytes Marc.encode gives for it.
          assert Marc.encode(lazy) == raw
          assert IO.iodata_to_binary(Marc.encode(record)) == raw
        end
      end
    end
  end

  test "MARC-8 records hold their UTF-8 conversion" do
    bytes = Corpus.read!("marc8/pymarc_marc8.dat")

    for opts <- [[], [normalize: :nfc], [to_unicode: false]] do
      [record] = Marc.parse!(bytes, opts)
      [lazy] = Marc.parse!(bytes, [records: :lazy] ++ opts)
      assert LazyRecord.to_record(lazy) == record
    end

    [lazy] = Marc.parse!(bytes, records: :lazy)
    assert binary_part(LazyRecord.leader(lazy), 9, 1) == "a"
  end

  test "a missing tag gives what a Record gives" do
    [lazy] = Marc.parse!(Corpus.read!("formats/pymarc_one.dat"), records: :lazy)
    assert LazyRecord.fields(lazy, "999") == []
    assert LazyRecord.field(lazy, "999") == nil
    assert LazyRecord.values(lazy, ["998", "999"]) == []
    assert lazy["999"] == nil
  end

  test "fields/2 and values/2 with several tags keep record order" do
    [lazy] = Marc.parse!(Corpus.read!("formats/pymarc_one.dat"), records: :lazy)
    record = LazyRecord.to_record(lazy)
    tags = ["650", "245", "020"]
    assert LazyRecord.fields(lazy, tags) == Record.fields(record, tags)

    assert LazyRecord.values(lazy, tags) ==
             Enum.map(Record.fields(record, tags), &Field.value/1)
  end

  test "updates through Access return a Record" do
    [lazy] = Marc.parse!(Corpus.read!("formats/pymarc_one.dat"), records: :lazy)
    updated = put_in(lazy["245"], Field.data("245", [{"a", "New title"}]))
    assert %Record{} = updated
    assert Record.title(updated) == "New title"
    assert {%Field{tag: "245"}, %Record{} = rest} = pop_in(lazy["245"])
    refute rest["245"]
  end

  test "bad arguments raise ArgumentError naming them" do
    [lazy] = Marc.parse!(Corpus.read!("formats/pymarc_one.dat"), records: :lazy)

    assert_raise ArgumentError, ~r/three-byte tag.*"24"/, fn -> LazyRecord.fields(lazy, "24") end
    assert_raise ArgumentError, ~r/three-byte tag.*:a/, fn -> LazyRecord.values(lazy, [:a]) end

    assert_raise ArgumentError, ~r/bytes must be one ISO 2709 record.*/, fn ->
      LazyRecord.fields(%LazyRecord{bytes: "not a record at all, not at all"})
    end

    for fun <- [&LazyRecord.values/1, &LazyRecord.tags/1, &LazyRecord.leader/1] do
      assert_raise ArgumentError, ~r/LazyRecord\{\} with binary bytes, got: %/, fn ->
        fun.(%LazyRecord{bytes: nil})
      end
    end

    assert_raise ArgumentError, ~r/:records must be one of \[:struct, :lazy\], got: :eager/, fn ->
      Marc.parse(Corpus.read!("formats/pymarc_one.dat"), records: :eager)
    end
  end

  test "the dirty-scheduler variant answers as the inline one" do
    [lazy] = Marc.parse!(Corpus.read!("real/loc_edge_cases.mrc") |> first_frame(), records: :lazy)

    for op <- [:fields, :values, :record], tags <- [nil, ["245", "650"]] do
      assert Snakepit.Native.lazy_dirty(op, lazy.bytes, tags) ==
               Snakepit.Native.lazy(op, lazy.bytes, tags)
    end
  end

  defp first_frame(bytes) do
    [{offset, length} | _] = Marc.scan(bytes)
    binary_part(bytes, offset, length)
  end

  describe "records: :lazy on every read path" do
    @bib "real/loc_bibliographic.mrc"

    setup do
      %{records: Marc.parse!(Corpus.read!(@bib))}
    end

    test "stream/2 of a path, a binary and an enumerable", %{records: records} do
      for source <- [
            Corpus.path(@bib),
            Corpus.read!(@bib),
            Snakepit.Test.FileChunks.stream!(Corpus.path(@bib), 1000)
          ] do
        lazies = source |> Marc.stream(records: :lazy) |> Enum.to_list()
        assert Enum.map(lazies, &LazyRecord.to_record/1) == records
      end
    end

    test "stream/2 of a file large enough for the threaded reader" do
      bytes = Corpus.read!("synthetic/records_10k.mrc")
      path = Snakepit.Test.OsResources.tmp_path("lazy_threaded", ".mrc")
      # Over the 4 MiB read-at-once limit, so the reader thread and parser pool run.
      File.write!(path, [bytes, bytes])
      on_exit(fn -> File.rm(path) end)

      lazies = path |> Marc.stream(records: :lazy, threads: 2) |> Enum.to_list()
      records = Marc.parse!(bytes)
      assert length(lazies) == 2 * length(records)
      assert lazies |> Enum.take(length(records)) |> Enum.map(&LazyRecord.to_record/1) == records
    end

    test "modes hold: bad records are errors in place, good ones lazy" do
      bad = Corpus.read!("bad/pymarc_bad_records.mrc")
      {:ok, structs} = Marc.parse(bad, mode: :permissive)
      {:ok, lazies} = Marc.parse(bad, mode: :permissive, records: :lazy)

      assert Enum.map(lazies, fn
               %LazyRecord{} = lazy -> LazyRecord.to_record(lazy)
               {:error, %ParseError{}} = error -> error
             end) == structs

      streamed = bad |> Marc.stream(mode: :permissive, records: :lazy) |> Enum.to_list()
      assert streamed == lazies

      assert {:error, %ParseError{record_index: 1}} = Marc.parse(bad, records: :lazy)
    end

    test "MARC-in-JSON and MARCXML streams", %{records: _} do
      for file <- ["formats/pymarc_test.json", "formats/pymarc_batch.xml"] do
        structs = file |> Corpus.path() |> Marc.stream() |> Enum.to_list()
        lazies = file |> Corpus.path() |> Marc.stream(records: :lazy) |> Enum.to_list()
        assert Enum.all?(lazies, &match?(%LazyRecord{}, &1))
        assert Enum.map(lazies, &LazyRecord.to_record/1) == structs
      end
    end

    test "map/3 hands lazy records to the function", %{records: records} do
      titles =
        Corpus.path(@bib)
        |> Marc.map(&LazyRecord.title/1, records: :lazy, workers: 2)
        |> Enum.to_list()

      assert titles == Enum.map(records, &Record.title/1)
    end

    test "to_json/2, to_xml/2 and encode/1 write lazy records as their Records",
         %{records: records} do
      lazies = Marc.parse!(Corpus.read!(@bib), records: :lazy)
      assert Marc.to_json(lazies) == Marc.to_json(records)
      assert Marc.to_json(hd(lazies)) == Marc.to_json(hd(records))
      assert Marc.to_xml(lazies) == Marc.to_xml(records)
      assert IO.iodata_to_binary(Marc.encode(lazies)) == Corpus.read!(@bib)

      assert lazies |> Marc.json_stream(lines: true) |> Enum.join() ==
               records |> Marc.json_stream(lines: true) |> Enum.join()
    end
  end
end
