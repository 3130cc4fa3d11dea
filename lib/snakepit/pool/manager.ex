defmodule Snakepit.Pool.Manager do
  # One per pool. Owns the worker registry (an ETS table callers read to route), the bounded
  # wait queue, and worker replacement. It is NOT on the hot path: callers check workers out
  # themselves and only come here when the workers they tried were full.
  #
  # Routing table: `{:size, n}` and one row `{{:slot, i}, handle}` per routable worker, with
  # i dense in 0..n-1 (a leaving worker's slot is filled by the last one). A caller reads a
  # few rows, never the whole list, so routing and the memory of a waiting caller do not grow
  # with the pool.
  #
  # Queue protocol: a caller that found no free slot calls {:wait, since, retry?}. The manager
  # counts it in `waiting` BEFORE probing for a free slot, and workers read `waiting` AFTER
  # freeing a slot (process profile) or notify on every full-to-not-full change (thread
  # profile), so a freed slot is seen by one side or the other. A woken caller gets
  # {:retry, handle} naming the worker that freed a slot and checks out again itself; nothing
  # is reserved on its behalf, so a caller that dies can never leak a slot. A caller that
  # loses the race re-queues at the front.
  #
  # Every per-caller step is O(1) in the number of workers: large pools are probed at a
  # bounded number of random workers, and a periodic full scan while callers wait catches a
  # free slot the probes missed.
  @moduledoc false
  use GenServer

  require Logger

  alias Snakepit.{Telemetry, WorkerProfile}
  alias Snakepit.Pool.Ref

  # How long a retiring worker may take to finish in-flight requests before it is stopped.
  @drain_timeout 60_000
  @retire_poll 5
  # Safety net while callers wait: scan every worker for free capacity this often.
  @queue_poll 50
  @restart_delay 500
  # Pools up to this size are scanned whole when a caller asks to wait (exact); larger ones
  # are probed at this many random workers (bounded work per caller).
  @probes 64

  def name(pool), do: Module.concat(__MODULE__, pool)

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: name(config.name))

  def workers(manager), do: GenServer.call(manager, :workers, :infinity)

  def recycle(manager, worker_id, reason, observed_memory \\ nil),
    do: GenServer.call(manager, {:recycle, worker_id, reason, :graceful, observed_memory})

  def replace(manager, worker_id, reason),
    do: GenServer.call(manager, {:recycle, worker_id, reason, :now, nil})

  @doc false
  # For the lifecycle process: a recycle request that never blocks it on a busy manager.
  def recycle_async(manager, worker_id, reason, mode, observed_memory \\ nil),
    do: GenServer.cast(manager, {:recycle, worker_id, reason, mode, observed_memory})

  def status(manager), do: GenServer.call(manager, :status)

  # -- init ---------------------------------------------------------------------------------

  @impl true
  def init(config) do
    Process.flag(:trap_exit, true)
    table = :ets.new(:snakepit_pool, [:set, :public, read_concurrency: true])
    :ets.insert(table, {:size, 0})
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
      worker_monitors: %{},
      # slot index => worker id, for the routable (active) workers
      slots: %{},
      capacity: 0,
      next_id: 1,
      queue: :queue.new(),
      waiters: %{},
      waiter_monitors: %{},
      queue_poll: nil,
      pending_starts: 0
    }

    drain_leftover_workers(state.supervisor)

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

  # A manager restarted on its own (the worker supervisor lives on) finds the previous
  # manager's workers still running, possibly with requests in flight. Nothing routes to them
  # any more (they are not in the new table); one background process stops each once no
  # caller awaits it (callers monitor the worker they wait on), or after the drain timeout,
  # so in-flight callers get their answers.
  defp drain_leftover_workers(supervisor) do
    leftovers =
      for {_id, pid, _type, _modules} <- DynamicSupervisor.which_children(supervisor),
          is_pid(pid),
          do: pid

    if leftovers != [] do
      deadline = System.monotonic_time(:millisecond) + @drain_timeout
      spawn(fn -> drain(leftovers, deadline) end)
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
            WorkerProfile.stop_process(pid)
            false

          _awaited ->
            true
        end
      end)

    if busy != [], do: Process.sleep(@retire_poll * 2)
    drain(busy, deadline)
  end

  # -- calls --------------------------------------------------------------------------------

  @impl true
  def handle_call({:wait, since, retry?}, {pid, _} = from, state) do
    %{ref: ref, config: config} = state
    :atomics.add(ref.waiting, 1, 1)
    queued = map_size(state.waiters)
    remaining = config.queue_timeout - native_to_ms(System.monotonic_time() - since)

    cond do
      (handle = probe_free(state)) != nil ->
        :atomics.sub(ref.waiting, 1, 1)
        {:reply, {:retry, handle}, state}

      remaining <= 0 ->
        :atomics.sub(ref.waiting, 1, 1)
        emit_queue_timeout(state)
        {:reply, {:error, :queue_timeout}, state}

      queued >= config.max_queue_size and not retry? ->
        :atomics.sub(ref.waiting, 1, 1)

        # The probe found no free slot: as far as the manager can tell, every worker is busy.
        Telemetry.execute(
          [:snakepit, :pool, :saturated],
          %{queue_size: queued, max_queue_size: config.max_queue_size},
          Map.merge(pool_meta(state), %{available_workers: 0, busy_workers: active_count(state)})
        )

        {:reply, {:error, :pool_saturated}, state}

      true ->
        qref = make_ref()
        mref = Process.monitor(pid)
        timer = Process.send_after(self(), {:queue_timeout, qref}, remaining)
        entry = %{from: from, mref: mref, timer: timer}
        queue = if retry?, do: :queue.in_r(qref, state.queue), else: :queue.in(qref, state.queue)

        unless retry? do
          Telemetry.execute(
            [:snakepit, :pool, :capacity_reached],
            %{capacity: state.capacity, load: state.capacity, queue_size: queued + 1},
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
      workers: active |> Enum.map(& &1.id) |> Enum.sort(),
      retiring: for({id, %{status: :draining}} <- state.workers, do: id) |> Enum.sort(),
      capacity: state.capacity,
      load: Enum.sum(Enum.map(active, &state.profile.get_load/1)),
      queue_length: map_size(state.waiters)
    }

    {:reply, status, state}
  end

  def handle_call({:recycle, id, reason, mode, observed_memory}, _from, state) do
    case request_recycle(state, id, reason, mode, observed_memory) do
      {:ok, state} -> {:reply, :ok, state}
      :not_found -> {:reply, {:error, :worker_not_found}, state}
    end
  end

  @impl true
  def handle_cast({:recycle, id, reason, mode, observed_memory}, state) do
    case request_recycle(state, id, reason, mode, observed_memory) do
      {:ok, state} -> {:noreply, state}
      :not_found -> {:noreply, state}
    end
  end

  defp request_recycle(state, id, reason, mode, observed_memory) do
    case state.workers do
      %{^id => %{status: :active}} ->
        state = put_in(state.workers[id][:observed_memory], observed_memory)
        {:ok, recycle_worker(state, id, reason, mode)}

      %{^id => _draining} ->
        {:ok, state}

      _ ->
        :not_found
    end
  end

  # -- messages -----------------------------------------------------------------------------

  @impl true
  def handle_info({:snakepit_capacity_freed, id}, state) do
    case state.workers do
      %{^id => %{status: :active, handle: handle}} -> {:noreply, wake_for(state, handle)}
      _ -> {:noreply, state}
    end
  end

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
        {:noreply, state}

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
        # A queued caller died, by whatever exit signal: drop its entry, its timer and its
        # count in `waiting`. It holds nothing else here.
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
  def terminate(reason, state) do
    Ref.unpublish(state.config.name, self())

    # Queued callers are told the manager went; they wait for the pool to come back (a
    # restart) or report it gone (a stop), see Snakepit.Pool.Router.
    for {_qref, entry} <- state.waiters, do: GenServer.reply(entry.from, :manager_down)

    # Stopped by the supervisor: the workers go too. Crashed: the next manager drains them,
    # so the requests they run now still get answered.
    if shutdown?(reason) do
      for {_id, w} <- state.workers do
        Process.demonitor(w.mref, [:flush])
        state.profile.stop_worker(w.handle)
      end
    end

    :ok
  end

  defp shutdown?(reason), do: reason in [:normal, :shutdown] or match?({:shutdown, _}, reason)

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
        capacity = state.profile.get_capacity(handle)
        mref = Process.monitor(handle.pid)

        worker = %{
          handle: handle,
          mref: mref,
          capacity: capacity,
          slot: nil,
          status: :active,
          started_at: System.monotonic_time()
        }

        state = %{
          state
          | workers: Map.put(state.workers, id, worker),
            worker_monitors: Map.put(state.worker_monitors, mref, id),
            next_id: id + 1
        }

        state = add_slot(state, id)

        Telemetry.execute(
          [:snakepit, :worker, :started],
          %{system_time: System.system_time()},
          Map.merge(pool_meta(state), %{worker: id, capacity: capacity, replaces: replaces})
        )

        GenServer.cast(state.lifecycle, {:worker_started, id})
        # A new worker is all free capacity: hand it to queued callers.
        {:ok, wake_for(state, handle)}

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

    state = remove_slot(state, id)
    worker = %{state.workers[id] | status: :draining}
    worker = Map.merge(worker, %{reason: reason, drain_started: System.monotonic_time()})
    state = %{state | workers: Map.put(state.workers, id, worker)}

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
    w = state.workers[id]
    meta = WorkerProfile.metadata(state.profile, w.handle)
    # Reported memory: what triggered a :memory recycle, not what is left after draining.
    meta = %{meta | memory: max(meta.memory, w[:observed_memory] || 0)}
    Process.demonitor(w.mref, [:flush])
    state.profile.stop_worker(w.handle)
    emit_recycled(state, id, w, w.reason, meta)
    GenServer.cast(state.lifecycle, {:worker_stopped, id})
    forget_worker(state, id)
  end

  defp worker_down(state, mref, exit_reason) do
    case Map.fetch(state.worker_monitors, mref) do
      :error ->
        state

      {:ok, id} ->
        w = state.workers[id]
        meta = WorkerProfile.metadata(state.profile, w.handle)
        # Frees what the dead worker held (the thread profile's native pool).
        state.profile.stop_worker(w.handle)
        state = state |> remove_slot(id) |> forget_worker(id)
        emit_recycled(state, id, w, :crashed, meta)
        GenServer.cast(state.lifecycle, {:worker_stopped, id})

        Logger.warning(
          "Snakepit pool #{inspect(state.config.name)}: worker #{id} exited (#{inspect(exit_reason)}); replacing it"
        )

        if w.status == :active do
          case start_worker(state, id) do
            {:ok, state} -> state
            {:error, _reason, state} -> schedule_restart(state)
          end
        else
          state
        end
    end
  end

  defp forget_worker(state, id) do
    {w, workers} = Map.pop(state.workers, id)
    %{state | workers: workers, worker_monitors: Map.delete(state.worker_monitors, w.mref)}
  end

  defp schedule_restart(state) do
    Process.send_after(self(), :restart_worker, @restart_delay)
    %{state | pending_starts: state.pending_starts + 1}
  end

  # -- routing table ------------------------------------------------------------------------

  # Row writes are ordered so that a concurrent reader sees either the old or the new table:
  # a slot row is in place before `size` covers it, and `size` shrinks before a row goes.
  defp add_slot(state, id) do
    i = map_size(state.slots)
    w = state.workers[id]
    :ets.insert(state.ref.table, {{:slot, i}, w.handle})
    :ets.insert(state.ref.table, {:size, i + 1})

    %{
      state
      | slots: Map.put(state.slots, i, id),
        workers: Map.put(state.workers, id, %{w | slot: i}),
        capacity: state.capacity + w.capacity
    }
  end

  defp remove_slot(state, id) do
    case state.workers[id] do
      %{slot: nil} ->
        state

      %{slot: i} = w ->
        table = state.ref.table
        last = map_size(state.slots) - 1
        workers = Map.put(state.workers, id, %{w | slot: nil})

        {slots, workers} =
          if i == last do
            {state.slots, workers}
          else
            moved_id = state.slots[last]
            moved = workers[moved_id]
            :ets.insert(table, {{:slot, i}, moved.handle})
            {Map.put(state.slots, i, moved_id), Map.put(workers, moved_id, %{moved | slot: i})}
          end

        :ets.insert(table, {:size, last})
        :ets.delete(table, {:slot, last})

        %{
          state
          | slots: Map.delete(slots, last),
            workers: workers,
            capacity: state.capacity - w.capacity
        }
    end
  end

  defp active_count(state), do: map_size(state.slots)

  defp active_handles(state), do: for({_i, id} <- state.slots, do: state.workers[id].handle)

  defp handle_at(state, i), do: state.workers[state.slots[i]].handle

  # -- queue --------------------------------------------------------------------------------

  defp free(state, handle),
    do: max(state.profile.get_capacity(handle) - state.profile.get_load(handle), 0)

  # A worker with a free slot, or nil: every worker of a small pool, a bounded random sample
  # of a large one.
  defp probe_free(state) do
    n = active_count(state)

    indices =
      if n <= @probes,
        do: Enum.to_list(0..(n - 1)//1),
        else: for(k <- 1..@probes, do: :erlang.phash2({:erlang.unique_integer(), k}, n))

    Enum.find_value(indices, fn i ->
      handle = handle_at(state, i)
      if free(state, handle) > 0, do: handle
    end)
  end

  # Wakes as many queued callers as `handle` has free slots, pointing them at it.
  defp wake_for(%{waiters: waiters} = state, _handle) when map_size(waiters) == 0, do: state
  defp wake_for(state, handle), do: wake(state, handle, free(state, handle))

  # The safety net: every worker, for a free slot the notifications and probes missed.
  defp serve_queue(%{waiters: waiters} = state) when map_size(waiters) == 0, do: state

  defp serve_queue(state) do
    Enum.reduce_while(state.slots, state, fn {_i, id}, state ->
      if map_size(state.waiters) == 0,
        do: {:halt, state},
        else: {:cont, wake_for(state, state.workers[id].handle)}
    end)
  end

  defp wake(state, _handle, 0), do: state

  defp wake(state, handle, n) do
    case :queue.out(state.queue) do
      {:empty, _} ->
        state

      {{:value, qref}, queue} ->
        case Map.pop(state.waiters, qref) do
          {nil, _} ->
            wake(%{state | queue: queue}, handle, n)

          {entry, waiters} ->
            Process.cancel_timer(entry.timer)
            Process.demonitor(entry.mref, [:flush])
            :atomics.sub(state.ref.waiting, 1, 1)
            GenServer.reply(entry.from, {:retry, handle})

            state = %{
              state
              | queue: queue,
                waiters: waiters,
                waiter_monitors: Map.delete(state.waiter_monitors, entry.mref)
            }

            wake(state, handle, n - 1)
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
