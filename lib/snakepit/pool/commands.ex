defmodule Snakepit.Pool.Commands do
  @moduledoc """
  The behaviour through which a pool gets its commands.

  A pool runs the requests `{command, args}` of `Snakepit.execute/3` and
  `Snakepit.Pool.run/3` with the command module of its config (`:commands`; by default the
  one named by `config :snakepit, :commands`, which is `Snakepit.Marc.Commands`). The pool
  machinery knows no command of its own but these built-ins, which every pool runs:

    * `:ping` - `[term]`; returns `{:ok, term}` (a round trip, for benchmarks)
    * a zero-arity function given to `Snakepit.Pool.run/3`, run under one of the pool's slots

  A command module says which commands it runs (`c:commands/0`), runs them in the calling
  process (`c:run/2`: in the worker process with the `:process` profile; in the caller,
  holding one of the worker's slots, with the `:thread` profile), says how the `:thread`
  profile hands them to native threads (`c:native_plan/2`), and maps a raise in either to
  the error the caller gets (`c:error/5`).

  Arguments are checked by the command module: `run/2` and `native_plan/2` return
  `{:error, reason}` for arguments they do not accept, or raise, and `error/5` decides what
  the raise becomes. A command that is not in `commands/0` is answered
  `{:error, %Snakepit.Error{reason: :unsupported_command}}`, naming the commands the pool
  runs, without calling the module's `run/2`.
  """

  alias Snakepit.Error

  @typedoc "A command module: a module implementing this behaviour."
  @type t :: module

  @typedoc "Maps the native reply of a `:thread` job to what the caller gets."
  @type post :: (term -> {:ok, term} | {:ok, term, term} | {:error, term})

  @doc "The commands the module runs. Returns a list of atoms."
  @callback commands() :: [atom]

  @doc """
  The subset of `commands/0` that `native_plan/2` hands to the native thread pool, each by
  the name of its entry in the NIF crate's command table. Returns a list of atoms.
  """
  @callback native_commands() :: [atom]

  @doc """
  Runs `command` in the calling process.

  Returns:

    * `{:ok, result}` or `{:ok, result, extra}` - the command's success value
    * `{:error, reason}` - the command's own error, or arguments it does not accept
    * `{:chunked, enumerable}` - a list result made piece by piece, so that no process
      ever holds all of it: the enumerable yields `{:chunk, items}` any number of times,
      then `{:done, result}` (one of the above, whose list, if any, goes last). The caller
      gets the same term as if the whole list had been returned; an error in `{:done, _}`
      discards the chunks. The `:process` profile sends each chunk to the caller as it is
      made.
  """
  @callback run(command :: atom, args :: list) ::
              {:ok, term} | {:ok, term, term} | {:error, term} | {:chunked, Enumerable.t()}

  @doc """
  How the `:thread` profile runs `command`.

  Returns:

    * `{:native, native_command, native_args, post}` - submit `native_command` (an entry of
      the NIF crate's command table) with `native_args` to the worker's native threads;
      `post` maps the native reply to the caller's result
    * `:local` - run it with `run/2`, in the caller, holding one of the worker's slots
    * `:local_with_threads` - run it with `run_with_threads/3`, in the caller, holding one
      of the worker's slots and as many more as are free, and with them the use of as many
      of the worker's native threads: native work of the command's own that the caller
      hands to them, while it builds the result itself (no result is copied between
      processes)
    * `{:error, reason}` - arguments it does not accept; nothing runs
  """
  @callback native_plan(command :: atom, args :: list) ::
              {:native, atom, term, post} | :local | :local_with_threads | {:error, term}

  @doc """
  Runs `command` in the calling process, as `run/2` does, for a plan of
  `:local_with_threads`. `threads` is opaque: NIFs of the command module that take it run
  work on the worker's native threads that the caller holds, one thread a slot (a worker
  retiring meanwhile leaves them none, and the work then runs on the caller's thread).
  Returns what `run/2` returns.
  """
  @callback run_with_threads(command :: atom, args :: list, threads :: term) ::
              {:ok, term} | {:ok, term, term} | {:error, term} | {:chunked, Enumerable.t()}

  @doc """
  The error that a raise, throw or exit in `run/2` or `native_plan/2` becomes. `kind` and
  `reason` are those of `catch kind, reason`, with a raised error normalised to its
  exception (`Exception.normalize/3`). Returns `{:error, reason}`; `exception_error/5` is
  the default.
  """
  @callback error(command :: atom, args :: list, kind :: :error | :throw | :exit, term, list) ::
              {:error, term}

  @doc """
  The caller's last step on a result of `command`, whichever profile ran it and wherever:
  it runs in the process that called `Snakepit.execute/3`. It lets a worker send something
  cheap to copy (e.g. references to data held natively) that the caller turns into the
  result. Returns the result the caller gets; without this callback, the result as sent.
  A module that hands commands on to `Snakepit.Marc.Commands` hands this on too: a big
  `:parse` result arrives as references until `finish/3` builds its records.
  """
  @callback finish(command :: atom, args :: list, result :: term) :: term

  @optional_callbacks native_commands: 0, native_plan: 2, run_with_threads: 3, error: 5, finish: 3

  @doc """
  The default of `c:error/5`: `{:error, %Snakepit.Error{reason: :exception}}` naming the
  command, with the formatted exception.
  """
  @spec exception_error(atom, list, atom, term, list) :: {:error, Error.t()}
  def exception_error(command, _args, kind, reason, stacktrace) do
    {:error,
     Error.new(:exception,
       command: command,
       kind: kind,
       reason: reason,
       message: Exception.format_banner(kind, reason, stacktrace)
     )}
  end

  @doc """
  Checks that `module` implements this behaviour. Returns `:ok` or `{:error, why}`.
  """
  @spec check(term) :: :ok | {:error, String.t()}
  def check(module) when is_atom(module) and module not in [nil, true, false] do
    cond do
      not Code.ensure_loaded?(module) ->
        {:error, "module #{inspect(module)} is not available"}

      not (function_exported?(module, :commands, 0) and function_exported?(module, :run, 2)) ->
        {:error, "module #{inspect(module)} does not implement commands/0 and run/2"}

      true ->
        :ok
    end
  end

  def check(other), do: {:error, "not a module: #{inspect(other)}"}

  # -- for the profiles ---------------------------------------------------------------------

  @doc false
  # The caller's last step on a request's result (`c:finish/3`). Never raises.
  @spec finish(t, Snakepit.WorkerProfile.request(), term) :: term
  def finish(module, {command, args}, result) when is_atom(command) and is_list(args) do
    if function_exported?(module, :finish, 3),
      do: module.finish(command, args, result),
      else: result
  catch
    kind, reason -> error(module, command, args, kind, reason, __STACKTRACE__)
  end

  def finish(_module, _request, result), do: result

  @doc false
  # Runs a request in the calling process: a function, a built-in or `module`'s command.
  # The chunks of a `{:chunked, _}` result go to `emit` as they are made (default: kept and
  # put back in front of the final list). Never raises.
  @spec run(t, Snakepit.WorkerProfile.request(), (list -> any) | nil) ::
          {:ok, term} | {:ok, term, term} | {:error, term}
  def run(module, request, emit \\ nil)

  def run(_module, {:fun, fun}, _emit) when is_function(fun, 0) do
    {:ok, fun.()}
  catch
    kind, reason -> exception_error(:fun, [], kind, reason, __STACKTRACE__)
  end

  def run(module, {command, args}, emit) when is_atom(command) and is_list(args),
    do: run_with(module, command, args, emit, &module.run/2)

  def run(_module, request, _emit), do: invalid_request(request)

  @doc false
  # `run/3` of a request planned `:local_with_threads`, `threads` the worker's native
  # threads the caller holds (`c:run_with_threads/3`). Never raises.
  def run_with_threads(module, {command, args}, threads) when is_atom(command) and is_list(args),
    do: run_with(module, command, args, nil, &module.run_with_threads(&1, &2, threads))

  defp run_with(module, command, args, emit, call) do
    case builtin(command, args) do
      {:ping, term} ->
        {:ok, term}

      :none ->
        if runs?(module, command),
          do: call.(command, args) |> deliver(emit),
          else: unsupported(module, command)

      {:error, _} = error ->
        error
    end
  catch
    kind, reason -> error(module, command, args, kind, reason, __STACKTRACE__)
  end

  defp deliver({:chunked, chunks}, emit) do
    {kept, result} =
      Enum.reduce(chunks, {[], nil}, fn
        {:chunk, items}, {kept, nil} when is_list(items) and is_function(emit, 1) ->
          emit.(items)
          {kept, nil}

        {:chunk, items}, {kept, nil} when is_list(items) ->
          {[items | kept], nil}

        {:done, result}, {kept, nil} ->
          {kept, result}
      end)

    if result == nil, do: raise(ArgumentError, "a chunked result ended without {:done, result}")
    prepend(result, kept |> Enum.reverse() |> Enum.concat())
  end

  defp deliver(result, _emit), do: result

  defp prepend({:ok, items}, first) when is_list(items), do: {:ok, first ++ items}
  defp prepend({:ok, items, extra}, first) when is_list(items), do: {:ok, first ++ items, extra}
  defp prepend(result, _first), do: result

  @doc false
  # How the :thread profile runs `{command, args}` (see `c:native_plan/2`). Never raises.
  @spec plan(t, atom, list) ::
          {:native, atom, term, post} | :local | :local_with_threads | {:error, term}
  def plan(module, command, args) do
    case builtin(command, args) do
      {:ping, term} ->
        {:native, :ping, term, &Function.identity/1}

      {:error, _} = error ->
        error

      :none ->
        cond do
          not runs?(module, command) -> unsupported(module, command)
          function_exported?(module, :native_plan, 2) -> module.native_plan(command, args)
          true -> :local
        end
    end
  catch
    kind, reason -> error(module, command, args, kind, reason, __STACKTRACE__)
  end

  @doc false
  def invalid_request(request),
    do: {:error, Error.new(:invalid_arguments, command: request, args: nil)}

  defp builtin(:ping, [term]), do: {:ping, term}

  defp builtin(:ping, args),
    do: {:error, Error.new(:invalid_arguments, command: :ping, args: args)}

  defp builtin(_command, _args), do: :none

  defp runs?(module, command), do: command in module.commands()

  defp unsupported(module, command) do
    commands = [:ping | module.commands()]

    {:error,
     Error.new(:unsupported_command, command: command, why: "this pool runs #{inspect(commands)}")}
  end

  defp error(module, command, args, kind, reason, stacktrace) do
    reason = if kind == :error, do: Exception.normalize(:error, reason, stacktrace), else: reason

    if function_exported?(module, :error, 5),
      do: module.error(command, args, kind, reason, stacktrace),
      else: exception_error(command, args, kind, reason, stacktrace)
  end
end
