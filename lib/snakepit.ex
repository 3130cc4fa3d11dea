defmodule Snakepit do
  @moduledoc """
  MARC 21 / ISO 2709 work through supervised worker pools.

      {:ok, records} = Snakepit.execute(:parse, [File.read!("records.mrc")])
      {:ok, %{records: n, errors: 0}} = Snakepit.execute(:count, [bytes], pool: :bulk)

  Pools are configured under `config :snakepit, pools: [...]` (see `Snakepit.Config` and
  `docs/configuration.md`) or started in your own supervision tree with `Snakepit.Pool`.
  Each pool runs one of two worker profiles (`Snakepit.WorkerProfile`): `:process`, one
  process per worker and one request at a time, or `:thread`, one native thread pool per
  worker.

  ## Commands

  A pool runs the commands of its command module (its `:commands` option, a
  `Snakepit.Pool.Commands`). By default that is `Snakepit.Marc.Commands`:

    * `:parse` - `[binary]` or `[binary, opts]`, as `Snakepit.Marc.parse/2`
    * `:encode` - `[records]`, as `Snakepit.Marc.encode/1`; returns `{:ok, iodata}`
    * `:to_json`, `:to_xml` - `[records]` or `[records, opts]`, as `Snakepit.Marc.to_json/2`
      and `Snakepit.Marc.to_xml/2`
    * `:validate` - `[binary]` or `[binary, opts]`; returns `{:ok, errors}`
    * `:scan` - `[binary]`; returns `{:ok, [{offset, length}]}`
    * `:count` - `[binary]` or `[binary, opts]`; returns `{:ok, %{records: n, errors: m}}`

  Every pool also runs `:ping` - `[term]`; returns `{:ok, term}` (a round trip, for
  benchmarks). Any other command is `{:error, %Snakepit.Error{reason: :unsupported_command}}`.

  ## Errors

  Pool-level failures are tagged tuples: `{:error, :pool_not_found}`,
  `{:error, :pool_saturated}` (all workers busy and the queue full), `{:error, :queue_timeout}`
  (no worker became free within the pool's `:queue_timeout`), `{:error, :timeout}` (no result
  within `:timeout`), `{:error, :worker_crashed}`. Command failures are
  `{:error, %Snakepit.Error{}}` or the command's own error such as
  `{:error, %Snakepit.Marc.ParseError{}}`. `execute!/3` raises instead, with a message that
  names the pool (and says so when the `:snakepit` application is not started).

  A pool's internal restarts are not failures: a caller queued when the pool's manager
  restarts waits for the new one (within its `:queue_timeout`) and is served there.

  ## Telemetry

  See `Snakepit.Telemetry` and `docs/telemetry.md`.
  """

  @default_timeout 5000

  @doc """
  Runs `command` with `args` on a worker of a pool.

  ## Options

    * `:pool` - the pool's name (default `:default`)
    * `:timeout` - milliseconds to wait for the result once the request is dispatched
      (default `#{@default_timeout}`); time spent queued is bounded by the pool's
      `:queue_timeout`
    * `:priority` - `:high`, `:normal` (default) or `:low`: the order in which callers that
      wait for a free worker are served. Higher classes go first, but a waiting caller is
      passed over by at most the pool's `:priority_starvation_limit` callers of higher
      classes (see `docs/configuration.md`). Within a class, waiting callers are served in
      arrival order, and while any caller waits, a new caller queues behind it rather than
      taking a freed worker
    * `:nodes` - `:local` (default: this node's pool) or `:cluster`: the least-loaded pool
      of that name on any connected node, this node on a tie (see `docs/cluster.md`)
    * `:retry` - with `nodes: :cluster`, `true` retries a request once on another node when
      the node running it goes down (for idempotent commands: all the built-in ones are).
      Default `false`

  Returns `{:ok, result}` or `{:error, reason}` as described in the module doc; with
  `nodes: :cluster` also `{:error, {:node_down, node}}` when the node running the request
  went down or stopped answering.
  """
  @spec execute(atom, list, keyword) :: {:ok, term} | {:ok, term, term} | {:error, term}
  def execute(command, args \\ [], opts \\ []) do
    {pool, run_opts} = request_opts!(opts)

    unless is_atom(command) and is_list(args) do
      raise ArgumentError,
            "execute/3 expects a command atom and an argument list, got: #{inspect(command)}, #{inspect(args)}"
    end

    Snakepit.Pool.run(pool, {command, args}, run_opts)
  end

  @doc """
  Like `execute/3` but returns the result and raises `Snakepit.Error` (or the command's
  own exception, such as `Snakepit.Marc.ParseError`) on failure.
  """
  @spec execute!(atom, list, keyword) :: term
  def execute!(command, args \\ [], opts \\ []) do
    case execute(command, args, opts) do
      {:ok, result} ->
        result

      {:ok, result, _extra} ->
        result

      {:error, %_{__exception__: true} = exception} ->
        raise exception

      {:error, reason} ->
        raise Snakepit.Error.new(reason,
                pool: Keyword.get(opts, :pool, :default),
                command: command,
                timeout: Keyword.get(opts, :timeout, @default_timeout)
              )
    end
  end

  @doc """
  Recycles one worker gracefully: its replacement starts first, it stops taking requests,
  its in-flight requests finish, then it stops. Worker ids are listed by `pool_status/1`.
  Returns `:ok`, `{:error, :worker_not_found}` or `{:error, :pool_not_found}`.
  """
  @spec recycle_worker(atom, pos_integer) :: :ok | {:error, :worker_not_found | :pool_not_found}
  def recycle_worker(pool, worker_id) do
    Snakepit.Pool.with_manager(pool, &Snakepit.Pool.Manager.recycle(&1, worker_id, :manual))
  end

  @doc """
  Changes the number of workers of a running pool. Growing starts workers at once;
  shrinking takes the least loaded workers out of routing at once and stops each when its
  in-flight requests have finished. Emits `[:snakepit, :pool, :reconfigured]`.
  Returns `{:ok, config}` (the pool's new config) or `{:error, :pool_not_found}`; raises
  `ArgumentError` when `size` is not a positive integer.
  """
  @spec resize_pool(atom, pos_integer) :: {:ok, map} | {:error, :pool_not_found}
  def resize_pool(pool, size), do: update_pool(pool, pool_size: size)

  @doc """
  Changes the config of a running pool, validated with the rules of start-up config
  (`docs/configuration.md`; an invalid value raises `ArgumentError`). Accepted keys:
  `:pool_size` (as `resize_pool/2`), `:max_queue_size`, `:queue_timeout`,
  `:priority_starvation_limit` (from the next caller on), `:worker_ttl`,
  `:memory_threshold_mb`, `:health_check_interval` (from the next check; TTLs are counted
  again from each worker's start), and `:threads_per_worker`, `:worker_max_requests`, which
  workers take only when they start: every worker is then replaced, one at a time, its
  replacement started before it leaves, so capacity never drops. Emits
  `[:snakepit, :pool, :reconfigured]` with the changed keys.
  Returns `{:ok, config}` or `{:error, :pool_not_found}`.
  """
  @spec update_pool(atom, keyword) :: {:ok, map} | {:error, :pool_not_found}
  def update_pool(pool, changes) do
    unless is_atom(pool), do: raise(ArgumentError, "pool must be an atom, got: #{inspect(pool)}")

    case Snakepit.Config.Options.validate_update(pool, changes, Snakepit.Pool.Reconfigure.keys()) do
      {:ok, changes} ->
        Snakepit.Pool.with_manager(pool, &Snakepit.Pool.Manager.update(&1, changes))

      {:error, message} ->
        raise ArgumentError, message
    end
  end

  @doc """
  A snapshot of a pool: `%{pool, profile, workers, retiring, capacity, load, queue_length,
  queued_by_priority, pool_size}`.
  Returns `{:ok, status}` or `{:error, :pool_not_found}`.
  """
  @spec pool_status(atom) :: {:ok, map} | {:error, :pool_not_found}
  def pool_status(pool), do: Snakepit.Pool.status(pool)

  defp request_opts!(opts) do
    unless Keyword.keyword?(opts),
      do: raise(ArgumentError, "execute/3 options must be a keyword list, got: #{inspect(opts)}")

    {pool, opts} = Keyword.pop(opts, :pool, :default)
    {timeout, opts} = Keyword.pop(opts, :timeout, @default_timeout)
    {run_opts, opts} = Keyword.split(opts, [:priority, :nodes, :retry])

    unless is_atom(pool), do: raise(ArgumentError, ":pool must be an atom, got: #{inspect(pool)}")

    unless (is_integer(timeout) and timeout >= 0) or timeout == :infinity,
      do:
        raise(
          ArgumentError,
          ":timeout must be a non-negative integer or :infinity, got: #{inspect(timeout)}"
        )

    if opts != [],
      do: raise(ArgumentError, "unknown options for execute/3, got: #{inspect(opts)}")

    run_opts = [timeout: timeout] ++ run_opts
    # Checked here, so a bad value fails before anything is routed.
    Snakepit.Pool.run_opts!(run_opts)
    {pool, run_opts}
  end
end
