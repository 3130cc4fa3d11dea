defmodule Snakepit.Diagnostics.ProfileInspector do
  @moduledoc """
  What the pools are doing right now, and what to change.

      {:ok, stats} = Snakepit.Diagnostics.ProfileInspector.get_pool_stats(:marc)
      stats.utilization             #=> 50.0
      Snakepit.Diagnostics.ProfileInspector.check_saturation(:marc, 80)
      #=> {:ok, :healthy}
      {:ok, advice} = Snakepit.Diagnostics.ProfileInspector.get_recommendations(:marc)

  Every function reads live figures: the pool's registry (workers, capacity, load, queue),
  each worker's metadata (memory of its process plus the native bytes its resources hold,
  requests served) and, for the workload, counters fed by Snakepit's telemetry events since
  the application started (`get_workload_stats/1`).

  `mix snakepit.profile_inspector` prints the same figures for this node or, with `--node`,
  for another one (over distributed Erlang, with `:erpc` calls to these functions).

  Memory is in bytes, durations in milliseconds, utilisation in percent of the pool's
  capacity (the sum of its active workers' capacities: 1 per `:process` worker,
  `threads_per_worker` per `:thread` worker).
  """

  alias Snakepit.{Config, Environment, WorkerProfile}
  alias Snakepit.Diagnostics.{Collector, Recommendations}
  alias Snakepit.Pool.{Manager, Ref}

  @typedoc "One worker: see `get_pool_stats/1`."
  @type worker_stats :: %{
          id: pos_integer,
          pid: pid,
          status: :idle | :busy | :full | :retiring,
          capacity: pos_integer,
          load: non_neg_integer,
          memory: non_neg_integer,
          process_memory: non_neg_integer,
          native_bytes: non_neg_integer,
          uptime_ms: non_neg_integer,
          requests: non_neg_integer
        }

  @typedoc "A recommendation: see `get_recommendations/1`."
  @type recommendation :: %{
          topic: :pool_size | :threads_per_worker | :memory | :profile | :queue,
          severity: :ok | :info | :warning,
          message: String.t(),
          figures: map
        }

  @doc """
  A snapshot of `pool`:

    * `:pool`, `:node`, `:profile`, `:config` (the pool's sizing and recycling keys)
    * `:worker_count` (active workers) and `:retiring` (workers draining before they stop)
    * `:capacity` - `%{total, used, available}` slots over the active workers
    * `:utilization` - `used / total` in percent (a float)
    * `:queue_length` and `:max_queue_size` - callers waiting for a slot, and the limit
    * `:workers` - per worker, active and retiring: `:id`, `:pid`, `:status` (`:idle`,
      `:busy`, `:full` or `:retiring`), `:capacity`, `:load`, `:memory` (`:process_memory`
      plus `:native_bytes`), `:uptime_ms` and `:requests` (requests served)

  Returns `{:ok, stats}` or `{:error, :pool_not_found}`.
  """
  @spec get_pool_stats(atom) :: {:ok, map} | {:error, :pool_not_found}
  def get_pool_stats(pool) do
    with {:ok, snapshot} <- snapshot(pool), do: {:ok, pool_stats(snapshot)}
  end

  @doc """
  Capacity of `pool` in detail: totals, utilisation and queue as in `get_pool_stats/1`, per
  worker `%{id, capacity, load, available}`, the schedulers and cores of this node, and
  `:effective_parallelism` (how many requests can run native code at once: `:process`
  workers share the dirty CPU schedulers, `:thread` workers run their own threads on the
  cores).

  For `:thread` pools `:threads` holds `%{per_worker, total, live, in_flight, workers}` with,
  per worker, its configured threads, the rayon threads running now (`:live`), requests in
  flight and whether its native pool is `:open`; it is `nil` for other profiles.

  Returns `{:ok, capacity}` or `{:error, :pool_not_found}`.
  """
  @spec get_capacity_stats(atom) :: {:ok, map} | {:error, :pool_not_found}
  def get_capacity_stats(pool) do
    with {:ok, snapshot} <- snapshot(pool), do: {:ok, capacity_stats(snapshot)}
  end

  @doc """
  Memory of `pool`'s workers (active and retiring), in bytes: `:total`, `:average`, `:max`,
  `:min`, `:process_total` and `:native_total` (native bytes held: refc binaries a
  `:process` worker references, job arguments a `:thread` worker's native pool holds),
  `:threshold_mb` (the pool's `memory_threshold_mb`) and per worker
  `%{id, memory, process_memory, native_bytes}`.

  Returns `{:ok, memory}` or `{:error, :pool_not_found}`.
  """
  @spec get_memory_stats(atom) :: {:ok, map} | {:error, :pool_not_found}
  def get_memory_stats(pool) do
    with {:ok, snapshot} <- snapshot(pool), do: {:ok, memory_stats(snapshot)}
  end

  @doc """
  What `pool` has been asked to do since it first served a request (figures gathered from
  Snakepit's telemetry events): `:since_ms`, `:requests`, `:errors`, `:exec_ms` (time spent
  on workers), `:commands` (per command: `:requests`, `:errors`, `:avg_ms` from entry to
  result including any wait in the queue, `:avg_exec_ms` on a worker, `:total_ms`,
  `:exec_ms`), `:queue` (`:capacity_reached`, `:saturated` and `:queue_timeouts` counts) and
  `:recycled` (workers recycled, by reason).

  Returns `{:ok, workload}` or `{:error, :pool_not_found}`.
  """
  @spec get_workload_stats(atom) :: {:ok, map} | {:error, :pool_not_found}
  def get_workload_stats(pool) do
    case Ref.lookup(pool) do
      nil -> {:error, :pool_not_found}
      _ref -> {:ok, Collector.workload(pool)}
    end
  end

  @doc """
  Every running pool of this node in one map: `:node`, `:generated_at` (ISO 8601, UTC),
  `:system` (`Snakepit.Environment.info/0`), `:warnings` (`Snakepit.Environment.validate/0`),
  `:totals` (pools, workers, capacity, used, memory) and `:pools`, a list with, per pool, the
  fields of `get_pool_stats/1` plus `:memory` (`get_memory_stats/1`), `:threads` and
  `:effective_parallelism` (`get_capacity_stats/1`), `:workload` (`get_workload_stats/1`)
  and `:recommendations` (`get_recommendations/1`).
  """
  @spec get_comprehensive_report() :: map
  def get_comprehensive_report do
    pools =
      for name <- Config.pool_names(),
          {:ok, snapshot} <- [snapshot(name)],
          do: pool_report(snapshot)

    %{
      node: node(),
      generated_at: DateTime.utc_now() |> DateTime.truncate(:second) |> DateTime.to_iso8601(),
      system: Environment.info(),
      warnings: Environment.validate(),
      totals: %{
        pools: length(pools),
        workers: pools |> Enum.map(& &1.worker_count) |> Enum.sum(),
        capacity: pools |> Enum.map(& &1.capacity.total) |> Enum.sum(),
        used: pools |> Enum.map(& &1.capacity.used) |> Enum.sum(),
        memory: pools |> Enum.map(& &1.memory.total) |> Enum.sum()
      },
      pools: pools
    }
  end

  @doc """
  The reports of `get_comprehensive_report/0` of every node running Snakepit that this node
  is connected to, this node first: `%{nodes: [report], unreachable: [%{node, reason}]}`.
  Each node is asked at once, with `timeout` ms to answer.
  """
  @spec get_cluster_report(timeout) :: %{nodes: [map], unreachable: [map]}
  def get_cluster_report(timeout \\ 5_000) do
    nodes = Snakepit.Pool.Cluster.Groups.directory_nodes()
    replies = :erpc.multicall(nodes, __MODULE__, :get_comprehensive_report, [], timeout)

    {reports, unreachable} =
      nodes
      |> Enum.zip(replies)
      |> Enum.reduce({[], []}, fn
        {_node, {:ok, report}}, {ok, bad} -> {[report | ok], bad}
        {node, {kind, reason}}, {ok, bad} -> {ok, [%{node: node, reason: {kind, reason}} | bad]}
      end)

    %{nodes: Enum.reverse(reports), unreachable: Enum.reverse(unreachable)}
  end

  @doc """
  The report of `get_comprehensive_report/0` for one pool: `{:ok, pool_report}` or
  `{:error, :pool_not_found}`.
  """
  @spec get_pool_report(atom) :: {:ok, map} | {:error, :pool_not_found}
  def get_pool_report(pool) do
    with {:ok, snapshot} <- snapshot(pool), do: {:ok, pool_report(snapshot)}
  end

  @doc """
  Whether `pool` is near its capacity: `{:ok, :healthy}` when its utilisation is below
  `threshold_pct` and nobody waits in its queue, else
  `{:warning, :approaching_saturation, utilization_pct}` (100.0 while callers are queued).
  `threshold_pct` is a number in 0 < t <= 100 (default 80).

  Returns `{:error, :pool_not_found}` for an unknown pool; raises `ArgumentError` for a
  threshold out of range.
  """
  @spec check_saturation(atom, number) ::
          {:ok, :healthy}
          | {:warning, :approaching_saturation, float}
          | {:error, :pool_not_found}
  def check_saturation(pool, threshold_pct \\ 80) do
    unless is_number(threshold_pct) and threshold_pct > 0 and threshold_pct <= 100 do
      raise ArgumentError,
            "threshold_pct must be a number in 0 < t <= 100, got: #{inspect(threshold_pct)}"
    end

    with {:ok, stats} <- status_only(pool) do
      pct = if stats.queue_length > 0, do: 100.0, else: stats.utilization

      if pct >= threshold_pct,
        do: {:warning, :approaching_saturation, pct},
        else: {:ok, :healthy}
    end
  end

  @doc """
  Concrete advice for `pool` from its figures and this machine: pool size against cores and
  dirty CPU schedulers, threads per worker, memory against `memory_threshold_mb`, the queue,
  and the profile for the workload seen (command mix and durations). Each recommendation is
  `%{topic, severity, message, figures}` with `severity` `:ok` (nothing to change),
  `:info` or `:warning`; `figures` holds the numbers the advice is based on.

  Returns `{:ok, [recommendation]}` or `{:error, :pool_not_found}`.
  """
  @spec get_recommendations(atom) :: {:ok, [recommendation]} | {:error, :pool_not_found}
  def get_recommendations(pool) do
    with {:ok, snapshot} <- snapshot(pool) do
      {:ok, recommendations(snapshot)}
    end
  end

  # -- gathering -----------------------------------------------------------------------------

  # Everything the figures come from, read once: the pool's config, its workers (from the
  # manager) with each one's capacity, load and metadata, and its status.
  defp snapshot(pool) when is_atom(pool) do
    with %Ref{} = ref <- Ref.lookup(pool),
         {:ok, workers, status} <- manager_view(ref) do
      now = System.monotonic_time()
      workers = Enum.map(workers, &worker_view(ref.profile, &1, now))
      {:ok, %{ref: ref, config: ref.config, workers: workers, status: status}}
    else
      _ -> {:error, :pool_not_found}
    end
  end

  defp snapshot(_pool), do: {:error, :pool_not_found}

  defp manager_view(ref) do
    {:ok, Manager.workers(ref.manager), Manager.status(ref.manager)}
  catch
    # The pool stopped while we asked.
    :exit, _ -> :error
  end

  defp status_only(pool) do
    case Ref.lookup(pool) do
      nil ->
        {:error, :pool_not_found}

      ref ->
        try do
          status = Manager.status(ref.manager)
          {:ok, Map.put(status, :utilization, pct(status.load, status.capacity))}
        catch
          :exit, _ -> {:error, :pool_not_found}
        end
    end
  end

  defp worker_view(profile, w, now) do
    handle = w.handle
    meta = safe_metadata(profile, handle)
    capacity = safe(fn -> profile.get_capacity(handle) end, 1)
    load = safe(fn -> min(profile.get_load(handle), capacity) end, 0)

    # A retiring thread worker reports itself full so nobody routes to it; what it still
    # runs is its in-flight count.
    load = if w.status == :active, do: load, else: min(Map.get(meta, :in_flight, load), capacity)

    %{
      id: w.id,
      pid: handle.pid,
      handle: handle,
      status: worker_status(w.status, load, capacity),
      capacity: capacity,
      load: load,
      memory: meta.memory,
      process_memory: Map.get(meta, :process_memory, meta.memory),
      native_bytes: Map.get(meta, :native_bytes, 0),
      uptime_ms: System.convert_time_unit(now - w.started_at, :native, :millisecond),
      requests: meta.request_count
    }
  end

  defp worker_status(:active, 0, _capacity), do: :idle
  defp worker_status(:active, load, capacity) when load >= capacity, do: :full
  defp worker_status(:active, _load, _capacity), do: :busy
  defp worker_status(_draining, _load, _capacity), do: :retiring

  defp safe_metadata(profile, handle) do
    WorkerProfile.metadata(profile, handle)
  catch
    # A worker that died between the registry read and this call.
    _, _ -> %{memory: 0, request_count: 0}
  end

  defp safe(fun, default) do
    fun.()
  catch
    _, _ -> default
  end

  # -- figures -------------------------------------------------------------------------------

  defp pool_stats(%{config: config, workers: workers, status: status}) do
    active = Enum.reject(workers, &(&1.status == :retiring))
    total = active |> Enum.map(& &1.capacity) |> Enum.sum()
    used = active |> Enum.map(& &1.load) |> Enum.sum()

    %{
      pool: config.name,
      node: node(),
      profile: config.worker_profile,
      config:
        Map.take(config, [
          :pool_size,
          :threads_per_worker,
          :max_queue_size,
          :queue_timeout,
          :priority_starvation_limit,
          :worker_ttl,
          :worker_max_requests,
          :memory_threshold_mb,
          :health_check_interval
        ]),
      worker_count: length(active),
      retiring: length(workers) - length(active),
      capacity: %{total: total, used: used, available: max(total - used, 0)},
      utilization: pct(used, total),
      queue_length: status.queue_length,
      max_queue_size: config.max_queue_size,
      workers: Enum.map(workers, &Map.delete(&1, :handle))
    }
  end

  defp capacity_stats(%{config: config, workers: workers} = snapshot) do
    stats = pool_stats(snapshot)
    machine = machine()

    threads =
      if config.worker_profile == :thread do
        per_worker =
          for w <- workers do
            {open, threads, live} = thread_details(w.handle)
            %{id: w.id, threads: threads, live: live, in_flight: w.load, open: open}
          end

        %{
          per_worker: config.threads_per_worker,
          total: per_worker |> Enum.filter(& &1.open) |> Enum.map(& &1.threads) |> Enum.sum(),
          live: per_worker |> Enum.map(& &1.live) |> Enum.sum(),
          in_flight: per_worker |> Enum.map(& &1.in_flight) |> Enum.sum(),
          workers: per_worker
        }
      end

    %{
      pool: config.name,
      profile: config.worker_profile,
      total: stats.capacity.total,
      used: stats.capacity.used,
      available: stats.capacity.available,
      utilization: stats.utilization,
      queue_length: stats.queue_length,
      max_queue_size: stats.max_queue_size,
      workers:
        for w <- workers, w.status != :retiring do
          %{id: w.id, capacity: w.capacity, load: w.load, available: max(w.capacity - w.load, 0)}
        end,
      machine: machine,
      effective_parallelism: effective_parallelism(config, stats, machine),
      threads: threads
    }
  end

  defp thread_details(%{resource: resource}) do
    Snakepit.Native.thread_pool_threads(resource)
  rescue
    _ -> {false, 0, 0}
  end

  defp thread_details(_handle), do: {false, 0, 0}

  # Requests that can run native code at once.
  defp effective_parallelism(%{worker_profile: :process}, stats, machine),
    do: min(stats.capacity.total, machine.dirty_cpu_schedulers)

  defp effective_parallelism(%{worker_profile: :thread}, stats, machine),
    do: min(stats.capacity.total, machine.logical_cores)

  defp effective_parallelism(_custom, stats, _machine), do: stats.capacity.total

  defp memory_stats(%{config: config, workers: workers}) do
    memories = Enum.map(workers, & &1.memory)
    count = length(memories)

    %{
      pool: config.name,
      total: Enum.sum(memories),
      average: if(count > 0, do: div(Enum.sum(memories), count), else: 0),
      max: Enum.max(memories, fn -> 0 end),
      min: Enum.min(memories, fn -> 0 end),
      process_total: workers |> Enum.map(& &1.process_memory) |> Enum.sum(),
      native_total: workers |> Enum.map(& &1.native_bytes) |> Enum.sum(),
      threshold_mb: config.memory_threshold_mb,
      workers:
        for w <- workers do
          Map.take(w, [:id, :memory, :process_memory, :native_bytes])
        end
    }
  end

  defp pool_report(snapshot) do
    capacity = capacity_stats(snapshot)

    snapshot
    |> pool_stats()
    |> Map.merge(%{
      memory: Map.delete(memory_stats(snapshot), :pool),
      threads: capacity.threads,
      effective_parallelism: capacity.effective_parallelism,
      workload: Collector.workload(snapshot.config.name),
      recommendations: recommendations(snapshot)
    })
  end

  defp recommendations(snapshot) do
    Recommendations.build(%{
      config: snapshot.config,
      stats: pool_stats(snapshot),
      memory: memory_stats(snapshot),
      workload: Collector.workload(snapshot.config.name),
      machine: machine()
    })
  end

  defp machine do
    %{
      logical_cores: Snakepit.Config.Options.logical_cores(),
      schedulers_online: :erlang.system_info(:schedulers_online),
      dirty_cpu_schedulers: :erlang.system_info(:dirty_cpu_schedulers_online)
    }
  end

  defp pct(_used, 0), do: 0.0
  defp pct(used, total), do: Float.round(used / total * 100, 1)
end
