defmodule Snakepit.Marc.ExtractTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.Spec
  alias Snakepit.Test.{Corpus, ExtractReference}

  doctest Snakepit.Marc.Spec

  @bib Corpus.path("real/loc_bibliographic.mrc")

  describe "compile!/2 errors" do
    for {spec, message} <- [
          {"24",
           "at position 2: expected a tag of 3 letters or digits (X for any), or LDR, got the end of the spec"},
          {"245|1|a",
           "at position 5: expected an indicator (a-z, 0-9, space, or * for any), got \"|\""},
          {"245|1*a", "at position 6: expected '|' closing the two indicators, got \"a\""},
          {"245A",
           "at position 3: expected a subfield code (a-z, 0-9), ':' or the end, got \"A\""},
          {"245a::100a",
           "at position 5: expected a tag of 3 letters or digits (X for any), or LDR, got \":\""},
          {"008[3",
           "at position 5: expected '-' or ']' after the byte position, got the end of the spec"},
          {"008[5-3]", "at position 6: expected an end position not before the start, got \"3\""},
          {"008[1]a", "at position 6: expected ':' or the end, got \"a\""}
        ] do
      test "#{inspect(spec)}" do
        assert_raise ArgumentError,
                     "invalid extraction spec #{inspect(unquote(spec))} for :f " <>
                       unquote(message),
                     fn -> Spec.compile!(f: unquote(spec)) end
      end
    end

    test "bad names, options and shapes" do
      assert_raise ArgumentError, ~r/unique, got \[:a\]/, fn ->
        Spec.compile!(a: "245", a: "100")
      end

      assert_raise ArgumentError, ~r/unknown option \[:sep\], allowed: \[:separator/, fn ->
        Spec.compile!([a: "245"], sep: "-")
      end

      assert_raise ArgumentError, ~r/:first must be a boolean, got: 1/, fn ->
        Spec.compile!(a: {"245", first: 1})
      end

      assert_raise ArgumentError,
                   ~r/:alternate_script must be one of \[:include, :only, false\], got: true/,
                   fn -> Spec.compile!([a: "245"], alternate_script: true) end

      assert_raise ArgumentError, ~r/must be a string, got: 245/, fn -> Spec.compile!(a: 245) end
      assert_raise ArgumentError, ~r/non-empty keyword list/, fn -> Spec.compile!([]) end

      assert_raise ArgumentError, ~r/is 65540 bytes, more than the 65536/, fn ->
        Spec.compile!(a: String.duplicate("245a", 16_385))
      end

      assert_raise ArgumentError, ~r/options go to|go to Snakepit.Marc.Spec.compile!/, fn ->
        Marc.extract(@bib, Spec.compile!(a: "245"), first: true)
      end
    end
  end

  describe "extract/3" do
    test "one map per record, names as given, maps and string names too" do
      rows = Marc.extract(@bib, %{"title" => "245a", "id" => "001"}) |> Enum.to_list()
      assert length(rows) == 386
      assert Enum.all?(rows, &(Map.keys(&1) |> Enum.sort() == ["id", "title"]))
    end

    test "the same values as the reference implementation, on every good corpus file" do
      specs = [
        title: {"245abnp", []},
        author: {"100a:110a:111a", []},
        isbn: {"020a", []},
        subjects: {"600a:610a:611a:630a:650a:651a", [trim_punctuation: true]},
        fixed: {"LDR[5-7]:001:008[35-37]:008[7-10]:008[60-70]", [dedupe: false]},
        wild: {"6XX|*0|", [separator: " -- "]},
        first: {"035a:020a", [first: true]},
        none: {"999z", [default: "n/a"]},
        only880: {"245:100", [alternate_script: :only]},
        no880: {"880", [alternate_script: false, separator: nil]}
      ]

      compiled = Spec.compile!(for {name, {spec, opts}} <- specs, do: {name, {spec, opts}})

      for {file, _count} <- Corpus.good_files() do
        {:ok, records} = Marc.parse(Corpus.read!(file), mode: :skip)
        extracted = Marc.extract(Corpus.path(file), compiled, mode: :skip) |> Enum.to_list()
        assert length(extracted) == length(records), file

        for {record, got} <- Enum.zip(records, extracted), {name, {spec, opts}} <- specs do
          assert got[name] == ExtractReference.extract(record, spec, opts),
                 "#{file}: #{name} (#{spec}) on #{inspect(Marc.Record.field(record, "001"))}"
        end
      end
    end

    test "a long value shares a binary of at most 4 KB with others; a short one is its own" do
      # Values of more than 64 bytes are sub-binaries of shared chunks (one allocation for
      # many): a value kept must pin no more than its chunk.
      long = fn i -> String.duplicate("#{rem(i, 10)}", 65 + rem(i * 37, 900)) end

      records =
        for i <- 1..300 do
          %Marc.Record{
            leader: "00000nam a2200000 a 4500",
            fields: [
              Marc.Field.control("001", "id#{i}"),
              Marc.Field.data("245", "1", "0", [{"a", long.(i)}, {"b", "short #{i}"}]),
              Marc.Field.data("500", [{"a", long.(i + 1)}, {"a", String.duplicate("x", 5000)}])
            ]
          }
        end

      bin = records |> Marc.encode() |> IO.iodata_to_binary()
      compiled = Spec.compile!(title: "245a", short: "245b", notes: "500a")

      for how <- [:whole_if_small, :streamed] do
        rows = Snakepit.Marc.Extract.stream(bin, compiled, [], how) |> Enum.to_list()
        assert length(rows) == 300

        for {row, i} <- Enum.with_index(rows, 1) do
          assert row.title == [long.(i)]
          assert row.short == ["short #{i}"]
          assert row.notes == [long.(i + 1), String.duplicate("x", 5000)]
          assert :binary.referenced_byte_size(hd(row.title)) <= 4096
          assert :binary.referenced_byte_size(hd(row.short)) == byte_size(hd(row.short))
          # Longer than a chunk: a binary of its own.
          assert :binary.referenced_byte_size(List.last(row.notes)) == 5000
        end

        # Shared: far fewer binaries than long values.
        sizes =
          rows
          |> Enum.flat_map(&[hd(&1.title), hd(&1.notes)])
          |> Enum.map(&:binary.referenced_byte_size/1)

        assert Enum.count(sizes, &(&1 > 1000)) > 250
      end
    end

    test "generated specs agree with the reference on real records" do
      {:ok, records} = Marc.parse(File.read!(@bib))
      :rand.seed(:exsss, {1, 2, 3})

      for _ <- 1..200 do
        {spec, opts} = random_spec()
        compiled = Spec.compile!([v: spec], opts)

        for record <- Enum.take_random(records, 5) do
          assert Spec.extract(record, compiled).v == ExtractReference.extract(record, spec, opts),
                 "#{inspect(spec)} #{inspect(opts)}"
        end
      end
    end

    test "a compiled spec sent to another node works there: it is compiled again" do
      spec = Spec.compile!(t: "245a", s: "6XXa")
      expected = Marc.extract(@bib, spec) |> Enum.to_list()
      # What arrives on another node: the native reference means nothing there.
      elsewhere = %{spec | node: :elsewhere@nowhere, ref: make_ref()}
      assert Marc.extract(@bib, elsewhere) |> Enum.to_list() == expected

      assert Marc.extract(@bib, elsewhere, workers: 2, ordered: true) |> Enum.to_list() ==
               expected

      # On its own node the reference is used as it is.
      assert Spec.ref(spec) == spec.ref
      refute Spec.ref(elsewhere) == elsewhere.ref
    end

    test "workers: and pool: give the same rows, in order with ordered: true" do
      spec = Spec.compile!(t: "245a", s: "6XXa", i: "020a")
      expected = Marc.extract(@bib, spec) |> Enum.to_list()

      assert Marc.extract(@bib, spec, workers: 2, ordered: true, batch_size: 50) |> Enum.to_list() ==
               expected

      assert Marc.extract(@bib, spec, workers: 2, batch_size: 50) |> Enum.sort() ==
               Enum.sort(expected)

      # With a timeout (per batch) a small input is fanned out to processes too.
      fanned = [workers: 2, ordered: true, batch_size: 50, timeout: 60_000]
      assert Marc.extract(@bib, spec, fanned) |> Enum.to_list() == expected

      pool = :"extract_fan_#{System.unique_integer([:positive])}"

      start_supervised!(
        {Snakepit.Pool, name: pool, worker_profile: :thread, pool_size: 1, threads_per_worker: 2}
      )

      assert Marc.extract(@bib, spec, pool: pool, ordered: true) |> Enum.to_list() == expected

      # Not read whole: a group of batches a request, on both profiles, the maps built here.
      process_pool = :"extract_fan_process_#{System.unique_integer([:positive])}"

      start_supervised!(
        {Snakepit.Pool, name: process_pool, worker_profile: :process, pool_size: 2}
      )

      chunks = File.stream!(@bib, [], 4096)

      for p <- [pool, process_pool] do
        assert Marc.extract(chunks, spec, pool: p, ordered: true, batch_size: 20)
               |> Enum.to_list() == expected

        assert Marc.extract(chunks, spec, pool: p, batch_size: 20) |> Enum.sort() ==
                 Enum.sort(expected)
      end

      bad = Corpus.path("bad/pymarc_bad_records.mrc")

      assert_raise Marc.ParseError, fn ->
        Marc.extract(bad, [t: "245a"], workers: 2) |> Stream.run()
      end

      assert_raise ArgumentError, ~r/workers/, fn -> Marc.extract(@bib, spec, workers: 0) end
    end

    test "permissive keeps errors in place; strict raises after the good records" do
      pool = :"extract_strict_#{System.unique_integer([:positive])}"

      start_supervised!(
        {Snakepit.Pool, name: pool, worker_profile: :thread, pool_size: 1, threads_per_worker: 2}
      )

      for name <-
            ~w(pymarc_bad_records.mrc testbed_invalid_lengths.mrc testbed_missing_terminators.mrc) do
        path = Corpus.path("bad/" <> name)
        {:ok, parsed} = Marc.parse(File.read!(path), mode: :permissive)
        extracted = Marc.extract(path, [t: "245a"], mode: :permissive) |> Enum.to_list()

        assert length(extracted) == length(parsed)

        for {p, e} <- Enum.zip(parsed, extracted) do
          case p do
            {:error, error} -> assert e == {:error, error}
            record -> assert e == %{t: ExtractReference.extract(record, "245a", [])}
          end
        end

        good_before = Enum.take_while(parsed, &(not match?({:error, _}, &1)))
        {:error, first_error} = Enum.find(parsed, &match?({:error, _}, &1))

        # The fan-outs too: the good records in the bad one's batch are not lost.
        expected = Enum.map(good_before, &%{t: ExtractReference.extract(&1, "245a", [])})

        fanned = [workers: 2, batch_size: 1, timeout: 60_000]

        # A stream of chunks is not read whole: through a pool, it goes a group of batches a
        # request.
        for source <- [path, File.stream!(path, [], 1024)],
            opts <- [[], [workers: 2], [workers: 2, batch_size: 1], fanned, [pool: pool]] do
          {taken, raised} = take_until_raise(Marc.extract(source, [t: "245a"], opts))
          assert taken == expected, "#{name} #{inspect(opts)} #{inspect(source)}"
          assert raised == first_error, "#{name} #{inspect(opts)} #{inspect(source)}"
        end

        assert {:ok, _, %{skipped: skipped}} =
                 Marc.parse(File.read!(path), mode: :skip, report: true)

        assert Marc.extract(path, [t: "245a"], mode: :skip) |> Enum.count() ==
                 length(parsed) - skipped
      end
    end

    test "MARC-in-JSON and MARCXML give what their records give" do
      for {file, read} <- [
            {"formats/pymarc_test.json", &Marc.from_json/1},
            {"formats/pymarc_batch.xml", &Marc.from_xml/1}
          ] do
        {:ok, records} = read.(Corpus.read!(file))
        extracted = Marc.extract(Corpus.path(file), t: "245ab", s: "6XXa") |> Enum.to_list()
        assert length(extracted) == length(records)

        for {record, row} <- Enum.zip(records, extracted) do
          assert row == %{
                   t: ExtractReference.extract(record, "245ab", []),
                   s: ExtractReference.extract(record, "6XXa", [])
                 }
        end
      end
    end

    test "MARC-8 records are converted before values are taken" do
      [row | _] = Marc.extract(Corpus.path("marc8/pymarc_marc8.dat"), t: "245") |> Enum.to_list()
      {:ok, [record | _]} = Marc.parse(Corpus.read!("marc8/pymarc_marc8.dat"))
      assert row.t == ExtractReference.extract(record, "245", [])
      assert String.valid?(hd(row.t))
    end
  end

  test "a job started ahead gives its answer once; halting early leaves nothing waiting" do
    compiled = Spec.compile!(t: "245a")
    native = Snakepit.Marc.Options.native_read(Snakepit.Marc.Options.validate!([], :read))
    group = Marc.batches(@bib, []) |> Enum.take(2)
    job = Spec.start_batches(group, compiled, native)

    assert Spec.finish_batches(job, compiled, native) ==
             Spec.batches(group, compiled, native)

    # A second answer would have to wait for work that is never coming: refused.
    assert_raise ArgumentError, fn -> Spec.finish_batches(job, compiled, native) end

    # The stream runs one group ahead; taking a few rows stops it with that group in flight.
    assert [_, _, _] = Marc.extract(@bib, compiled, batch_size: 1) |> Enum.take(3)
  end

  describe "fan-out in units of several batches" do
    test "run_batch_groups/4 hands the batches on in consecutive groups growing to size, in order" do
      batches = Marc.batches(@bib, batch_size: 7) |> Enum.to_list()
      firsts = Enum.map(batches, & &1.first_index)
      assert length(batches) > 9

      for size <- [1, 3, 4] do
        units =
          Snakepit.Marc.FanOut.run_batch_groups(@bib, [batch_size: 7, workers: 2], size, fn
            group, _parse_opts, _strict -> {:ok, [Enum.map(group, & &1.first_index)]}
          end)
          |> Enum.to_list()

        assert units == grown(firsts, size, 0)
      end
    end

    test "with a :timeout (per batch) each unit is one batch; rows are the same" do
      spec = Spec.compile!(t: "245a", s: "6XXa", i: "020a")
      expected = Marc.extract(@bib, spec, batch_size: 20) |> Enum.to_list()
      pool = :"extract_timeout_#{System.unique_integer([:positive])}"

      start_supervised!(
        {Snakepit.Pool, name: pool, worker_profile: :thread, pool_size: 1, threads_per_worker: 2}
      )

      for opts <- [[workers: 2], [pool: pool], [pool: pool, workers: 3]] do
        opts = [batch_size: 20, timeout: 60_000] ++ opts
        assert Marc.extract(@bib, spec, opts) |> Enum.to_list() == expected, inspect(opts)
      end
    end

    test "halting early through a :thread pool, six times in a row, leaves every slot free" do
      pool = :"extract_take_#{System.unique_integer([:positive])}"

      start_supervised!(
        {Snakepit.Pool, name: pool, worker_profile: :thread, pool_size: 1, threads_per_worker: 2}
      )

      dump = Corpus.path("synthetic/records_10k.mrc")

      for _ <- 1..6 do
        assert [_, _, _, _, _] = Marc.extract(dump, [i: "020a"], pool: pool) |> Enum.take(5)
        assert [_, _] = Marc.extract(dump, [i: "020a"], workers: 2) |> Enum.take(2)
      end

      Snakepit.PoolCase.eventually(
        fn -> match?({:ok, %{load: 0}}, Snakepit.pool_status(pool)) end,
        10_000
      )

      assert Snakepit.Pool.run(pool, fn -> :next end, 5000) == {:ok, :next}
    end
  end

  describe "the :extract pool command" do
    setup do
      Snakepit.Test.BothProfiles.start_pools!(:extract)
    end

    test "given a group of batches, gives the items of them all in order, on both profiles",
         %{pools: pools} do
      spec = Spec.compile!(t: "245a", s: "6XXa")
      batches = Marc.batches(@bib, batch_size: 50) |> Enum.to_list()
      assert length(batches) > 2
      expected = Marc.extract(@bib, spec) |> Enum.to_list()
      group = %Snakepit.Marc.Extract.Group{batches: batches}

      for pool <- pools do
        assert {:ok, ^expected} = Snakepit.execute(:extract, [group, spec], pool: pool)
      end

      # A fan-out worker's share: the native work only, a job whose terms the caller builds.
      native = Snakepit.Marc.Options.native_read(Snakepit.Marc.Options.validate!([], :read))
      job = Spec.outcomes(batches, spec, native)
      assert Spec.finish_batches(job, spec, native) == Spec.batches(batches, spec, native)
    end

    test "given a group to answer with its outcomes, gives a job whose items the caller builds, on both profiles",
         %{pools: pools} do
      spec = Spec.compile!(t: "245a", s: "6XXa")
      batches = Marc.batches(@bib, batch_size: 50) |> Enum.to_list()
      native = Snakepit.Marc.Options.native_read(Snakepit.Marc.Options.validate!([], :read))
      expected = Spec.batches(batches, spec, native)
      group = %Snakepit.Marc.Extract.Group{batches: batches, answer: :outcomes}

      for pool <- pools do
        assert {:ok, [job]} = Snakepit.execute(:extract, [group, spec], pool: pool)
        assert is_reference(job)
        assert Spec.finish_batches(job, spec, native) == expected
        # A job's answer is given once.
        assert_raise ArgumentError, fn -> Spec.finish_batches(job, spec, native) end
      end
    end

    test "gives what extract/3 gives, on both profiles", %{pools: pools} do
      bytes = File.read!(@bib)
      spec = Spec.compile!(t: "245a", s: "6XXa")
      expected = Marc.extract(bytes, spec) |> Enum.to_list()

      for pool <- pools do
        assert {:ok, ^expected} = Snakepit.execute(:extract, [bytes, spec], pool: pool)

        assert {:ok, [_ | _]} =
                 Snakepit.execute(:extract, [bytes, [t: "245a"], [first: true]], pool: pool)
      end
    end

    test "bad records and bad arguments", %{pools: [pool | _]} do
      bad = Corpus.read!("bad/pymarc_bad_records.mrc")

      assert {:error, %Marc.ParseError{}} =
               Snakepit.execute(:extract, [bad, [t: "245a"]], pool: pool)

      assert {:ok, items} =
               Snakepit.execute(:extract, [bad, [t: "245a"], [mode: :permissive]], pool: pool)

      assert Enum.any?(items, &match?({:error, _}, &1))

      assert {:error, %Snakepit.Error{reason: :invalid_arguments} = e} =
               Snakepit.execute(:extract, [bad, [t: "24"]], pool: pool)

      assert Exception.message(e) =~ "invalid extraction spec"
    end
  end

  # Groups of 1, 1, 2, 2, 4, 4, ... up to `size`.
  defp grown([], _size, _k), do: []

  defp grown(items, size, k) do
    {group, rest} = Enum.split(items, min(size, Integer.pow(2, div(k, 2))))
    [group | grown(rest, size, k + 1)]
  end

  defp take_until_raise(stream) do
    acc = :ets.new(:taken, [:public])

    try do
      Enum.each(stream, &:ets.insert(acc, {System.unique_integer([:monotonic]), &1}))
      {taken(acc), nil}
    rescue
      e in Marc.ParseError -> {taken(acc), e}
    after
      :ok
    end
  end

  defp taken(table), do: table |> :ets.tab2list() |> Enum.sort() |> Enum.map(&elem(&1, 1))

  defp random_spec do
    tags =
      ~w(001 005 008 020 035 040 050 082 100 245 250 260 264 300 490 500 504 520 600 650 651 700 710 830 880 6XX 2X5 XXX LDR)

    parts = for _ <- 1..Enum.random(1..3), do: random_part(Enum.random(tags))

    opts =
      Enum.filter(
        [
          separator: Enum.random([" ", nil, "|"]),
          first: Enum.random([true, false]),
          dedupe: Enum.random([true, false]),
          trim_punctuation: Enum.random([true, false]),
          default: Enum.random([nil, "none"]),
          alternate_script: Enum.random([:include, :only, false])
        ],
        fn _ -> :rand.uniform(2) == 1 end
      )

    {Enum.join(parts, ":"), opts}
  end

  defp random_part("LDR"), do: Enum.random(["LDR", "LDR[5]", "LDR[6-7]", "LDR[20-30]"])

  defp random_part(tag) do
    case :rand.uniform(4) do
      1 ->
        tag <> "[#{Enum.random(0..40)}-#{Enum.random(40..50)}]"

      2 ->
        tag <>
          "|" <>
          Enum.random(["*", " ", "0", "1"]) <> Enum.random(["*", " ", "0", "4"]) <> "|" <> codes()

      _ ->
        tag <> codes()
    end
  end

  defp codes, do: Enum.take_random(~w(a b c d x y z 6 a a), Enum.random(0..3)) |> Enum.join()
end
