defmodule Mix.Tasks.Snakepit.Convert do
  @shortdoc "Converts MARC records between ISO 2709, MARC-in-JSON and MARCXML"

  @moduledoc """
  Converts a file of MARC records from one format to another, streaming: memory stays flat
  whatever the file's size.

      mix snakepit.convert INPUT OUTPUT [--from iso2709|json|xml]
                                        [--to iso2709|json|jsonl|xml]
                                        [--mode strict|permissive|skip]
                                        [--to-unicode | --no-to-unicode]

  Formats are inferred from the file extensions when not given: `.mrc`, `.dat`, `.iso`
  (ISO 2709), `.json` (a JSON array of MARC-in-JSON records), `.jsonl` and `.ndjson` (JSON
  Lines), `.xml` (MARCXML). An input with another extension is recognised by its first
  bytes; an output needs a known extension or `--to`.

  Records are read with `Snakepit.Marc.stream/2` and written by the streaming writers
  (`Snakepit.Marc.json_stream/2`, `Snakepit.Marc.xml_stream/2`, and for ISO 2709 the
  native equivalent of `Snakepit.Marc.encode/1`)
  into a temporary file beside OUTPUT, renamed to OUTPUT only when the conversion succeeded.

  ## Options

    * `--from` - input format: `iso2709`, `json` or `xml` (default: inferred).
    * `--to` - output format: `iso2709`, `json`, `jsonl` or `xml` (default: inferred).
    * `--mode` - what a bad record does (default `strict`). `strict`: the conversion stops
      at the first one and fails (OUTPUT is not written). `permissive`: each bad record is
      reported and left out. `skip`: bad records are left out and only counted.
    * `--to-unicode` / `--no-to-unicode` - convert MARC-8 records (ISO 2709 input) to UTF-8
      (default: on). With `--no-to-unicode`, MARC-8 text written as JSON or XML becomes
      U+FFFD wherever it is not valid UTF-8.

  Progress: on a terminal, one line updated in place with the records converted and the
  rate; otherwise a plain line every few seconds. At the end a summary gives the records
  written and the bad records by kind. The task exits with status 1 on unreadable input,
  bad flags, or a bad record in strict mode.
  """

  use Mix.Task

  @switches [from: :string, to: :string, mode: :string, to_unicode: :boolean]
  @from ~w(iso2709 json xml)
  @to ~w(iso2709 json jsonl xml)
  @modes ~w(strict permissive skip)
  @usage "usage: mix snakepit.convert INPUT OUTPUT [--from #{Enum.join(@from, "|")}] " <>
           "[--to #{Enum.join(@to, "|")}] [--mode #{Enum.join(@modes, "|")}] " <>
           "[--to-unicode|--no-to-unicode]"
  # Errors listed one by one in permissive mode before only counting.
  @max_listed 20

  @impl Mix.Task
  def run(args) do
    Mix.Task.run("app.start")

    case parse_args(args) do
      {:ok, config} ->
        case convert(config) do
          :ok -> :ok
          {:error, message} -> fail(message)
        end

      {:error, message} ->
        fail(message <> "\n" <> @usage)
    end
  end

  defp fail(message) do
    Mix.shell().error(message)
    exit({:shutdown, 1})
  end

  # ---------------------------------------------------------------------------------------
  # Arguments
  # ---------------------------------------------------------------------------------------

  defp parse_args(args) do
    case OptionParser.parse(args, strict: @switches) do
      {_opts, _paths, [{flag, _} | _]} ->
        {:error,
         "unknown or malformed option #{flag}; valid options: --from, --to, --mode, " <>
           "--to-unicode, --no-to-unicode"}

      {opts, [input, output], []} ->
        with {:ok, from} <- choice(opts[:from], @from, "--from"),
             {:ok, to} <- choice(opts[:to], @to, "--to"),
             {:ok, mode} <- choice(opts[:mode] || "strict", @modes, "--mode"),
             from = from || infer_from(input),
             {:ok, to} <- output_format(to, output) do
          {:ok,
           %{
             input: input,
             output: output,
             from: from,
             to: to,
             mode: mode,
             to_unicode: Keyword.get(opts, :to_unicode, true)
           }}
        end

      {_opts, paths, []} ->
        {:error, "expected INPUT and OUTPUT paths, got #{length(paths)} argument(s)"}
    end
  end

  defp choice(nil, _valid, _flag), do: {:ok, nil}

  defp choice(value, valid, flag) do
    if value in valid,
      do: {:ok, String.to_atom(value)},
      else: {:error, "#{flag} must be one of #{Enum.join(valid, ", ")}; got: #{value}"}
  end

  defp infer_from(path) do
    case extension(path) do
      ext when ext in ~w(.mrc .dat .iso .marc) -> :iso2709
      ext when ext in ~w(.json .jsonl .ndjson) -> :json
      ".xml" -> :xml
      _ -> :auto
    end
  end

  defp output_format(nil, path) do
    case extension(path) do
      ext when ext in ~w(.mrc .dat .iso .marc) -> {:ok, :iso2709}
      ".json" -> {:ok, :json}
      ext when ext in ~w(.jsonl .ndjson) -> {:ok, :jsonl}
      ".xml" -> {:ok, :xml}
      ext -> {:error, "cannot infer the output format from #{inspect(ext)}; pass --to"}
    end
  end

  defp output_format(to, _path), do: {:ok, to}

  defp extension(path), do: path |> Path.extname() |> String.downcase()

  # ---------------------------------------------------------------------------------------
  # Conversion
  # ---------------------------------------------------------------------------------------

  defp convert(config) do
    case File.stat(config.input) do
      {:ok, %{type: :regular}} ->
        do_convert(config)

      {:ok, %{type: type}} ->
        {:error, "cannot read #{config.input}: it is a #{type}, not a file"}

      {:error, reason} ->
        {:error, "cannot read #{config.input}: #{:file.format_error(reason)}"}
    end
  end

  defp do_convert(config) do
    tmp = "#{config.output}.tmp-#{System.unique_integer([:positive])}"
    started = System.monotonic_time(:millisecond)
    progress = progress_state(started)
    Process.put(:snakepit_convert, %{written: 0, errors: %{}, listed: 0, progress: progress})

    # Lazy records: the writers read each record's bytes directly, no field is built here.
    read_opts = [
      mode: if(config.mode == :strict, do: :strict, else: :permissive),
      to_unicode: config.to_unicode,
      format: config.from,
      records: :lazy
    ]

    result =
      try do
        File.open!(tmp, [:write, :binary, :delayed_write], fn device ->
          config.input
          |> Snakepit.Marc.stream(read_opts)
          |> Stream.filter(&keep?(&1, config.mode))
          |> writer(config.to)
          |> Enum.each(&IO.binwrite(device, &1))
        end)

        File.rename!(tmp, config.output)
        :ok
      rescue
        e in Snakepit.Marc.ParseError ->
          state = Process.get(:snakepit_convert)
          errors = Map.update(state.errors, e.kind, 1, &(&1 + 1))
          Process.put(:snakepit_convert, %{state | errors: errors})

          {:error, "bad record (strict mode, nothing written): " <> Exception.message(e)}

        e in [File.Error, ArgumentError] ->
          {:error, Exception.message(e)}
      after
        File.rm(tmp)
      end

    finish_progress()
    summary(config, started, result)
    result
  end

  defp keep?({:error, %Snakepit.Marc.ParseError{} = error}, mode) do
    state = Process.get(:snakepit_convert)
    errors = Map.update(state.errors, error.kind, 1, &(&1 + 1))

    listed =
      if mode == :permissive and state.listed < @max_listed do
        Mix.shell().error("bad record: " <> Exception.message(error))
        state.listed + 1
      else
        state.listed
      end

    Process.put(:snakepit_convert, %{state | errors: errors, listed: listed})
    false
  end

  defp keep?(_record, _mode) do
    state = Process.get(:snakepit_convert)
    written = state.written + 1

    progress =
      if rem(written, 500) == 0, do: report(state.progress, written), else: state.progress

    Process.put(:snakepit_convert, %{state | written: written, progress: progress})
    true
  end

  defp writer(records, :json), do: Snakepit.Marc.json_stream(records)
  defp writer(records, :jsonl), do: Snakepit.Marc.json_stream(records, lines: true)
  defp writer(records, :xml), do: Snakepit.Marc.xml_stream(records)

  defp writer(records, :iso2709), do: Snakepit.Marc.Formats.iso_stream(records)

  # ---------------------------------------------------------------------------------------
  # Progress and summary
  # ---------------------------------------------------------------------------------------

  defp progress_state(started) do
    # A terminal: the console has columns, or (OTP 25 runs Mix without a tty driver, so
    # :io.columns fails there) ANSI is on and output goes straight to the console, not to
    # a captured device.
    tty? =
      match?({:ok, _}, :io.columns()) or
        (IO.ANSI.enabled?() and Process.group_leader() == Process.whereis(:user))

    # Plain lines every 5 s (the :snakepit, :convert_progress_ms application setting changes it).
    plain = Application.get_env(:snakepit, :convert_progress_ms, 5_000)
    %{tty: tty?, started: started, last: started, every: if(tty?, do: 200, else: plain)}
  end

  defp report(progress, written) do
    now = System.monotonic_time(:millisecond)

    if now - progress.last >= progress.every do
      line = "#{written} records, #{rate(written, now - progress.started)} records/s"

      if progress.tty,
        do: IO.write("\r\e[2K" <> line),
        else: Mix.shell().info("snakepit.convert: " <> line)

      %{progress | last: now}
    else
      progress
    end
  end

  defp finish_progress do
    state = Process.get(:snakepit_convert)
    if state.progress.tty and state.progress.last != state.progress.started, do: IO.write("\n")
  end

  defp rate(count, ms) when ms > 0, do: round(count * 1000 / ms)
  defp rate(_count, _ms), do: "-"

  defp summary(config, started, result) do
    state = Process.delete(:snakepit_convert)
    ms = System.monotonic_time(:millisecond) - started
    bad = state.errors |> Map.values() |> Enum.sum()
    from = if config.from == :auto, do: "auto", else: config.from

    written =
      case result do
        :ok -> "#{state.written} records written"
        {:error, _} -> "failed after #{state.written} good records, nothing written"
      end

    Mix.shell().info(
      "#{config.input} (#{from}) -> #{config.output} (#{config.to}): #{written}, " <>
        "#{bad} bad records#{if config.mode == :strict, do: "", else: " skipped"}, in #{Float.round(ms / 1000, 2)} s " <>
        "(#{rate(state.written, ms)} records/s)"
    )

    if bad > 0 do
      kinds =
        state.errors
        |> Enum.sort_by(fn {kind, n} -> {-n, kind} end)
        |> Enum.map_join(", ", fn {kind, n} -> "#{kind}: #{n}" end)

      Mix.shell().info("errors by kind: " <> kinds)
    end
  end
end
