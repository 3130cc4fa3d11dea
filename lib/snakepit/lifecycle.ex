defmodule Snakepit.Lifecycle do
  # One per pool: decides WHEN workers are recycled (TTL timers, memory and health checks on
  # an interval); the pool manager does the replacing. Request-count limits need no polling:
  # workers report reaching theirs to the manager directly.
  #
  # It depends on the manager, never the other way round: it subscribes to the manager's
  # {:snakepit_worker_started | :snakepit_worker_stopped, id} messages (getting the workers
  # of the moment in the same call) and asks for recycles by cast.
  #
  # The checks of each tick run in a monitored helper process, so a health check that hangs
  # or crashes costs one round of checks, never this process or the pool. Requests to the
  # manager are casts: a busy manager never makes this process time out and restart.
  @moduledoc false
  use GenServer

  alias Snakepit.{Telemetry, WorkerProfile}
  alias Snakepit.Pool.{Jitter, Manager}

  require Logger

  @mib 1024 * 1024
  # Health checks in a row a full worker may go without completing a request while callers
  # wait, before it is recycled.
  @stall_checks 3
  # Memory is checked on this interval when health checks are off.
  @memory_check_interval 5_000

  def name(pool), do: Module.concat(__MODULE__, pool)

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: name(config.name))

  @impl true
  def init(config) do
    # Restarted alone, it keeps the live changes (Snakepit.update_pool/2).
    config = Snakepit.Pool.Reconfigure.restore(config)

    state = %{
      config: config,
      manager: Manager.name(config.name),
      profile: WorkerProfile.module(config.worker_profile),
      ttl_timers: %{},
      helper: nil,
      # worker id => {request count, checks in a row seen full at it, when first seen so}
      stalls: %{}
    }

    # Workers started before this process existed get their TTL timers now; later ones come
    # as messages.
    state =
      Enum.reduce(Manager.subscribe(state.manager), state, fn w, acc ->
        if w.status == :active, do: schedule_ttl(acc, w.id), else: acc
      end)

    schedule_tick(config)
    {:ok, state}
  end

  @impl true
  def handle_info({:snakepit_worker_started, id}, state), do: {:noreply, schedule_ttl(state, id)}

  def handle_info({:snakepit_worker_stopped, id}, state) do
    {timer, timers} = Map.pop(state.ttl_timers, id)
    if timer, do: Process.cancel_timer(timer)
    {:noreply, %{state | ttl_timers: timers}}
  end

  # A live config change (Snakepit.update_pool/2): health and memory checks use the new
  # values from their next round; TTL timers are set again from each worker's start.
  def handle_info({:snakepit_config_updated, config}, state) do
    old = state.config
    state = %{state | config: config}

    state = if old.worker_ttl != config.worker_ttl, do: reschedule_ttls(state), else: state

    if tick_interval(old) == :infinity and tick_interval(config) != :infinity,
      do: schedule_tick(config)

    {:noreply, state}
  end

  def handle_info({:ttl, id}, state) do
    Manager.recycle_async(state.manager, id, :ttl, :graceful)
    {:noreply, %{state | ttl_timers: Map.delete(state.ttl_timers, id)}}
  end

  def handle_info(:tick, state) do
    schedule_tick(state.config)
    {:noreply, start_helper(state)}
  end

  def handle_info({:observed, helper, observations}, %{helper: {helper, _}} = state),
    do: {:noreply, track_stalls(state, observations)}

  def handle_info({:DOWN, mref, :process, _pid, reason}, %{helper: {_, mref}} = state) do
    unless reason == :normal,
      do:
        Logger.warning(
          "Snakepit pool #{inspect(state.config.name)}: health checks stopped early: #{inspect(reason)}"
        )

    {:noreply, %{state | helper: nil}}
  end

  def handle_info(_other, state), do: {:noreply, state}

  # One round of checks at a time: a round still running when the next tick comes is left to
  # finish, the tick skipped.
  defp start_helper(%{helper: nil} = state) do
    lifecycle = self()
    checks = Map.take(state, [:config, :manager, :profile])

    {pid, mref} =
      spawn_monitor(fn ->
        observations =
          for %{status: :active, id: id, handle: handle} <- Manager.workers(checks.manager),
              do: check_worker(checks, id, handle)

        send(lifecycle, {:observed, self(), observations})
      end)

    %{state | helper: {pid, mref}}
  end

  defp start_helper(state), do: state

  # A worker seen full without completing a request on @stall_checks checks in a row and
  # for longer than the pool's queue_timeout, while callers wait for capacity, is recycled:
  # the replacement serves the queue at once and the old worker gets the drain timeout to
  # finish. Without this a worker whose slots leaked counts as healthy (it is "busy") and
  # the pool never recovers its capacity.
  defp track_stalls(state, observations) do
    waiting = waiting_callers(state)
    now = System.monotonic_time(:millisecond)

    stalls =
      for {id, true, requests} <- observations, into: %{} do
        case state.stalls do
          %{^id => {^requests, n, since}} -> {id, {requests, n + 1, since}}
          _ -> {id, {requests, 1, now}}
        end
      end

    stalled =
      for {id, {_requests, n, since}} <- stalls,
          waiting > 0 and n >= @stall_checks and now - since >= state.config.queue_timeout,
          do: id

    for id <- stalled do
      Logger.warning(
        "Snakepit pool #{inspect(state.config.name)}: worker #{id} stayed full without " <>
          "completing a request while callers waited; recycling it"
      )

      Manager.recycle_async(state.manager, id, :health_check, :graceful)
    end

    %{state | stalls: Map.drop(stalls, stalled)}
  end

  defp waiting_callers(state) do
    case Snakepit.Pool.Ref.lookup(state.config.name) do
      %{waiting: waiting} -> :atomics.get(waiting, 1)
      nil -> 0
    end
  end

  # Runs in the helper. Returns {id, full?, completed requests} for stall tracking.
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

          if memory > threshold * @mib,
            do: Manager.recycle_async(state.manager, id, :memory, :graceful, memory)
        end

      {:error, reason} ->
        Telemetry.execute(
          [:snakepit, :worker, :health_check_failed],
          %{system_time: System.system_time()},
          %{pool: config.name, profile: config.worker_profile, worker: id, reason: reason}
        )

        Manager.recycle_async(state.manager, id, :health_check, :now)
    end

    observe(profile, id, handle)
  end

  # Only profiles that count requests can show (lack of) progress. A worker that cannot be
  # observed (it just died, say) counts as not full.
  defp observe(profile, id, handle) do
    if function_exported?(profile, :get_metadata, 1) do
      full? = profile.get_load(handle) >= profile.get_capacity(handle)
      {id, full?, profile.get_metadata(handle).request_count}
    else
      {id, false, 0}
    end
  catch
    _kind, _reason -> {id, false, 0}
  end

  defp safe_health_check(profile, handle) do
    profile.health_check(handle)
  catch
    kind, reason -> {:error, {kind, reason}}
  end

  defp reschedule_ttls(state) do
    Enum.each(state.ttl_timers, fn {_id, timer} -> Process.cancel_timer(timer) end)
    state = %{state | ttl_timers: %{}}
    now = System.monotonic_time()

    Enum.reduce(Manager.workers(state.manager), state, fn w, acc ->
      age = System.convert_time_unit(now - w.started_at, :native, :millisecond)
      if w.status == :active, do: schedule_ttl(acc, w.id, age), else: acc
    end)
  end

  defp schedule_ttl(state, id, age \\ 0)
  defp schedule_ttl(%{config: %{worker_ttl: :infinity}} = state, _id, _age), do: state

  defp schedule_ttl(state, id, age) do
    after_ms = max(Jitter.jitter(state.config.worker_ttl) - age, 0)
    timer = Process.send_after(self(), {:ttl, id}, after_ms)
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
