defmodule Snakepit.Pool.Capacity do
  # Where a pool's free slots are, for its manager: probing workers for one, and handing
  # the free slots of a worker to queued callers (each is told {:retry, handle, token} and
  # checks out again itself). A slot a woken caller has not taken yet is not free for the
  # next one (Queue.pending/2), so one slot never wakes two callers.
  @moduledoc false

  alias Snakepit.Pool.{Queue, Table}

  # Pools up to this size are probed whole (exact); larger ones at this many random workers
  # (bounded work per caller).
  @probes 64

  @doc "Free slots of the worker behind `handle`."
  def free(profile, handle), do: max(profile.get_capacity(handle) - profile.get_load(handle), 0)

  @doc "Free slots of the worker behind `handle` that no woken caller is on its way to."
  def open(queue, profile, handle), do: free(profile, handle) - Queue.pending(queue, handle.id)

  @doc "A routable worker with an open slot, or nil."
  def probe(queue, profile, table) do
    n = Table.size(table)

    indices =
      if n <= @probes,
        do: Enum.to_list(0..(n - 1)//1),
        else: for(k <- 1..@probes, do: :erlang.phash2({:erlang.unique_integer(), k}, n))

    Enum.find_value(indices, fn i ->
      handle = Table.handle_at(table, i)
      if open(queue, profile, handle) > 0, do: handle
    end)
  end

  @doc "Wakes queued callers for the open slots of a worker the probe finds."
  def wake_any(queue, profile, table) do
    if Queue.size(queue) == 0 do
      queue
    else
      case probe(queue, profile, table) do
        nil -> queue
        handle -> wake_for(queue, profile, handle)
      end
    end
  end

  @doc "Wakes as many queued callers as `handle` has open slots, pointing them at it."
  def wake_for(queue, profile, handle) do
    if Queue.size(queue) == 0, do: queue, else: wake(queue, handle, open(queue, profile, handle))
  end

  @doc "The safety net: every routable worker, for free slot notifications and probes missed."
  def serve(queue, profile, table) do
    Enum.reduce_while(Table.handles(table), queue, fn handle, queue ->
      if Queue.size(queue) == 0,
        do: {:halt, queue},
        else: {:cont, wake_for(queue, profile, handle)}
    end)
  end

  defp wake(queue, _handle, n) when n <= 0, do: queue

  defp wake(queue, handle, n) do
    case Queue.out(queue, handle.id) do
      :empty ->
        queue

      {from, token, queue} ->
        GenServer.reply(from, {:retry, handle, token})
        wake(queue, handle, n - 1)
    end
  end
end
