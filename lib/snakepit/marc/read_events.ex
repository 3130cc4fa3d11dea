defmodule Snakepit.Marc.ReadEvents do
  # The records events of docs/telemetry.md, `[:snakepit, :records, :read]` and
  # `[:snakepit, :records, :bad]`, for one reader call or one batch (never per record):
  # good records counted and bad ones by kind, in one walk over the items the reader made.
  # Called where a reader's answer arrives (NativeResult.read/2, a stream's batch, the
  # :thread profile's native :parse), so each record is counted once, wherever it was read.
  @moduledoc false

  alias Snakepit.Marc.ParseError
  alias Snakepit.Telemetry

  @doc "Emits the events for a reader's items and its count of records skipped unseen."
  @spec items([term], non_neg_integer) :: :ok
  def items(items, skipped) do
    # The walk costs a little per record: only done when someone listens.
    if Telemetry.handled?([:snakepit, :records, :read]) or
         Telemetry.handled?([:snakepit, :records, :bad]),
       do: count_and_emit(items, skipped),
       else: :ok
  end

  defp count_and_emit(items, skipped) do
    {good, kinds} =
      Enum.reduce(items, {0, %{}}, fn
        {:error, %ParseError{kind: kind}}, {good, kinds} ->
          {good, Map.update(kinds, kind, 1, &(&1 + 1))}

        _record, {good, kinds} ->
          {good + 1, kinds}
      end)

    emit(good, if(skipped > 0, do: Map.put(kinds, :skipped, skipped), else: kinds))
  end

  @doc "Emits the events for a reader that stopped at a bad record (strict mode)."
  @spec error(ParseError.t()) :: :ok
  def error(%ParseError{kind: kind}), do: emit(0, %{kind => 1})

  @doc "Emits the events for a reader NIF's answer, `{:ok, items, skipped}` or an error; returns it."
  def result({:ok, items, skipped} = result) when is_list(items) do
    items(items, skipped)
    result
  end

  def result({:error, %ParseError{} = error} = result) do
    error(error)
    result
  end

  def result(other), do: other

  defp emit(good, kinds) do
    if good > 0, do: Telemetry.execute([:snakepit, :records, :read], %{count: good}, %{})

    for {kind, n} <- kinds,
        do: Telemetry.execute([:snakepit, :records, :bad], %{count: n}, %{kind: kind})

    :ok
  end
end
