defmodule Mix.Tasks.Snakepit.Convert do
  @shortdoc "Converts MARC records between ISO 2709, MARC-in-JSON, MARCXML and .mrk"

  @moduledoc """
  Converts a file of MARC records from one format to another, streaming: memory stays flat
  whatever the file's size.

      mix snakepit.convert INPUT OUTPUT [--from iso2709|json|xml|mrk]
                                        [--to iso2709|json|jsonl|xml|mrk|text]
                                        [--mode strict|permissive|skip]
                                        [--to-unicode | --no-to-unicode]
                                        [--to-encoding marc8] [--oversize error|zero_length]

  Formats are inferred from the file extensions when not given: `.mrc`, `.dat`, `.iso`
  (ISO 2709), `.json` (a JSON array of MARC-in-JSON records), `.jsonl` and `.ndjson` (JSON
  Lines), `.xml` (MARCXML), `.mrk` and `.mrk8` (MarcEdit's mnemonic format, UTF-8, or
  MARC-8 with `--to-encoding marc8`; read in either), and
  for output only `.txt` (`text`: the line dump of `Snakepit.Marc.to_text/2`). An input with another extension is recognised by its first
  bytes; an output needs a known extension or `--to`.

  Records are read with `Snakepit.Marc.stream/2` and written by the streaming writers
  (`Snakepit.Marc.json_stream/2`, `Snakepit.Marc.xml_stream/2`, and for ISO 2709 the
  native equivalent of `Snakepit.Marc.encode/1`)
  into a temporary file beside OUTPUT (a hidden, randomly named `.OUTPUT.*.tmp`, so runs at
  the same time never share one), renamed to OUTPUT only when the conversion succeeded.
  OUTPUT must not be INPUT, under any name: the same file through a symlink or a hard link
  is refused before anything is written. SIGTERM stops the task with exit status 143 and
  removes the temporary file; OUTPUT is left as it was.

  INPUT may be any readable path but a directory (a FIFO or `/dev/stdin` too).

  ## Options

    * `--from` - input format: `iso2709`, `json`, `xml` or `mrk` (default: inferred).
    * `--to` - output format: `iso2709`, `json`, `jsonl`, `xml`, `mrk` or `text`
      (default: inferred).
    * `--mode` - what a bad record does (default `strict`). `strict`: the conversion stops
      at the first one and fails (OUTPUT is not written). `permissive`: each bad record is
      reported and left out. `skip`: bad records are left out and only counted.
    * `--to-unicode` / `--no-to-unicode` - convert MARC-8 records (ISO 2709 input) to UTF-8
      (default: on). With `--no-to-unicode`, MARC-8 text written as JSON or XML becomes
      U+FFFD wherever it is not valid UTF-8.
    * `--to-encoding marc8` - ISO 2709 output: write UTF-8 records as MARC-8
      (`Snakepit.Marc.encode/2`'s `encoding: :marc8`; characters MARC-8 lacks become
      `&#xHHHH;`). A record that cannot be written is a bad record, as `--mode` says.
      `.mrk` output: MARCMaker's MARC-8 `.mrk` (`Snakepit.Marc.to_mrk/2`'s
      `encoding: :marc8`) instead of UTF-8 `.mrk8`.
    * `--oversize error|zero_length` - ISO 2709 output only: a record over 99,999 or a field
      over 9,999 bytes is a bad record (`error`, the default) or is written with zero
      lengths (`zero_length`, as ruby-marc's `allow_oversized` does).
    * `--help`, `-h` - this text.

  Progress: on a terminal, one line updated in place with the records converted and the
  rate; otherwise a plain line every few seconds. At the end a summary gives the records
  written and the bad records by kind. The task exits with status 1 on unreadable input, an
  OUTPUT that cannot be written (its directory is named when missing), OUTPUT equal to
  INPUT, bad flags, or a bad record in strict mode; every error starts with
  `mix snakepit.convert:`.
  """

  use Mix.Task

  alias Snakepit.Diagnostics.Report
  alias Snakepit.MixCLI, as: CLI
  alias Snakepit.MixCLI.Output

  @switches [
    from: :string,
    to: :string,
    mode: :string,
    to_unicode: :boolean,
    to_encoding: :string,
    oversize: :string
  ]
  # What the readers take, as the read options name them.
  @from Enum.map(Snakepit.Marc.Options.values(:stream, :format) -- [:auto], &Atom.to_string/1)
  @to ~w(iso2709 json jsonl xml mrk text)
  @modes Enum.map(Snakepit.Marc.Options.values(:read, :mode), &Atom.to_string/1)
  @usage "usage: mix snakepit.convert INPUT OUTPUT [--from #{Enum.join(@from, "|")}] " <>
           "[--to #{Enum.join(@to, "|")}] [--mode #{Enum.join(@modes, "|")}] " <>
           "[--to-unicode|--no-to-unicode] [--to-encoding marc8] [--oversize error|zero_length]"
  # Errors listed one by one in permissive mode before only counting.
  @max_listed 20

  @impl Mix.Task
  def run(args) do
    cli = CLI.new(__MODULE__, @usage, @switches)

    case CLI.parse!(cli, args, 2) do
      :help ->
        :ok

      {opts, [input, output]} ->
        config = config!(cli, opts, input, output)
        Mix.Task.run("app.start")

        with :ok <- Output.check_paths(config.input, config.output), :ok <- convert(config) do
          :ok
        else
          {:error, message} -> CLI.error!(cli, message)
        end
    end
  end

  # ---------------------------------------------------------------------------------------
  # Arguments
  # ---------------------------------------------------------------------------------------

  defp config!(cli, opts, input, output) do
    from =
      if opts[:from], do: CLI.one_of!(cli, "from", opts[:from], @from), else: infer_from(input)

    to = if opts[:to], do: CLI.one_of!(cli, "to", opts[:to], @to), else: infer_to!(cli, output)

    %{
      input: input,
      output: output,
      from: from,
      to: to,
      mode: CLI.one_of!(cli, "mode", opts[:mode] || "strict", @modes),
      to_unicode: Keyword.get(opts, :to_unicode, true),
      iso: iso_options!(cli, opts, to)
    }
  end

  # The ISO 2709 writer's options (Snakepit.Marc.encode/2), from --to-encoding and --oversize;
  # --to-encoding also makes .mrk output MARC-8 (MARCMaker's .mrk, to_mrk/2's encoding: :marc8).
  defp iso_options!(cli, opts, to) do
    if to != :iso2709 and opts[:oversize] do
      CLI.usage_error!(cli, "--oversize applies to ISO 2709 output only")
    end

    if to not in [:iso2709, :mrk] and opts[:to_encoding] do
      CLI.usage_error!(cli, "--to-encoding applies to .mrk and ISO 2709 output only")
    end

    encoding =
      opts[:to_encoding] && CLI.one_of!(cli, "to-encoding", opts[:to_encoding], ~w(marc8))

    oversize = CLI.one_of!(cli, "oversize", opts[:oversize] || "error", ~w(error zero_length))
    [encoding: encoding, oversize: oversize]
  end

  defp infer_from(path) do
    case extension(path) do
      ext when ext in ~w(.mrc .dat .iso .marc) -> :iso2709
      ext when ext in ~w(.json .jsonl .ndjson) -> :json
      ".xml" -> :xml
      ext when ext in ~w(.mrk .mrk8) -> :mrk
      _ -> :auto
    end
  end

  defp infer_to!(cli, path) do
    case extension(path) do
      ext when ext in ~w(.mrc .dat .iso .marc) ->
        :iso2709

      ".json" ->
        :json

      ext when ext in ~w(.jsonl .ndjson) ->
        :jsonl

      ".xml" ->
        :xml

      ext when ext in ~w(.mrk .mrk8) ->
        :mrk

      ".txt" ->
        :text

      ext ->
        CLI.usage_error!(cli, "cannot infer the output format from #{inspect(ext)}; pass --to")
    end
  end

  defp extension(path), do: path |> Path.extname() |> String.downcase()

  # ---------------------------------------------------------------------------------------
  # Paths
  # ---------------------------------------------------------------------------------------

  # Everything that would make the conversion fail, or destroy the input, is refused before
  # anything is written.
  # ---------------------------------------------------------------------------------------
  # Conversion
  # ---------------------------------------------------------------------------------------

  defp convert(config) do
    with {:ok, tmp, device} <- Output.open_temp(config.output) do
      Output.Sigterm.while_running("snakepit.convert", tmp, fn ->
        convert_into(config, tmp, device)
      end)
    end
  end

  defp convert_into(config, tmp, device) do
    started = System.monotonic_time(:millisecond)
    # Plain lines every 5 s (the :snakepit, :convert_progress_ms application setting changes it).
    progress =
      Output.progress(
        "snakepit.convert",
        Application.get_env(:snakepit, :convert_progress_ms, 5_000)
      )

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
        config.input
        |> Snakepit.Marc.stream(read_opts)
        |> Stream.filter(&keep?(&1, config.mode))
        |> writer(config)
        |> Enum.each(&IO.binwrite(device, &1))

        :ok = File.close(device)
        File.rename!(tmp, config.output)
        :ok
      rescue
        e in Snakepit.Marc.ParseError ->
          state = Process.get(:snakepit_convert)
          errors = Map.update(state.errors, e.kind, 1, &(&1 + 1))
          Process.put(:snakepit_convert, %{state | errors: errors})

          {:error, "bad record (strict mode, nothing written): " <> Exception.message(e)}

        e in [File.Error, File.RenameError, ArgumentError] ->
          {:error, Exception.message(e)}
      after
        File.close(device)
        File.rm(tmp)
      end

    Output.finish(Process.get(:snakepit_convert).progress)
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
      if rem(written, 500) == 0, do: Output.report(state.progress, written), else: state.progress

    Process.put(:snakepit_convert, %{state | written: written, progress: progress})
    true
  end

  defp writer(records, %{to: :json}), do: Snakepit.Marc.json_stream(records)
  defp writer(records, %{to: :jsonl}), do: Snakepit.Marc.json_stream(records, lines: true)
  defp writer(records, %{to: :xml}), do: Snakepit.Marc.xml_stream(records)

  defp writer(records, %{to: :mrk, iso: iso}),
    do: Snakepit.Marc.Mrk.stream(records, :mrk, encoding: iso[:encoding] || :utf8)

  defp writer(records, %{to: :text}), do: Snakepit.Marc.Mrk.stream(records, :text)

  # A record the writer refuses (MARC-8 it cannot hold, oversize) counts as a bad record in
  # permissive and skip modes, as a record the reader refuses does.
  defp writer(records, %{to: :iso2709, mode: mode, iso: iso}) do
    if mode == :strict do
      Snakepit.Marc.Encoder.iso_stream(records, iso)
    else
      Snakepit.Marc.Encoder.iso_stream(records, [mode: :skip] ++ iso, &unwritten(&1, mode))
    end
  end

  defp unwritten(error, mode) do
    keep?({:error, error}, mode)
    state = Process.get(:snakepit_convert)
    Process.put(:snakepit_convert, %{state | written: state.written - 1})
  end

  # ---------------------------------------------------------------------------------------
  # Progress and summary
  # ---------------------------------------------------------------------------------------

  defp summary(config, started, result) do
    state = Process.delete(:snakepit_convert)
    ms = System.monotonic_time(:millisecond) - started
    bad = state.errors |> Map.values() |> Enum.sum()
    from = if config.from == :auto, do: "auto", else: config.from

    written =
      case result do
        :ok ->
          "#{Report.plural(state.written, "record")} written"

        {:error, _} ->
          "failed after #{Report.plural(state.written, "good record")}, nothing written"
      end

    skipped = if config.mode == :strict, do: "", else: " skipped"

    Mix.shell().info(
      "#{config.input} (#{from}) -> #{config.output} (#{config.to}): #{written}, " <>
        "#{Report.plural(bad, "bad record")}#{skipped}, in #{Float.round(ms / 1000, 2)} s " <>
        "(#{Output.rate(state.written, ms)} records/s)"
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
