defmodule Snakepit.Metrics.Options do
  # The options of Snakepit.Metrics (`config :snakepit, metrics: [...]` and
  # `Snakepit.Metrics.start_link/1`), in the one options schema (Snakepit.Options.Schema).
  # docs/metrics.md holds `markdown/0`'s table; a test compares them.
  @moduledoc false

  alias Snakepit.Options.Schema

  @duration_buckets [
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10
  ]
  @queue_wait_buckets [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

  @schema [
    port: [
      type: {:or, [{:int_range, 0, 65_535}, {:in, [nil]}]},
      default: nil,
      allowed: "an integer in 0..65535 (0: any free port), or `nil`",
      doc:
        "Serve `/metrics`, `/status.json` and the status page `/` on this TCP port. " <>
          "`nil`: no HTTP endpoint (the metrics are still collected and `render/0` works)."
    ],
    ip: [
      type: {:custom, &__MODULE__.ip/1, "an IPv4 or IPv6 address tuple"},
      default: {127, 0, 0, 1},
      doc:
        "The address the endpoint binds to. Loopback by default: only this machine can " <>
          "reach it. `{0, 0, 0, 0}` exposes it to every network the host is on."
    ],
    duration_buckets: [
      type: {:custom, &__MODULE__.buckets/1, "a non-empty increasing list of positive numbers"},
      default: @duration_buckets,
      doc: "Upper bounds, in seconds, of the `snakepit_request_duration_seconds` buckets."
    ],
    queue_wait_buckets: [
      type: {:custom, &__MODULE__.buckets/1, "a non-empty increasing list of positive numbers"},
      default: @queue_wait_buckets,
      doc: "Upper bounds, in seconds, of the `snakepit_request_queue_wait_seconds` buckets."
    ],
    refresh_ms: [
      type: {:int_range, 100, 60_000},
      default: 1000,
      doc: "How often the status page fetches `/status.json` again, in milliseconds."
    ]
  ]

  @doc "Validates `opts`: `{:ok, map}` or `{:error, message}`."
  def validate(opts), do: Schema.validate(opts, @schema)

  @doc "The option names."
  def keys, do: Schema.keys(@schema)

  @doc "The options as a markdown list, for `@doc` strings."
  def docs, do: Schema.docs(@schema)

  @doc "The options table of docs/metrics.md."
  def markdown, do: Schema.table(@schema)

  @doc false
  def ip(ip) when is_tuple(ip) and tuple_size(ip) in [4, 8] do
    max = if tuple_size(ip) == 4, do: 255, else: 65_535

    if Enum.all?(Tuple.to_list(ip), &(is_integer(&1) and &1 in 0..max)),
      do: {:ok, ip},
      else: :error
  end

  def ip(_ip), do: :error

  @doc false
  def buckets([_ | _] = bounds) do
    increasing? = bounds |> Enum.chunk_every(2, 1, :discard) |> Enum.all?(fn [a, b] -> a < b end)

    if Enum.all?(bounds, &(is_number(&1) and &1 > 0)) and increasing?,
      do: {:ok, bounds},
      else: :error
  end

  def buckets(_bounds), do: :error
end
