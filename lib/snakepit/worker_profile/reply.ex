defmodule Snakepit.WorkerProfile.Reply do
  # Waiting for a worker's reply to a monitored request: the same three outcomes for both
  # profiles (the reply, the worker died, the caller's timeout).
  @moduledoc false

  @doc """
  `{:ok, reply}` when `{mref, reply}` arrives, `{:error, :worker_crashed}` on `:DOWN`,
  `{:error, :timeout}` after `timeout` ms. The monitor is gone afterwards in every case.

  A big `parse` result (from either profile) comes as `{mref, {:snakepit_chunk, items}}`
  messages before the reply `{mref, {:ok, items, skipped}}` (or `{mref, {:ok, items}}`): the chunks' items are put in
  front of the reply's, in order, and dropped when the reply is an error. `timeout` bounds
  the whole wait.
  """
  @spec await(reference, timeout) :: {:ok, term} | {:error, :worker_crashed | :timeout}
  def await(mref, timeout) do
    deadline = if timeout == :infinity, do: :infinity, else: now() + timeout
    await(mref, deadline, [])
  end

  @doc """
  Monitors `pid` with an alias (`alias_mode` as in `:erlang.monitor/3`), sends it
  `message.(alias)` and awaits the reply to that alias: the reply itself, or
  `{:error, :worker_crashed | :timeout}` as `await/2` says.
  """
  def request(pid, message, timeout, alias_mode) do
    mref = :erlang.monitor(:process, pid, alias: alias_mode)
    send(pid, message.(mref))

    case await(mref, timeout) do
      {:ok, reply} -> reply
      {:error, _} = error -> error
    end
  end

  defp await(mref, deadline, chunks) do
    receive do
      # Checked here too: a caller that lags behind may always find a chunk waiting.
      {^mref, {:snakepit_chunk, items}} ->
        if left(deadline) == 0,
          do: give_up(mref),
          else: await(mref, deadline, [items | chunks])

      {^mref, reply} ->
        Process.demonitor(mref, [:flush])
        {:ok, assemble(reply, chunks)}

      {:DOWN, ^mref, _, _, _reason} ->
        {:error, :worker_crashed}
    after
      left(deadline) -> give_up(mref)
    end
  end

  defp give_up(mref) do
    Process.demonitor(mref, [:flush])
    {:error, :timeout}
  end

  defp assemble(reply, []), do: reply

  defp assemble({:ok, items, skipped}, chunks),
    do: {:ok, Enum.reduce(chunks, items, &(&1 ++ &2)), skipped}

  defp assemble({:ok, items}, chunks), do: {:ok, Enum.reduce(chunks, items, &(&1 ++ &2))}

  defp assemble(error, _chunks), do: error

  defp left(:infinity), do: :infinity
  defp left(deadline), do: max(deadline - now(), 0)

  defp now, do: System.monotonic_time(:millisecond)
end
