defmodule Snakepit.Pool.Cluster.Options do
  # The cluster timings of a node (`config :snakepit, cluster: [...]`), in the one options
  # schema (Snakepit.Options.Schema). docs/cluster.md holds `markdown/0`'s table; a test
  # compares them. They are the node's, not a pool's: one capacity directory per node
  # serves every pool. Give every node the same values: a node judges another's silence by
  # its own `stale_after`, so a sender slower than that would flap in and out of routing.
  @moduledoc false

  alias Snakepit.Options.Schema

  @schema [
    sample_interval: [
      type: {:int_range, 10, 60_000},
      default: 100,
      allowed: "an integer in 10..60000 (milliseconds)",
      doc: "How often the node's capacity directory reads this node's pools (a few atomics each)."
    ],
    send_interval: [
      type: {:int_range, 10, 60_000},
      default: 250,
      allowed: "an integer in 10..60000 (milliseconds), at least `sample_interval`",
      doc:
        "How often it sends their figures to the other nodes (at once, at the next sample, " <>
          "when a pool's free capacity moved by a quarter of its capacity)."
    ],
    stale_after: [
      type: {:int_range, 20, 600_000},
      default: 1000,
      allowed: "an integer in 20..600000 (milliseconds), more than `send_interval`",
      doc:
        "Routing stops choosing a connected node whose last snapshot is this old (a net " <>
          "split the connection has not noticed yet)."
    ],
    node_down_after: [
      type: {:int_range, 20, 600_000},
      default: 3000,
      allowed: "an integer in 20..600000 (milliseconds), at least `stale_after`",
      doc:
        "A caller waiting on a node whose last snapshot is this old gets " <>
          "`{:error, {:node_down, node}}` (and is retried elsewhere with `retry: true`)."
    ]
  ]

  @doc "The option schema (a `Snakepit.Options.Schema`), in documentation order."
  def schema, do: @schema

  @doc "The option names."
  def keys, do: Schema.keys(@schema)

  @doc "The options table of docs/cluster.md."
  def markdown, do: Schema.table(@schema)

  @doc "Validates `opts`: `{:ok, map}` (every key, defaults filled in) or `{:error, message}`."
  def validate(opts) do
    with {:ok, t} <- Schema.validate(opts, @schema) do
      cond do
        t.send_interval < t.sample_interval ->
          order_error(":send_interval must be at least :sample_interval", t)

        t.stale_after <= t.send_interval ->
          order_error(":stale_after must be more than :send_interval", t)

        t.node_down_after < t.stale_after ->
          order_error(":node_down_after must be at least :stale_after", t)

        true ->
          {:ok, t}
      end
    end
  end

  defp order_error(what, t), do: {:error, "#{what}, got: #{inspect(Map.to_list(t))}"}

  @doc """
  The timings of `config :snakepit, :cluster` (defaults when absent), validated: raises
  `ArgumentError` naming the key, so a bad config stops the application.
  """
  def configured!(env \\ Application.get_all_env(:snakepit)) do
    case validate(Keyword.get(env, :cluster) || []) do
      {:ok, timings} -> timings
      {:error, message} -> raise ArgumentError, "config :snakepit, :cluster: " <> message
    end
  end
end
