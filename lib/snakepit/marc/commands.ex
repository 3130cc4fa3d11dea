defmodule Snakepit.Marc.Commands do
  @moduledoc """
  The MARC commands of a pool (`Snakepit.Pool.Commands`): the default `:commands` of every
  pool (`config :snakepit, :commands`).

    * `:parse` - `[binary]` or `[binary, opts]`, as `Snakepit.Marc.parse/2`
    * `:encode` - `[records]`, as `Snakepit.Marc.encode/1`; returns `{:ok, iodata}`
    * `:to_json`, `:to_xml` - `[records]` or `[records, opts]`, as `Snakepit.Marc.to_json/2`
      and `Snakepit.Marc.to_xml/2`
    * `:validate` - `[binary]` or `[binary, opts]`; returns `{:ok, errors}`
    * `:scan` - `[binary]`; returns `{:ok, [{offset, length}]}`
    * `:count` - `[binary]` or `[binary, opts]`; returns `{:ok, %{records: n, errors: m}}`
    * `:extract` - `[binary, specs]` or `[binary, specs, opts]`, the specs compiled with
      `Snakepit.Marc.Spec.compile!/2` (or not yet), the binary also a
      `Snakepit.Marc.Batch`; returns `{:ok, [%{name => values}]}`, as
      `Snakepit.Marc.extract/3` gives them for the records of `binary`
    * `:lint` - `[binary]` or `[binary, opts]` (the binary also a `Snakepit.Marc.Batch`),
      opts those of `Snakepit.Marc.lint/2` and the read options; returns
      `{:ok, [{record_index, byte_offset, issues}]}`, as `Snakepit.Marc.lint_stream/2` gives
      them for the records of `binary`

  Each returns what the `Snakepit.Marc` function of the same name returns, as `{:ok, value}`
  when that is a bare value. Arguments it does not accept are
  `{:error, %Snakepit.Error{reason: :invalid_arguments}}` with the message the direct call
  raises. `:parse`, `:validate`, `:scan`, `:count`, `:extract` and `:lint` run on a `:thread` worker's
  native threads, the others in Elixir under one of its slots.
  """

  @behaviour Snakepit.Pool.Commands

  alias Snakepit.Error
  alias Snakepit.Marc
  alias Snakepit.Marc.Options
  alias Snakepit.Native

  # The one list of MARC commands: those the :thread profile runs natively (each an entry of
  # the NIF crate's command table, native/snakepit_nif/src/thread_pool.rs), then those that
  # run in Elixir.
  @native [:parse, :validate, :scan, :count, :extract, :lint]
  @local [:encode, :to_json, :to_xml]
  @commands @native ++ @local

  @impl true
  def commands, do: @commands

  @impl true
  def native_commands, do: @native

  # Inputs of more than this many bytes are parsed a batch at a time, each batch sent on as
  # it is made (`{:chunked, _}`), so the worker never holds the whole result. A batch goes
  # as one reference to its records parsed natively, and `finish/3` builds their terms in
  # the caller's own heap, on a dirty scheduler, as `parse/2` does: no record is copied
  # from process to process, and no caller's collection copies heap fragments of records
  # on a normal scheduler.
  @chunked_parse_bytes 1_048_576

  @impl true
  def run(:extract, args), do: apply(Snakepit.Marc.Extract, :all, args)
  def run(:lint, args), do: apply(Snakepit.Marc.Lint, :all, args)

  def run(:parse, [bin | opts])
      when is_binary(bin) and byte_size(bin) > @chunked_parse_bytes and length(opts) <= 1 do
    Marc.reject_path!(bin, "parse/2")
    config = read_options(opts, :read)
    {:chunked, parse_chunks(bin, config)}
  end

  def run(command, args) when command in @commands,
    do: normalise(apply(Marc, command, args))

  @impl true
  def run_with_threads(:extract, args, threads),
    do: apply(Snakepit.Marc.Extract, :all_with_threads, [threads | args])

  @impl true
  def finish(:parse, _args, result), do: build_prepared(result)
  def finish(_command, _args, result), do: result

  defp normalise({:ok, _} = ok), do: ok
  defp normalise({:ok, _, _} = ok), do: ok
  defp normalise({:error, _} = error), do: error
  defp normalise(:ok), do: {:ok, :ok}
  defp normalise(value), do: {:ok, value}

  # Malformed arguments (a bad option, a path given for data, not a binary): the message the
  # direct call raises, on both profiles.
  @impl true
  def error(command, args, :error, %e{} = exception, _stacktrace)
      when e in [ArgumentError, FunctionClauseError] do
    {:error, Error.new(:invalid_arguments, command: command, args: args, exception: exception)}
  end

  # The record API has no such arity.
  def error(command, args, :error, %UndefinedFunctionError{module: m, function: f}, _)
      when m == Marc or
             (m in [Snakepit.Marc.Extract, Snakepit.Marc.Lint] and f in [:all, :all_with_threads]),
      do: {:error, Error.new(:invalid_arguments, command: command, args: args)}

  def error(command, args, kind, reason, stacktrace),
    do: Snakepit.Pool.Commands.exception_error(command, args, kind, reason, stacktrace)

  # The native side gets the same option map as the record API's NIFs, and a path given
  # for data is refused with the message the direct call gives.
  @impl true
  def native_plan(command, [bin | _] = args)
      when command in [:parse, :count, :validate] and is_binary(bin) do
    Marc.reject_path!(bin, "#{command}/2")
    plan(command, args)
  end

  # A whole ISO 2709 binary or small file: extracted in the caller, the worker's threads doing the
  # native work while the caller builds the maps, so no map is copied between processes.
  def native_plan(:extract, [data, _specs | opts])
      when (is_binary(data) or is_struct(data, Snakepit.Marc.Extract.SmallFile)) and
             length(opts) <= 1,
      do: :local_with_threads

  def native_plan(:extract, [data, specs | opts]) when length(opts) <= 1 do
    {bin, compiled, native, base, first, done} =
      Snakepit.Marc.Extract.command(data, specs, List.first(opts, []))

    {:native, :extract,
     {bin, Snakepit.Marc.Spec.ref(compiled), compiled.names, native, base, first}, done}
  end

  def native_plan(:lint, [data | opts]) when length(opts) <= 1,
    do: {:native, :lint, Snakepit.Marc.Lint.command(data, List.first(opts, [])), & &1}

  def native_plan(command, args), do: plan(command, args)

  defp plan(:scan, [bin]) when is_binary(bin), do: {:native, :scan, bin, &Function.identity/1}

  defp plan(:count, [bin | opts]) when is_binary(bin) and length(opts) <= 1 do
    utf8 = read_options(opts, :count).validate_utf8

    {:native, :count, {bin, utf8},
     fn
       {:ok, {good, bad}} -> {:ok, %{records: good, errors: bad}}
       other -> other
     end}
  end

  defp plan(:parse, [bin | opts]) when is_binary(bin) and length(opts) <= 1 do
    config = read_options(opts, :read)

    {:native, :parse, {bin, config},
     fn result ->
       case count_read(result) do
         {:ok, items, skipped} when config.report -> {:ok, items, %{skipped: skipped}}
         {:ok, items, _skipped} -> {:ok, items}
         other -> other
       end
     end}
  end

  defp plan(:validate, [bin | opts]) when is_binary(bin) and length(opts) <= 1,
    do: {:native, :validate, {bin, read_options(opts, :read)}, &Function.identity/1}

  # Anything else (another shape of arguments included) runs the record API in Elixir,
  # which says what is wrong with them.
  defp plan(_command, _args), do: :local

  # A big parse's answer holds its batches natively (a reference each, see prepared.rs):
  # their terms are built here, in the caller's heap, on a dirty scheduler, and counted for
  # telemetry once built.
  defp build_prepared({:ok, [prepared | _] = batches}) when is_reference(prepared),
    do: {:ok, build_batches(batches)}

  defp build_prepared({:ok, [prepared | _] = batches, extra}) when is_reference(prepared),
    do: {:ok, build_batches(batches), extra}

  defp build_prepared(other), do: other

  # Telemetry for a native parse's answer: prepared batches are counted once built.
  defp count_read({:ok, [prepared | _], skipped} = result) when is_reference(prepared) do
    Snakepit.Marc.ReadEvents.items([], skipped)
    result
  end

  defp count_read(result), do: Snakepit.Marc.ReadEvents.result(result)

  defp build_batches(batches) do
    items = List.foldr(batches, [], &Native.prepared_items/2)
    Snakepit.Marc.ReadEvents.items(items, 0)
    items
  end

  # parse/2's answer, a batch at a time: each batch's records, parsed natively, as a chunk
  # of one reference (built by finish/3 in the caller); strict mode ends at the first bad
  # record with its error; skip mode counts for `report: true`.
  defp parse_chunks(bin, config) do
    bin
    # Framing only: the read options apply to each batch's parse.
    |> Marc.batches()
    |> Stream.map(&prepare_batch(&1, config))
    |> Stream.concat([:end])
    |> Stream.transform(0, fn
      _, :done -> {:halt, :done}
      {:ok, prepared, n}, skipped -> {[{:chunk, [prepared]}], skipped + n}
      {:error, _} = error, _skipped -> {[{:done, error}], :done}
      :end, skipped -> {[{:done, done(config, skipped)}], :done}
    end)
  end

  defp prepare_batch(batch, config) do
    result = Native.prepare_binary(batch.data, config, batch.base_offset, batch.first_index)

    case result do
      {:ok, _prepared, skipped} -> Snakepit.Marc.ReadEvents.items([], skipped)
      {:error, error} -> Snakepit.Marc.ReadEvents.error(error)
    end

    result
  end

  defp done(%{report: true}, skipped), do: {:ok, [], %{skipped: skipped}}
  defp done(_config, _skipped), do: {:ok, []}

  # The record API's own validation, so both profiles accept exactly the same options.
  defp read_options(opts, kind), do: Options.validate!(List.first(opts, []), kind)
end
