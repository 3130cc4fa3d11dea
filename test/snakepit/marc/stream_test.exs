defmodule Snakepit.Marc.StreamTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, ParseError, Record}
  alias Snakepit.Test.Corpus

  @bib "real/loc_bibliographic.mrc"
  @bad "bad/pymarc_bad_records.mrc"

  defp titles(enum), do: Enum.map(enum, &Record.title/1)

  describe "sources" do
    test "every kind of source yields the same records as parse/2" do
      path = Corpus.path(@bib)
      bytes = File.read!(path)
      {:ok, expected} = Marc.parse(bytes)
      expected = titles(expected)

      {:ok, device} = File.open(path, [:read, :binary])

      sources = [
        path,
        {:file, path},
        bytes,
        {:binary, bytes},
        Snakepit.Test.FileChunks.stream!(path, 65_536),
        # Chunk boundaries fall everywhere, inside leaders and directories too.
        Snakepit.Test.FileChunks.stream!(path, 7),
        device,
        for(<<chunk::binary-size(1000) <- binary_part(bytes, 0, 386_000)>>, do: chunk) ++
          [binary_part(bytes, 386_000, byte_size(bytes) - 386_000)],
        # iodata: nested lists, bytes as integers
        [
          [binary_part(bytes, 0, 10)],
          :binary.bin_to_list(binary_part(bytes, 10, 5))
          | [binary_part(bytes, 15, byte_size(bytes) - 15)]
        ]
      ]

      for source <- sources do
        assert source |> Marc.stream() |> titles() == expected,
               "source #{inspect(source, limit: 3, printable_limit: 40)}"
      end

      File.close(device)
    end

    test "anything else is an ArgumentError naming what was given and what is accepted" do
      for bad <- [:nope, 42, %{a: 1}, {:file, 1}] do
        error = assert_raise ArgumentError, fn -> Marc.stream(bad) |> Enum.take(1) end
        assert error.message =~ "expected a file path"
        assert error.message =~ inspect(bad)
      end

      assert_raise ArgumentError, ~r/a chunk must be a binary/, fn ->
        Marc.stream(Stream.map(1..3, &{:x, &1})) |> Enum.to_list()
      end
    end

    test "a missing or unreadable file names the path" do
      error =
        assert_raise File.Error, fn -> Marc.stream("/no/such/file.mrc") |> Enum.to_list() end

      assert Exception.message(error) =~ "/no/such/file.mrc"
      assert error.reason == :enoent

      error =
        assert_raise File.Error, fn -> Marc.stream({:file, Corpus.root()}) |> Enum.to_list() end

      assert error.reason == :eisdir
    end

    test "options are validated" do
      assert_raise ArgumentError, ~r/:batch_size must be an integer in 1..200, got: 500/, fn ->
        Marc.stream(Corpus.path(@bib), batch_size: 500)
      end

      assert_raise ArgumentError, ~r/:max_batch_bytes must be an integer in 1024..300000/, fn ->
        Marc.stream(Corpus.path(@bib), max_batch_bytes: 1_000_000)
      end

      assert_raise ArgumentError, ~r/:threads must be a positive integer, got: 0/, fn ->
        Marc.stream(Corpus.path(@bib), threads: 0)
      end
    end
  end

  describe "modes and offsets" do
    test "permissive streams report absolute offsets, the same as parse/2" do
      bytes = Corpus.read!(@bad)
      {:ok, expected} = Marc.parse(bytes, mode: :permissive)

      for source <- [Corpus.path(@bad), Snakepit.Test.FileChunks.stream!(Corpus.path(@bad), 13)],
          batch_size <- [1, 3, 100] do
        assert Marc.stream(source, mode: :permissive, batch_size: batch_size) |> Enum.to_list() ==
                 expected
      end
    end

    test "strict streams emit the good records before the first error, then raise" do
      {:ok, seen} = Agent.start_link(fn -> [] end)

      error =
        assert_raise ParseError, fn ->
          Marc.stream(Corpus.path(@bad)) |> Enum.each(fn r -> Agent.update(seen, &[r | &1]) end)
        end

      assert error.kind == :base_address_out_of_range and error.record_index == 1
      assert [%Record{}] = Agent.get(seen, & &1)
    end

    test "skip mode drops bad records" do
      assert [%Record{}, %Record{}] =
               Marc.stream(Corpus.path(@bad), mode: :skip) |> Enum.to_list()
    end
  end

  describe "semantics" do
    test "after EOF the native stream answers EOF again" do
      {:ok, res} =
        Snakepit.Native.stream_open_push(
          Snakepit.Marc.Options.validate!([], :stream),
          %{batch_size: 100, max_batch_bytes: 300_000},
          false
        )

      :ok = Snakepit.Native.stream_feed(res, Corpus.read!("formats/pymarc_one.dat"))
      :ok = Snakepit.Native.stream_feed(res, :eof)
      assert {:batch, [%Record{}], 0} = Snakepit.Native.stream_next(res)
      assert :eof = Snakepit.Native.stream_next(res)
      assert :eof = Snakepit.Native.stream_next(res)
    end

    test "a stream can be enumerated again, and two streams over one file are independent" do
      stream = Marc.stream(Corpus.path(@bib), batch_size: 7)
      other = Marc.stream(Corpus.path(@bib), batch_size: 13)
      assert Enum.count(stream) == 386
      assert Enum.count(stream) == 386

      pairs = Enum.zip(stream, other)
      assert length(pairs) == 386
      assert Enum.all?(pairs, fn {a, b} -> a == b end)
    end
  end

  test "a batch too large to build on a normal scheduler is built on a dirty one" do
    # 12,500 subfields: over what stream_next and parse build on the caller's scheduler.
    fields =
      for i <- 1..50 do
        Field.data("650", for(j <- 1..250, do: {"a", "#{rem(i + j, 10)}"}))
      end

    record = %Record{leader: "00000nam a2200000 a 4500", fields: fields}
    bytes = IO.iodata_to_binary(Marc.encode([record, record]))
    assert {:ok, [parsed, _]} = Marc.parse(bytes)
    assert parsed.fields == fields

    for source <- [bytes, [bytes]], records <- [:struct, :lazy] do
      streamed = source |> Marc.stream(records: records) |> Enum.to_list()
      assert length(streamed) == 2

      assert Enum.map(streamed, fn
               %Record{} = r -> r.fields
               lazy -> Snakepit.Marc.LazyRecord.fields(lazy)
             end) == [fields, fields]
    end

    batch = bytes |> Marc.batches() |> Enum.at(0)
    assert {:ok, [%Record{fields: ^fields}, _]} = Marc.parse_batch(batch)
  end

  test "MARC-8 batches whose conversion is too long for a normal scheduler read the same" do
    one = Corpus.read!("marc8/pymarc_marc.dat")
    {:ok, expected} = Marc.parse(one)
    # About 90 KB of MARC-8: more than the caller's scheduler converts in one call.
    bytes = String.duplicate(one, 6)
    assert byte_size(bytes) < 262_144
    assert Marc.parse(bytes) == {:ok, List.flatten(List.duplicate(expected, 6))}

    batch = bytes |> Marc.batches(batch_size: 200) |> Enum.at(0)
    assert {:ok, records} = Marc.parse_batch(batch)
    assert length(records) == 6 * length(expected)
  end

  describe "fan-out" do
    test "map/3 keeps order, scales over workers and reports like stream/2" do
      path = Corpus.path("synthetic/realistic_2000.mrc")
      {:ok, records} = Marc.parse(File.read!(path))
      expected = titles(records)

      for workers <- [1, 2, 4], ordered <- [true, false] do
        result =
          Marc.map(path, &Record.title/1, workers: workers, ordered: ordered, batch_size: 50)
          |> Enum.to_list()

        if ordered,
          do: assert(result == expected),
          else: assert(Enum.sort(result) == Enum.sort(expected))
      end
    end

    test "map/3 in permissive mode hands errors to the function with absolute offsets" do
      bytes = Corpus.read!(@bad)
      {:ok, expected} = Marc.parse(bytes, mode: :permissive)

      assert Marc.map(Corpus.path(@bad), & &1, mode: :permissive, batch_size: 2, workers: 2)
             |> Enum.to_list() == expected
    end

    test "map/3 passes the read options on to its workers" do
      path = Corpus.path("marc8/pymarc_marc.dat")

      for opts <- [[to_unicode: false], [normalize: :nfc], [records: :lazy]] do
        assert Marc.map(path, & &1, opts) |> Enum.to_list() == Marc.parse!(File.read!(path), opts)
      end
    end

    test "map/3 in strict mode raises the ParseError in the caller" do
      assert_raise ParseError, fn -> Marc.map(Corpus.path(@bad), & &1) |> Enum.to_list() end
    end

    test "map/3 in strict mode gives the results before the bad record, from its batch too" do
      {:ok, parsed} = Marc.parse(File.read!(Corpus.path(@bad)), mode: :permissive)
      {good, [{:error, first_error} | _]} = Enum.split_while(parsed, &match?(%Record{}, &1))
      titles = Enum.map(good, &Record.title/1)

      for opts <- [[], [workers: 2], [workers: 1, batch_size: 1], [ordered: false]] do
        {:ok, seen} = Agent.start_link(fn -> [] end)

        error =
          assert_raise ParseError, fn ->
            Marc.map(Corpus.path(@bad), &Record.title/1, opts)
            |> Enum.each(fn title -> Agent.update(seen, &[title | &1]) end)
          end

        assert error == first_error
        assert Agent.get(seen, &Enum.reverse/1) == titles, inspect(opts)
        Agent.stop(seen)
      end
    end

    test "a raising function re-raises in the caller and the workers are gone" do
      parent = self()

      assert_raise RuntimeError, "boom", fn ->
        Marc.map(Corpus.path(@bib), fn _ -> send(parent, {:worker, self()}) && raise "boom" end,
          workers: 2
        )
        |> Enum.to_list()
      end

      workers = collect_workers([])
      assert workers != []
      # A worker leaves after its current batch (fan_out.ex), so not at once under load.
      for pid <- workers,
          ref = Process.monitor(pid),
          do: assert_receive({:DOWN, ^ref, _, _, _}, 5000)
    end

    test "each/3 runs the function on every record" do
      counter = :counters.new(1, [:atomics])
      assert :ok = Marc.each(Corpus.path(@bib), fn _ -> :counters.add(counter, 1, 1) end)
      assert :counters.get(counter, 1) == 386
    end

    test "bad fan-out options" do
      assert_raise ArgumentError, ~r/:workers must be a positive integer, got: 0/, fn ->
        Marc.map(Corpus.path(@bib), & &1, workers: 0)
      end

      assert_raise ArgumentError, ~r/expected a function of arity 1/, fn ->
        Marc.map(Corpus.path(@bib), fn a, b -> {a, b} end)
      end
    end
  end

  defp collect_workers(acc) do
    receive do
      {:worker, pid} -> collect_workers([pid | acc])
    after
      0 -> Enum.uniq(acc)
    end
  end

  describe "ahead/2 (the look-ahead of started native jobs)" do
    test "gives every element, in order, whatever the count and the length" do
      for count <- 1..4, length <- 0..9 do
        assert Enum.to_list(Snakepit.Marc.Stream.ahead(1..length//1, count)) ==
                 Enum.to_list(1..length//1),
               "count #{count}, length #{length}"
      end
    end

    test "takes each element `count` elements before it gives it, and no more" do
      me = self()
      taken = Stream.map(1..10, fn x -> send(me, {:taken, x}) && x end)

      given =
        taken
        |> Snakepit.Marc.Stream.ahead(3)
        |> Stream.map(fn x ->
          send(me, {:given, x})
          x
        end)
        |> Enum.take(2)

      assert given == [1, 2]
      # Element 2 is given once 5 is taken; 6 is never taken.
      assert trace() == [taken: 1, taken: 2, taken: 3, taken: 4, given: 1, taken: 5, given: 2]
    end
  end

  defp trace(acc \\ []) do
    receive do
      {kind, x} when kind in [:taken, :given] -> trace([{kind, x} | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end
end
