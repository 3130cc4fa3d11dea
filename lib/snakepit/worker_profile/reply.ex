defmodule Snakepit.WorkerProfile.Reply do
  # Waiting for a worker's reply to a monitored request: the same three outcomes for both
  # profiles (the reply, the worker died, the caller's timeout).
  @moduledoc false

  @doc """
  `{:ok, reply}` when `{mref, reply}` arrives, `{:error, :worker_crashed}` on `:DOWN`,
  `{:error, :timeout}` after `timeout` ms. The monitor is gone afterwards in every case.
  """
  @spec await(reference, timeout) :: {:ok, term} | {:error, :worker_crashed | :timeout}
  def await(mref, timeout) do
    receive do
      {^mref, reply} ->
        Process.demonitor(mref, [:flush])
        {:ok, reply}

      {:DOWN, ^mref, _, _, _reason} ->
        {:error, :worker_crashed}
    after
      timeout ->
        Process.demonitor(mref, [:flush])
        {:error, :timeout}
    end
  end
end
