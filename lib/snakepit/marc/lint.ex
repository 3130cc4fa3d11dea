defmodule Snakepit.Marc.Lint do
  # What is behind Snakepit.Marc.lint/2 and lint_stream/2. ISO 2709 files and binaries go
  # the fast way: a small one read whole by one native call (`Snakepit.Marc.WholeInput`), a
  # bigger one in framed batches, a few a native call, in parallel on native threads; either
  # way only issues ever become terms. Other sources
  # (MARC-in-JSON, MARCXML, devices, enumerables) are read as lazy records, each linted from
  # its bytes. Bad records are entries too, their one issue the parse error.
  @moduledoc false

  alias Snakepit.Marc
  alias Snakepit.Marc.{Batch, Encoder, Issue, LazyRecord, Options, ParseError, Record, Rules}
  alias Snakepit.Marc.WholeInput
  alias Snakepit.Native

  @doc "The issues of one record."
  def record(record, opts) when is_list(opts) do
    rules = rules!(Options.validate!(opts, :lint))

    [{_index, _offset, issues}] =
      Native.lint_batch(
        bytes!(record),
        Rules.ref(rules),
        Options.native_as_read(:permissive),
        0,
        0
      )

    issues
  end

  def record(_record, opts),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  defp bytes!(%LazyRecord{bytes: bytes}), do: bytes
  defp bytes!(%Record{} = record), do: record |> Encoder.encode() |> IO.iodata_to_binary()

  defp bytes!(other),
    do:
      raise(
        ArgumentError,
        "expected a %Snakepit.Marc.Record{} or %Snakepit.Marc.LazyRecord{}, got: #{inspect(other, limit: 5)}"
      )

  @doc "The stream of `{record_index, byte_offset, [%Issue{}]}`."
  def stream(source, opts), do: stream(source, opts, :whole_if_small)

  @doc false
  # `stream/2` with `how` an ISO 2709 input is read: `:whole_if_small` (`stream/2`'s way)
  # or `:streamed` (through the stream, as big inputs are, whatever the size: what an input
  # read whole must give too), for the tests.
  def stream(source, opts, how) when is_list(opts) do
    {lint_opts, read_opts} = Keyword.split(opts, Options.spec(:lint) |> Keyword.keys())
    rules = rules!(Options.validate!(lint_opts, :lint))
    {fan_opts, stream_opts} = Keyword.split(read_opts, fan_out_keys())
    Options.validate!(fan_opts, :fan_out)
    config = Options.validate!(stream_opts, :lint_stream)
    Stream.flat_map([source], &entries(&1, rules, config, read_opts, how))
  end

  def stream(_source, opts, _how),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  @doc """
  The `:lint` pool command run in Elixir: every record of `data` (ISO 2709: a binary, or a
  `%Snakepit.Marc.Batch{}` whose offsets the entries keep) as `{:ok, entries}`.
  """
  def all(data, opts \\ []) do
    {bin, ref, native, base, first} = command(data, opts)
    {:ok, Native.lint_batch(bin, ref, native, base, first)}
  end

  @doc """
  The `:lint` command's arguments checked and made ready, for `all/2` and the `:thread`
  profile's native command: `{binary, linter_ref, native_config, base_offset, first_index}`.
  """
  def command(data, opts) when is_list(opts) do
    {bin, base, first} = Batch.parts!(data, "lint_stream/2")

    {lint_opts, read_opts} = Keyword.split(opts, Options.spec(:lint) |> Keyword.keys())
    rules = rules!(Options.validate!(lint_opts, :lint))
    config = Options.validate!(Keyword.take(read_opts, Options.parse_keys()), :read)
    unknown = Keyword.drop(read_opts, Options.parse_keys())
    if unknown != [], do: Options.validate!(unknown, :lint)
    {bin, Rules.ref(rules), read_config(config), base, first}
  end

  def command(_data, opts),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  # The compiled rule set, with `only:` and `except:` applied.
  defp rules!(%{rules: rules} = config) do
    compiled =
      case rules do
        nil -> default_rules()
        %Rules{} = compiled -> compiled
        path when is_binary(path) -> Rules.load!(path)
        set -> Rules.compile!(set)
      end

    Rules.with_filters(compiled, Map.get(config, :only), Map.get(config, :except, []))
  end

  # The built-in rule set, compiled once per VM.
  defp default_rules do
    case :persistent_term.get({__MODULE__, :default}, nil) do
      %Rules{node: node} = rules when node == node() ->
        rules

      _ ->
        rules = Rules.compile!([])
        :persistent_term.put({__MODULE__, :default}, rules)
        rules
    end
  end

  defp entries(source, rules, config, read_opts, how) do
    cond do
      Enum.any?(fan_out_keys(), &Keyword.has_key?(read_opts, &1)) ->
        fan_out(source, rules, read_opts)

      Marc.Extract.iso2709_source?(source, config.format) ->
        whole_or_streamed(source, rules, config, read_opts, how)

      true ->
        lazy(source, rules, read_opts)
    end
  end

  defp fan_out(source, rules, opts) do
    opts = Keyword.drop(opts, [:mode, :records])

    case Keyword.pop(opts, :pool) do
      {nil, opts} ->
        Marc.FanOut.run_batches(source, opts, fn batch, _parse_opts, _strict ->
          all(batch, lint_read_opts(opts) ++ [rules: rules])
        end)

      {pool, opts} ->
        timeout = Keyword.get(opts, :timeout, :infinity)
        # The fan-out processes run here; each batch's command goes where request_opts say
        # (`nodes: :cluster`: any node's pool).
        request_opts = Marc.FanOut.pool_request_opts(Keyword.take(opts, fan_out_keys()))
        local_opts = Keyword.drop(opts, [:nodes, :retry])

        Marc.FanOut.run_batches(source, local_opts, fn batch, _parse_opts, _strict ->
          args = [batch, lint_read_opts(local_opts) ++ [rules: rules]]

          case Snakepit.Pool.run(pool, {:lint, args}, request_opts) do
            {:ok, entries} ->
              {:ok, entries}

            {:error, reason} ->
              raise Snakepit.Error.new(reason, pool: pool, command: :lint, timeout: timeout)
          end
        end)
    end
  end

  # The read options each batch is parsed with (every bad record is an entry: permissive).
  defp lint_read_opts(opts),
    do: opts |> Keyword.take(Options.parse_keys()) |> Keyword.put(:mode, :permissive)

  # A small input (`Snakepit.Marc.WholeInput`) is linted in one native call, which gives
  # the entries of each run; a file it does not read (not regular, bigger, unreadable) goes
  # the stream's way, which reports what is wrong with it.
  defp whole_or_streamed(source, rules, config, read_opts, :whole_if_small) do
    native = read_config(config)
    ref = Rules.ref(rules)

    whole =
      case WholeInput.source(source, config.format) do
        {:file, path} ->
          Native.lint_small_file(path, ref, native, WholeInput.runs(), WholeInput.max_bytes())

        {:binary, bin} ->
          {:ok, Native.lint_input(bin, ref, native, WholeInput.runs())}

        :stream ->
          :stream
      end

    case whole do
      {:ok, runs} -> Enum.concat(runs)
      :stream -> streamed(source, rules, config, read_opts)
    end
  end

  defp whole_or_streamed(source, rules, config, read_opts, :streamed),
    do: streamed(source, rules, config, read_opts)

  defp streamed(source, rules, config, read_opts) do
    native = read_config(config)
    ref = Rules.ref(rules)

    # A group of batches per native call, linted there in parallel. A few groups are
    # started ahead, so native threads lint them while this process builds and hands on
    # the entries of the one before, instead of the cores waiting on each other in turn.
    source
    |> Marc.batches(Keyword.drop(read_opts, [:mode, :records]))
    |> Stream.chunk_every(batches_per_call())
    |> Stream.map(fn batches ->
      batches
      |> Enum.map(&{&1.data, &1.base_offset, &1.first_index})
      |> Native.lint_batches_start(ref, native)
    end)
    |> Snakepit.Marc.Stream.ahead()
    |> Stream.flat_map(&Native.lint_batches_finish/1)
  end

  # Batches per native call: enough to keep every core busy.
  defp batches_per_call, do: 2 * System.schedulers_online()

  defp lazy(source, rules, read_opts) do
    ref = Rules.ref(rules)
    invalid = invalid_state(rules)

    source
    |> Marc.stream(
      read_opts
      |> Keyword.drop([:mode, :records])
      |> Keyword.merge(records: :lazy, mode: :permissive)
    )
    |> Stream.with_index()
    |> Stream.map(fn
      {{:error, %ParseError{} = e}, _index} ->
        {e.record_index, e.byte_offset, invalid_issues(e, invalid)}

      {record, index} ->
        [{_, _, issues}] =
          Native.lint_batch(bytes!(record), ref, Options.native_as_read(:permissive), 0, 0)

        {index, nil, issues}
    end)
  end

  defp invalid_state(%Rules{codes: [{"record.invalid", severity, enabled} | _]}),
    do: {severity, enabled}

  defp invalid_issues(_error, {_severity, false}), do: []

  # As the native side words it (lint_nif.rs), for records read as JSON or XML.
  defp invalid_issues(%ParseError{} = e, {severity, true}),
    do: [
      %Issue{code: "record.invalid", severity: severity, message: "#{e.kind}: #{e.detail}"}
    ]

  defp fan_out_keys, do: Options.spec(:fan_out) |> Keyword.keys()

  defp read_config(config), do: config |> Options.native_read() |> Map.put(:mode, :permissive)
end
