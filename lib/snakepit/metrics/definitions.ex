defmodule Snakepit.Metrics.Definitions do
  # Every metric Snakepit.Metrics keeps, as data. docs/metrics.md lists the same metrics; a
  # test compares them.
  #
  # An event metric is one line: `{type, name, event, labels, value, help}`.
  #   * type: :counter or {:histogram, buckets_option} (the option holding its bounds);
  #   * labels: metadata keys (the label takes the key's name), or `{label, constant}`;
  #   * value: nil (count the event) or the measurement key to add or observe. Histogram
  #     values are native time units, shown in seconds.
  # Several lines may share a name (one family, fed by several events) if they have the
  # same type, labels and help.
  #
  # Gauges are read when metrics are rendered, from each pool's
  # `Snakepit.Diagnostics.ProfileInspector.get_pool_stats/1`: `{name, source, help}`, the
  # source a path of keys into the stats, or `{:workers, key}` (summed over the workers).
  @moduledoc false

  @request_stop [:snakepit, :request, :stop]

  @event_metrics [
    {:counter, "snakepit_requests_total", @request_stop, [:pool, :command, :result], nil,
     "Requests that returned, by pool, command and result (ok, error; exception: raised in the caller)."},
    {:counter, "snakepit_requests_total", [:snakepit, :request, :exception],
     [:pool, :command, {:result, :exception}], nil,
     "Requests that returned, by pool, command and result (ok, error; exception: raised in the caller)."},
    {:counter, "snakepit_queue_waits_total", [:snakepit, :pool, :capacity_reached], [:pool], nil,
     "Callers that found every worker at capacity and joined the wait queue."},
    {:counter, "snakepit_queue_timeouts_total", [:snakepit, :pool, :queue, :timeout], [:pool],
     nil, "Queued callers answered {:error, :queue_timeout}."},
    {:counter, "snakepit_pool_saturated_total", [:snakepit, :pool, :saturated], [:pool], nil,
     "Callers answered {:error, :pool_saturated}: every worker busy and the queue full."},
    {:counter, "snakepit_worker_recycles_total", [:snakepit, :worker, :recycled],
     [:pool, :reason], nil, "Workers that left the pool, by reason."},
    {:counter, "snakepit_workers_started_total", [:snakepit, :worker, :started], [:pool], nil,
     "Workers started (at pool start and as replacements)."},
    {:counter, "snakepit_health_checks_failed_total", [:snakepit, :worker, :health_check_failed],
     [:pool], nil, "Workers that failed a health check."},
    {:counter, "snakepit_records_read_total", [:snakepit, :records, :read], [], :count,
     "Good records read by the record readers."},
    {:counter, "snakepit_bad_records_total", [:snakepit, :records, :bad], [:kind], :count,
     "Bad records met by the record readers, by ParseError kind (skipped: dropped unseen in :skip mode)."},
    {{:histogram, :duration_buckets}, "snakepit_request_duration_seconds", @request_stop,
     [:pool, :command], :duration,
     "Time from a request's entry to its result, queueing included."},
    {{:histogram, :queue_wait_buckets}, "snakepit_request_queue_wait_seconds", @request_stop,
     [:pool], :queue_time,
     "Time a request spent before the dispatch that ran it (in the wait queue)."}
  ]

  @gauges [
    {"snakepit_pool_workers", [:worker_count], "Active workers of the pool."},
    {"snakepit_pool_capacity", [:capacity, :total],
     "Slots of the pool's active workers (requests it runs at once)."},
    {"snakepit_pool_load", [:capacity, :used], "Slots checked out now."},
    {"snakepit_pool_queue_length", [:queue_length], "Callers waiting for a slot now."},
    {"snakepit_pool_max_queue_size", [:max_queue_size], "The pool's max_queue_size."},
    {"snakepit_pool_native_bytes", {:workers, :native_bytes},
     "Native bytes the pool's workers hold (refc binaries, native job arguments)."},
    {"snakepit_pool_memory_bytes", {:workers, :memory},
     "Memory of the pool's workers: process memory plus native bytes held."}
  ]

  @doc "The event metrics, as maps: type, name, event, labels, value, help."
  def event_metrics do
    for {type, name, event, labels, value, help} <- @event_metrics,
        do: %{type: type, name: name, event: event, labels: labels, value: value, help: help}
  end

  @doc "The gauges: `%{name, source, help}`, each with one `pool` label."
  def gauges,
    do: for({name, source, help} <- @gauges, do: %{name: name, source: source, help: help})

  @doc "The events the metrics need."
  def events, do: @event_metrics |> Enum.map(&elem(&1, 2)) |> Enum.uniq()

  @doc "A metric's label names, in order."
  def label_names(%{labels: labels}),
    do:
      Enum.map(labels, fn
        {label, _const} -> label
        key -> key
      end)
end
