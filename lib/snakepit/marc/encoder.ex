defmodule Snakepit.Marc.Encoder do
  # ISO 2709 for Elixir records through the core's one encoder (`snakepit_core::encode`,
  # reached by the `records_to_iso` NIF): `encode/1`, the convert task's ISO stream and the
  # JSON/XML readers check and write records with the same code, so they cannot disagree.
  @moduledoc false

  alias Snakepit.Marc.{LazyRecord, NativeResult, Record}
  alias Snakepit.Native

  # Records per native call, as for the other writers.
  @batch 200

  def encode(%struct{} = record) when struct in [Record, LazyRecord],
    do: write!(Native.records_to_iso([record], 0))

  def encode(records) when is_list(records) do
    records
    |> Enum.chunk_every(@batch)
    |> Enum.map_reduce(0, fn batch, base ->
      {write!(Native.records_to_iso(batch, base)), base + length(batch)}
    end)
    |> elem(0)
  end

  def encode(other) do
    raise ArgumentError,
          "expected a %Snakepit.Marc.Record{}, a %Snakepit.Marc.LazyRecord{} or a list of " <>
            "them, got: #{inspect(other, limit: 5)}"
  end

  defp write!(result), do: NativeResult.write!(result)
end
