defmodule Snakepit.PoolCase do
  @moduledoc false
  # Helpers for tests that start pools: unique names, telemetry capture, waiting for a
  # condition without fixed sleeps.
  use ExUnit.CaseTemplate

  using do
    quote do
      import Snakepit.PoolCase
    end
  end

  @doc "Starts a pool with a unique name under the test supervisor; returns the name."
  def start_pool!(opts) do
    name = Keyword.get_lazy(opts, :name, fn -> :"pool_#{System.unique_integer([:positive])}" end)
    opts = Keyword.put(opts, :name, name)
    ExUnit.Callbacks.start_supervised!({Snakepit.Pool, opts}, id: name)
    name
  end

  @doc """
  Sends `{:telemetry, event, measurements, metadata}` to the test process for each of
  `events` whose metadata names `pool` (other tests' pools are filtered out).
  """
  def capture_telemetry(events, pool) do
    id = {__MODULE__, make_ref()}
    test = self()

    :ok =
      Snakepit.Telemetry.attach_many(
        id,
        events,
        fn event, measurements, metadata, _config ->
          if metadata[:pool] == pool, do: send(test, {:telemetry, event, measurements, metadata})
        end,
        nil
      )

    ExUnit.Callbacks.on_exit(fn -> Snakepit.Telemetry.detach(id) end)
    id
  end

  @doc "Polls `fun` every 5 ms until it returns truthy or `timeout` ms pass; returns its value."
  def eventually(fun, timeout \\ 2000) do
    deadline = System.monotonic_time(:millisecond) + timeout
    do_eventually(fun, deadline)
  end

  defp do_eventually(fun, deadline) do
    case fun.() do
      falsy when falsy in [nil, false] ->
        if System.monotonic_time(:millisecond) > deadline do
          ExUnit.Assertions.flunk("condition not met in time")
        else
          Process.sleep(5)
          do_eventually(fun, deadline)
        end

      value ->
        value
    end
  end

  @doc """
  Holds one slot of `pool` from a task until `release_slot/1`: returns `{task, pid}` once it
  holds it, `pid` being the process that runs the holding function.
  """
  def hold_slot(pool, timeout \\ 30_000) do
    test = self()

    task =
      Task.async(fn ->
        Snakepit.Pool.run(
          pool,
          fn ->
            send(test, {:holding, self()})
            receive do: (:release -> :held)
          end,
          timeout
        )
      end)

    receive do
      {:holding, pid} -> {task, pid}
    after
      timeout -> ExUnit.Assertions.flunk("no slot of #{inspect(pool)} was free in time")
    end
  end

  @doc "Lets the holder of `hold_slot/2` go and checks it finished normally."
  def release_slot({task, pid}) do
    send(pid, :release)
    ExUnit.Assertions.assert(Task.await(task) == {:ok, :held})
  end

  def status!(pool) do
    {:ok, status} = Snakepit.pool_status(pool)
    status
  end

  @doc "The pool's worker handles, by id."
  def worker_pids(pool) do
    ref = Snakepit.Pool.Ref.lookup(pool)
    for w <- Snakepit.Pool.Manager.workers(ref.manager), into: %{}, do: {w.id, w.handle.pid}
  end
end
