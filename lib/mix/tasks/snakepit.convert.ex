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
  into a temporary file beside OUTPUT (a hidden, randomly named `.OUTPUT.*.tmp`, so runs at
  the same time never share one), renamed to OUTPUT only when the conversion succeeded.
  OUTPUT must not be INPUT, under any name: the same file through a symlink or a hard link
  is refused before anything is written. SIGTERM stops the task with exit status 143 and
  removes the temporary file; OUTPUT is left as it was.

  INPUT may be any readable path but a directory (a FIFO or `/dev/stdin` too).

  ## Options

    * `--from` - input format: `iso2709`, `json` or `xml` (default: inferred).
    * `--to` - output format: `iso2709`, `json`, `jsonl` or `xml` (default: inferred).
    * `--mode` - what a bad record does (default `strict`). `strict`: the conversion stops
      at the first one and fails (OUTPUT is not written). `permissive`: each bad record is
      reported and left out. `skip`: bad records are left out and only counted.
    * `--to-unicode` / `--no-to-unicode` - convert MARC-8 records (ISO 2709 input) to UTF-8
      (default: on). With `--no-to-unicode`, MARC-8 text written as JSON or XML becomes
      U+FFFD wherever it is not valid UTF-8.
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

  @switches [from: :string, to: :string, mode: :string, to_unicode: :boolean]
  # What the readers take, as the read options name them.
  @from Enum.map(Snakepit.Marc.Options.values(:stream, :format) -- [:auto], &Atom.to_string/1)
  @to ~w(iso2709 json jsonl xml)
  @modes Enum.map(Snakepit.Marc.Options.values(:read, :mode), &Atom.to_string/1)
  @usage "usage: mix snakepit.convert INPUT OUTPUT [--from #{Enum.join(@from, "|")}] " <>
           "[--to #{Enum.join(@to, "|")}] [--mode #{Enum.join(@modes, "|")}] " <>
           "[--to-unicode|--no-to-unicode]"
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

        with :ok <- check_paths(config), :ok <- convert(config) do
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
      to_unicode: Keyword.get(opts, :to_unicode, true)
    }
  end

  defp infer_from(path) do
    case extension(path) do
      ext when ext in ~w(.mrc .dat .iso .marc) -> :iso2709
      ext when ext in ~w(.json .jsonl .ndjson) -> :json
      ".xml" -> :xml
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
  defp check_paths(%{input: input, output: output}) do
    dir = Path.dirname(output)

    with {:ok, input_stat} <- readable(input),
         :ok <- writable_dir(output, dir),
         :ok <- not_the_input(input, input_stat, output) do
      :ok
    end
  end

  # Anything but a directory can be read: a file, a FIFO, /dev/stdin.
  defp readable(input) do
    case File.stat(input) do
      {:ok, %{type: :directory}} ->
        {:error, "cannot read #{input}: it is a directory, not a file"}

      {:ok, stat} ->
        {:ok, stat}

      {:error, reason} ->
        {:error, "cannot read #{input}: #{:file.format_error(reason)}"}
    end
  end

  defp writable_dir(output, dir) do
    case {File.stat(dir), File.dir?(output)} do
      {{:ok, %{type: :directory}}, false} ->
        :ok

      {{:ok, %{type: :directory}}, true} ->
        {:error, "cannot write #{output}: it is a directory"}

      {{:ok, _}, _} ->
        {:error, "cannot write #{output}: #{dir} is not a directory"}

      {{:error, :enoent}, _} ->
        {:error, "cannot write #{output}: its directory #{dir} does not exist"}

      {{:error, reason}, _} ->
        {:error, "cannot write #{output}: its directory #{dir}: #{:file.format_error(reason)}"}
    end
  end

  # Writing the output would replace the input: refused whatever the names (a symlink or a
  # hard link to the input is the same file: same device, same inode).
  defp not_the_input(input, input_stat, output) do
    case File.stat(output) do
      {:ok, %{major_device: dev, minor_device: minor, inode: inode}}
      when {dev, minor, inode} ==
             {input_stat.major_device, input_stat.minor_device, input_stat.inode} ->
        {:error,
         "#{output} is the input file #{input} (the same file under another name or link); " <>
           "write to another path"}

      _ ->
        :ok
    end
  end

  # A random name beside OUTPUT (so the final rename stays on one file system), created
  # exclusively: two runs never share one, whenever they started (:rand seeds each process
  # from the clock and its identity; the exclusive create settles any collision).
  defp open_temp(output, attempts \\ 5) do
    random = 12 |> :rand.bytes() |> Base.url_encode64(padding: false)
    tmp = Path.join(Path.dirname(output), ".#{Path.basename(output)}.#{random}.tmp")

    case File.open(tmp, [:write, :binary, :delayed_write, :exclusive]) do
      {:ok, device} -> {:ok, tmp, device}
      {:error, :eexist} when attempts > 1 -> open_temp(output, attempts - 1)
      {:error, reason} -> {:error, "cannot write #{tmp}: #{:file.format_error(reason)}"}
    end
  end

  # ---------------------------------------------------------------------------------------
  # Conversion
  # ---------------------------------------------------------------------------------------

  defp convert(config) do
    with {:ok, tmp, device} <- open_temp(config.output) do
      __MODULE__.Sigterm.while_running(tmp, fn -> convert_into(config, tmp, device) end)
    end
  end

  defp convert_into(config, tmp, device) do
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
        config.input
        |> Snakepit.Marc.stream(read_opts)
        |> Stream.filter(&keep?(&1, config.mode))
        |> writer(config.to)
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
        :ok ->
          "#{Report.plural(state.written, "record")} written"

        {:error, _} ->
          "failed after #{Report.plural(state.written, "good record")}, nothing written"
      end

    skipped = if config.mode == :strict, do: "", else: " skipped"

    Mix.shell().info(
      "#{config.input} (#{from}) -> #{config.output} (#{config.to}): #{written}, " <>
        "#{Report.plural(bad, "bad record")}#{skipped}, in #{Float.round(ms / 1000, 2)} s " <>
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

  defmodule Sigterm do
    # While a conversion runs, SIGTERM (normally a clean VM stop, exit status 0) removes the
    # temporary file and halts with status 143 (128 + SIGTERM): the caller sees a failure and
    # no half-written file is left. Any other time, the VM's own handler is in place.
    @moduledoc false
    @behaviour :gen_event

    @server :erl_signal_server
    @default :erl_signal_handler

    def while_running(tmp, fun) do
      if Process.whereis(@server) do
        id = {__MODULE__, make_ref()}
        :ok = :gen_event.add_handler(@server, id, tmp)
        default? = @default in :gen_event.which_handlers(@server)
        if default?, do: :gen_event.delete_handler(@server, @default, :snakepit_convert)

        try do
          fun.()
        after
          :gen_event.delete_handler(@server, id, :done)
          if default?, do: :gen_event.add_handler(@server, @default, [])
        end
      else
        fun.()
      end
    end

    @impl true
    def init(tmp), do: {:ok, tmp}

    @impl true
    def handle_event(:sigterm, tmp) do
      File.rm(tmp)

      IO.puts(
        :stderr,
        "mix snakepit.convert: terminated by SIGTERM; the output was not written " <>
          "(temporary file #{tmp} removed)"
      )

      System.halt(143)
    end

    def handle_event(_signal, tmp), do: {:ok, tmp}

    @impl true
    def handle_call(_request, tmp), do: {:ok, :ok, tmp}
  end
end
