defmodule Mix.Tasks.Snakepit.Extract do
  @shortdoc "Extracts values from MARC records into CSV, TSV or JSON Lines"

  @moduledoc """
  Extracts the values named by extraction specs (traject's `extract_marc` syntax, see
  `docs/extraction.md`) from every record of a file, streaming, into a table: one row per
  record, one column per spec.

      mix snakepit.extract INPUT --spec NAME=SPEC [--spec NAME=SPEC ...]
                                 [--spec-file FILE] [--format csv|tsv|jsonl]
                                 [--output OUT] [--mode strict|permissive|skip]
                                 [--separator SEP] [--joiner SEP] [--trim-punctuation]
                                 [--to-unicode | --no-to-unicode]

  For example:

      mix snakepit.extract catalogue.mrc --spec title=245abnp --spec isbn=020a \\
        --spec "subjects=600a:610a:650a" --trim-punctuation --output index.csv

  INPUT is read as `Snakepit.Marc.extract/3` reads it (ISO 2709, MARC-in-JSON or MARCXML,
  recognised by extension or first bytes). OUTPUT is written to a temporary file beside it,
  renamed when every row is written, so an interrupted run never leaves a file that looks
  complete (SIGTERM removes it and exits with status 143); without `--output` the rows go to
  standard output, and progress and the summary to standard error.

  ## Options

    * `--spec NAME=SPEC` - one column; repeat for more. Columns keep the order given.
    * `--spec-file FILE` - more columns, one `NAME=SPEC` per line (blank lines and lines
      starting with `#` are ignored), after those of `--spec`.
    * `--format` - `csv` (RFC 4180), `tsv` or `jsonl` (default: from OUTPUT's extension,
      else `csv`).
    * `--mode` - what a bad record does (default `strict`): `strict` stops at the first one
      and fails, writing nothing; `permissive` reports each and leaves it out; `skip` leaves
      them out and counts them.
    * `--separator` - joins the subfields of one field (default a space).
    * `--joiner` - joins the values of a multi-valued cell in CSV and TSV (default `|`).
    * `--trim-punctuation` - traject's punctuation trimming on every value.
    * `--to-unicode` / `--no-to-unicode` - convert MARC-8 records to UTF-8 (default: on).
    * `--help`, `-h` - this text.

  Progress: on a terminal one line updated in place, otherwise a plain line every few
  seconds. The summary gives the rows written, the bad records and the rate. A bad flag,
  spec or path exits with status 1 and a message starting with `mix snakepit.extract:`.
  """

  use Mix.Task

  alias Snakepit.Diagnostics.Report
  alias Snakepit.Marc.{Spec, Table}
  alias Snakepit.MixCLI, as: CLI
  alias Snakepit.MixCLI.Output

  @switches [
    spec: :keep,
    spec_file: :string,
    format: :string,
    output: :string,
    mode: :string,
    separator: :string,
    joiner: :string,
    trim_punctuation: :boolean,
    to_unicode: :boolean
  ]
  @formats ~w(csv tsv jsonl)
  @modes Enum.map(Snakepit.Marc.Options.values(:read, :mode), &Atom.to_string/1)
  @usage "usage: mix snakepit.extract INPUT --spec NAME=SPEC [--spec NAME=SPEC ...] " <>
           "[--spec-file FILE] [--format #{Enum.join(@formats, "|")}] [--output OUT] " <>
           "[--mode #{Enum.join(@modes, "|")}] [--separator SEP] [--joiner SEP] " <>
           "[--trim-punctuation] [--to-unicode|--no-to-unicode]"
  # Bad records listed one by one in permissive mode before only counting.
  @max_listed 20

  @impl Mix.Task
  def run(args) do
    cli = CLI.new(__MODULE__, @usage, @switches)

    case CLI.parse!(cli, args, 1) do
      :help ->
        :ok

      {opts, [input]} ->
        config = config!(cli, opts, input)
        Mix.Task.run("app.start")

        case extract(config) do
          :ok -> :ok
          {:error, message} -> CLI.error!(cli, message)
        end
    end
  end

  defp config!(cli, opts, input) do
    pairs = Keyword.get_values(opts, :spec) ++ spec_file!(cli, opts[:spec_file])
    if pairs == [], do: CLI.usage_error!(cli, "give at least one --spec NAME=SPEC")
    specs = Enum.map(pairs, &spec_pair!(cli, &1))
    output = opts[:output]

    spec_opts =
      [trim_punctuation: Keyword.get(opts, :trim_punctuation, false)] ++
        if(opts[:separator], do: [separator: opts[:separator]], else: [])

    compiled =
      try do
        Spec.compile!(specs, spec_opts)
      rescue
        e in ArgumentError -> CLI.usage_error!(cli, Exception.message(e))
      end

    %{
      input: input,
      output: output,
      spec: compiled,
      format: format!(cli, opts[:format], output),
      mode: CLI.one_of!(cli, "mode", opts[:mode] || "strict", @modes),
      joiner: opts[:joiner] || "|",
      to_unicode: Keyword.get(opts, :to_unicode, true)
    }
  end

  defp spec_file!(_cli, nil), do: []

  defp spec_file!(cli, path) do
    case File.read(path) do
      {:ok, text} ->
        text
        |> String.split(~r/\R/)
        |> Enum.map(&String.trim/1)
        |> Enum.reject(&(&1 == "" or String.starts_with?(&1, "#")))

      {:error, reason} ->
        CLI.usage_error!(cli, "cannot read --spec-file #{path}: #{:file.format_error(reason)}")
    end
  end

  defp spec_pair!(cli, pair) do
    case String.split(pair, "=", parts: 2) do
      [name, spec] when name != "" and spec != "" ->
        {String.trim(name), spec}

      _ ->
        CLI.usage_error!(cli, "--spec must be NAME=SPEC, got: #{inspect(pair)}")
    end
  end

  defp format!(cli, nil, output) do
    case output && output |> Path.extname() |> String.downcase() do
      ".tsv" -> :tsv
      ext when ext in [".jsonl", ".ndjson"] -> :jsonl
      _ -> CLI.one_of!(cli, "format", "csv", @formats)
    end
  end

  defp format!(cli, format, _output), do: CLI.one_of!(cli, "format", format, @formats)

  defp extract(%{output: nil} = config) do
    with {:ok, _stat} <- Output.readable(config.input) do
      run_into(config, :stdio, :stderr)
    end
  end

  defp extract(config) do
    Output.through_temp("snakepit.extract", config.input, config.output, fn device ->
      run_into(config, device, :shell)
    end)
  end

  defp run_into(config, device, report_to) do
    plain = Application.get_env(:snakepit, :convert_progress_ms, 5_000)
    counts = :counters.new(3, [])
    progress = Output.progress("snakepit.extract", plain, report_to)
    Process.put(:snakepit_extract_progress, progress)

    read_opts = [
      mode: if(config.mode == :strict, do: :strict, else: :permissive),
      to_unicode: config.to_unicode
    ]

    rows =
      config.input
      |> Snakepit.Marc.extract(config.spec, read_opts)
      |> Stream.each(&count(&1, counts, config.mode, report_to))

    result =
      try do
        {:ok, _} =
          Table.write(rows, device,
            format: config.format,
            columns: Spec.names(config.spec),
            joiner: config.joiner
          )

        :ok
      rescue
        e in Snakepit.Marc.ParseError ->
          :counters.add(counts, 2, 1)
          {:error, "bad record (strict mode, nothing written): " <> Exception.message(e)}

        e in [File.Error, ArgumentError] ->
          {:error, Exception.message(e)}
      end

    Output.finish(Process.delete(:snakepit_extract_progress))
    summary(config, progress.started, counts, result, report_to)
    result
  end

  # Counters: 1 rows, 2 bad records, 3 bad records listed.
  defp count({:error, error}, counts, mode, report_to) do
    :counters.add(counts, 2, 1)

    if mode == :permissive and :counters.get(counts, 3) < @max_listed do
      :counters.add(counts, 3, 1)
      say(report_to, "bad record: " <> Exception.message(error))
    end
  end

  defp count(_row, counts, _mode, _report_to) do
    :counters.add(counts, 1, 1)
    rows = :counters.get(counts, 1)

    if rem(rows, 500) == 0 do
      progress = Process.get(:snakepit_extract_progress)
      Process.put(:snakepit_extract_progress, Output.report(progress, rows))
    end
  end

  defp summary(config, started, counts, result, report_to) do
    ms = System.monotonic_time(:millisecond) - started
    rows = :counters.get(counts, 1)
    bad = :counters.get(counts, 2)
    to = config.output || "standard output"

    written =
      case result do
        :ok ->
          "#{Report.plural(rows, "row")} written"

        {:error, _} when config.output != nil ->
          "failed after #{Report.plural(rows, "row")}, nothing written"

        {:error, _} ->
          "failed after #{Report.plural(rows, "row")}"
      end

    say(
      report_to,
      "#{config.input} -> #{to} (#{config.format}): #{written}, " <>
        "#{Report.plural(bad, "bad record")}#{if config.mode == :strict, do: "", else: " left out"}, " <>
        "in #{Float.round(ms / 1000, 2)} s (#{Output.rate(rows, ms)} rows/s)"
    )
  end

  defp say(:stderr, line), do: IO.puts(:stderr, line)
  defp say(_shell, line), do: Mix.shell().info(line)
end
