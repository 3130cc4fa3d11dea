defmodule Snakepit.Metrics.Status do
  # The body of /status.json, which the status page draws: per pool, its workers, capacity,
  # load and queue (ProfileInspector.get_pool_stats/1), and the requests it has served (the
  # store's snakepit_requests_total), all plain data for Snakepit.JSON.
  @moduledoc false

  alias Snakepit.Metrics.{Collect, Store}

  @doc "The status now."
  def build(pool_stats \\ Collect.pool_stats()) do
    requests = requests_by_pool()

    %{
      node: node(),
      generated_at:
        DateTime.utc_now() |> DateTime.truncate(:millisecond) |> DateTime.to_iso8601(),
      pools:
        for stats <- Enum.sort_by(pool_stats, & &1.pool) do
          %{
            pool: stats.pool,
            profile: stats.profile,
            worker_count: stats.worker_count,
            retiring: stats.retiring,
            capacity: stats.capacity.total,
            load: stats.capacity.used,
            utilization: stats.utilization,
            queue_length: stats.queue_length,
            max_queue_size: stats.max_queue_size,
            requests: Map.get(requests, stats.pool, %{}),
            workers:
              for w <- stats.workers do
                Map.take(w, [:id, :status, :capacity, :load, :memory, :native_bytes, :requests])
              end
          }
        end
    }
  end

  # pool => %{result => count}, summed over commands.
  defp requests_by_pool do
    for {{pool, _command, result}, ref} <- Store.rows("snakepit_requests_total"), reduce: %{} do
      acc ->
        n = :counters.get(ref, 1)
        Map.update(acc, pool, %{result => n}, &Map.update(&1, result, n, fn m -> m + n end))
    end
  end
end
