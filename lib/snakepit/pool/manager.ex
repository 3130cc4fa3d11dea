defmodule Snakepit.Pool.Manager do
  # One per pool: starts, replaces and retires the pool's workers, and keeps the routing
  # table (Snakepit.Pool.Table) and the wait queue (Snakepit.Pool.Queue) in step with them.
  # It is NOT on the hot path: callers check workers out themselves (Snakepit.Pool.Router)
  # and only come here when the workers they tried were full; Snakepit.Pool.Capacity finds
  # them a free slot or wakes them when one frees.
  #
  # A caller that found no free slot, or found others waiting, calls {:wait, since, retry,
  # priority}. A woken caller gets {:retry, handle, token} naming a worker that has a free
  # slot and checks out again itself; nothing is reserved on its behalf, so a caller that
  # dies can never leak a slot. It stays counted as waiting (no one else takes the fast
  # path) until it casts {:checked_out, token}; if it loses the race anyway it comes back
  # with its token to its old place in the queue. Every per-caller step is O(1) in the
  # number of workers: large pools are probed at a bounded number of random workers, and a
  # periodic full scan while callers wait catches a free slot the probes missed.
  #
  # When to recycle is decided elsewhere (Snakepit.Lifecycle asks with recycle_async/5, a
  # worker that reached its request limit says so); the subscriber (the lifecycle process)
  # is told {:snakepit_worker_started, id} and {:snakepit_worker_stopped, id}.
  @moduledoc false
  use GenServer

  require Logger

  alias Snakepit.WorkerProfile
  alias Snakepit.Pool.Cluster.Groups
  alias Snakepit.Pool.{Capacity, Drain, Events, Jitter, Queue, Reconfigure, Ref, Table}

  # How long a retiring worker may take to finish in-flight requests before it is stopped.
  @drain_timeout 60_000
  @retire_poll 5
  # Safety net while callers wait: scan every worker for free capacity this often.
  @queue_poll 50
  @restart_delay 500

  def name(pool), do: Module.concat(__MODULE__, pool)

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: name(config.name))

  @doc "The workers: `[%{id, handle, status, started_at}]`, sorted by id."
  def workers(manager), do: GenServer.call(manager, :workers, :infinity)

  @doc """
  Makes the calling process the one told about workers starting and stopping (replacing any
  previous one), and returns the workers as `workers/1` does, in the same step.
  """
  def subscribe(manager), do: GenServer.call(manager, :subscribe, :infinity)

  def recycle(manager, worker_id, reason, observed_memory \\ nil),
    do: GenServer.call(manager, {:recycle, worker_id, reason, :graceful, observed_memory})

  def replace(manager, worker_id, reason),
    do: GenServer.call(manager, {:recycle, worker_id, reason, :now, nil})

  @doc false
  # A recycle request that never blocks the asker on a busy manager.
  def recycle_async(manager, worker_id, reason, mode, observed_memory \\ nil),
    do: GenServer.cast(manager, {:recycle, worker_id, reason, mode, observed_memory})

  def status(manager), do: GenServer.call(manager, :status)

  @doc """
  Applies validated config `changes` to the running pool (see `Snakepit.update_pool/2`):
  `{:ok, config}` with the new config.
  """
  def update(manager, changes), do: GenServer.call(manager, {:update, changes}, 30_000)

  # -- init ---------------------------------------------------------------------------------

  @impl true
  def init(config) do
    Process.flag(:trap_exit, true)
    # A restarted manager keeps the live changes made to its predecessor's config.
    config = Reconfigure.restore(config)
    table = Table.new()
    waiting = :atomics.new(1, signed: true)
    profile = WorkerProfile.module(config.worker_profile)

    ref = %Ref{
      name: config.name,
      manager: self(),
      table: table.ets,
      waiting: waiting,
      profile: profile,
      config: config
    }

    state = %{
      ref: ref,
      config: config,
      profile: profile,
      supervisor: Ref.worker_supervisor(config.name),
      subscriber: nil,
      # worker id => %{handle, mref, capacity, status, started_at, ...}
      workers: %{},
      worker_monitors: %{},
      table: table,
      queue: Queue.new(waiting, config.priority_starvation_limit),
      next_id: 1,
      pending_starts: 0,
      # Bumped when a change needs every worker replaced (threads_per_worker,
      # worker_max_requests); workers of an older generation are replaced one at a time.
      generation: 0
    }

    # A manager restarted on its own (the worker supervisor lives on) finds the previous
    # manager's workers still running, possibly with requests in flight. Nothing routes to
    # them any more (they are not in the new table); they stop once no caller awaits them.
    Drain.leftovers(state.supervisor, @drain_timeout)

    Enum.reduce_while(1..config.pool_size, {:ok, state}, fn _, {:ok, state} ->
      case start_worker(state, nil) do
        {:ok, state} -> {:cont, {:ok, state}}
        {:error, reason, _state} -> {:halt, {:stop, {:worker_start_failed, reason}}}
      end
    end)
    |> case do
      {:ok, state} ->
        Ref.publish(ref)
        # Other nodes find the pool through its :pg group (nodes: :cluster).
        Groups.join_pool(config.name)
        {:ok, state}

      stop ->
        stop
    end
  end

  # -- calls --------------------------------------------------------------------------------

  @impl true
  def handle_call({:wait, since, retry?}, from, state),
    do: handle_call({:wait, since, retry?, :normal}, from, state)

  # `retry`: false for a new caller; `{:woken, token}` for a caller this queue woke that lost
  # the slot (it goes back to its place and stays counted); true for one that lost a slot it
  # was pointed at without queueing, or that a restarted manager had queued (the front).
  def handle_call({:wait, since, {:woken, token}, priority}, from, state) do
    remaining = remaining_ms(state.config, since)

    cond do
      not Queue.woken?(state.queue, token) ->
        handle_call({:wait, since, true, priority}, from, state)

      remaining <= 0 ->
        {_worker, queue} = Queue.settle(state.queue, token)
        Events.queue_timeout(state.config)
        {:reply, {:error, :queue_timeout}, serve_any(%{state | queue: queue})}

      true ->
        {:ok, queue} = Queue.return(state.queue, token, from, remaining)
        {:noreply, serve_any(%{state | queue: queue})}
    end
  end

  def handle_call({:wait, since, retry?, priority}, from, state) do
    %{config: config, queue: queue} = state
    Queue.arrive(queue)
    queued = Queue.size(queue)
    remaining = remaining_ms(config, since)
    # Nobody waits: a free slot may go to this caller at once.
    handle = if not Queue.held?(queue), do: Capacity.probe(queue, state.profile, state.table)

    cond do
      handle != nil ->
        Queue.leave(queue)
        {:reply, {:retry, handle, nil}, state}

      remaining <= 0 ->
        Queue.leave(queue)
        Events.queue_timeout(config)
        {:reply, {:error, :queue_timeout}, state}

      queued >= config.max_queue_size and not retry? ->
        Queue.leave(queue)
        Events.saturated(config, queued, Table.size(state.table))
        {:reply, {:error, :pool_saturated}, state}

      true ->
        unless retry?,
          do: Events.capacity_reached(config, Table.capacity(state.table), queued + 1)

        # Behind everyone waiting, then served in turn: if a slot is free now, it goes to
        # the head of the queue, which may be this caller.
        queue = Queue.add(queue, from, remaining, retry?, priority)
        {:noreply, serve_any(%{state | queue: queue})}
    end
  end

  def handle_call(:workers, _from, state), do: {:reply, worker_list(state), state}

  def handle_call(:subscribe, {pid, _}, state),
    do: {:reply, worker_list(state), %{state | subscriber: pid}}

  def handle_call(:status, _from, state) do
    active = Table.handles(state.table)

    status = %{
      pool: state.config.name,
      profile: state.config.worker_profile,
      workers: active |> Enum.map(& &1.id) |> Enum.sort(),
      retiring: for({id, %{status: :draining}} <- state.workers, do: id) |> Enum.sort(),
      capacity: Table.capacity(state.table),
      load: Enum.sum(Enum.map(active, &state.profile.get_load/1)),
      queue_length: Queue.size(state.queue),
      queued_by_priority: Queue.sizes(state.queue),
      pool_size: state.config.pool_size
    }

    {:reply, status, state}
  end

  def handle_call({:update, changes}, _from, state) do
    {config, changed, effects} = Reconfigure.plan(state.config, changes)

    if changed == %{} do
      {:reply, {:ok, config}, state}
    else
      Reconfigure.save(config.name, changed)
      ref = %{state.ref | config: config}
      Ref.publish(ref)
      state = %{state | config: config, ref: ref}

      state =
        if :queue in effects,
          do: %{
            state
            | queue: Queue.set_starvation_limit(state.queue, config.priority_starvation_limit)
          },
          else: state

      if :lifecycle in effects, do: tell_subscriber(state, {:snakepit_config_updated, config})
      state = if :resize in effects, do: resize(state), else: state

      state =
        if :roll in effects, do: roll(%{state | generation: state.generation + 1}), else: state

      Events.reconfigured(config, changed, Table.size(state.table), Table.capacity(state.table))
      {:reply, {:ok, config}, state}
    end
  end

  def handle_call({:recycle, id, reason, mode, observed_memory}, _from, state) do
    case request_recycle(state, id, reason, mode, observed_memory) do
      {:ok, state} -> {:reply, :ok, state}
      :not_found -> {:reply, {:error, :worker_not_found}, state}
    end
  end

  @impl true
  def handle_cast({:checked_out, token}, state) do
    case Queue.settle(state.queue, token) do
      {nil, queue} ->
        {:noreply, %{state | queue: queue}}

      # It may have taken a slot elsewhere: the one it was woken for can serve the next.
      {worker, queue} ->
        state = %{state | queue: queue}

        case state.workers do
          %{^worker => %{status: :active, handle: handle}} -> {:noreply, wake_for(state, handle)}
          _ -> {:noreply, serve_any(state)}
        end
    end
  end

  def handle_cast({:recycle, id, reason, mode, observed_memory}, state) do
    case request_recycle(state, id, reason, mode, observed_memory) do
      {:ok, state} -> {:noreply, state}
      :not_found -> {:noreply, state}
    end
  end

  defp worker_list(state) do
    workers =
      for {id, w} <- state.workers do
        %{id: id, handle: w.handle, status: w.status, started_at: w.started_at}
      end

    Enum.sort_by(workers, & &1.id)
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
    queue =
      state.queue
      |> Queue.polled()
      |> Capacity.serve(state.profile, state.table)
      |> Queue.schedule_poll(@queue_poll)

    {:noreply, %{state | queue: queue}}
  end

  def handle_info({:queue_timeout, qref}, state) do
    case Queue.expire(state.queue, qref) do
      :none ->
        {:noreply, state}

      {from, queue} ->
        GenServer.reply(from, {:error, :queue_timeout})
        Events.queue_timeout(state.config)
        {:noreply, %{state | queue: queue}}
    end
  end

  def handle_info({:retire_check, id}, state), do: {:noreply, retire_check(state, id)}

  def handle_info(:restart_worker, state) do
    state = %{state | pending_starts: state.pending_starts - 1}

    # A pool shrunk meanwhile may need no more workers.
    case if(active_count(state) < state.config.pool_size, do: start_worker(state, nil)) do
      nil ->
        {:noreply, state}

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
    # A queued caller died, by whatever exit signal: it leaves the queue; it holds nothing else.
    case Queue.caller_down(state.queue, mref) do
      {:ok, queue} -> {:noreply, serve_any(%{state | queue: queue})}
      :error -> {:noreply, worker_down(state, mref, reason)}
    end
  end

  def handle_info({:EXIT, _pid, _reason}, state), do: {:noreply, state}
  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(reason, state) do
    Ref.unpublish(state.config.name, self())

    # Queued callers are told the manager went; they wait for the pool to come back (a
    # restart) or report it gone (a stop), see Snakepit.Pool.Router.
    for from <- Queue.callers(state.queue), do: GenServer.reply(from, :manager_down)

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
        max_requests: Jitter.jitter(config.worker_max_requests)
      })

    case state.profile.start_worker(worker_config) do
      {:ok, handle} ->
        capacity = state.profile.get_capacity(handle)
        mref = Process.monitor(handle.pid)

        worker = %{
          handle: handle,
          mref: mref,
          capacity: capacity,
          status: :active,
          generation: state.generation,
          started_at: System.monotonic_time()
        }

        state = %{
          state
          | workers: Map.put(state.workers, id, worker),
            worker_monitors: Map.put(state.worker_monitors, mref, id),
            table: Table.add(state.table, id, handle, capacity),
            next_id: id + 1
        }

        Events.worker_started(config, id, capacity, replaces)
        tell_subscriber(state, {:snakepit_worker_started, id})
        # A new worker is all free capacity: hand it to queued callers.
        {:ok, wake_for(state, handle)}

      {:error, reason} ->
        {:error, reason, %{state | next_id: id + 1}}
    end
  end

  # -- live reconfiguration -----------------------------------------------------------------

  defp active_count(state), do: Enum.count(state.workers, fn {_id, w} -> w.status == :active end)

  # Towards config.pool_size: growing starts workers at once (a failed start is retried
  # later); shrinking retires the least loaded workers gracefully, without replacement:
  # they leave the routing table at once and stop when their in-flight requests finish.
  defp resize(state) do
    target = state.config.pool_size
    active = active_count(state)

    cond do
      active < target ->
        Enum.reduce(1..(target - active), state, fn _, state ->
          case start_worker(state, nil) do
            {:ok, state} -> state
            {:error, _reason, state} -> schedule_restart(state)
          end
        end)

      active > target ->
        state.workers
        |> Enum.filter(fn {_id, w} -> w.status == :active end)
        |> Enum.sort_by(fn {id, w} -> {state.profile.get_load(w.handle), -id} end)
        |> Enum.take(active - target)
        |> Enum.reduce(state, fn {id, _w}, state -> retire_worker(state, id, :resized) end)

      true ->
        state
    end
  end

  # Rolling replacement after a change that workers only take at start: one worker of an
  # older generation at a time is recycled gracefully (its replacement starts first), and
  # the next when it is gone, so capacity never drops below the pool's size.
  defp roll(state) do
    rolling? = Enum.any?(state.workers, fn {_id, w} -> w[:reason] == :reconfigured end)

    outdated =
      for {id, %{status: :active, generation: g}} <- state.workers,
          g < state.generation,
          do: id

    case {rolling?, Enum.sort(outdated)} do
      {false, [id | _]} -> recycle_worker(state, id, :reconfigured, :graceful)
      _ -> state
    end
  end

  defp retire_worker(state, id, reason) do
    worker = %{state.workers[id] | status: :draining}
    worker = Map.merge(worker, %{reason: reason, drain_started: System.monotonic_time()})

    state = %{
      state
      | table: Table.remove(state.table, id),
        workers: Map.put(state.workers, id, worker)
    }

    retire_check(state, id)
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

    case mode do
      :graceful ->
        retire_worker(state, id, reason)

      :now ->
        worker = Map.merge(state.workers[id], %{status: :draining, reason: reason})

        finish_retire(
          %{
            state
            | table: Table.remove(state.table, id),
              workers: %{state.workers | id => worker}
          },
          id
        )
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
    Events.worker_recycled(state.config, id, w.started_at, w.reason, meta)
    tell_subscriber(state, {:snakepit_worker_stopped, id})
    state |> forget_worker(id) |> roll()
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
        state = forget_worker(%{state | table: Table.remove(state.table, id)}, id)
        Events.worker_recycled(state.config, id, w.started_at, :crashed, meta)
        tell_subscriber(state, {:snakepit_worker_stopped, id})

        Logger.warning(
          "Snakepit pool #{inspect(state.config.name)}: worker #{id} exited (#{inspect(exit_reason)}); replacing it"
        )

        if w.status == :active and active_count(state) < state.config.pool_size do
          case start_worker(state, id) do
            {:ok, state} -> state
            {:error, _reason, state} -> schedule_restart(state)
          end
        else
          roll(state)
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

  defp tell_subscriber(%{subscriber: nil}, _message), do: :ok
  defp tell_subscriber(%{subscriber: pid}, message), do: send(pid, message)

  defp wake_for(state, handle),
    do: %{state | queue: Capacity.wake_for(state.queue, state.profile, handle)}

  # Wakes queued callers for a worker with open slots, if the probe finds one; schedules the
  # safety-net poll while callers stay queued.
  defp serve_any(state) do
    queue =
      state.queue
      |> Capacity.wake_any(state.profile, state.table)
      |> Queue.schedule_poll(@queue_poll)

    %{state | queue: queue}
  end

  defp remaining_ms(config, since),
    do: config.queue_timeout - native_to_ms(System.monotonic_time() - since)

  defp native_to_ms(native), do: System.convert_time_unit(native, :native, :millisecond)
end
