defmodule Mix.Tasks.Snakepit.Lint do
  @shortdoc "Validates MARC records against MARC 21 and a rule set"

  @moduledoc """
  Validates every record of a file against the MARC 21 rules (and a rule set), streaming,
  and lists each problem found, then a summary.

      mix snakepit.lint INPUT [--rules FILE] [--only CODES] [--except CODES]
                              [--format text|json|csv] [--output OUT]

  For example:

      mix snakepit.lint vendor_load.mrc --except field.local,title.nonfiling
      mix snakepit.lint vendor_load.mrc --rules local_rules.json --format csv --output issues.csv

  INPUT is read as `Snakepit.Marc.lint_stream/2` reads it (ISO 2709, MARC-in-JSON or MARCXML,
  recognised by extension or first bytes); a record whose structure is broken is listed as
  a `record.invalid` issue and the run goes on.

  ## Options

    * `--rules FILE` - a JSON rule set, or TOML when FILE ends in `.toml` (see
      `docs/validation.md`).
    * `--only CODES`, `--except CODES` - comma-separated codes (`subfield.*` for a prefix):
      report only these, or all but these.
    * `--format` - `text` (one line per issue, the default), `json` (JSON Lines, one object
      per issue) or `csv` (RFC 4180, a header line).
    * `--output OUT` - write the issues to OUT (through a temporary file renamed at the end)
      instead of standard output.
    * `--help`, `-h` - this text.

  Progress: on a terminal one line updated in place, otherwise a plain line every few
  seconds. The summary counts issues by code (with severity and the first record index of
  each) and by tag; it goes to standard error when the issues go to standard output.

  Exit status: 0 when no issue was found, 1 when some were, 2 when the run could not be made
  (a bad flag, rule set or path), with a message starting with `mix snakepit.lint:`.
  """

  use Mix.Task

  alias Snakepit.Diagnostics.Report
  alias Snakepit.MixCLI, as: CLI
  alias Snakepit.MixCLI.Output

  @switches [rules: :string, only: :string, except: :string, format: :string, output: :string]
  @formats ~w(text json csv)
  @usage "usage: mix snakepit.lint INPUT [--rules FILE] [--only CODES] [--except CODES] " <>
           "[--format #{Enum.join(@formats, "|")}] [--output OUT]"
  @columns ~w(record_index record_offset severity code tag field_index subfield byte_offset message)a

  @impl Mix.Task
  def run(args) do
    case checked_status(args) do
      0 -> :ok
      status -> exit({:shutdown, status})
    end
  rescue
    # Mix prints the message and exits with this status.
    e in Mix.Error -> reraise %{e | mix: 2}, __STACKTRACE__
  end

  @doc false
  # The exit status of a run (printing what it prints, a failure's message on standard
  # error): the tests call this.
  def status(args) do
    checked_status(args)
  rescue
    e in Mix.Error ->
      IO.puts(:stderr, e.message)
      2
  end

  # 0 or 1, or a Mix.Error when the run cannot be made.
  defp checked_status(args) do
    cli = CLI.new(__MODULE__, @usage, @switches)

    case CLI.parse!(cli, args, 1) do
      :help ->
        0

      {opts, [input]} ->
        config = config!(cli, opts, input)
        Mix.Task.run("app.start")

        case lint(config) do
          {:ok, 0} -> 0
          {:ok, _issues} -> 1
          {:error, message} -> CLI.error!(cli, message)
        end
    end
  end

  defp config!(cli, opts, input) do
    output = opts[:output]

    lint_opts = [
      rules: opts[:rules],
      only: codes(opts[:only]),
      except: codes(opts[:except]) || []
    ]

    rules =
      try do
        rules =
          case opts[:rules] do
            nil -> Snakepit.Marc.Rules.compile!([])
            path -> Snakepit.Marc.Rules.load!(path)
          end

        Snakepit.Marc.Rules.with_filters(rules, lint_opts[:only], lint_opts[:except])
      rescue
        e in ArgumentError -> CLI.usage_error!(cli, Exception.message(e))
      end

    %{
      input: input,
      output: output,
      rules: rules,
      format: CLI.one_of!(cli, "format", opts[:format] || "text", @formats)
    }
  end

  defp codes(nil), do: nil
  defp codes(text), do: text |> String.split(",", trim: true) |> Enum.map(&String.trim/1)

  defp lint(%{output: nil} = config) do
    with {:ok, _stat} <- Output.readable(config.input) do
      run_into(config, :stdio, :stderr)
    end
  end

  defp lint(config) do
    Output.through_temp("snakepit.lint", config.input, config.output, fn device ->
      run_into(config, device, :shell)
    end)
  end

  defp run_into(config, device, report_to) do
    plain = Application.get_env(:snakepit, :convert_progress_ms, 5_000)
    progress = Output.progress("snakepit.lint", plain, report_to)

    try do
      {summary, progress} =
        config.input
        |> Snakepit.Marc.lint_stream(rules: config.rules)
        |> Enum.reduce({new_summary(), progress}, fn {index, offset, issues},
                                                     {summary, progress} ->
          write_issues(device, config.format, index, offset, issues, summary.records == 0)
          summary = add(summary, index, issues)

          {summary,
           if(rem(summary.records, 1000) == 0,
             do: Output.report(progress, summary.records),
             else: progress
           )}
        end)

      if config.format == :csv and summary.records == 0, do: IO.binwrite(device, csv_header())
      Output.finish(progress)
      report(config, summary, progress.started, report_to)
      {:ok, summary.issues}
    rescue
      e in [File.Error, ArgumentError, Snakepit.Marc.ParseError] -> {:error, Exception.message(e)}
    end
  end

  defp new_summary, do: %{records: 0, issues: 0, by_code: %{}, by_tag: %{}}

  # Counts by code (severity, count, first record) and by tag (count, first record).
  defp add(summary, index, issues) do
    Enum.reduce(issues, %{summary | records: summary.records + 1}, fn issue, s ->
      %{
        s
        | issues: s.issues + 1,
          by_code:
            Map.update(s.by_code, issue.code, {issue.severity, 1, index}, fn {sev, n, first} ->
              {sev, n + 1, first}
            end),
          by_tag:
            Map.update(s.by_tag, issue.tag || "-", {1, index}, fn {n, first} -> {n + 1, first} end)
      }
    end)
  end

  defp write_issues(device, :csv, index, offset, issues, first?) do
    if first?, do: IO.binwrite(device, csv_header())
    rows = Enum.map(issues, &row(index, offset, &1))

    if rows != [],
      do:
        IO.binwrite(device, rows |> Snakepit.Marc.Table.stream(columns: @columns) |> Enum.drop(1))
  end

  defp write_issues(device, :json, index, offset, issues, _first?) do
    for issue <- issues do
      object =
        issue |> Map.from_struct() |> Map.merge(%{record_index: index, record_offset: offset})

      IO.binwrite(device, [Snakepit.JSON.encode!(object), ?\n])
    end
  end

  defp write_issues(device, :text, index, offset, issues, _first?) do
    for issue <- issues do
      where =
        [issue.tag, issue.subfield && "$" <> issue.subfield]
        |> Enum.reject(&is_nil/1)
        |> Enum.join(" ")

      at = if offset, do: "record #{index} (byte #{offset})", else: "record #{index}"
      IO.binwrite(device, "#{at} #{where} #{issue.severity} #{issue.code}: #{issue.message}\n")
    end
  end

  defp csv_header, do: [] |> Snakepit.Marc.Table.stream(columns: @columns) |> Enum.take(1)

  defp row(index, offset, issue) do
    values =
      issue |> Map.from_struct() |> Map.merge(%{record_index: index, record_offset: offset})

    Map.new(@columns, fn column -> {column, cell(values[column])} end)
  end

  defp cell(nil), do: []
  defp cell(value) when is_binary(value), do: [value]
  defp cell(value), do: [to_string(value)]

  defp report(config, summary, started, report_to) do
    ms = System.monotonic_time(:millisecond) - started

    lines =
      [
        "#{config.input}: #{Report.plural(summary.records, "record")}, " <>
          "#{Report.plural(summary.issues, "issue")} in #{Float.round(ms / 1000, 2)} s " <>
          "(#{Output.rate(summary.records, ms)} records/s)"
      ] ++ table("code", "severity", by_code(summary)) ++ table("tag", nil, by_tag(summary))

    Enum.each(lines, &say(report_to, &1))
  end

  defp by_code(summary),
    do:
      summary.by_code
      |> Enum.sort_by(fn {code, {_, n, _}} -> {-n, code} end)
      |> Enum.map(fn {code, {severity, n, first}} ->
        [code, Atom.to_string(severity), n, first]
      end)

  defp by_tag(summary),
    do:
      summary.by_tag
      |> Enum.sort_by(fn {tag, {n, _}} -> {-n, tag} end)
      |> Enum.map(fn {tag, {n, first}} -> [tag, nil, n, first] end)

  defp table(_name, _extra, []), do: []

  defp table(name, extra, rows) do
    header = [name, extra, "issues", "first record"]
    rows = [header | rows] |> Enum.map(fn row -> Enum.reject(row, &is_nil/1) end)

    widths =
      rows
      |> Enum.zip_with(& &1)
      |> Enum.map(fn col -> col |> Enum.map(&String.length(to_string(&1))) |> Enum.max() end)

    Enum.map(rows, fn row ->
      row
      |> Enum.zip(widths)
      |> Enum.map_join("  ", fn
        {v, w} when is_integer(v) -> String.pad_leading(to_string(v), w)
        {v, w} -> String.pad_trailing(to_string(v), w)
      end)
      |> String.trim_trailing()
    end)
  end

  defp say(:stderr, line), do: IO.puts(:stderr, line)
  defp say(_shell, line), do: Mix.shell().info(line)
end
