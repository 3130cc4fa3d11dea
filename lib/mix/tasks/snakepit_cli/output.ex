defmodule Snakepit.MixCLI.Output do
  # What the tasks that write a file share: checks before anything is written, a temporary
  # file beside the output renamed at the end, SIGTERM cleanup, and the progress line.
  @moduledoc false

  @doc """
  Everything that would make writing `output` fail, or destroy `input`, as
  `{:error, message}` before anything is written; else `:ok`.
  """
  def check_paths(input, output) do
    with {:ok, input_stat} <- readable(input),
         :ok <- writable_dir(output, Path.dirname(output)),
         :ok <- not_the_input(input, input_stat, output) do
      :ok
    end
  end

  @doc "`{:ok, stat}` for an input that can be read (anything but a directory: a file, a FIFO, /dev/stdin), else `{:error, message}`."
  def readable(input) do
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

  @doc """
  A random name beside `output` (so the final rename stays on one file system), created
  exclusively: two runs never share one. `{:ok, tmp, device}` or `{:error, message}`.
  """
  def open_temp(output, attempts \\ 5) do
    random = 12 |> :rand.bytes() |> Base.url_encode64(padding: false)
    tmp = Path.join(Path.dirname(output), ".#{Path.basename(output)}.#{random}.tmp")

    case File.open(tmp, [:write, :binary, :delayed_write, :exclusive]) do
      {:ok, device} -> {:ok, tmp, device}
      {:error, :eexist} when attempts > 1 -> open_temp(output, attempts - 1)
      {:error, reason} -> {:error, "cannot write #{tmp}: #{:file.format_error(reason)}"}
    end
  end

  @doc """
  Runs `write.(device)` with a temporary file beside `output` (after `check_paths/2`), and
  renames it to `output` when `write` returns `:ok` or `{:ok, _}`, which is returned; on
  anything else (an error) or SIGTERM the temporary file is removed. `task` names the task
  in the SIGTERM message ("snakepit.convert").
  """
  def through_temp(task, input, output, write) do
    with :ok <- check_paths(input, output),
         {:ok, tmp, device} <- open_temp(output) do
      __MODULE__.Sigterm.while_running(task, tmp, fn ->
        try do
          with result when result == :ok or elem(result, 0) == :ok <- write.(device) do
            :ok = File.close(device)
            File.rename!(tmp, output)
            result
          end
        after
          File.close(device)
          File.rm(tmp)
        end
      end)
    end
  end

  @doc """
  A progress line for `task` (its name, e.g. "snakepit.convert"): on a terminal one line
  updated in place, otherwise a plain line every `plain_ms`; on standard error with
  `to: :stderr` (when standard output carries the data).
  """
  def progress(task, plain_ms, to \\ :shell) do
    # A terminal: the console has columns, or (OTP 25 runs Mix without a tty driver, so
    # :io.columns fails there) ANSI is on and output goes straight to the console, not to
    # a captured device.
    tty? =
      match?({:ok, _}, :io.columns()) or
        (IO.ANSI.enabled?() and Process.group_leader() == Process.whereis(:user))

    started = System.monotonic_time(:millisecond)

    %{
      task: task,
      to: to,
      tty: tty?,
      started: started,
      last: started,
      every: if(tty?, do: 200, else: plain_ms)
    }
  end

  @doc "Shows `count` records done when the last line is old enough; the new progress."
  def report(progress, count) do
    now = System.monotonic_time(:millisecond)

    if now - progress.last >= progress.every do
      line = "#{count} records, #{rate(count, now - progress.started)} records/s"

      case progress do
        %{tty: true, to: :stderr} -> IO.write(:stderr, "\r\e[2K" <> line)
        %{tty: true} -> IO.write("\r\e[2K" <> line)
        %{to: :stderr} -> IO.puts(:stderr, "#{progress.task}: " <> line)
        _ -> Mix.shell().info("#{progress.task}: " <> line)
      end

      %{progress | last: now}
    else
      progress
    end
  end

  @doc "Ends the terminal line, if one was drawn."
  def finish(progress) do
    device = if progress.to == :stderr, do: :stderr, else: :stdio
    if progress.tty and progress.last != progress.started, do: IO.write(device, "\n")
    :ok
  end

  @doc "Records per second over `ms`."
  def rate(count, ms) when ms > 0, do: round(count * 1000 / ms)
  def rate(_count, _ms), do: "-"

  defmodule Sigterm do
    # While a task writes, SIGTERM (normally a clean VM stop, exit status 0) removes the
    # temporary file and halts with status 143 (128 + SIGTERM): the caller sees a failure and
    # no half-written file is left. Any other time, the VM's own handler is in place.
    @moduledoc false
    @behaviour :gen_event

    @server :erl_signal_server
    @default :erl_signal_handler

    def while_running(task, tmp, fun) do
      if Process.whereis(@server) do
        id = {__MODULE__, make_ref()}
        :ok = :gen_event.add_handler(@server, id, {task, tmp})
        default? = @default in :gen_event.which_handlers(@server)
        if default?, do: :gen_event.delete_handler(@server, @default, :snakepit_task)

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
    def init(state), do: {:ok, state}

    @impl true
    def handle_event(:sigterm, {task, tmp}) do
      File.rm(tmp)

      IO.puts(
        :stderr,
        "mix #{task}: terminated by SIGTERM; the output was not written " <>
          "(temporary file #{tmp} removed)"
      )

      System.halt(143)
    end

    def handle_event(_signal, state), do: {:ok, state}

    @impl true
    def handle_call(_request, state), do: {:ok, :ok, state}
  end
end
