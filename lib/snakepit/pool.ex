defmodule Snakepit.Pool do
  @moduledoc """
  A pool of workers, started by the `:snakepit` application from its config or placed in
  your own supervision tree:

      children = [
        {Snakepit.Pool, name: :marc, worker_profile: :thread, threads_per_worker: 4}
      ]

  Options are the pool keys of `docs/configuration.md`, validated when the pool starts.
  `:commands` names what the workers run (a `Snakepit.Pool.Commands` module;
  `Snakepit.Marc.Commands` unless `config :snakepit, :commands` says otherwise).

  `run/3` runs one unit of work under the pool's capacity. It is the pool layer's entry for
  the layers above it: `Snakepit.execute/3` is built on it, and so are
  `Snakepit.Marc.stream/2` and `Snakepit.Marc.map/3` with `pool:`, which hand each batch to
  a pool as a function.
  """

  use Supervisor

  alias Snakepit.Config
  alias Snakepit.Pool.{Cluster, Manager, Reconfigure, Ref, Router}

  @doc "A child spec for a pool; `opts` are the pool's config (keyword list or map)."
  def child_spec(opts), do: opts |> Config.normalize_pool!() |> validated_child_spec()

  @doc false
  # The child spec of a config that `Snakepit.Config.normalize_pool!/1` returned: it is
  # validated once (a normalised worker_ttl in milliseconds is not a valid config value).
  def validated_child_spec(config) do
    %{
      id: {__MODULE__, config.name},
      start: {__MODULE__, :start_validated, [config]},
      type: :supervisor
    }
  end

  @doc "Starts a pool under the caller. Raises `ArgumentError` on an invalid config."
  @spec start_link(keyword | map) :: Supervisor.on_start()
  def start_link(opts), do: opts |> Config.normalize_pool!() |> start_validated()

  @doc false
  # Takes a config that `Snakepit.Config.normalize_pool!/1` returned, so it is validated once.
  def start_validated(config),
    do: Supervisor.start_link(__MODULE__, config, name: Ref.supervisor(config.name))

  @doc """
  Runs `work` on one of `pool`'s workers, holding one slot of its capacity, and waits at
  most `timeout` ms for the result once it is dispatched (waiting for a free slot is bounded
  by the pool's `:queue_timeout`).

  The third argument is the dispatch timeout, or a keyword list with the request options of
  `Snakepit.execute/3`: `:timeout`, `:priority`, `:nodes` and `:retry`. With
  `nodes: :cluster`, a function may run on another node: it must be a function of a module
  loaded there too (the same code on every node), and what it closes over crosses the wire.

  `work` is `{command, args}` (see `Snakepit.execute/3`) or a zero-arity function. A
  function runs inside the worker process (`:process` profile) or, holding a native slot
  (`:thread` profile), in the caller when `timeout` is `:infinity` and in a process of its own
  otherwise; its value comes back as `{:ok, value}`.

  Returns `{:ok, result}` (or the command's own `{:ok, result, extra}`), or `{:error, reason}`
  with reason one of `:pool_not_found`, `:pool_saturated`, `:queue_timeout`, `:timeout`,
  `:worker_crashed`, or a `Snakepit.Error` / command error struct.
  """
  @spec run(atom, {atom, list} | (() -> term), timeout | keyword) ::
          {:ok, term} | {:ok, term, term} | {:error, term}
  def run(pool, work, timeout_or_opts \\ 5000)

  def run(pool, work, opts) when is_list(opts) do
    %{timeout: timeout, priority: priority, nodes: nodes, retry: retry} = run_opts!(opts)
    request = request!(work)

    case nodes do
      :local -> Router.run(pool, request, timeout, priority)
      :cluster -> Cluster.run(pool, request, timeout, priority, retry)
    end
  end

  def run(pool, work, timeout), do: Router.run(pool, request!(work), timeout)

  defp request!(fun) when is_function(fun, 0), do: {:fun, fun}
  defp request!({command, args} = request) when is_atom(command) and is_list(args), do: request

  defp request!(work),
    do:
      raise(
        ArgumentError,
        "run/3 expects {command, args} or a zero-arity function, got: #{inspect(work)}"
      )

  @run_defaults %{timeout: 5000, priority: :normal, nodes: :local, retry: false}

  @doc false
  # The options of run/3 as a keyword list (Snakepit.execute/3 documents them).
  def run_opts!(opts) do
    unless Keyword.keyword?(opts),
      do: raise(ArgumentError, "run/3 options must be a keyword list, got: #{inspect(opts)}")

    Enum.reduce(opts, @run_defaults, fn
      {:timeout, t}, acc when (is_integer(t) and t >= 0) or t == :infinity ->
        %{acc | timeout: t}

      {:priority, p}, acc when p in [:high, :normal, :low] ->
        %{acc | priority: p}

      {:nodes, n}, acc when n in [:local, :cluster] ->
        %{acc | nodes: n}

      {:retry, r}, acc when is_boolean(r) ->
        %{acc | retry: r}

      {key, value}, _acc when key in [:timeout, :priority, :nodes, :retry] ->
        raise ArgumentError, "invalid #{inspect(key)} for a pool request, got: #{inspect(value)}"

      other, _acc ->
        raise ArgumentError, "unknown option for a pool request, got: #{inspect(other)}"
    end)
  end

  @doc """
  A snapshot of the pool: worker ids, retiring worker ids, total capacity, current load and
  queue length.
  """
  @spec status(atom) :: {:ok, map} | {:error, :pool_not_found}
  def status(pool) do
    with_manager(pool, &{:ok, Manager.status(&1)})
  end

  @doc false
  # Calls `fun` with the pool's manager; `{:error, :pool_not_found}` when there is none, or
  # it is gone (a killed manager's successor may not have published itself yet).
  def with_manager(pool, fun) do
    case Ref.lookup(pool) do
      nil -> {:error, :pool_not_found}
      ref -> fun.(ref.manager)
    end
  catch
    # A manager that died before or during the call (a slow one still exits, with :timeout).
    :exit, {reason, {GenServer, :call, _}} when reason != :timeout ->
      {:error, :pool_not_found}
  end

  @impl true
  def init(config) do
    # Live config changes, kept here so restarted children start from them.
    Reconfigure.new_store(config.name)

    children = [
      {DynamicSupervisor, strategy: :one_for_one, name: Ref.worker_supervisor(config.name)},
      %{id: Manager, start: {Manager, :start_link, [config]}, shutdown: 10_000},
      {Snakepit.Lifecycle, config}
    ]

    # :rest_for_one: if the worker supervisor goes, everything restarts (the registry
    # describes its children); a restarted manager drains the workers it finds and starts
    # its own, without touching callers in flight; a restarted lifecycle reads the registry.
    # Queued callers wait for a restarted manager (Snakepit.Pool.Router).
    Supervisor.init(children, strategy: :rest_for_one)
  end
end
