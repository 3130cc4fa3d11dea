defmodule Snakepit.Config.Options do
  # The pool option schema (Snakepit.Options.Schema): validation, defaults and
  # docs/configuration.md all come from it, so they cannot drift apart (a test compares the
  # doc with `markdown/0`).
  @moduledoc false

  alias Snakepit.Options.Schema

  @ttl_units [:seconds, :minutes, :hours]
  # Each thread is an OS thread with its own stack: past this, a typo (or a byte count in
  # the wrong key) would exhaust the machine rather than speed anything up. Four times the
  # largest core counts of today's servers.
  @max_threads_per_worker 1024

  @doc "The largest `threads_per_worker` accepted."
  def max_threads_per_worker, do: @max_threads_per_worker

  @schema [
    name: [
      type: :atom,
      default: :default,
      allowed: "an atom, unique among pools",
      doc: "The pool's name: `Snakepit.execute/3` takes it as `:pool`."
    ],
    worker_profile: [
      type: {:custom, &__MODULE__.profile/1, "a worker profile"},
      default: :process,
      allowed: "`:process`, `:thread`, or a module implementing `Snakepit.WorkerProfile`",
      doc:
        "`:process`: one process per worker, one request at a time. " <>
          "`:thread`: one native rayon pool per worker, `threads_per_worker` requests at a time."
    ],
    commands: [
      type: {:custom, &__MODULE__.commands/1, "a commands module"},
      default:
        {:computed, "`config :snakepit, :commands` (`Snakepit.Marc.Commands`)",
         &__MODULE__.default_commands/1},
      allowed: "a module implementing `Snakepit.Pool.Commands`",
      doc: "What the pool's workers run: the commands of `Snakepit.execute/3`."
    ],
    pool_size: [
      type: :pos_integer,
      default:
        {:computed, "dirty CPU schedulers (`:process`), 1 (`:thread`)",
         &__MODULE__.default_pool_size/1},
      allowed: "a positive integer",
      doc: "Number of workers."
    ],
    threads_per_worker: [
      type: {:int_range, 1, @max_threads_per_worker},
      default:
        {:computed, "`SNAKEPIT_NUM_THREADS`, else logical cores", &__MODULE__.default_threads/1},
      allowed: "an integer in 1..#{@max_threads_per_worker}",
      doc:
        "Native threads per `:thread` worker, which is also its capacity. Ignored by `:process`."
    ],
    max_queue_size: [
      type: :non_neg_integer,
      default: 1000,
      allowed: "a non-negative integer",
      doc:
        "Callers that may wait when every worker is busy; one more gets `{:error, :pool_saturated}`."
    ],
    queue_timeout: [
      type: :non_neg_integer,
      default: 5000,
      allowed: "a non-negative integer (milliseconds)",
      doc: "How long a caller waits in the queue before `{:error, :queue_timeout}`."
    ],
    priority_starvation_limit: [
      type: :pos_integer,
      default: 8,
      allowed: "a positive integer",
      doc:
        "Queued callers of higher priorities served in a row while a lower-priority caller " <>
          "waits, before that caller's class is served (`priority:` of `Snakepit.execute/3`)."
    ],
    worker_ttl: [
      type: {:custom, &__MODULE__.ttl/1, "a time to live"},
      default: :infinity,
      allowed:
        "`:infinity` or `{n, unit}` with n a positive integer, unit `:seconds`, `:minutes` or `:hours`",
      doc: "Recycle a worker after this long (with up to 10% jitter). Normalised to milliseconds."
    ],
    worker_max_requests: [
      type: {:or, [:pos_integer, {:in, [:infinity]}]},
      default: :infinity,
      allowed: "a positive integer or `:infinity`",
      doc: "Recycle a worker after this many requests (with up to 10% jitter, never above it)."
    ],
    memory_threshold_mb: [
      type: {:or, [:pos_integer, {:in, [:infinity]}]},
      default: :infinity,
      allowed: "a positive integer or `:infinity`",
      doc: "Recycle a worker whose process memory plus native bytes held exceeds this many MiB."
    ],
    health_check_interval: [
      type: {:or, [:pos_integer, {:in, [:infinity]}]},
      default: 30_000,
      allowed: "a positive integer (milliseconds) or `:infinity`",
      doc:
        "How often the lifecycle manager health-checks workers (and checks memory); " <>
          "a failing worker is replaced."
    ]
  ]

  @doc "The option schema (a `Snakepit.Options.Schema`), in documentation order."
  def schema, do: @schema

  def keys, do: Schema.keys(@schema)

  @doc """
  Validates one pool config (map or keyword list) and fills in defaults:
  `{:ok, pool_config}` or `{:error, message}`, the message naming the pool.
  """
  def validate(pool) when is_map(pool), do: validate(Map.to_list(pool))

  def validate(pool) when is_list(pool) do
    if Keyword.keyword?(pool) do
      with {:error, message} <- Schema.validate(pool, @schema),
           do: {:error, "pool #{inspect(Keyword.get(pool, :name, :default))}: " <> message}
    else
      not_a_config(pool)
    end
  end

  def validate(other), do: not_a_config(other)

  defp not_a_config(other),
    do: {:error, "a pool config must be a keyword list or a map, got: #{inspect(other)}"}

  @doc false
  def default_pool_size(%{worker_profile: :thread}), do: 1
  def default_pool_size(_config), do: :erlang.system_info(:dirty_cpu_schedulers)

  @doc false
  def default_threads(_config), do: default_threads()

  @doc """
  The default number of native threads, for a `:thread` worker and for a stream's parser:
  `SNAKEPIT_NUM_THREADS`, else the logical cores.
  """
  def default_threads, do: env_threads() || logical_cores()

  @doc """
  The thread setting and where it comes from: `{n, :env}` when `SNAKEPIT_NUM_THREADS` sets
  it, else `{logical_cores, :default}`.
  """
  def thread_setting do
    case env_threads() do
      nil -> {logical_cores(), :default}
      n -> {n, :env}
    end
  end

  @doc "Logical cores available to this OS process."
  def logical_cores do
    case :erlang.system_info(:logical_processors_available) do
      n when is_integer(n) -> n
      _ -> :erlang.system_info(:logical_processors)
    end
  end

  @doc """
  `SNAKEPIT_NUM_THREADS` as a positive integer (surrounding blanks allowed), or nil when
  unset or not one. The one place the variable is read.
  """
  def env_threads do
    with value when is_binary(value) <- System.get_env("SNAKEPIT_NUM_THREADS"),
         {n, ""} when n > 0 <- Integer.parse(String.trim(value)) do
      n
    else
      _ -> nil
    end
  end

  @doc false
  def profile(v) when v in [:process, :thread], do: {:ok, v}

  def profile(v) when is_atom(v) do
    if Code.ensure_loaded?(v) and function_exported?(v, :execute_request, 3),
      do: {:ok, v},
      else: :error
  end

  def profile(_v), do: :error

  @doc false
  def commands(v), do: if(Snakepit.Pool.Commands.check(v) == :ok, do: {:ok, v}, else: :error)

  @doc false
  def default_commands(_config), do: Application.get_env(:snakepit, :commands)

  def ttl(:infinity), do: {:ok, :infinity}

  def ttl({n, unit}) when is_integer(n) and n > 0 and unit in @ttl_units,
    do: {:ok, apply(:timer, unit, [n])}

  def ttl(_v), do: :error

  @doc """
  Validates the changes of `Snakepit.update_pool/2` with the same rules as start-up config
  (no defaults filled in): `{:ok, changes}` or `{:error, message}`. Only `updatable` keys
  are accepted.
  """
  def validate_update(pool, changes, updatable) do
    schema =
      for {key, rules} <- Keyword.take(@schema, updatable),
          do: {key, Keyword.delete(rules, :default)}

    with {:error, message} <- Schema.validate(changes, schema),
         do: {:error, "pool #{inspect(pool)}: " <> message}
  end

  @doc "The options table of docs/configuration.md."
  def markdown, do: Schema.table(@schema)
end
