defmodule Snakepit.WorkerProfile.Commands do
  # The command table shared by the profiles: what each command calls in Elixir, and how the
  # thread profile hands it to native code. Results are normalised to {:ok, _} / {:error, _}.
  @moduledoc false

  alias Snakepit.Error

  @marc_commands [:parse, :encode, :to_json, :to_xml, :validate, :scan, :count]
  # Diagnostics: round trips for benchmarks, and a held slot / a caught panic for tests.
  @diagnostic_commands [:ping, :sleep, :__panic__]

  def commands, do: @marc_commands ++ @diagnostic_commands

  @doc "Runs `command` in the calling process."
  def run(:ping, [term]), do: {:ok, term}

  # `[ms]` or `[ms, payload]`: holds the slot, and the payload's memory, for `ms`.
  def run(:sleep, [ms | payload]) when is_integer(ms) and ms >= 0 and length(payload) <= 1 do
    Process.sleep(ms)
    # Keeps the payload referenced until the sleep ends.
    _ = :erlang.phash2(payload, 1)
    {:ok, ms}
  end

  def run(:__panic__, []), do: raise("panic requested by the :__panic__ diagnostic command")

  def run(command, args) when command in @marc_commands and is_list(args) do
    marc = Snakepit.Marc

    cond do
      not Code.ensure_loaded?(marc) or not function_exported?(marc, command, length(args)) ->
        {:error,
         Error.new(:unsupported_command,
           command: command,
           why: "Snakepit.Marc.#{command}/#{length(args)} is not available in this build"
         )}

      true ->
        try do
          normalise(apply(marc, command, args))
        rescue
          e in [ArgumentError, FunctionClauseError] ->
            {:error, Error.new(:invalid_arguments, command: command, args: args, exception: e)}
        end
    end
  end

  def run({:fun, fun}, []) when is_function(fun, 0), do: {:ok, fun.()}

  def run(command, args) when command in @diagnostic_commands,
    do: {:error, Error.new(:invalid_arguments, command: command, args: args)}

  def run(command, _args), do: {:error, Error.new(:unsupported_command, command: command)}

  defp normalise({:ok, _} = ok), do: ok
  defp normalise({:ok, _, _} = ok), do: ok
  defp normalise({:error, _} = error), do: error
  defp normalise(:ok), do: {:ok, :ok}
  defp normalise(value), do: {:ok, value}

  @doc """
  How the thread profile runs `command`: `{:native, native_command, native_args, post}` to
  submit it to the worker's rayon pool (`post` maps the native reply), or `:local` when the
  command is implemented in Elixir and runs in the caller under one of the worker's slots,
  or `{:error, %Snakepit.Error{reason: :invalid_arguments}}` for malformed arguments.
  """
  def native_plan(command, args) do
    reject_path!(command, args)
    plan(command, args)
  rescue
    # Malformed options (not a keyword list): the same error the :process profile returns.
    e in [ArgumentError, FunctionClauseError] ->
      {:error, Error.new(:invalid_arguments, command: command, args: args, exception: e)}
  end

  # A path given where data is expected: the message the direct call (and so the :process
  # profile) gives.
  defp reject_path!(command, [bin | _])
       when command in [:parse, :count, :validate] and is_binary(bin),
       do: Snakepit.Marc.reject_path!(bin, "#{command}/2")

  defp reject_path!(_command, _args), do: :ok

  defp plan(:ping, [term]), do: {:native, :ping, term, &Function.identity/1}

  defp plan(:sleep, [ms]) when is_integer(ms) and ms >= 0,
    do: {:native, :sleep, ms, &Function.identity/1}

  defp plan(:sleep, [ms, payload]) when is_integer(ms) and ms >= 0,
    do: {:native, :sleep, {ms, payload}, &Function.identity/1}

  defp plan(:__panic__, []), do: {:native, :__panic__, nil, &Function.identity/1}

  defp plan(:scan, [bin]) when is_binary(bin),
    do: {:native, :scan, bin, &Function.identity/1}

  defp plan(:count, [bin | opts]) when is_binary(bin) and length(opts) <= 1 do
    utf8 = Snakepit.Marc.Options.validate!(List.first(opts, []), :count).validate_utf8

    {:native, :count, {bin, utf8},
     fn
       {:ok, {good, bad}} -> {:ok, %{records: good, errors: bad}}
       other -> other
     end}
  end

  # parse and validate hand the native side the same option map the record API's NIFs get.
  defp plan(:parse, [bin | opts]) when is_binary(bin) and length(opts) <= 1 do
    with {:ok, config} <- read_opts(:parse, opts) do
      {:native, :parse, {bin, config},
       fn
         {:ok, items, skipped} when config.report -> {:ok, items, %{skipped: skipped}}
         {:ok, items, _skipped} -> {:ok, items}
         other -> other
       end}
    end
  end

  defp plan(:validate, [bin | opts]) when is_binary(bin) and length(opts) <= 1 do
    with {:ok, config} <- read_opts(:validate, opts) do
      {:native, :validate, {bin, config}, &Function.identity/1}
    end
  end

  defp plan(_command, _args), do: :local

  # The record API's own option validation, so both profiles accept exactly the same options.
  defp read_opts(command, opts) do
    {:ok, Snakepit.Marc.Options.validate!(List.first(opts, []), :read)}
  rescue
    e in ArgumentError ->
      {:error, Error.new(:invalid_arguments, command: command, args: opts, exception: e)}
  end

  @doc "Maps the native error terms of the thread pool to `Snakepit.Error`s."
  def native_error({:error, {:panic, message}}, command),
    do: {:error, Error.new(:native_panic, command: command, panic: message)}

  def native_error({:error, {:unknown_command, command}}, _command),
    do: {:error, Error.new(:unsupported_command, command: command)}

  def native_error({:error, {:invalid_arguments, _}}, command),
    do: {:error, Error.new(:invalid_arguments, command: command)}

  # A job that the worker's stop ended early (`:sleep`): the worker is gone under it.
  def native_error({:error, :closed}, _command), do: {:error, :worker_crashed}

  def native_error(other, _command), do: other
end
