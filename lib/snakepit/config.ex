defmodule Snakepit.Config do
  @moduledoc """
  Pool configuration: validation, defaults, and the normalised config of running pools.

  Pools are configured under the `:snakepit` application:

      config :snakepit,
        pools: [
          [name: :default, worker_profile: :process, pool_size: 4],
          %{name: :bulk, worker_profile: :thread, threads_per_worker: 8, worker_ttl: {1, :hours}}
        ]

  Every key, its allowed values and its default are listed in `docs/configuration.md`.
  Configuration is validated once, when a pool starts; an invalid value raises an
  `ArgumentError` that names the pool, the key, the value given and what is allowed.

  A pool runs the commands of its `:commands` module (`Snakepit.Pool.Commands`). A pool that
  names none runs those of `config :snakepit, :commands`, which is `Snakepit.Marc.Commands`
  unless you set it.

  The older flat form `config :snakepit, pooling_enabled: true, pool_size: 8` is still
  accepted and means one `:default` pool with the `:process` profile.
  """

  alias Snakepit.Config.Options

  @typedoc "A normalised pool config: every key present, `worker_ttl` in milliseconds."
  @type pool_config :: %{
          name: atom,
          worker_profile: :process | :thread | module,
          commands: module,
          pool_size: pos_integer,
          threads_per_worker: pos_integer,
          max_queue_size: non_neg_integer,
          queue_timeout: non_neg_integer,
          priority_starvation_limit: pos_integer,
          worker_ttl: pos_integer | :infinity,
          worker_max_requests: pos_integer | :infinity,
          memory_threshold_mb: pos_integer | :infinity,
          health_check_interval: pos_integer | :infinity
        }

  @doc """
  The normalised config of the running pool `name`: `{:ok, config}` or
  `{:error, :pool_not_found}`.
  """
  @spec get_pool_config(atom) :: {:ok, pool_config} | {:error, :pool_not_found}
  def get_pool_config(name) do
    case Snakepit.Pool.Ref.lookup(name) do
      nil -> {:error, :pool_not_found}
      ref -> {:ok, ref.config}
    end
  end

  @doc "The names of the running pools."
  @spec pool_names() :: [atom]
  def pool_names, do: Enum.map(Snakepit.Pool.Ref.all(), & &1.name) |> Enum.sort()

  @doc "The normalised configs of the running pools, sorted by name."
  @spec running_pool_configs() :: [pool_config]
  def running_pool_configs, do: Enum.map(pool_names(), &elem(get_pool_config(&1), 1))

  @doc """
  The pools that the `:snakepit` application config asks for, validated and normalised.
  Raises `ArgumentError` on an invalid config. `env` defaults to the application env.
  """
  @spec configured_pools(keyword) :: [pool_config]
  def configured_pools(env \\ Application.get_all_env(:snakepit)) do
    pools =
      case Keyword.fetch(env, :pools) do
        {:ok, pools} when is_list(pools) ->
          pools

        {:ok, other} ->
          raise ArgumentError,
                "config :snakepit, :pools must be a list of pool configs, got: #{inspect(other)}"

        :error ->
          legacy_pools(env)
      end

    configs = Enum.map(pools, &normalize_pool!/1)
    reject_duplicates!(configs)
    configs
  end

  @doc """
  Converts the legacy flat form (`pooling_enabled: true, pool_size: n`) to a pools list:
  one `:default` `:process` pool, or no pool when pooling is not enabled.
  """
  @spec legacy_pools(keyword) :: [keyword]
  def legacy_pools(env) do
    if Keyword.get(env, :pooling_enabled, false) == true do
      [[name: :default, worker_profile: :process] ++ Keyword.take(env, [:pool_size])]
    else
      []
    end
  end

  @doc """
  Validates one pool config (map or keyword list) and fills in defaults. Raises
  `ArgumentError` naming the pool, the key, the value given and what is allowed.
  """
  @spec normalize_pool!(map | keyword) :: pool_config
  def normalize_pool!(pool) do
    case Options.validate(pool) do
      {:ok, config} -> config
      {:error, message} -> raise ArgumentError, message
    end
  end

  defp reject_duplicates!(configs) do
    configs
    |> Enum.frequencies_by(& &1.name)
    |> Enum.find(fn {_name, n} -> n > 1 end)
    |> case do
      nil ->
        :ok

      {name, _} ->
        raise ArgumentError, "duplicate pool name #{inspect(name)} in config :snakepit, :pools"
    end
  end
end
