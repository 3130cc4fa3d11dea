defmodule Snakepit.Marc.Encoder do
  # ISO 2709 for Elixir records through the core's one encoder (`snakepit_core::encode`,
  # reached by the `records_to_iso` NIF): `encode/2`, `iso_stream/2` (and the convert task)
  # and the JSON/XML readers check and write records with the same code, so they cannot
  # disagree. The options (MARC-8, oversize, mode) are the `:encode` schema's.
  @moduledoc false

  alias Snakepit.Marc.{LazyRecord, NativeResult, Options, Record}
  alias Snakepit.Native

  # Records per native call, as for the other writers.
  @batch 200

  def encode(records, opts \\ []) do
    config = opts |> Options.validate!(:encode) |> native_config()

    case records do
      %struct{} = record when struct in [Record, LazyRecord] ->
        write!(Native.records_to_iso([record], 0, config), nil)

      list when is_list(list) ->
        list
        |> Enum.chunk_every(@batch)
        |> Enum.map_reduce(0, fn batch, base ->
          {write!(Native.records_to_iso(batch, base, config), nil), base + length(batch)}
        end)
        |> elem(0)

      other ->
        raise ArgumentError,
              "expected a %Snakepit.Marc.Record{}, a %Snakepit.Marc.LazyRecord{} or a list of " <>
                "them, got: #{inspect(other, limit: 5)}"
    end
  end

  @doc """
  ISO 2709 in batches, one native call each (what encode/2 gives). `on_skip` (internal, for
  the convert task) is called with each record left out under `mode: :skip`.
  """
  def iso_stream(records, opts \\ [], on_skip \\ nil) do
    opts = Options.validate!(opts, :iso_stream)
    config = native_config(opts)

    records
    |> Stream.chunk_every(opts.batch_size)
    |> Stream.transform(0, fn batch, base ->
      {[write!(Native.records_to_iso(batch, base, config), on_skip)], base + length(batch)}
    end)
  end

  defp native_config(opts) do
    %{
      encoding: opts.encoding,
      unrepresentable: opts.unrepresentable,
      oversize: opts.oversize,
      skip: opts.mode == :skip
    }
  end

  defp write!({:ok, binary, skipped}, on_skip) do
    if on_skip, do: Enum.each(skipped, on_skip)
    binary
  end

  defp write!(result, _on_skip), do: NativeResult.write!(result)
end
