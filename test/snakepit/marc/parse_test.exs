defmodule Snakepit.Marc.ParseTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{ParseError, Record}
  alias Snakepit.Test.Corpus

  describe "well-formed corpus" do
    for {file, count} <- Corpus.good_files() do
      test "#{file} reads #{count} records in every mode" do
        bytes = Corpus.read!(unquote(file))

        for mode <- [:strict, :permissive, :skip] do
          assert {:ok, records} = Marc.parse(bytes, mode: mode)
          assert length(records) == unquote(count)
          assert Enum.all?(records, &match?(%Record{}, &1))
        end

        assert Marc.count(bytes) == %{records: unquote(count), errors: 0}
        assert Marc.validate(bytes) == []
      end
    end
  end

  describe "pymarc_bad_records.mrc" do
    setup do: %{bytes: Corpus.read!("bad/pymarc_bad_records.mrc")}

    test "permissive mode yields the corpus README's sequence", %{bytes: bytes} do
      {:ok, items} = Marc.parse(bytes, mode: :permissive)

      assert Enum.map(items, fn
               %Record{} -> :ok
               {:error, %ParseError{kind: kind}} -> kind
             end) == [
               :ok,
               :base_address_out_of_range,
               :base_address_out_of_range,
               :invalid_directory_length,
               :invalid_directory_entry,
               :invalid_base_address,
               :no_fields,
               :ok,
               :truncated_record
             ]

      for %Record{} = record <- items do
        assert record["245"]["a"] == "The pragmatic programmer : "
        assert record["245"]["b"] == "from journeyman to master /"
        assert record["245"]["c"] == "Andrew Hunt, David Thomas."
      end

      errors = for {:error, e} <- items, do: e
      assert Enum.map(errors, & &1.record_index) == [1, 2, 3, 4, 5, 6, 8]
      offsets = Enum.map(errors, & &1.byte_offset)
      assert offsets == Enum.sort(offsets)
      assert Enum.all?(offsets, &(&1 < byte_size(bytes)))
    end

    test "strict mode returns the first error; parse! raises it", %{bytes: bytes} do
      assert {:error, %ParseError{kind: :base_address_out_of_range, record_index: 1} = e} =
               Marc.parse(bytes)

      assert Exception.message(e) =~ "base_address_out_of_range in record 1 at byte"
      assert_raise ParseError, fn -> Marc.parse!(bytes) end
    end

    test "skip mode drops and counts", %{bytes: bytes} do
      assert {:ok, [%Record{}, %Record{}], %{skipped: 7}} =
               Marc.parse(bytes, mode: :skip, report: true)
    end
  end

  describe "every bad/ file" do
    for path <- Corpus.bad_files() do
      test "#{Path.basename(path)} gives clean errors in all three modes" do
        bytes = File.read!(unquote(path))
        {:ok, items} = Marc.parse(bytes, mode: :permissive)
        errors = for {:error, %ParseError{} = e} <- items, do: e
        good = for %Record{} = r <- items, do: r

        for e <- errors do
          assert is_atom(e.kind) and e.byte_offset <= byte_size(bytes)
          assert is_binary(e.excerpt) and byte_size(e.excerpt) <= 32
          assert Exception.message(e) =~ Atom.to_string(e.kind)
        end

        assert {:ok, ^good, %{skipped: skipped}} = Marc.parse(bytes, mode: :skip, report: true)
        assert skipped == length(errors)

        case errors do
          [] -> assert {:ok, ^good} = Marc.parse(bytes)
          [first | _] -> assert {:error, ^first} = Marc.parse(bytes)
        end

        assert Marc.count(bytes) == %{records: length(good), errors: length(errors)}
        assert Marc.validate(bytes) == errors
      end
    end

    test "pymarc's expectations for the lenient cases" do
      {:ok, [r]} = Marc.parse(Corpus.read!("bad/pymarc_bad_subfield_code.dat"))
      assert r["245"]["a"] == "ActivePerl with ASP and ADO /"
      {:ok, [r]} = Marc.parse(Corpus.read!("bad/pymarc_bad_indicator.dat"))
      assert r["245"]["a"] == "Aristocrats of color :"
    end

    test "invalid UTF-8 under leader/09 = a is reported, and can be let through" do
      bytes = Corpus.read!("bad/pymarc_utf8_invalid.mrc")
      assert {:error, %ParseError{kind: :invalid_utf8, byte_offset: offset}} = Marc.parse(bytes)
      assert binary_part(bytes, offset, 1) == <<0xEF>>
      assert {:ok, [_]} = Marc.parse(bytes, validate_utf8: false)
    end
  end

  describe "hostile input" do
    test "random bytes never crash and every byte is accounted for" do
      # :rand makes every input, so the seed reproduces a failure.
      seed = {1, 2, 3}
      :rand.seed(:exsss, seed)
      good = Corpus.read!("formats/pymarc_test.dat")
      records = for {offset, len} <- Marc.scan(good), do: binary_part(good, offset, len)

      random = for size <- [0, 1, 23, 24, 25, 100, 5000], do: :rand.bytes(size)
      spliced = for _ <- 1..40, do: splice(records)

      kinds =
        for bytes <- random ++ spliced,
            {_, _, kind} <- assert_every_byte_accounted_for(bytes, seed),
            into: MapSet.new(),
            do: kind

      # The inputs reach records, skipped garbage, bad framed records and unframed ends.
      assert MapSet.subset?(
               MapSet.new([:record, :garbage, :truncated_leader, :truncated_record]),
               kinds
             )

      assert MapSet.size(kinds) > 5, inspect(kinds)
    end

    test "the byte accounting sees garbage between records and after the last" do
      good = Corpus.read!("formats/pymarc_test.dat")
      [{_, first} | _] = Marc.scan(good)
      bytes = "xx" <> binary_part(good, 0, first) <> "junk" <> good <> "tail"
      spans = assert_every_byte_accounted_for(bytes, :none)

      assert [{0, 2, :garbage}, {2, ^first, :record}, {_, 4, :garbage} | rest] = spans
      assert List.last(rest) == {byte_size(bytes) - 4, 4, :truncated_leader}
    end

    test "a leader claiming 99999 bytes on a tiny input" do
      assert {:ok, [{:error, %ParseError{kind: :truncated_record}}]} =
               Marc.parse("99999nam a2200025   4500" <> "x", mode: :permissive)
    end
  end

  # Whole records, cut records, random bytes and stray terminators, in random order.
  defp splice(records) do
    for _ <- 1..:rand.uniform(8), into: <<>> do
      record = Enum.random(records)

      case :rand.uniform(4) do
        1 -> record
        2 -> binary_part(record, 0, :rand.uniform(byte_size(record)) - 1)
        3 -> :rand.bytes(:rand.uniform(300))
        4 -> <<0x1D>>
      end
    end
  end

  # Every byte of `bytes` belongs to exactly one item that parse/2 returns in :permissive
  # mode. A record takes the next framed span of scan/1, and so does a bad record whose
  # byte_offset lies in it; the errors scan/1 does not frame (:garbage, a chunk too short to
  # hold a leader, unterminated bytes at the end) start at their byte_offset and run to the
  # next item. The spans, in item order, must tile the input: no overlap, no gap but
  # padding, nothing left over. Lazy records read without MARC-8 conversion hold their own
  # bytes, which must be exactly their span's. Returns the spans as {offset, length, what}.
  defp assert_every_byte_accounted_for(bytes, seed) do
    spans = accounted_spans(bytes, [], seed)
    assert accounted_spans(bytes, [records: :lazy, to_unicode: false], seed) == spans
    spans
  end

  defp accounted_spans(bytes, opts, seed) do
    context =
      "seed #{inspect(seed)}, options #{inspect(opts)}, input #{inspect(bytes, limit: 64)}"

    assert {:ok, items} = Marc.parse(bytes, [mode: :permissive] ++ opts), context

    {starts, framed_left} =
      items
      |> Enum.with_index()
      |> Enum.map_reduce(Marc.scan(bytes), fn
        {{:error, %ParseError{} = e}, index}, framed ->
          assert e.record_index == index, context

          case framed do
            [{offset, len} | rest] when e.byte_offset in offset..(offset + len - 1)//1 ->
              {{offset, len, e.kind}, rest}

            _ ->
              {{e.byte_offset, nil, e.kind}, framed}
          end

        {%Marc.LazyRecord{bytes: own}, _index}, [{offset, len} | framed] ->
          assert own == binary_part(bytes, offset, len), context
          {{offset, len, :record}, framed}

        {%Record{}, _index}, [{offset, len} | framed] ->
          {{offset, len, :record}, framed}

        {_item, index}, [] ->
          flunk("item #{index} has no framed span left; #{context}")
      end)

    assert framed_left == [], "framed spans no item claims: #{inspect(framed_left)}; #{context}"

    ends = Enum.map(Enum.drop(starts, 1), &elem(&1, 0)) ++ [byte_size(bytes)]

    spans =
      Enum.zip_with(starts, ends, fn
        {offset, nil, kind}, next -> {offset, next - offset, kind}
        span, _next -> span
      end)

    last_end =
      Enum.reduce(spans, 0, fn {offset, len, _} = span, expected ->
        assert offset >= expected and len > 0,
               "span #{inspect(span)} overlaps what ends at #{expected}; #{context}"

        assert_padding(bytes, expected, offset, context)
        offset + len
      end)

    assert_padding(bytes, last_end, byte_size(bytes), context)

    spans
  end

  # Bytes between records that no item claims must be padding, which the reader passes over
  # silently (docs/formats.md, "Framing"): NUL, 0x1A, CR, LF, space, tab.
  defp assert_padding(bytes, from, to, context) do
    gap = binary_part(bytes, from, to - from)

    assert for(<<b <- gap>>, do: b in [0x00, 0x1A, ?\r, ?\n, ?\s, ?\t]) |> Enum.all?(),
           "bytes #{from}..#{to - 1} belong to no item: #{inspect(gap, limit: 32)}; #{context}"
  end

  describe "memory" do
    # Records of one read share binaries of at most 16 KB (items.rs): a few allocations a
    # read, and a process holding them frees a few binaries at exit, not one per record; a
    # kept record (or value) pins at most its chunk, never the input, and a record of 16 KB
    # or more has its own binary.
    @chunk 16_384

    test "records share binaries of at most 16 KB, never the input, from a binary and a stream" do
      path = Corpus.path("real/loc_bibliographic.mrc")
      bytes = File.read!(path)
      sizes = bytes |> Marc.scan() |> Enum.map(&elem(&1, 1))

      for shape <- [:struct, :lazy] do
        {:ok, parsed} = Marc.parse(bytes, records: shape)
        streamed = path |> Marc.stream(records: shape) |> Enum.to_list()

        for {records, how} <- [{parsed, "parse/2"}, {streamed, "stream/2"}] do
          context = "#{how}, records: #{shape}"

          pinned =
            records
            |> Enum.map(&pinned/1)
            |> Enum.zip(sizes)
            |> Enum.reject(&(elem(&1, 0) == nil))

          assert length(pinned) > div(length(sizes), 2), context
          assert Enum.all?(pinned, fn {pin, _size} -> pin <= @chunk end), context
          # Shared: most records' binaries hold their neighbours too.
          shared = Enum.count(pinned, fn {pin, size} -> pin > size end)

          assert shared > div(length(pinned), 2),
                 "#{context}: #{shared} of #{length(pinned)} shared"
        end
      end

      {:ok, lazy} = Marc.parse(bytes, records: :lazy)
      assert Enum.map(lazy, &Marc.LazyRecord.to_record/1) == Marc.parse!(bytes)
    end

    test "a record of 16 KB or more has a binary of its own, its neighbours a chunk" do
      long = %Marc.Field{
        tag: "500",
        ind1: " ",
        ind2: " ",
        subfields: [{"a", String.duplicate("x", 9_000)}]
      }

      [small | _] = Marc.parse!(Corpus.read!("real/loc_bibliographic.mrc"))
      big = %{small | fields: small.fields ++ [long, long]}
      [a, b, c] = Enum.map([small, big, small], &Marc.encode/1)
      assert byte_size(b) >= @chunk

      for shape <- [:struct, :lazy] do
        {:ok, read} = Marc.parse(a <> b <> c, records: shape)

        assert Enum.map(read, &pinned/1) == [byte_size(a <> c), byte_size(b), byte_size(a <> c)],
               "records: #{shape}"
      end

      {:ok, [_, lazy, _]} = Marc.parse(a <> b <> c, records: :lazy)
      {:ok, [_, record, _]} = Marc.parse(a <> b <> c)
      assert Marc.LazyRecord.to_record(lazy).fields == big.fields
      assert record.fields == big.fields
    end
  end

  # The size of the binary a record's bytes live in, as its longest value shows it (for a
  # `%Record{}`: values of 64 bytes or less become heap binaries at a GC and pin nothing):
  # nil for a record with no longer value.
  defp pinned(%Marc.LazyRecord{bytes: bytes}), do: :binary.referenced_byte_size(bytes)

  defp pinned(%Record{fields: fields}) do
    values = Enum.flat_map(fields, &[&1.value || "" | Enum.map(&1.subfields, fn {_, v} -> v end)])

    case Enum.max_by(values, &byte_size/1) do
      long when byte_size(long) > 64 -> :binary.referenced_byte_size(long)
      _ -> nil
    end
  end

  describe "argument checks" do
    test "bad options name what was given" do
      assert_raise ArgumentError, ~r/:mode must be one of .* got: :lenient/, fn ->
        Marc.parse("", mode: :lenient)
      end

      assert_raise ArgumentError, ~r/unknown option \[:bogus\]/, fn ->
        Marc.parse("", bogus: 1)
      end

      assert_raise ArgumentError, ~r/expects a binary/, fn -> Marc.parse(:nope) end
    end

    test "count/2 rejects unknown options, like every other function" do
      assert_raise ArgumentError,
                   ~r/unknown option \[:mode\], allowed: \[:validate_utf8\], got: \[mode: :skip\]/,
                   fn ->
                     Marc.count("", mode: :skip)
                   end

      assert_raise ArgumentError, ~r/:validate_utf8 must be a boolean, got: 1/, fn ->
        Marc.count("", validate_utf8: 1)
      end

      assert Marc.count("", validate_utf8: false) == %{records: 0, errors: 0}
    end

    test "count through a pool of either profile rejects unknown options too" do
      bytes = Corpus.read!("formats/pymarc_one.dat")

      for profile <- [:process, :thread] do
        name = :"count_opts_#{profile}_#{System.unique_integer([:positive])}"

        start_supervised!({Snakepit.Pool, name: name, worker_profile: profile, pool_size: 1},
          id: name
        )

        assert {:error, %Snakepit.Error{reason: :invalid_arguments}} =
                 Snakepit.execute(:count, [bytes, [mode: :skip]], pool: name)

        assert {:ok, %{records: 1, errors: 0}} =
                 Snakepit.execute(:count, [bytes, [validate_utf8: false]], pool: name)
      end
    end

    test "a path given as data says so and points to stream/2" do
      existing = Corpus.path("real/loc_bibliographic.mrc")

      for {fun, call} <- [
            {"parse/2", &Marc.parse/1},
            {"count/2", &Marc.count/1},
            {"validate/2", &Marc.validate/1}
          ],
          path <- ["nope.mrc", "dir/Records.MRC", "out.xml", existing] do
        error = assert_raise ArgumentError, fn -> call.(path) end
        assert error.message =~ "#{fun} takes MARC data, not a file path, got: #{inspect(path)}"
        assert error.message =~ "did you mean `stream/2`, which takes paths"
      end

      # Not a path: no file of that name, no file extension; or MARC bytes.
      assert Marc.count("nope") == %{records: 0, errors: 1}
      assert {:error, %ParseError{}} = Marc.parse("garbage")
      bytes = Corpus.read!("formats/pymarc_one.dat")
      assert Marc.count(bytes <> "x.mrc") == %{records: 1, errors: 1}
    end

    test "a path given as data through a pool says the same on both profiles" do
      for profile <- [:process, :thread] do
        name = :"path_hint_#{profile}_#{System.unique_integer([:positive])}"
        {:ok, _} = Snakepit.Pool.start_link(name: name, worker_profile: profile, pool_size: 1)

        for command <- [:parse, :count, :validate] do
          assert {:error, %Snakepit.Error{reason: :invalid_arguments} = error} =
                   Snakepit.execute(command, ["nope.mrc"], pool: name)

          assert Exception.message(error) =~ "#{command}/2 takes MARC data, not a file path"
        end
      end
    end
  end

  describe "error messages" do
    doctest Snakepit.Marc.ParseError

    test "excerpts print printable ASCII as text and other bytes as escapes" do
      {:error, error} = Marc.parse("99999nam\x1E\x1F\xC3\xA9 \"q\" \\ 0123456789")
      message = Exception.message(error)
      assert message =~ ~S|(bytes there: "99999nam\x1E\x1F\xC3\xA9 \"q\" \\ 0123456789")|
      refute message =~ "<<"

      assert ParseError.excerpt_text(<<0, 9, ?a, 0x7F, 0xFF>>) == ~S("\x00\x09a\x7F\xFF")
    end

    test "a missing file is said once" do
      for format <- [:auto, :xml, :json] do
        error =
          assert_raise File.Error, fn ->
            Marc.stream("nope.mrc", format: format) |> Enum.take(1)
          end

        assert error.reason == :enoent

        assert Exception.message(error) =~
                 ~r/^could not open (MARC|xml|json) file "nope.mrc": no such file or directory$/

        refute Exception.message(error) =~ "os error"
      end
    end
  end
end
