defmodule Snakepit.Config.Options do
  # The pool option specs as data: validation, defaults and docs/configuration.md all come
  # from this list, so they cannot drift apart (a test compares the doc with `markdown/0`).
  @moduledoc false

  @ttl_units [:seconds, :minutes, :hours]
  # Each thread is an OS thread with its own stack: past this, a typo (or a byte count in
  # the wrong key) would exhaust the machine rather than speed anything up. Four times the
  # largest core counts of today's servers.
  @max_threads_per_worker 1024

  @doc "The largest `threads_per_worker` accepted."
  def max_threads_per_worker, do: @max_threads_per_worker

  @specs [
    name: [
      type: :atom,
      default: :default,
      allowed: "an atom, unique among pools",
      doc: "The pool's name: `Snakepit.execute/3` takes it as `:pool`."
    ],
    worker_profile: [
      type: :profile,
      default: :process,
      allowed: "`:process`, `:thread`, or a module implementing `Snakepit.WorkerProfile`",
      doc:
        "`:process`: one process per worker, one request at a time. " <>
          "`:thread`: one native rayon pool per worker, `threads_per_worker` requests at a time."
    ],
    commands: [
      type: :commands,
      default: {:computed, "`config :snakepit, :commands` (`Snakepit.Marc.Commands`)"},
      allowed: "a module implementing `Snakepit.Pool.Commands`",
      doc: "What the pool's workers run: the commands of `Snakepit.execute/3`."
    ],
    pool_size: [
      type: :pos_integer,
      default: {:computed, "dirty CPU schedulers (`:process`), 1 (`:thread`)"},
      allowed: "a positive integer",
      doc: "Number of workers."
    ],
    threads_per_worker: [
      type: {:int_range, 1, @max_threads_per_worker},
      default: {:computed, "`SNAKEPIT_NUM_THREADS`, else logical cores"},
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
    worker_ttl: [
      type: :ttl,
      default: :infinity,
      allowed:
        "`:infinity` or `{n, unit}` with n a positive integer, unit `:seconds`, `:minutes` or `:hours`",
      doc: "Recycle a worker after this long (with up to 10% jitter). Normalised to milliseconds."
    ],
    worker_max_requests: [
      type: {:pos_integer_or, :infinity},
      default: :infinity,
      allowed: "a positive integer or `:infinity`",
      doc: "Recycle a worker after this many requests (with up to 10% jitter, never above it)."
    ],
    memory_threshold_mb: [
      type: {:pos_integer_or, :infinity},
      default: :infinity,
      allowed: "a positive integer or `:infinity`",
      doc: "Recycle a worker whose process memory plus native bytes held exceeds this many MiB."
    ],
    health_check_interval: [
      type: {:pos_integer_or, :infinity},
      default: 30_000,
      allowed: "a positive integer (milliseconds) or `:infinity`",
      doc:
        "How often the lifecycle manager health-checks workers (and checks memory); " <>
          "a failing worker is replaced."
    ]
  ]

  @doc "The option specs, in documentation order."
  def specs, do: @specs

  def keys, do: Keyword.keys(@specs)

  @doc "The default for `key` given the (already validated) profile."
  def default(:pool_size, :thread), do: 1
  def default(:pool_size, _custom), do: :erlang.system_info(:dirty_cpu_schedulers)
  def default(:threads_per_worker, _profile), do: env_threads() || logical_cores()
  def default(:commands, _profile), do: Application.get_env(:snakepit, :commands)
  def default(key, _profile), do: Keyword.fetch!(@specs, key)[:default]

  @doc "Logical cores available to this OS process."
  def logical_cores do
    case :erlang.system_info(:logical_processors_available) do
      n when is_integer(n) -> n
      _ -> :erlang.system_info(:logical_processors)
    end
  end

  @doc "`SNAKEPIT_NUM_THREADS` as a positive integer, or nil when unset or not one."
  def env_threads do
    with value when is_binary(value) <- System.get_env("SNAKEPIT_NUM_THREADS"),
         {n, ""} when n > 0 <- Integer.parse(String.trim(value)) do
      n
    else
      _ -> nil
    end
  end

  @doc """
  Validates one value. Returns `{:ok, normalised}` or `{:error, allowed}` where `allowed`
  says what the key accepts.
  """
  def check(key, value) do
    spec = Keyword.fetch!(@specs, key)

    case check_type(spec[:type], value) do
      {:ok, normalised} -> {:ok, normalised}
      :error -> {:error, spec[:allowed]}
    end
  end

  defp check_type(:atom, v) when is_atom(v) and not is_nil(v) and not is_boolean(v), do: {:ok, v}
  defp check_type(:pos_integer, v) when is_integer(v) and v > 0, do: {:ok, v}
  defp check_type(:non_neg_integer, v) when is_integer(v) and v >= 0, do: {:ok, v}

  defp check_type({:int_range, min, max}, v) when is_integer(v) and v >= min and v <= max,
    do: {:ok, v}

  defp check_type(:profile, v) when v in [:process, :thread], do: {:ok, v}

  defp check_type(:profile, v) when is_atom(v) do
    if Code.ensure_loaded?(v) and function_exported?(v, :execute_request, 3),
      do: {:ok, v},
      else: :error
  end

  defp check_type(:commands, v),
    do: if(Snakepit.Pool.Commands.check(v) == :ok, do: {:ok, v}, else: :error)

  defp check_type({:pos_integer_or, atom}, atom), do: {:ok, atom}
  defp check_type({:pos_integer_or, _}, v) when is_integer(v) and v > 0, do: {:ok, v}
  defp check_type(:ttl, :infinity), do: {:ok, :infinity}

  defp check_type(:ttl, {n, unit}) when is_integer(n) and n > 0 and unit in @ttl_units,
    do: {:ok, apply(:timer, unit, [n])}

  defp check_type(_type, _v), do: :error

  @doc "The options table of docs/configuration.md."
  def markdown do
    rows =
      for {key, spec} <- @specs do
        "| `#{key}` | #{spec[:allowed]} | #{default_doc(spec[:default])} | #{spec[:doc]} |"
      end

    Enum.join(
      ["| key | allowed values | default | meaning |", "| --- | --- | --- | --- |" | rows],
      "\n"
    ) <>
      "\n"
  end

  defp default_doc({:computed, text}), do: text
  defp default_doc(value), do: "`#{inspect(value)}`"
end
