defmodule Snakepit.Pool.Capacity do
  # Where a pool's free slots are, for its manager: probing workers for one, and handing
  # the free slots of a worker to queued callers (each is told {:retry, handle} and checks
  # out again itself).
  @moduledoc false

  alias Snakepit.Pool.{Queue, Table}

  # Pools up to this size are probed whole (exact); larger ones at this many random workers
  # (bounded work per caller).
  @probes 64

  @doc "Free slots of the worker behind `handle`."
  def free(profile, handle), do: max(profile.get_capacity(handle) - profile.get_load(handle), 0)

  @doc "A routable worker with a free slot, or nil."
  def probe(profile, table) do
    n = Table.size(table)

    indices =
      if n <= @probes,
        do: Enum.to_list(0..(n - 1)//1),
        else: for(k <- 1..@probes, do: :erlang.phash2({:erlang.unique_integer(), k}, n))

    Enum.find_value(indices, fn i ->
      handle = Table.handle_at(table, i)
      if free(profile, handle) > 0, do: handle
    end)
  end

  @doc "Wakes as many queued callers as `handle` has free slots, pointing them at it."
  def wake_for(queue, profile, handle) do
    if Queue.size(queue) == 0, do: queue, else: wake(queue, handle, free(profile, handle))
  end

  @doc """
  The safety net: every routable worker, for a free slot notifications and probes missed.
  A worker whose slots were handed out since the last poll is left to the callers woken for
  it (they may not have checked out yet); the next poll looks at it again.
  """
  def serve(queue, profile, table) do
    recent = queue

    Table.handles(table)
    |> Enum.reduce_while(Queue.clear_woken(queue), fn handle, queue ->
      cond do
        Queue.size(queue) == 0 -> {:halt, queue}
        Queue.woken?(recent, handle.id) -> {:cont, queue}
        true -> {:cont, wake_for(queue, profile, handle)}
      end
    end)
  end

  defp wake(queue, _handle, 0), do: queue

  defp wake(queue, handle, n) do
    case Queue.out(queue) do
      :empty ->
        queue

      {from, queue} ->
        GenServer.reply(from, {:retry, handle})
        wake(Queue.woke(queue, handle.id), handle, n - 1)
    end
  end
end
