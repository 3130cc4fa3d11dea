defmodule Snakepit.Test.FlakyProfile do
  @moduledoc false
  # The :process profile with a health check that fails for workers whose id is in the
  # :persistent_term set under {__MODULE__, pool} (lets tests make one worker unhealthy), and
  # a request that raises in the caller.
  @behaviour Snakepit.WorkerProfile
  alias Snakepit.WorkerProfile.Process, as: Base

  def make_unhealthy(pool, worker_id),
    do: :persistent_term.put({__MODULE__, pool}, [worker_id | unhealthy(pool)])

  defp unhealthy(pool), do: :persistent_term.get({__MODULE__, pool}, [])

  @doc "Makes the health check of `worker_id` (nil: none) block until changed again."
  def make_slow(pool, worker_id), do: :persistent_term.put({__MODULE__, :slow, pool}, worker_id)

  defp slow?(pool, id), do: :persistent_term.get({__MODULE__, :slow, pool}, nil) == id

  @impl true
  def start_worker(config) do
    with {:ok, handle} <- Base.start_worker(config),
         do: {:ok, %{handle: handle, pool: config.name, pid: handle.pid, id: handle.id}}
  end

  @impl true
  def stop_worker(h), do: Base.stop_worker(h.handle)
  # Raises in the calling process, as a buggy profile would: the request span's :exception.
  @impl true
  def execute_request(_h, {:__raise_in_caller__, _}, _timeout), do: raise("profile bug")
  def execute_request(h, request, timeout), do: Base.execute_request(h.handle, request, timeout)
  @impl true
  def get_capacity(h), do: Base.get_capacity(h.handle)
  @impl true
  def get_load(h), do: Base.get_load(h.handle)
  @impl true
  def retire(h), do: Base.retire(h.handle)
  @impl true
  def get_metadata(h), do: Base.get_metadata(h.handle)

  @impl true
  def health_check(h) do
    if slow?(h.pool, h.id), do: wait_until_fast(h)

    if h.id in unhealthy(h.pool), do: {:error, :made_unhealthy}, else: Base.health_check(h.handle)
  end

  defp wait_until_fast(h) do
    Process.sleep(10)
    if slow?(h.pool, h.id), do: wait_until_fast(h)
  end
end
