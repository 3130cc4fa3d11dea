defmodule Snakepit.Pool.Events do
  # The telemetry events of a pool's manager (docs/telemetry.md), from the pool's config.
  @moduledoc false

  alias Snakepit.Telemetry

  def worker_started(config, id, capacity, replaces) do
    Telemetry.execute(
      [:snakepit, :worker, :started],
      %{system_time: System.system_time()},
      Map.merge(meta(config), %{worker: id, capacity: capacity, replaces: replaces})
    )
  end

  # `started_at` in native monotonic time; `metadata` from the worker profile.
  def worker_recycled(config, id, started_at, reason, metadata) do
    Telemetry.execute(
      [:snakepit, :worker, :recycled],
      %{
        uptime: System.monotonic_time() - started_at,
        request_count: metadata.request_count,
        memory: metadata.memory
      },
      Map.merge(meta(config), %{worker: id, reason: reason})
    )
  end

  def capacity_reached(config, capacity, queue_size) do
    Telemetry.execute(
      [:snakepit, :pool, :capacity_reached],
      %{capacity: capacity, load: capacity, queue_size: queue_size},
      meta(config)
    )
  end

  # The probe found no free slot: as far as the manager can tell, every worker is busy.
  def saturated(config, queue_size, busy_workers) do
    Telemetry.execute(
      [:snakepit, :pool, :saturated],
      %{queue_size: queue_size, max_queue_size: config.max_queue_size},
      Map.merge(meta(config), %{available_workers: 0, busy_workers: busy_workers})
    )
  end

  def queue_timeout(config) do
    Telemetry.execute(
      [:snakepit, :pool, :queue, :timeout],
      %{queue_timeout: config.queue_timeout},
      meta(config)
    )
  end

  # A live config change (Snakepit.update_pool/2, Snakepit.resize_pool/2): `changes` maps
  # each changed key to {old, new}; workers and capacity are the routable ones just after it
  # (a resize or rolling replacement goes on from there).
  def reconfigured(config, changes, workers, capacity) do
    Telemetry.execute(
      [:snakepit, :pool, :reconfigured],
      %{system_time: System.system_time(), workers: workers, capacity: capacity},
      Map.merge(meta(config), %{changes: changes, pool_size: config.pool_size})
    )
  end

  defp meta(config), do: %{pool: config.name, profile: config.worker_profile}
end
