defmodule Snakepit.Marc.FanOut do
  # Parallel processing. Native code only frames the source into batches; each batch is
  # parsed *and* handled inside a worker process, so term building, the user's function and
  # garbage collection all run in parallel. Only the function's results travel back.
  #
  # Workers are long-lived for the whole run (not a task per batch): a worker's heap grows
  # once to fit a batch and stays, instead of every batch paying for heap growth again.
  #
  # Consumer and workers monitor each other instead of linking: a worker that dies raises in
  # the consumer, and workers stop when the consumer dies. Stopping never kills a worker
  # (it may hold one of a pool's slots): a worker leaves after its current batch, and results
  # go to an alias the consumer drops first, so none arrives after the stream ends.
  @moduledoc false

  alias Snakepit.Marc
  alias Snakepit.Marc.{Options, ParseError}

  @batches_per_worker 2
  # Words; enough for a 200-record batch of ~1 KB records and its terms, so a worker does
  # not GC its way up to that size on every batch. Each record is its own off-heap binary:
  # a larger binary "virtual heap" keeps them from forcing a GC every few records.
  @worker_spawn_opts [min_heap_size: 262_144, min_bin_vheap_size: 1_048_576]

  def map(source, fun, opts) when is_function(fun, 1) and is_list(opts) do
    run_batches(source, opts, fn batch, parse_opts, strict ->
      case Marc.parse_batch(batch, parse_opts) do
        {:ok, items} -> items |> until_error(strict) |> map_results(fun)
        {:error, _} = error -> error
      end
    end)
  end

  def map(_source, fun, opts) when is_list(opts),
    do: raise(ArgumentError, "expected a function of arity 1, got: #{inspect(fun)}")

  def map(_source, _fun, opts),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  @doc """
  The fan-out of `map/3` with any per-batch work: `work.(batch, parse_opts, strict)` runs in
  a worker (under a pool slot with `:pool`) and returns `{:ok, results}`,
  `{:partial, results, %ParseError{}}` (the results of the records before a bad one: they
  arrive, then the error raises) or `{:error, %ParseError{}}`. `parse_opts` are the read
  options among `opts`, checked here; in `:strict` mode they say `:permissive` and `strict`
  is true, so that the work can keep the good records of a batch with a bad one
  (`until_error/2`).
  """
  def run_batches(source, opts, work) when is_function(work, 3) and is_list(opts),
    do: run_units(&Marc.batches(source, &1), opts, & &1, work)

  @doc """
  `run_batches/3` with consecutive batches grouped into units of work: `work.(batches,
  parse_opts, strict)` gets a list of batches, in source order, and its results stand for
  all of them. Fewer, larger units: the per-unit costs (messages, a pool request) are paid
  once for several batches. Units grow from one batch to `size` (1, 1, 2, 2, 4, 4, ...), so
  a short source still makes a unit for each worker.
  """
  def run_batch_groups(source, opts, size, work)
      when is_integer(size) and size > 0 and is_function(work, 3) and is_list(opts),
      do: run_units(&Marc.batches(source, &1), opts, &growing_groups(&1, size), work)

  @doc """
  `run_batch_groups/4` over `batches`, an enumerable of `%Snakepit.Marc.Batch{}` already cut
  (a small source read whole), instead of a source's stream of them.
  """
  def run_groups_of(batches, opts, size, work)
      when is_integer(size) and size > 0 and is_function(work, 3) and is_list(opts),
      do: run_units(fn _read_opts -> batches end, opts, &growing_groups(&1, size), work)

  defp growing_groups(batches, size) do
    Stream.chunk_while(
      batches,
      {[], 0, 0},
      fn batch, {group, n, k} ->
        if n + 1 == min(size, Bitwise.bsl(1, div(k, 2))),
          do: {:cont, Enum.reverse([batch | group]), {[], 0, k + 1}},
          else: {:cont, {[batch | group], n + 1, k}}
      end,
      fn
        {[], _, _} = acc -> {:cont, acc}
        {group, _, _} = acc -> {:cont, Enum.reverse(group), acc}
      end
    )
  end

  # `units` makes the units of work from the stream of batches `batches_of.(read_opts)`.
  defp run_units(batches_of, opts, units, work) do
    {fan_opts, read_opts} = Keyword.split(opts, Options.spec(:fan_out) |> Keyword.keys())

    %{workers: workers, ordered: ordered, timeout: timeout, pool: pool} =
      fan_config = Options.validate!(fan_opts, :fan_out)

    if fan_config.nodes == :cluster and pool == nil,
      do: raise(ArgumentError, "nodes: :cluster needs a pool: option, got: #{inspect(opts)}")

    # Checked here, before any process starts, so bad options fail in the caller.
    {parse_opts, strict} = worker_parse_opts(read_opts)
    batches = units.(batches_of.(Keyword.drop(read_opts, [:report])))

    job = %{
      work: work,
      parse_opts: parse_opts,
      strict: strict,
      pool: pool,
      timeout: timeout,
      request_opts: pool_request_opts(fan_config)
    }

    Stream.resource(
      fn -> start(batches, workers, ordered, job) end,
      &next/1,
      &stop/1
    )
  end

  defp start(batches, count, ordered, job) do
    ref = :erlang.alias()
    caller = self()
    # Set when the stream stops: a batch not yet started (queued for a pool slot, say) is
    # then skipped instead of run for nobody.
    job = Map.put(job, :stopped, :atomics.new(1, []))

    monitors =
      for _ <- 1..count, into: %{} do
        {pid, mref} =
          :erlang.spawn_opt(fn -> worker(caller, ref, job) end, [:monitor | @worker_spawn_opts])

        {mref, pid}
      end

    workers = Map.values(monitors)

    %{
      ref: ref,
      pull: puller(batches),
      # Each worker gets a second batch while it works on its first, so it never waits
      # for this process between batches.
      idle: Enum.concat(List.duplicate(workers, @batches_per_worker)),
      monitors: monitors,
      ordered: ordered,
      timeout: job.timeout,
      pool: job.pool,
      stopped: job.stopped,
      next_seq: 0,
      emit_seq: 0,
      # A bad record in strict mode: raised once the results before it are out.
      failed: nil,
      pending: %{},
      in_flight: 0,
      done: false
    }
  end

  @doc """
  The parse options a worker reads a batch with, from the read options, and whether the
  caller's mode is strict: `{parse_opts, strict}`. In strict mode a worker reads
  permissively, so the records before a bad one still arrive (`until_error/2`).
  """
  def worker_parse_opts(read_opts) do
    parse_opts = Keyword.take(read_opts, Options.parse_keys())
    strict = Options.validate!(parse_opts, :read).mode == :strict
    {if(strict, do: Keyword.put(parse_opts, :mode, :permissive), else: parse_opts), strict}
  end

  @doc """
  `items` (a batch parsed in `:permissive` mode) as a work result: in strict mode, only the
  records before the first bad one, with that error; else all of them.
  """
  def until_error(items, false), do: {:ok, items}

  def until_error(items, true) do
    case Enum.split_while(items, &(not match?({:error, %ParseError{}}, &1))) do
      {good, []} -> {:ok, good}
      {good, [{:error, error} | _]} -> {:partial, good, error}
    end
  end

  defp map_results({:ok, items}, fun), do: {:ok, Enum.map(items, fun)}
  defp map_results({:partial, items, error}, fun), do: {:partial, Enum.map(items, fun), error}

  defp next(%{failed: %ParseError{} = error}), do: raise(error)

  defp next(state) do
    state = assign(state)

    cond do
      state.ordered and Map.has_key?(state.pending, state.emit_seq) ->
        {result, pending} = Map.pop(state.pending, state.emit_seq)
        emit(result, %{state | pending: pending, emit_seq: state.emit_seq + 1})

      state.done and state.in_flight == 0 ->
        {:halt, state}

      true ->
        await(state)
    end
  end

  defp await(%{ref: ref} = state) do
    receive do
      {^ref, worker, seq, result} ->
        state = %{state | idle: [worker | state.idle], in_flight: state.in_flight - 1}

        if state.ordered,
          do: next(%{state | pending: Map.put(state.pending, seq, result)}),
          else: emit(result, state)

      {:DOWN, mref, :process, _pid, reason} when is_map_key(state.monitors, mref) ->
        raise Snakepit.Error.new(:worker_crashed,
                command: :map,
                pool: state.pool,
                exit_reason: reason
              )
    after
      timeout(state.timeout) ->
        raise Snakepit.Marc.FanOutTimeoutError, timeout: state.timeout
    end
  end

  defp timeout(:infinity), do: :infinity
  # A batch may wait behind one in-flight batch per worker before its own turn.
  defp timeout(ms), do: ms * 2

  defp emit({:ok, results}, state), do: {results, state}
  defp emit({:partial, results, error}, state), do: {results, %{state | failed: error}}
  defp emit({:error, %ParseError{} = error}, _state), do: raise(error)
  defp emit({:raise, kind, reason, stack}, _state), do: :erlang.raise(kind, reason, stack)

  defp assign(%{done: true} = state), do: state
  defp assign(%{idle: []} = state), do: state

  defp assign(%{idle: [worker | idle]} = state) do
    case state.pull.(:next) do
      :eof ->
        %{state | done: true}

      {batch, pull} ->
        send(worker, {state.ref, :batch, state.next_seq, batch})

        assign(%{
          state
          | idle: idle,
            pull: pull,
            next_seq: state.next_seq + 1,
            in_flight: state.in_flight + 1
        })
    end
  end

  defp stop(state) do
    # Late results are dropped by the VM from here on.
    :erlang.unalias(state.ref)
    :atomics.put(state.stopped, 1, 1)

    for {mref, worker} <- state.monitors do
      Process.demonitor(mref, [:flush])
      send(worker, {state.ref, :stop})
    end

    state.pull.(:halt)
    flush(state.ref)
  end

  defp flush(ref) do
    receive do
      {^ref, _, _, _} -> flush(ref)
    after
      0 -> :ok
    end
  end

  # Pulls one batch at a time from the batch stream (`pull.(:next)`); `pull.(:halt)`
  # closes it early.
  defp puller(enum) do
    reducer = fn batch, _ -> {:suspend, batch} end
    continue(&Enumerable.reduce(enum, &1, reducer))
  end

  defp continue(continuation) do
    fn
      :halt ->
        continuation.({:halt, nil})
        :ok

      :next ->
        case continuation.({:cont, nil}) do
          {:suspended, batch, next} -> {batch, continue(next)}
          {_, _} -> :eof
        end
    end
  end

  defp worker(caller, ref, job), do: worker_loop(ref, Process.monitor(caller), job)

  defp worker_loop(ref, caller_ref, job) do
    # A stop queued behind a batch wins: the batch's result would be dropped anyway.
    receive do
      {^ref, :stop} -> :ok
    after
      0 ->
        receive do
          {^ref, :batch, seq, batch} ->
            send(ref, {ref, self(), seq, run(batch, job)})
            worker_loop(ref, caller_ref, job)

          {^ref, :stop} ->
            :ok

          {:DOWN, ^caller_ref, _, _, _} ->
            :ok
        end
    end
  end

  @doc """
  The options of `Snakepit.Pool.run/3` for a batch, from the fan-out options (`:timeout`,
  `:nodes`, `:retry`; a keyword list or the validated map). A batch command of any
  fan-out (map, extract, lint) passes these, and so runs on any node with `nodes: :cluster`.
  """
  def pool_request_opts(fan_opts) do
    fan_opts = Map.new(fan_opts)

    [
      timeout: Map.get(fan_opts, :timeout, :infinity),
      nodes: Map.get(fan_opts, :nodes, :local),
      retry: Map.get(fan_opts, :retry, false)
    ]
  end

  defp run(batch, %{pool: nil} = job), do: handle(batch, job)

  defp run(batch, %{pool: pool} = job) do
    case Snakepit.Pool.run(pool, batch_fun(batch, job), job.request_opts) do
      {:ok, result} ->
        result

      {:error, %_{__exception__: true} = exception} ->
        {:raise, :error, exception, []}

      {:error, reason} ->
        error = Snakepit.Error.new(reason, pool: pool, command: :map, timeout: job.timeout)
        {:raise, :error, error, []}
    end
  end

  # On this node the batch is skipped once the stream stopped; a batch that may run on
  # another node carries only what it needs there (the stop flag is this node's).
  defp batch_fun(batch, job) do
    if job.request_opts[:nodes] == :cluster do
      if :atomics.get(job.stopped, 1) == 1 do
        fn -> {:ok, []} end
      else
        %{work: work, parse_opts: parse_opts, strict: strict} = job
        fn -> handle_anywhere(batch, work, parse_opts, strict) end
      end
    else
      fn -> handle(batch, job) end
    end
  end

  defp handle_anywhere(batch, work, parse_opts, strict) do
    work.(batch, parse_opts, strict)
  catch
    kind, reason -> {:raise, kind, reason, __STACKTRACE__}
  end

  # Errors are returned, not raised, so a bad record surfaces in the caller as the
  # ParseError it is, instead of as a crashed worker.
  defp handle(batch, %{work: work, parse_opts: parse_opts, strict: strict, stopped: stopped}) do
    # Nobody reads the result once the stream has stopped.
    if :atomics.get(stopped, 1) == 1, do: {:ok, []}, else: work.(batch, parse_opts, strict)
  catch
    kind, reason -> {:raise, kind, reason, __STACKTRACE__}
  end
end

defmodule Snakepit.Marc.FanOutTimeoutError do
  @moduledoc "Raised by `Snakepit.Marc.map/3` when no batch finishes within its `:timeout`."
  defexception [:timeout]

  @impl true
  def message(%{timeout: t}), do: "no batch finished within #{t} ms"
end
