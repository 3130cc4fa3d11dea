defmodule Snakepit.Pool.Drain do
  # Stopping worker processes without cutting off a caller: one at once, in order, after the
  # messages already in its mailbox (stop_process/2), or a restarted manager's leftovers once
  # no caller awaits them (leftovers/2).
  @moduledoc false

  # How often the leftovers are looked at while some are still awaited.
  @poll 10

  @doc """
  Stops a worker process in order (after the messages before the stop), or kills it when it
  is stuck in a request for longer than `timeout`, so no stopped worker lingers. Returns `:ok`.
  """
  def stop_process(pid, timeout \\ 1000) do
    GenServer.stop(pid, :normal, timeout)
  catch
    # GenServer.stop/3 exits with {:timeout, {GenServer, :stop, args}}, not a bare :timeout.
    :exit, {:timeout, _} ->
      Process.exit(pid, :kill)
      :ok

    :exit, _already_gone ->
      :ok
  end

  @doc """
  Stops, from a background process, each child of `supervisor` once no process monitors it
  (callers monitor the worker they wait on), or after `timeout` ms, so requests in flight
  get their answers. Returns `:ok` at once.
  """
  def leftovers(supervisor, timeout) do
    pids =
      for {_id, pid, _type, _modules} <- DynamicSupervisor.which_children(supervisor),
          is_pid(pid),
          do: pid

    if pids != [] do
      deadline = System.monotonic_time(:millisecond) + timeout
      spawn(fn -> drain(pids, deadline) end)
    end

    :ok
  catch
    :exit, _ -> :ok
  end

  defp drain([], _deadline), do: :ok

  defp drain(pids, deadline) do
    overdue? = System.monotonic_time(:millisecond) >= deadline

    busy =
      Enum.filter(pids, fn pid ->
        case Process.info(pid, :monitored_by) do
          nil ->
            false

          {:monitored_by, awaited_by} when awaited_by == [] or overdue? ->
            stop_process(pid)
            false

          _awaited ->
            true
        end
      end)

    if busy != [], do: Process.sleep(@poll)
    drain(busy, deadline)
  end
end
