defmodule Snakepit.Telemetry do
  @moduledoc """
  Telemetry events emitted by Snakepit, and a dispatcher that works without `:telemetry`.

  The backend is chosen once, when the `:snakepit` application starts: if `:telemetry` can
  be loaded then, every event goes through `:telemetry.execute/3` and handlers are attached
  with `:telemetry` as usual (the functions here delegate to it). Otherwise a built-in
  dispatcher with the same shape is used: `attach/4`, `attach_many/4`, `detach/1`,
  `execute/3` and `span/3`; handlers attached through these functions keep receiving events
  for the life of the VM, and if `:telemetry` is loaded later each event is also forwarded to
  `:telemetry.execute/3` for handlers attached there. A handler that raises is detached and
  logged, as with `:telemetry`.

  The events, their measurements and metadata are listed in `docs/telemetry.md`; `events/0`
  returns the same list as data.
  """

  require Logger

  @events [
    %{
      event: [:snakepit, :request, :start],
      measurements: [:system_time, :monotonic_time],
      metadata: [:pool, :command, :profile, :worker, :node, :telemetry_span_context],
      doc:
        "A request enters a pool (before it is routed, so `worker` is nil). `node` is the " <>
          "node whose pool runs it (`node()` of the emitting node)."
    },
    %{
      event: [:snakepit, :request, :stop],
      measurements: [:duration, :queue_time, :monotonic_time],
      metadata: [:pool, :command, :profile, :worker, :node, :result, :telemetry_span_context],
      doc:
        "A request returned. `duration` (native units) covers queueing and execution; " <>
          "`queue_time` (native units) is the part before the dispatch that ran it (all of " <>
          "`duration` when no worker ran it); `result` is `:ok` or `:error`; `worker` is the " <>
          "id of the worker that ran it, or nil."
    },
    %{
      event: [:snakepit, :request, :exception],
      measurements: [:duration, :monotonic_time],
      metadata: [
        :pool,
        :command,
        :profile,
        :worker,
        :node,
        :kind,
        :reason,
        :stacktrace,
        :telemetry_span_context
      ],
      doc:
        "A request raised or exited in the calling process (for instance a `:fun` unit of work)."
    },
    %{
      event: [:snakepit, :request, :executed],
      measurements: [:duration_us],
      metadata: [:pool, :worker_id, :command, :success],
      doc:
        "As in Snakepit v0.6: a request ran on a worker; `duration_us` in microseconds, from " <>
          "dispatch to result."
    },
    %{
      event: [:snakepit, :pool, :capacity_reached],
      measurements: [:capacity, :load, :queue_size],
      metadata: [:pool, :profile],
      doc:
        "Every worker was at capacity and a caller joined the wait queue. `capacity` is the " <>
          "pool's total; `load` is its load as the manager saw it (equal to `capacity`: no " <>
          "worker it probed had a free slot); `queue_size` counts the caller just queued."
    },
    %{
      event: [:snakepit, :pool, :saturated],
      measurements: [:queue_size, :max_queue_size],
      metadata: [:pool, :profile, :available_workers, :busy_workers],
      doc:
        "Every worker was busy and the queue was full: a caller got `{:error, :pool_saturated}`. " <>
          "Named as in Snakepit v0.6."
    },
    %{
      event: [:snakepit, :pool, :queue, :timeout],
      measurements: [:queue_timeout],
      metadata: [:pool, :profile],
      doc: "A queued caller got `{:error, :queue_timeout}` (emitted once per such caller)."
    },
    %{
      event: [:snakepit, :worker, :started],
      measurements: [:system_time],
      metadata: [:pool, :profile, :worker, :capacity, :replaces],
      doc: "A worker started; `replaces` is the id of the worker it replaces, or nil."
    },
    %{
      event: [:snakepit, :worker, :recycled],
      measurements: [:uptime, :request_count, :memory],
      metadata: [:pool, :profile, :worker, :reason],
      doc:
        "A worker left the pool: after its in-flight requests finished for `:ttl`, " <>
          "`:max_requests`, `:memory`, `:manual`, `:reconfigured` (a rolling replacement " <>
          "of `Snakepit.update_pool/2`) and `:resized` (a pool shrunk: no replacement), at " <>
          "once for `:health_check` and `:crashed` (a replacement is started in every case " <>
          "but `:resized`). `uptime` in native " <>
          "units, `memory` in bytes (process plus native bytes held; for `:memory`, the " <>
          "amount that triggered it)."
    },
    %{
      event: [:snakepit, :worker, :health_check_failed],
      measurements: [:system_time],
      metadata: [:pool, :profile, :worker, :reason],
      doc: "A worker failed its health check and is being replaced."
    },
    %{
      event: [:snakepit, :records, :read],
      measurements: [:count],
      metadata: [],
      doc:
        "Records were read (per batch or call, not per record): `count` good records built " <>
          "by `parse/2`, `parse_batch/2`, `stream/2`, `map/3`, `each/3`, `extract/3`, `from_json/2`, " <>
          "`from_xml/2` or a pool's `:parse` command."
    },
    %{
      event: [:snakepit, :records, :bad],
      measurements: [:count],
      metadata: [:kind],
      doc:
        "Bad records were met by the same readers: `count` of one `kind` (a " <>
          "`Snakepit.Marc.ParseError` kind) per batch or call. In `:skip` mode the reader " <>
          "drops bad records unseen and only counts them: they come as `kind: :skipped`."
    },
    # -- live reconfiguration and clusters (Snakepit.update_pool/2, docs/cluster.md) --------
    %{
      event: [:snakepit, :pool, :reconfigured],
      measurements: [:system_time, :workers, :capacity],
      metadata: [:pool, :profile, :changes, :pool_size],
      doc:
        "A running pool's config changed (`Snakepit.update_pool/2`, `Snakepit.resize_pool/2`). " <>
          "`changes` maps each changed key to `{old, new}`; `pool_size` is the new target; " <>
          "`workers` and `capacity` are the routable workers and their slots just after the " <>
          "change (a resize or rolling replacement goes on from there)."
    },
    %{
      event: [:snakepit, :cluster, :request, :stop],
      measurements: [:duration],
      metadata: [:pool, :command, :node, :result, :retried],
      doc:
        "A `nodes: :cluster` request that ran on another node returned, on the calling node " <>
          "(the node that ran it emits the `[:snakepit, :request, ...]` events). `node` is that " <>
          "node; `result` is `:ok`, `:error` or `:node_down`; `retried` is true when this " <>
          "was the retry on another node. `duration` in native units, wire included."
    },
    %{
      event: [:snakepit, :cluster, :node, :up],
      measurements: [:system_time],
      metadata: [:node, :pools],
      doc:
        "A node's first capacity snapshot arrived: routing may choose it from now on. " <>
          "`pools` are the names of its pools."
    },
    %{
      event: [:snakepit, :cluster, :node, :down],
      measurements: [:system_time],
      metadata: [:node, :reason],
      doc:
        "Routing stopped choosing a node: `reason` is `:nodedown` (the connection dropped) " <>
          "or `:silent` (no snapshot for a second: a net split the connection has not noticed)."
    }
  ]

  @doc "Every event Snakepit emits, with its measurement and metadata keys."
  @spec events() :: [%{event: [atom], measurements: [atom], metadata: [atom], doc: String.t()}]
  def events, do: @events

  @doc "The event names."
  @spec event_names() :: [[atom]]
  def event_names, do: Enum.map(@events, & &1.event)

  @doc "Attaches `fun` (`fun.(event, measurements, metadata, config)`) to `event`."
  @spec attach(term, [atom], function, term) :: :ok | {:error, :already_exists}
  def attach(id, event, fun, config), do: attach_many(id, [event], fun, config)

  @doc "Attaches `fun` to each of `events` under one handler id."
  @spec attach_many(term, [[atom]], function, term) :: :ok | {:error, :already_exists}
  def attach_many(id, events, fun, config) when is_function(fun, 4) do
    if backend() == :telemetry,
      do: apply(:telemetry, :attach_many, [id, events, fun, config]),
      else: Snakepit.Telemetry.Dispatcher.attach_many(id, events, fun, config)
  end

  @doc "Detaches the handler `id`."
  @spec detach(term) :: :ok | {:error, :not_found}
  def detach(id) do
    if backend() == :telemetry,
      do: apply(:telemetry, :detach, [id]),
      else: Snakepit.Telemetry.Dispatcher.detach(id)
  end

  @doc """
  Whether any handler listens to `event`, so an emitter can skip the work of measuring
  what nobody reads.
  """
  @spec handled?([atom]) :: boolean
  def handled?(event) do
    Snakepit.Telemetry.Dispatcher.handled?(event) or
      (:erlang.module_loaded(:telemetry) and apply(:telemetry, :list_handlers, [event]) != [])
  end

  @doc "Emits `event` to its handlers."
  @spec execute([atom], map, map) :: :ok
  def execute(event, measurements, metadata \\ %{}) do
    if backend() == :telemetry do
      apply(:telemetry, :execute, [event, measurements, metadata])
    else
      Snakepit.Telemetry.Dispatcher.execute(event, measurements, metadata)
      # :telemetry loaded after the choice: its handlers get the event too.
      if :erlang.module_loaded(:telemetry),
        do: apply(:telemetry, :execute, [event, measurements, metadata])

      :ok
    end
  end

  @doc """
  Runs `fun` between `prefix ++ [:start]` and `prefix ++ [:stop]` (or `[:exception]` if it
  raises, throws or exits). `fun` returns `{result, stop_metadata}`; `span/3` returns `result`.
  """
  @spec span([atom], map, (() -> {term, map})) :: term
  def span(prefix, start_metadata, fun) when is_function(fun, 0) do
    if backend() == :telemetry do
      apply(:telemetry, :span, [prefix, start_metadata, fun])
    else
      ctx = make_ref()
      start = System.monotonic_time()
      start_metadata = Map.put(start_metadata, :telemetry_span_context, ctx)

      execute(
        prefix ++ [:start],
        %{system_time: System.system_time(), monotonic_time: start},
        start_metadata
      )

      try do
        {result, stop_metadata} = fun.()
        stop = System.monotonic_time()

        execute(
          prefix ++ [:stop],
          %{duration: stop - start, monotonic_time: stop},
          Map.put(stop_metadata, :telemetry_span_context, ctx)
        )

        result
      catch
        kind, reason ->
          stop = System.monotonic_time()

          execute(
            prefix ++ [:exception],
            %{duration: stop - start, monotonic_time: stop},
            Map.merge(start_metadata, %{kind: kind, reason: reason, stacktrace: __STACKTRACE__})
          )

          :erlang.raise(kind, reason, __STACKTRACE__)
      end
    end
  end

  @backend_key {__MODULE__, :backend}

  @doc false
  # `:telemetry` or `:builtin`. Chosen once per VM (`choose_backend/0`, from the
  # dispatcher's start): a choice made per call sent events away from handlers attached to
  # the built-in dispatcher as soon as `:telemetry` got loaded.
  @spec backend() :: :telemetry | :builtin
  def backend do
    case :persistent_term.get(@backend_key, nil) do
      nil -> choose_backend()
      backend -> backend
    end
  end

  @doc false
  def choose_backend do
    case :persistent_term.get(@backend_key, nil) do
      nil ->
        backend = if Code.ensure_loaded?(:telemetry), do: :telemetry, else: :builtin
        :persistent_term.put(@backend_key, backend)
        backend

      backend ->
        backend
    end
  end

  @doc false
  # Runs one handler; a handler that raises is detached and logged.
  def invoke_handler(id, fun, event, measurements, metadata, config) do
    fun.(event, measurements, metadata, config)
  rescue
    e ->
      Snakepit.Telemetry.Dispatcher.detach(id)

      Logger.error(
        "Snakepit.Telemetry handler #{inspect(id)} raised and was detached: " <>
          Exception.format(:error, e, __STACKTRACE__)
      )
  catch
    kind, reason ->
      Snakepit.Telemetry.Dispatcher.detach(id)

      Logger.error(
        "Snakepit.Telemetry handler #{inspect(id)} failed and was detached: " <>
          Exception.format(kind, reason, __STACKTRACE__)
      )
  end
end
