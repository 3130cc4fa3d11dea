defmodule Snakepit.Pool.Manager do
  # One per pool. Owns the worker registry (an ETS table callers read to route), the bounded
  # wait queue, and worker replacement. It is NOT on the hot path: callers check workers out
  # themselves and only come here when every worker is full.
  #
  # Queue protocol: a caller that found no free slot calls {:wait, since, retry?}. The manager
  # counts it in `waiting` BEFORE re-checking for a free slot, and workers read `waiting`
  # AFTER freeing a slot (process profile) or notify on every full-to-not-full change (thread
  # profile), so a slot freed at any moment is seen by one side or the other. A woken caller
  # gets :retry and checks out again itself; nothing is reserved on its behalf, so a caller
  # that dies can never leak a slot. A caller that loses the race re-queues at the front.
  @moduledoc false
  use GenServer

  require Logger

  alias Snakepit.{Telemetry, WorkerProfile}
  alias Snakepit.Pool.Ref

  # How long a retiring worker may take to finish in-flight requests before it is stopped.
  @drain_timeout 60_000
  @retire_poll 5
  # Safety net while callers wait: re-check free capacity this often.
  @queue_poll 50
  @restart_delay 500

  def name(pool), do: Module.concat(__MODULE__, pool)

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: name(config.name))

  def workers(manager), do: GenServer.call(manager, :workers)

  def recycle(manager, worker_id, reason, observed_memory \\ nil),
    do: GenServer.call(manager, {:recycle, worker_id, reason, :graceful, observed_memory})

  def replace(manager, worker_id, reason),
    do: GenServer.call(manager, {:recycle, worker_id, reason, :now, nil})

  def status(manager), do: GenServer.call(manager, :status)

  # -- init ---------------------------------------------------------------------------------

  @impl true
  def init(config) do
    Process.flag(:trap_exit, true)
    table = :ets.new(:snakepit_pool, [:set, :public, read_concurrency: true])
    :ets.insert(table, {:active, []})
    waiting = :atomics.new(1, signed: true)
    profile = WorkerProfile.module(config.worker_profile)

    ref = %Ref{
      name: config.name,
      manager: self(),
      table: table,
      waiting: waiting,
      profile: profile,
      config: config
    }

    state = %{
      ref: ref,
      config: config,
      profile: profile,
      supervisor: Snakepit.Pool.worker_supervisor(config.name),
      lifecycle: Snakepit.Lifecycle.name(config.name),
      workers: %{},
      next_id: 1,
      queue: :queue.new(),
      waiters: %{},
      waiter_monitors: %{},
      queue_poll: nil,
      pending_starts: 0
    }

    Enum.reduce_while(1..config.pool_size, {:ok, state}, fn _, {:ok, state} ->
      case start_worker(state, nil) do
        {:ok, state} -> {:cont, {:ok, state}}
        {:error, reason, _state} -> {:halt, {:stop, {:worker_start_failed, reason}}}
      end
    end)
    |> case do
      {:ok, state} ->
        Ref.publish(ref)
        {:ok, state}

      stop ->
        stop
    end
  end

  # -- calls --------------------------------------------------------------------------------

  @impl true
  def handle_call({:wait, since, retry?}, {pid, _} = from, state) do
    %{ref: ref, config: config} = state
    :atomics.add(ref.waiting, 1, 1)
    queued = map_size(state.waiters)
    remaining = config.queue_timeout - native_to_ms(System.monotonic_time() - since)

    cond do
      free_slots(state) > 0 ->
        :atomics.sub(ref.waiting, 1, 1)
        {:reply, :retry, state}

      remaining <= 0 ->
        :atomics.sub(ref.waiting, 1, 1)
        emit_queue_timeout(state)
        {:reply, {:error, :queue_timeout}, state}

      queued >= config.max_queue_size and not retry? ->
        :atomics.sub(ref.waiting, 1, 1)

        {available, busy} = Enum.split_with(active_handles(state), &(free(state, &1) > 0))

        Telemetry.execute(
          [:snakepit, :pool, :saturated],
          %{queue_size: queued, max_queue_size: config.max_queue_size},
          Map.merge(pool_meta(state), %{
            available_workers: length(available),
            busy_workers: length(busy)
          })
        )

        {:reply, {:error, :pool_saturated}, state}

      true ->
        qref = make_ref()
        mref = Process.monitor(pid)
        timer = Process.send_after(self(), {:queue_timeout, qref}, remaining)
        entry = %{from: from, mref: mref, timer: timer}
        queue = if retry?, do: :queue.in_r(qref, state.queue), else: :queue.in(qref, state.queue)

        unless retry? do
          active = active_handles(state)

          Telemetry.execute(
            [:snakepit, :pool, :capacity_reached],
            %{
              capacity: Enum.sum(Enum.map(active, &state.profile.get_capacity/1)),
              load: Enum.sum(Enum.map(active, &state.profile.get_load/1)),
              queue_size: queued + 1
            },
            pool_meta(state)
          )
        end

        state = %{
          state
          | queue: queue,
            waiters: Map.put(state.waiters, qref, entry),
            waiter_monitors: Map.put(state.waiter_monitors, mref, qref)
        }

        {:noreply, schedule_queue_poll(state)}
    end
  end

  def handle_call(:workers, _from, state) do
    workers =
      for {id, w} <- state.workers do
        %{id: id, handle: w.handle, status: w.status, started_at: w.started_at}
      end

    {:reply, Enum.sort_by(workers, & &1.id), state}
  end

  def handle_call(:status, _from, state) do
    active = active_handles(state)

    status = %{
      pool: state.config.name,
      profile: state.config.worker_profile,
      workers: Enum.map(active, & &1.id),
      retiring: for({id, %{status: :draining}} <- state.workers, do: id),
      capacity: Enum.sum(Enum.map(active, &state.profile.get_capacity/1)),
      load: Enum.sum(Enum.map(active, &state.profile.get_load/1)),
      queue_length: map_size(state.waiters)
    }

    {:reply, status, state}
  end

  def handle_call({:recycle, id, reason, mode, observed_memory}, _from, state) do
    case state.workers do
      %{^id => %{status: :active}} ->
        state = put_in(state.workers[id][:observed_memory], observed_memory)
        {:reply, :ok, recycle_worker(state, id, reason, mode)}

      %{^id => _draining} ->
        {:reply, :ok, state}

      _ ->
        {:reply, {:error, :worker_not_found}, state}
    end
  end

  # -- messages -----------------------------------------------------------------------------

  @impl true
  def handle_info({:snakepit_capacity_freed, _worker_id}, state),
    do: {:noreply, serve_queue(state)}

  def handle_info({:snakepit_max_requests, id}, state) do
    case state.workers do
      %{^id => %{status: :active}} ->
        {:noreply, recycle_worker(state, id, :max_requests, :graceful)}

      _ ->
        {:noreply, state}
    end
  end

  def handle_info(:queue_poll, state) do
    state = serve_queue(%{state | queue_poll: nil})
    {:noreply, schedule_queue_poll(state)}
  end

  def handle_info({:queue_timeout, qref}, state) do
    # A timer whose entry was already served finds nothing here: each caller gets exactly
    # one answer, and a served entry's timer was cancelled anyway.
    case Map.pop(state.waiters, qref) do
      {nil, _} ->
        {:noreply, state}

      {entry, waiters} ->
        Process.demonitor(entry.mref, [:flush])
        :atomics.sub(state.ref.waiting, 1, 1)
        GenServer.reply(entry.from, {:error, :queue_timeout})
        emit_queue_timeout(state)

        state = %{
          state
          | waiters: waiters,
            waiter_monitors: Map.delete(state.waiter_monitors, entry.mref)
        }

        {:noreply, compact_queue(state)}
    end
  end

  def handle_info({:retire_check, id}, state), do: {:noreply, retire_check(state, id)}

  def handle_info(:restart_worker, state) do
    state = %{state | pending_starts: state.pending_starts - 1}

    case start_worker(state, nil) do
      {:ok, state} ->
        {:noreply, serve_queue(state)}

      {:error, reason, state} ->
        Logger.error(
          "Snakepit pool #{inspect(state.config.name)}: worker failed to start: #{inspect(reason)}"
        )

        {:noreply, schedule_restart(state)}
    end
  end

  def handle_info({:DOWN, mref, :process, _pid, reason}, state) do
    case Map.pop(state.waiter_monitors, mref) do
      {qref, monitors} when qref != nil ->
        # A queued caller died: drop its entry and its timer.
        {entry, waiters} = Map.pop(state.waiters, qref)
        Process.cancel_timer(entry.timer)
        :atomics.sub(state.ref.waiting, 1, 1)
        {:noreply, compact_queue(%{state | waiters: waiters, waiter_monitors: monitors})}

      {nil, _} ->
        {:noreply, worker_down(state, mref, reason)}
    end
  end

  def handle_info({:EXIT, _pid, _reason}, state), do: {:noreply, state}
  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, state) do
    Ref.unpublish(state.config.name, self())

    for {_qref, entry} <- state.waiters,
        do: GenServer.reply(entry.from, {:error, :pool_not_found})

    for {_id, w} <- state.workers do
      Process.demonitor(w.mref, [:flush])
      state.profile.stop_worker(w.handle)
    end

    :ok
  end

  # -- workers ------------------------------------------------------------------------------

  defp start_worker(state, replaces) do
    id = state.next_id
    config = state.config

    worker_config =
      Map.merge(config, %{
        worker_id: id,
        notify: self(),
        waiting: state.ref.waiting,
        supervisor: state.supervisor,
        max_requests: Snakepit.Lifecycle.jitter(config.worker_max_requests)
      })

    case state.profile.start_worker(worker_config) do
      {:ok, handle} ->
        worker = %{
          handle: handle,
          mref: Process.monitor(handle.pid),
          status: :active,
          started_at: System.monotonic_time()
        }

        state = %{state | workers: Map.put(state.workers, id, worker), next_id: id + 1}
        publish_active(state)

        Telemetry.execute(
          [:snakepit, :worker, :started],
          %{system_time: System.system_time()},
          Map.merge(pool_meta(state), %{
            worker: id,
            capacity: state.profile.get_capacity(handle),
            replaces: replaces
          })
        )

        GenServer.cast(state.lifecycle, {:worker_started, id})
        {:ok, state}

      {:error, reason} ->
        {:error, reason, %{state | next_id: id + 1}}
    end
  end

  # Graceful: the replacement starts first, the old worker leaves the routing table, its
  # in-flight requests finish, then it stops. :now skips the wait (unhealthy workers).
  defp recycle_worker(state, id, reason, mode) do
    state =
      case start_worker(state, id) do
        {:ok, state} ->
          state

        {:error, start_error, state} ->
          Logger.error(
            "Snakepit pool #{inspect(state.config.name)}: replacement failed: #{inspect(start_error)}"
          )

          schedule_restart(state)
      end

    worker = %{state.workers[id] | status: :draining}
    worker = Map.merge(worker, %{reason: reason, drain_started: System.monotonic_time()})
    state = %{state | workers: Map.put(state.workers, id, worker)}
    publish_active(state)
    state = serve_queue(state)

    case mode do
      :graceful -> retire_check(state, id)
      :now -> finish_retire(state, id)
    end
  end

  defp retire_check(state, id) do
    case state.workers do
      %{^id => %{status: :draining} = w} ->
        elapsed = native_to_ms(System.monotonic_time() - w.drain_started)

        cond do
          state.profile.retire(w.handle) == :ok ->
            finish_retire(state, id)

          elapsed >= @drain_timeout ->
            Logger.warning(
              "Snakepit pool #{inspect(state.config.name)}: worker #{id} still busy after #{@drain_timeout} ms; stopping it"
            )

            finish_retire(state, id)

          true ->
            Process.send_after(self(), {:retire_check, id}, @retire_poll)
            state
        end

      _ ->
        state
    end
  end

  defp finish_retire(state, id) do
    {w, workers} = Map.pop(state.workers, id)
    meta = WorkerProfile.metadata(state.profile, w.handle)
    # Reported memory: what triggered a :memory recycle, not what is left after draining.
    meta = %{meta | memory: max(meta.memory, w[:observed_memory] || 0)}
    Process.demonitor(w.mref, [:flush])
    state.profile.stop_worker(w.handle)
    emit_recycled(state, id, w, w.reason, meta)
    GenServer.cast(state.lifecycle, {:worker_stopped, id})
    %{state | workers: workers}
  end

  defp worker_down(state, mref, exit_reason) do
    case Enum.find(state.workers, fn {_id, w} -> w.mref == mref end) do
      nil ->
        state

      {id, w} ->
        meta = WorkerProfile.metadata(state.profile, w.handle)
        # Frees what the dead worker held (the thread profile's native pool).
        state.profile.stop_worker(w.handle)
        state = %{state | workers: Map.delete(state.workers, id)}
        publish_active(state)
        emit_recycled(state, id, w, :crashed, meta)
        GenServer.cast(state.lifecycle, {:worker_stopped, id})

        Logger.warning(
          "Snakepit pool #{inspect(state.config.name)}: worker #{id} exited (#{inspect(exit_reason)}); replacing it"
        )

        if w.status == :active do
          case start_worker(state, id) do
            {:ok, state} -> serve_queue(state)
            {:error, _reason, state} -> schedule_restart(state)
          end
        else
          state
        end
    end
  end

  defp schedule_restart(state) do
    Process.send_after(self(), :restart_worker, @restart_delay)
    %{state | pending_starts: state.pending_starts + 1}
  end

  defp publish_active(state), do: :ets.insert(state.ref.table, {:active, active_handles(state)})

  defp active_handles(state) do
    for {_id, %{status: :active, handle: h}} <- Enum.sort_by(state.workers, &elem(&1, 0)), do: h
  end

  # -- queue --------------------------------------------------------------------------------

  defp free_slots(state), do: active_handles(state) |> Enum.map(&free(state, &1)) |> Enum.sum()

  defp free(state, handle),
    do: max(state.profile.get_capacity(handle) - state.profile.get_load(handle), 0)

  defp serve_queue(%{waiters: waiters} = state) when map_size(waiters) == 0, do: state

  defp serve_queue(state), do: wake(state, free_slots(state))

  defp wake(state, 0), do: state

  defp wake(state, n) do
    case :queue.out(state.queue) do
      {:empty, _} ->
        state

      {{:value, qref}, queue} ->
        case Map.pop(state.waiters, qref) do
          {nil, _} ->
            wake(%{state | queue: queue}, n)

          {entry, waiters} ->
            Process.cancel_timer(entry.timer)
            Process.demonitor(entry.mref, [:flush])
            :atomics.sub(state.ref.waiting, 1, 1)
            GenServer.reply(entry.from, :retry)

            state = %{
              state
              | queue: queue,
                waiters: waiters,
                waiter_monitors: Map.delete(state.waiter_monitors, entry.mref)
            }

            wake(state, n - 1)
        end
    end
  end

  # Timed-out and dead callers leave their ref in the :queue; drop them once they dominate.
  defp compact_queue(state) do
    if :queue.len(state.queue) > 2 * map_size(state.waiters) + 16 do
      %{state | queue: :queue.filter(&Map.has_key?(state.waiters, &1), state.queue)}
    else
      state
    end
  end

  defp schedule_queue_poll(%{queue_poll: nil, waiters: waiters} = state)
       when map_size(waiters) > 0,
       do: %{state | queue_poll: Process.send_after(self(), :queue_poll, @queue_poll)}

  defp schedule_queue_poll(state), do: state

  # -- telemetry ----------------------------------------------------------------------------

  defp pool_meta(state), do: %{pool: state.config.name, profile: state.config.worker_profile}

  defp emit_queue_timeout(state) do
    Telemetry.execute(
      [:snakepit, :pool, :queue, :timeout],
      %{queue_timeout: state.config.queue_timeout},
      pool_meta(state)
    )
  end

  defp emit_recycled(state, id, w, reason, meta) do
    Telemetry.execute(
      [:snakepit, :worker, :recycled],
      %{
        uptime: System.monotonic_time() - w.started_at,
        request_count: meta.request_count,
        memory: meta.memory
      },
      Map.merge(pool_meta(state), %{worker: id, reason: reason})
    )
  end

  defp native_to_ms(native), do: System.convert_time_unit(native, :native, :millisecond)
end
