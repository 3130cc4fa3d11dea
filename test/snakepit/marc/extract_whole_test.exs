defmodule Snakepit.Marc.ExtractWholeTest do
  # A small ISO 2709 input (a binary or a regular file) is extracted in one native call
  # instead of through the stream; whatever the path, the values, the errors (and where they
  # are), the records skipped and the point where strict mode raises are the same.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Extract, Spec}
  alias Snakepit.Test.Corpus

  import Snakepit.Test.StreamOutcome

  @spec_entries [
    t: "245abnp",
    a: "100a:110a:111a",
    i: "020a",
    s: {"600a:610a:611a:630a:650a:651a", separator: "|", dedupe: true},
    l: "008[35-37]",
    x: {"880a", alternate_script: :only, default: "none"}
  ]

  @files ~w(real/loc_bibliographic.mrc real/loc_authority.mrc real/loc_edge_cases.mrc
            synthetic/realistic_2000.mrc synthetic/encoding_marc8_ascii.mrc
            synthetic/encoding_mixed_scripts.mrc synthetic/encoding_replacement_chars.mrc
            synthetic/encoding_utf8_titles.mrc marc8/pymarc_marc8.dat
            bad/pymarc_bad_records.mrc bad/pymarc_utf8_errors.dat bad/pymarc_utf8_invalid.mrc
            bad/pymarc_bad_indicator.dat bad/pymarc_bad_subfield_code.dat
            bad/testbed_bad_directory.mrc bad/testbed_embedded_terminators.mrc
            bad/testbed_garbage.mrc bad/testbed_invalid_lengths.mrc
            bad/testbed_missing_terminators.mrc bad/testbed_truncated_leader.mrc)

  @read_options [
    [],
    [to_unicode: false],
    [validate_utf8: false],
    [utf8_errors: :replace, marc8_errors: :replace],
    [encoding: :auto, repair_directory: true],
    [normalize: :nfc, decode_ncrs: true]
  ]

  test "read whole (a file, a binary, cut into runs of one record) or streamed: the same, in every mode" do
    spec = Spec.compile!(@spec_entries)

    for file <- @files, path = Corpus.path(file), bin = File.read!(path) do
      assert byte_size(bin) <= 4_194_304, "#{file} is read whole"

      for mode <- [:strict, :permissive, :skip], read <- @read_options do
        opts = [mode: mode] ++ read
        streamed = outcome(Extract.stream(path, spec, opts, :streamed))
        label = "#{file} #{inspect(opts)}"

        assert outcome(Marc.extract(path, spec, opts)) == streamed, label
        assert outcome(Marc.extract(bin, spec, opts)) == streamed, label
        # As many runs as records: every run's values built in order as they come in.
        assert outcome(Extract.stream(bin, spec, opts, {:runs, {1_000_000, 1}})) == streamed,
               label

        assert outcome(Extract.stream(path, spec, opts, {:runs, {3, 1}})) == streamed, label
      end
    end
  end

  test "the compiled spec's options and a spec compiled on the call agree too" do
    path = Corpus.path("real/loc_bibliographic.mrc")

    for opts <- [[first: true], [trim_punctuation: true], [separator: nil, dedupe: true]] do
      streamed = outcome(Extract.stream(path, [t: "245", s: "6XX"], opts, :streamed))
      assert outcome(Marc.extract(path, [t: "245", s: "6XX"], opts)) == streamed
      assert {[_ | _], nil} = streamed
    end
  end

  test "the records events count every record once, read whole as streamed" do
    path = Corpus.path("bad/pymarc_bad_records.mrc")
    spec = Spec.compile!(t: "245a")
    test = self()
    id = make_ref()

    :ok =
      Snakepit.Telemetry.attach_many(
        id,
        [[:snakepit, :records, :read], [:snakepit, :records, :bad]],
        fn event, %{count: n}, meta, _ ->
          if self() == test, do: send(test, {:counted, event, meta[:kind], n})
        end,
        nil
      )

    try do
      for mode <- [:permissive, :skip] do
        Marc.extract(path, spec, mode: mode) |> Stream.run()
        whole = counted()
        Extract.stream(path, spec, [mode: mode], :streamed) |> Stream.run()
        assert whole == counted()
        assert whole != %{}
      end
    after
      Snakepit.Telemetry.detach(id)
    end
  end

  test "what is not a small regular file goes the stream's way" do
    spec = Spec.compile!(t: "245a")
    missing = Path.join(System.tmp_dir!(), "snakepit_no_such_#{System.unique_integer()}.mrc")

    assert_raise File.Error, ~r/no such file/, fn ->
      Marc.extract(missing, spec) |> Stream.run()
    end

    dir = System.tmp_dir!()
    assert_raise File.Error, fn -> Marc.extract({:file, dir}, spec) |> Stream.run() end

    # A FIFO is not read whole (nor opened to look): the stream reads it, as the writer
    # writes.
    fifo =
      Path.join(System.tmp_dir!(), "snakepit_extract_#{System.unique_integer([:positive])}.mrc")

    {_, 0} = System.cmd("mkfifo", [fifo])
    bytes = File.read!(Corpus.path("real/loc_bibliographic.mrc"))
    expected = Marc.extract(bytes, spec) |> Enum.to_list()

    try do
      for opts <- [[], [workers: 2]] do
        reader = Task.async(fn -> Marc.extract(fifo, spec, opts) |> Enum.to_list() end)
        writer = File.open!(fifo, [:write, :raw, :binary])
        :ok = :file.write(writer, bytes)
        :ok = File.close(writer)
        assert Task.await(reader, 10_000) == expected
      end
    after
      File.rm(fifo)
    end

    # A binary over the limit is streamed, with the same values.
    bin = File.read!(Corpus.path("synthetic/records_10k.mrc"))
    big = :binary.copy(bin, div(4_194_304, byte_size(bin)) + 1)
    assert byte_size(big) > 4_194_304

    assert Marc.extract(big, spec) |> Enum.count() ==
             10_000 * (div(4_194_304, byte_size(bin)) + 1)
  end

  defp counted(acc \\ %{}) do
    receive do
      {:counted, event, kind, n} -> counted(Map.update(acc, {event, kind}, n, &(&1 + n)))
    after
      0 -> acc
    end
  end
end
