defmodule Snakepit.Marc.FormatsTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, ParseError, Record}
  alias Snakepit.Test.Corpus
  import Snakepit.Test.OsResources, only: [tmp_path: 2]

  @bib "real/loc_bibliographic.mrc"

  defp parse!(rel, opts \\ []) do
    {:ok, records} = Marc.parse(Corpus.read!(rel), opts)
    records
  end

  defp tags(%Record{fields: fields}), do: Enum.map(fields, & &1.tag)

  defp with_leader_byte(%Record{leader: leader} = record, pos, byte) do
    <<head::binary-size(pos), _, tail::binary>> = leader
    %{record | leader: head <> byte <> tail}
  end

  # Equal but for leader/00-04 and 12-16, which ISO 2709 encoding recomputes.
  defp mask_lengths(%Record{leader: <<_::binary-5, a::binary-7, _::binary-5, b::binary>>} = r),
    do: %{r | leader: "00000" <> a <> "00000" <> b}

  # Mirrors native/snakepit_core/tests/formats_conformance.rs, through the Elixir API.
  describe "pymarc conformance" do
    test "one.json is test.dat's first record as read (leader as stored, MARC-8 untouched)" do
      json = Corpus.read!("formats/pymarc_one.json")
      [first | _] = test_dat = parse!("formats/pymarc_test.dat", to_unicode: false)
      assert length(test_dat) == 10

      # one.json reads as exactly test.dat record 0 ...
      assert {:ok, [from_json]} = Marc.from_json(json)
      assert from_json == first
      # ... and our JSON of that record is one.json as data.
      assert Marc.from_json(Marc.to_json(first)) == Marc.from_json(json)

      assert Marc.encode(from_json) |> IO.iodata_to_binary() ==
               binary_part(Corpus.read!("formats/pymarc_test.dat"), 0, 755)

      assert from_json.leader == "00755cam  22002414a 4500"
      assert length(from_json.fields) == 18
      assert from_json["245"]["a"] == "ActivePerl with ASP and ADO /"
      assert from_json["260"]["b"] == "John Wiley & Sons,"
      assert from_json["500"]["a"] == "\"Wiley Computer Publishing.\""
    end

    test "one.dat differs from one.json only at leader/09 (pymarc's as_marc writes `a`)" do
      [one] = parse!("formats/pymarc_one.dat")
      assert binary_part(one.leader, 9, 1) == "a"
      {:ok, [from_json]} = Marc.from_json(Corpus.read!("formats/pymarc_one.json"))
      assert with_leader_byte(one, 9, " ") == from_json
      refute one == from_json
    end

    test "test.json (one different record, raw newlines in strings) reads and writes back" do
      assert {:ok, [record]} = Marc.from_json(Corpus.read!("formats/pymarc_test.json"))
      # Record length and base address are recomputed (pymarc's file says 01471).
      assert mask_lengths(record).leader == "00000cjm a2200000 a 4500"
      assert length(record.fields) == 27
      assert Enum.take(tags(record), 5) == ["001", "005", "007", "008", "035"]
      assert String.starts_with?(record["100"]["a"], "Dylan,\n")
      assert Marc.from_json(Marc.to_json(record)) == {:ok, [record]}
      assert Marc.from_json(Marc.to_json([record], lines: true)) == {:ok, [record]}
      assert Marc.parse(IO.iodata_to_binary(Marc.encode(record))) == {:ok, [record]}
      # stream/2 reads the file (pretty-printed, raw newlines in strings) the same way.
      assert Corpus.path("formats/pymarc_test.json") |> Marc.stream() |> Enum.to_list() == [
               record
             ]

      assert Corpus.path("formats/pymarc_test.json")
             |> Snakepit.Test.FileChunks.stream!(100)
             |> Marc.stream()
             |> Enum.to_list() == [record]
    end

    test "every test.dat record survives JSON and XML" do
      records = parse!("formats/pymarc_test.dat", to_unicode: false)
      assert Marc.from_json(Marc.to_json(records)) == {:ok, records}
      assert Marc.from_xml(Marc.to_xml(records)) == {:ok, records}
    end

    test "pymarc_batch.xml" do
      assert {:ok, [a, b]} = Marc.from_xml(Corpus.read!("formats/pymarc_batch.xml"))
      assert mask_lengths(a).leader == "00000njm  22000007a 4500"
      assert mask_lengths(b).leader == "00000cmma 2200000 a 4500"

      assert tags(a) ==
               ~w(001 003 005 007 008 010 028 040 050 245 260 300 511 505 500 650 650 700)

      assert length(b.fields) == 27
      assert hd(a.fields) == Field.control("001", "5637241")

      assert Enum.at(a.fields, 4) ==
               Field.control("008", "910926s1957    nyuuun              eng  ")

      assert Enum.at(a.fields, 9) ==
               Field.data("245", "0", "4", [
                 {"a", "The Great Ray Charles"},
                 {"h", "[sound recording]."}
               ])

      assert a["010"]["a"] == "   91758335 "
      assert a["511"]["a"] == "Ray Charles, piano & celeste."
      assert b["245"]["a"] == "The White House"
      assert b["856"]["u"] == "http://www.whitehouse.gov"
    end

    test "pymarc_utf8.xml" do
      assert {:ok, [r]} = Marc.from_xml(Corpus.read!("formats/pymarc_utf8.xml"))
      assert mask_lengths(r).leader == "00000njm a2200000uu 4500"
      assert tags(r) == ~w(001 008 245 246 260 306 505 856)
      assert hd(r.fields) == Field.control("001", "ASP925318/clmu")
      assert r["505"]["t"] == "Préludes"
      assert r["260"]["b"] == "Virgin Classics"

      assert Enum.at(r.fields, 3) ==
               Field.data("246", "1", "0", [{"a", "Wilfried Hiller: Book of Stars"}])
    end
  end

  describe "round trips" do
    test "ISO 2709 -> JSON, JSON Lines, XML -> records is the identity on loc_bibliographic" do
      records = parse!(@bib)
      assert length(records) == 386
      assert Marc.from_json(Marc.to_json(records)) == {:ok, records}
      assert Marc.from_json(Marc.to_json(records, lines: true)) == {:ok, records}
      assert Marc.from_xml(Marc.to_xml(records)) == {:ok, records}
      # And back to the original bytes.
      {:ok, from_xml} = Marc.from_xml(Marc.to_xml(records))
      assert IO.iodata_to_binary(Marc.encode(from_xml)) == Corpus.read!(@bib)
    end

    test "streamed writers give the same documents, and stream/2 reads them back" do
      records = parse!(@bib)

      for {writer, ext, whole} <- [
            {&Marc.xml_stream(&1, batch_size: 37), ".xml", Marc.to_xml(records)},
            {&Marc.json_stream(&1, batch_size: 50), ".json", Marc.to_json(records)},
            {&Marc.json_stream(&1, lines: true), ".jsonl", Marc.to_json(records, lines: true)}
          ] do
        path = tmp_path("out", ext)

        Corpus.path(@bib)
        |> Marc.stream()
        |> writer.()
        |> Stream.into(File.stream!(path))
        |> Stream.run()

        assert File.read!(path) == whole, ext
        assert path |> Marc.stream() |> Enum.to_list() == records, ext
        # Pushed sources, cut anywhere, detected by their first byte.
        assert path |> Snakepit.Test.FileChunks.stream!(333) |> Marc.stream() |> Enum.to_list() ==
                 records

        assert {:binary, whole} |> Marc.stream(batch_size: 7) |> Enum.to_list() == records
        # A bare binary starting with `<`, `{` or `[` is data, not a path; IO devices work.
        assert whole |> Marc.stream() |> Enum.count() == 386
        {:ok, device} = File.open(path, [:read, :binary])
        assert device |> Marc.stream(chunk_size: 1000) |> Enum.to_list() == records
        File.close(device)
      end
    end

    test "empty inputs and outputs" do
      assert Marc.to_json([]) == "[]\n"
      assert Marc.json_stream([]) |> Enum.join() == "[]\n"
      assert Marc.json_stream([], lines: true) |> Enum.join() == ""
      assert Marc.from_json("") == {:ok, []}
      assert Marc.from_json(" [ ] ") == {:ok, []}
      assert Marc.from_xml(Marc.to_xml([])) == {:ok, []}
      assert Marc.xml_stream([]) |> Enum.join() == Marc.to_xml([])
    end

    test "MARC-8 records: converted to UTF-8 by default, U+FFFD for raw MARC-8 bytes" do
      converted = parse!("marc8/pymarc_marc.dat")
      json = Marc.to_json(converted)
      assert String.valid?(json)
      refute json =~ "\uFFFD"
      assert Marc.from_json(json) == {:ok, converted}

      # pymarc_marc8.dat holds MARC-8 bytes that are not UTF-8.
      [converted8] = parse!("marc8/pymarc_marc8.dat")
      refute Marc.to_json(converted8) =~ "\uFFFD"
      assert Marc.from_json(Marc.to_json(converted8)) == {:ok, [converted8]}
      raw = parse!("marc8/pymarc_marc8.dat", to_unicode: false)
      raw_json = Marc.to_json(raw)
      assert String.valid?(raw_json)
      assert raw_json =~ "\uFFFD"
    end
  end

  describe "native ISO 2709 writer (the convert task's)" do
    test "gives exactly encode/1's bytes" do
      for rel <- [@bib, "synthetic/realistic_2000.mrc", "formats/pymarc_test.dat"] do
        records = parse!(rel)
        native = records |> Snakepit.Marc.Formats.iso_stream() |> Enum.join()
        assert native == IO.iodata_to_binary(Marc.encode(records)), rel
      end

      built = %Record{
        leader: "99999nam a  99999   4500" |> String.replace("4500", "    "),
        fields: [Field.control("001", "x"), %Field{tag: "245", subfields: [{"a", "T"}]}]
      }

      assert [built] |> Snakepit.Marc.Formats.iso_stream() |> Enum.join() ==
               IO.iodata_to_binary(Marc.encode(built))
    end

    test "too large fields and records raise, naming the record" do
      big = %Record{
        leader: "00000nam a2200000 a 4500",
        fields: [Field.data("500", [{"a", String.duplicate("x", 10_000)}])]
      }

      assert_raise ParseError,
                   ~r/too_large in record 0 .*field 0 \(500\) would be 10005 bytes/,
                   fn ->
                     [big] |> Snakepit.Marc.Formats.iso_stream() |> Enum.to_list()
                   end

      huge = %Record{
        big
        | fields: for(_ <- 1..12, do: Field.data("500", [{"a", String.duplicate("x", 9000)}]))
      }

      assert_raise ParseError, ~r/record would be \d+ bytes; ISO 2709 allows 99999/, fn ->
        [huge] |> Snakepit.Marc.Formats.iso_stream() |> Enum.to_list()
      end
    end
  end

  describe "writer argument errors" do
    setup do
      %{record: hd(parse!("formats/pymarc_one.dat"))}
    end

    test "name the record and field", %{record: record} do
      assert_raise ArgumentError, ~r/record 0: the leader must be a 24-byte binary/, fn ->
        Marc.to_json(%{record | leader: "short"})
      end

      bad_tag = %{record | fields: record.fields ++ [%Field{tag: "24", value: "x"}]}

      assert_raise ArgumentError, ~r/record 1: field 18: the tag must be a 3-byte binary/, fn ->
        Marc.to_xml([record, bad_tag])
      end

      # A bare struct: Field.data/4 refuses the two-byte code itself.
      bad_sub = %{
        record
        | fields: [%Field{tag: "245", ind1: "1", ind2: "0", subfields: [{"ab", "x"}]}]
      }

      assert_raise ArgumentError, ~r/field 0: \(245\) subfield 0 must be/, fn ->
        Marc.to_json(bad_sub)
      end

      bad_ind = %{record | fields: [%Field{tag: "245", ind1: "10", subfields: []}]}

      assert_raise ArgumentError, ~r/\(245\) ind1 must be a one-byte binary/, fn ->
        Marc.json_stream([bad_ind]) |> Enum.to_list()
      end

      # Streams name the record by its place in the whole input, not in its batch.
      for stream <- [
            &Marc.json_stream(&1, batch_size: 2),
            &Marc.json_stream(&1, batch_size: 2, lines: true),
            &Marc.xml_stream(&1, batch_size: 2)
          ] do
        assert_raise ArgumentError, ~r/^record 5: the leader/, fn ->
          List.duplicate(record, 5)
          |> Enum.concat([%{record | leader: nil}])
          |> stream.()
          |> Stream.run()
        end
      end

      assert_raise ArgumentError, ~r/expected a %Snakepit.Marc.Record/, fn ->
        Marc.to_json([record, {:error, :x}])
      end

      assert_raise ArgumentError, ~r/unknown option/, fn -> Marc.to_xml(record, lines: true) end
    end

    test "nil indicators are written as blanks", %{record: record} do
      r = %{record | fields: [%Field{tag: "245", subfields: [{"a", "x"}]}]}
      assert {:ok, [back]} = Marc.from_json(Marc.to_json(r))
      assert hd(back.fields).ind1 == " "
    end
  end

  describe "records past ISO 2709's limits" do
    # MARC-in-JSON and MARCXML have no length limits: such a record is read and kept, and
    # the limits apply where it is written as ISO 2709.
    test "a field over 9,999 bytes is read from JSON, XML and their streams, and refused by encode" do
      value = String.duplicate("x", 12_000)

      record = %Record{
        leader: "00000nam a2200000 a 4500",
        fields: [Field.control("001", "id1"), Field.data("245", "1", "0", [{"a", value}])]
      }

      json = Marc.to_json([record])
      xml = Marc.to_xml([record])
      assert {:ok, [from_json]} = Marc.from_json(json)
      assert {:ok, [from_xml]} = Marc.from_xml(xml)
      assert from_json["245"]["a"] == value and from_xml["245"]["a"] == value
      assert [streamed] = Marc.stream([xml], format: :xml) |> Enum.to_list()
      assert streamed["245"]["a"] == value
      assert from_xml.fields == from_json.fields and from_json.fields == record.fields

      assert %ParseError{kind: :too_large} = catch_error(Marc.encode(from_json))
    end
  end

  describe "reading errors and modes" do
    @good ~s({"leader":"00000nam a2200000 a 4500","fields":[{"001":"1"}]})

    test "JSON: strict, permissive and skip, with index and offset" do
      doc =
        Enum.join(
          [@good, ~s({"leader":"00000nam a2200000 a 4500","fields":[{"001":7}]}), @good],
          "\n"
        )

      assert {:error, %ParseError{kind: :invalid_json, record_index: 1} = e} = Marc.from_json(doc)
      assert e.byte_offset > byte_size(@good)
      assert e.detail =~ "001"

      assert {:ok, [%Record{}, {:error, %ParseError{record_index: 1}}, %Record{}]} =
               Marc.from_json(doc, mode: :permissive)

      assert {:ok, [_, _], %{skipped: 1}} = Marc.from_json(doc, mode: :skip, report: true)

      assert {:error, %ParseError{kind: :invalid_json}} = Marc.from_json("not json")
    end

    test "the same through stream/2, from a file and from pushed chunks" do
      doc =
        Enum.join(
          [@good, ~s({"leader":"short","fields":[]}), @good, ~s({"leader":1})],
          "\n"
        ) <> "\n"

      path = tmp_path("modes", ".jsonl")
      File.write!(path, doc)

      for source <- [path, {:binary, doc}, [doc], Snakepit.Test.FileChunks.stream!(path, 3)] do
        items = source |> Marc.stream(mode: :permissive) |> Enum.to_list()

        assert [%Record{}, {:error, e1}, %Record{}, {:error, e3}] = items
        assert {e1.kind, e1.record_index} == {:invalid_json, 1}
        assert {e3.kind, e3.record_index} == {:invalid_json, 3}
        assert e1.byte_offset in (byte_size(@good) + 1)..(2 * byte_size(@good))

        assert source |> Marc.stream(mode: :skip) |> Enum.count() == 2

        assert_raise ParseError, ~r/invalid_json in record 1/, fn ->
          source |> Marc.stream() |> Enum.to_list()
        end
      end
    end

    test "XML: a bad record is an error in its place, the next one is read" do
      good = Marc.to_xml(parse!("formats/pymarc_one.dat"))
      [head, tail] = String.split(good, "</record>")

      doc =
        head <>
          "</record>\n<record><leader>short</leader></record>" <>
          String.replace(head, ~r/.*<collection[^>]*>/s, "") <> "</record>" <> tail

      assert {:ok,
              [%Record{}, {:error, %ParseError{kind: :invalid_xml, record_index: 1}}, %Record{}]} =
               Marc.from_xml(doc, mode: :permissive)

      assert {:error, %ParseError{kind: :invalid_xml, record_index: 1}} = Marc.from_xml(doc)
      assert {:binary, doc} |> Marc.stream(mode: :skip) |> Enum.count() == 2
    end

    test "the :format option overrides detection; batches/2 refuses other formats" do
      xml = Marc.to_xml(parse!("formats/pymarc_one.dat"))
      path = tmp_path("noext", ".data")
      File.write!(path, xml)
      assert path |> Marc.stream() |> Enum.count() == 1
      assert path |> Marc.stream(format: :xml) |> Enum.count() == 1

      assert_raise ParseError, fn ->
        path |> Marc.stream(format: :iso2709) |> Enum.to_list()
      end

      assert_raise ArgumentError, ~r/ISO 2709 only/, fn ->
        path |> Marc.batches() |> Enum.to_list()
      end

      assert_raise ArgumentError, ~r/:format must be one of/, fn ->
        Marc.stream(path, format: :csv)
      end
    end

    test "halting early closes a JSON/XML stream" do
      path = tmp_path("big", ".xml")
      records = parse!("synthetic/realistic_2000.mrc")
      records |> Marc.xml_stream() |> Stream.into(File.stream!(path)) |> Stream.run()
      assert path |> Marc.stream(batch_size: 10) |> Enum.take(15) == Enum.take(records, 15)

      assert Snakepit.Test.FileChunks.stream!(path, 1000) |> Marc.stream() |> Enum.take(3) ==
               Enum.take(records, 3)
    end
  end

  describe "hostile XML" do
    @xxe """
    <?xml version="1.0"?>
    <!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>&x;</leader></record></collection>
    """

    defp billion_laughs do
      entities =
        for i <- 1..9 do
          refs = String.duplicate("&lol#{i - 1};", 10)
          ~s(<!ENTITY lol#{i} "#{refs}">\n)
        end

      ~s(<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 "lol">\n) <>
        Enum.join(entities) <>
        "]>\n<collection><record><leader>&lol9;</leader></record></collection>\n"
    end

    test "XXE and billion laughs are refused quickly, through from_xml and stream/2" do
      for doc <- [@xxe, billion_laughs()] do
        {micros, result} = :timer.tc(fn -> Marc.from_xml(doc) end)
        assert {:error, %ParseError{kind: :invalid_xml} = e} = result
        assert e.detail =~ "DOCTYPE"
        assert micros < 1_000_000

        path = tmp_path("hostile", ".xml")
        File.write!(path, doc)

        for source <- [path, {:binary, doc}, Snakepit.Test.FileChunks.stream!(path, 16)] do
          {micros, _} =
            :timer.tc(fn ->
              assert_raise ParseError, ~r/invalid_xml.*DOCTYPE/, fn ->
                source |> Marc.stream() |> Enum.to_list()
              end
            end)

          assert micros < 1_000_000

          assert [{:error, %ParseError{kind: :invalid_xml}}] =
                   source |> Marc.stream(mode: :permissive) |> Enum.to_list()
        end
      end
    end
  end
end

defmodule Snakepit.Marc.FormatsResourcesTest do
  # Counts the VM's native threads and measures its memory: async: false, so no other test
  # runs meanwhile.
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Test.Corpus
  import Snakepit.Test.OsResources

  describe "bounded memory" do
    @tag timeout: 120_000
    test "a large MARCXML collection streams from a file without being loaded whole" do
      records = elem(Marc.parse(Corpus.read!("synthetic/realistic_2000.mrc")), 1)
      path = tmp_path("large", ".xml")

      # ~40 MB of XML: 20 x 2,000 records.
      Stream.repeatedly(fn -> records end)
      |> Stream.take(20)
      |> Stream.concat()
      |> Marc.xml_stream()
      |> Stream.into(File.stream!(path))
      |> Stream.run()

      size = File.stat!(path).size
      assert size > 30_000_000
      :erlang.garbage_collect()
      before = :erlang.memory(:total)

      peak =
        path
        |> Marc.stream()
        |> Stream.with_index()
        |> Enum.reduce(0, fn {_record, i}, peak ->
          if rem(i, 2000) == 0, do: max(peak, :erlang.memory(:total) - before), else: peak
        end)

      assert path |> Marc.stream() |> Enum.count() == 40_000
      assert peak < div(size, 2), "memory grew by #{peak} bytes for a #{size}-byte file"
    end
  end

  setup_all do
    {:ok, records} = Marc.parse(Corpus.read!("synthetic/realistic_2000.mrc"))
    base = Path.join(System.tmp_dir!(), "snakepit_fmt_res_#{System.unique_integer([:positive])}")
    xml = base <> ".xml"
    jsonl = base <> ".jsonl"
    records |> Marc.xml_stream() |> Stream.into(File.stream!(xml)) |> Stream.run()
    records |> Marc.json_stream(lines: true) |> Stream.into(File.stream!(jsonl)) |> Stream.run()
    on_exit(fn -> File.rm(xml) && File.rm(jsonl) end)
    %{xml: xml, jsonl: jsonl}
  end

  setup do
    assert settles?(fn -> native_threads() == 0 end)
    :ok
  end

  test "file and pushed streams run one reader thread and stop it when halted", ctx do
    for source <- [
          ctx.xml,
          ctx.jsonl,
          Snakepit.Test.FileChunks.stream!(ctx.xml, 4096),
          {:binary, File.read!(ctx.jsonl)}
        ] do
      [_ | _] =
        Enum.reduce_while(Marc.stream(source, batch_size: 10), [], fn record, acc ->
          if acc == [], do: assert(native_threads() == 1)
          if length(acc) == 4, do: {:halt, [record | acc]}, else: {:cont, [record | acc]}
        end)

      assert threads_gone?()
    end
  end

  test "if the consumer dies, a pushed XML stream's reader is stopped", ctx do
    parent = self()

    pid =
      spawn(fn ->
        Snakepit.Test.FileChunks.stream!(ctx.xml, 4096)
        |> Marc.stream(batch_size: 10)
        |> Enum.each(fn _ -> send(parent, :running) && Process.sleep(:infinity) end)
      end)

    assert_receive :running, 2_000
    assert native_threads() == 1
    Process.exit(pid, :kill)
    assert settles?(fn -> native_threads() == 0 end)
  end
end
