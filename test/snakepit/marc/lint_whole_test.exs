defmodule Snakepit.Marc.LintWholeTest do
  # A small ISO 2709 input (a binary or a regular file) is linted in one native call
  # instead of through the stream; whatever the path, the entries (their records, offsets
  # and issues, bad records' included) are the same.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.Lint
  alias Snakepit.Test.Corpus

  @files ~w(real/loc_bibliographic.mrc real/loc_authority.mrc real/loc_edge_cases.mrc
            synthetic/realistic_2000.mrc synthetic/records_10k.mrc
            synthetic/encoding_marc8_ascii.mrc synthetic/encoding_mixed_scripts.mrc
            synthetic/encoding_replacement_chars.mrc synthetic/encoding_utf8_titles.mrc
            marc8/pymarc_marc8.dat bad/pymarc_bad_records.mrc bad/pymarc_utf8_errors.dat
            bad/pymarc_utf8_invalid.mrc bad/pymarc_bad_indicator.dat
            bad/pymarc_bad_subfield_code.dat bad/testbed_bad_directory.mrc
            bad/testbed_embedded_terminators.mrc bad/testbed_garbage.mrc
            bad/testbed_invalid_lengths.mrc bad/testbed_missing_terminators.mrc
            bad/testbed_truncated_leader.mrc)

  @options [
    [],
    [to_unicode: false],
    [validate_utf8: false],
    [utf8_errors: :replace, marc8_errors: :replace],
    [encoding: :auto, repair_directory: true],
    [except: ["field.undefined", "record.invalid"]],
    [rules: [rules: [[code: "local.020", require: "020", severity: "info"]]]]
  ]

  test "read whole (a file or a binary) or streamed: the same entries" do
    for file <- @files, path = Corpus.path(file), bin = File.read!(path), opts <- @options do
      assert byte_size(bin) <= Snakepit.Marc.WholeInput.max_bytes(), "#{file} is read whole"
      streamed = path |> Lint.stream(opts, :streamed) |> Enum.to_list()
      label = "#{file} #{inspect(opts)}"
      assert Enum.to_list(Marc.lint_stream(path, opts)) == streamed, label
      assert Enum.to_list(Marc.lint_stream(bin, opts)) == streamed, label
    end
  end

  test "runs cut anywhere between records give the same entries, in order" do
    path = Corpus.path("bad/pymarc_bad_records.mrc")

    bin =
      :binary.copy(File.read!(path), 40) <>
        File.read!(Corpus.path("synthetic/realistic_2000.mrc"))

    rules = Snakepit.Marc.Rules.compile!([])

    native =
      []
      |> Snakepit.Marc.Options.validate!(:stream)
      |> Snakepit.Marc.Options.native_read()
      |> Map.put(:mode, :permissive)

    streamed = bin |> Lint.stream([], :streamed) |> Enum.to_list()

    for runs <- [{1, 1}, {3, 1}, {1_000_000, 1}, {7, 10_000}] do
      entries =
        bin
        |> Snakepit.Native.lint_input(Snakepit.Marc.Rules.ref(rules), native, runs)
        |> Enum.concat()

      assert entries == streamed, inspect(runs)
    end
  end

  test "a file too big to read whole is streamed, and a missing one reported" do
    dir = Path.join(System.tmp_dir!(), "lint_whole_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)

    big = Path.join(dir, "big.mrc")
    File.write!(big, :binary.copy(File.read!(Corpus.path("synthetic/records_10k.mrc")), 2))
    assert File.stat!(big).size > Snakepit.Marc.WholeInput.max_bytes()
    assert Enum.to_list(Marc.lint_stream(big)) == Enum.to_list(Lint.stream(big, [], :streamed))

    assert_raise File.Error, fn ->
      dir |> Path.join("missing.mrc") |> Marc.lint_stream() |> Enum.to_list()
    end
  end
end
