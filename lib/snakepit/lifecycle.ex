defmodule Snakepit.Lifecycle do
  # One per pool: decides WHEN workers are recycled (TTL timers, memory and health checks on
  # an interval); the pool manager does the replacing. Request-count limits need no polling:
  # workers report reaching theirs to the manager directly.
  @moduledoc false
  use GenServer

  alias Snakepit.{Telemetry, WorkerProfile}
  alias Snakepit.Pool.Manager

  @mib 1024 * 1024
  # Memory is checked on this interval when health checks are off.
  @memory_check_interval 5_000

  def name(pool), do: Module.concat(__MODULE__, pool)

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: name(config.name))

  @doc """
  A per-worker limit from a pool limit: uniformly within the top 10% of it, never above, so
  workers started together do not all hit it together.
  """
  def jitter(:infinity), do: :infinity

  def jitter(limit) when is_integer(limit) and limit > 0,
    do: limit - :rand.uniform(div(limit, 10) + 1) + 1

  @impl true
  def init(config) do
    state = %{
      config: config,
      manager: Manager.name(config.name),
      profile: WorkerProfile.module(config.worker_profile),
      ttl_timers: %{}
    }

    # Workers started before this process existed get their TTL timers now.
    state =
      Enum.reduce(Manager.workers(state.manager), state, fn w, acc ->
        if w.status == :active, do: schedule_ttl(acc, w.id), else: acc
      end)

    schedule_tick(config)
    {:ok, state}
  end

  @impl true
  def handle_cast({:worker_started, id}, state), do: {:noreply, schedule_ttl(state, id)}

  def handle_cast({:worker_stopped, id}, state) do
    {timer, timers} = Map.pop(state.ttl_timers, id)
    if timer, do: Process.cancel_timer(timer)
    {:noreply, %{state | ttl_timers: timers}}
  end

  @impl true
  def handle_info({:ttl, id}, state) do
    Manager.recycle(state.manager, id, :ttl)
    {:noreply, %{state | ttl_timers: Map.delete(state.ttl_timers, id)}}
  end

  def handle_info(:tick, state) do
    for %{status: :active, id: id, handle: handle} <- Manager.workers(state.manager) do
      check_worker(state, id, handle)
    end

    schedule_tick(state.config)
    {:noreply, state}
  end

  defp check_worker(state, id, handle) do
    %{config: config, profile: profile} = state

    health =
      if config.health_check_interval == :infinity,
        do: :ok,
        else: safe_health_check(profile, handle)

    case health do
      :ok ->
        threshold = config.memory_threshold_mb

        if threshold != :infinity do
          memory = WorkerProfile.metadata(profile, handle).memory
          if memory > threshold * @mib, do: Manager.recycle(state.manager, id, :memory, memory)
        end

      {:error, reason} ->
        Telemetry.execute(
          [:snakepit, :worker, :health_check_failed],
          %{system_time: System.system_time()},
          %{pool: config.name, profile: config.worker_profile, worker: id, reason: reason}
        )

        Manager.replace(state.manager, id, :health_check)
    end
  end

  defp safe_health_check(profile, handle) do
    profile.health_check(handle)
  catch
    kind, reason -> {:error, {kind, reason}}
  end

  defp schedule_ttl(%{config: %{worker_ttl: :infinity}} = state, _id), do: state

  defp schedule_ttl(state, id) do
    timer = Process.send_after(self(), {:ttl, id}, jitter(state.config.worker_ttl))
    %{state | ttl_timers: Map.put(state.ttl_timers, id, timer)}
  end

  defp schedule_tick(config) do
    case tick_interval(config) do
      :infinity -> :ok
      ms -> Process.send_after(self(), :tick, ms)
    end
  end

  defp tick_interval(%{health_check_interval: :infinity, memory_threshold_mb: :infinity}),
    do: :infinity

  defp tick_interval(%{health_check_interval: :infinity}), do: @memory_check_interval
  defp tick_interval(%{health_check_interval: ms}), do: ms
end
