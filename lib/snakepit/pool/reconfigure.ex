defmodule Snakepit.Pool.Reconfigure do
  # What a live config change means for a running pool, decided from the old config and the
  # validated changes alone (the manager carries it out): which keys really changed, and
  # whether the pool must resize, replace its workers one at a time (their capacity and
  # request limit are fixed when they start), or tell its lifecycle process.
  @moduledoc false

  alias Snakepit.Pool.Ref

  # Keys that a running pool accepts, and what a change of each needs beyond the new config
  # (which the manager republishes for callers, and which new workers start with).
  @effects %{
    pool_size: :resize,
    threads_per_worker: :roll,
    worker_max_requests: :roll,
    max_queue_size: :config,
    queue_timeout: :config,
    priority_starvation_limit: :queue,
    worker_ttl: :lifecycle,
    memory_threshold_mb: :lifecycle,
    health_check_interval: :lifecycle
  }

  @doc "Creates the pool's table of saved changes (in its supervisor, which owns it)."
  def new_store(pool), do: :ets.new(Ref.overrides(pool), [:named_table, :public, :set])

  @doc "Saves the changed keys (`%{key => {old, new}}`) for restarts of the pool's processes."
  def save(pool, changed) do
    :ets.insert(Ref.overrides(pool), for({key, {_old, new}} <- changed, do: {key, new}))
  rescue
    # A manager run outside a pool supervisor (no table): nothing outlives it anyway.
    ArgumentError -> true
  end

  @doc "`config` with the saved changes of its pool applied."
  def restore(config) do
    Map.merge(config, Map.new(:ets.tab2list(Ref.overrides(config.name))))
  rescue
    ArgumentError -> config
  end

  @doc "The keys `Snakepit.update_pool/2` accepts."
  def keys, do: @effects |> Map.keys() |> Enum.sort()

  @doc """
  `{config, changed, effects}`: the new config, the changed keys as `%{key => {old, new}}`,
  and the set of effects (`:resize`, `:roll`, `:queue`, `:lifecycle`) they need.
  """
  def plan(config, changes) do
    changed =
      for {key, new} <- changes, Map.fetch!(config, key) != new, into: %{} do
        {key, {Map.fetch!(config, key), new}}
      end

    config = Map.merge(config, Map.new(changed, fn {key, {_old, new}} -> {key, new} end))
    effects = changed |> Map.keys() |> Enum.map(&Map.fetch!(@effects, &1)) |> MapSet.new()
    {config, changed, effects}
  end
end
