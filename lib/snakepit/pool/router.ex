defmodule Snakepit.Pool.Router do
  # The hot path, run in the caller: read a few routable workers from ETS, try them from the
  # least loaded down (each attempt is an atomic check-out inside the profile), and only when
  # those are full, or other callers wait (the pool's `waiting` count), ask the manager for a
  # place in the queue. A manager restart is not the caller's problem: it waits for the new
  # manager instead of failing.
  @moduledoc false

  alias Snakepit.Pool.Ref
  alias Snakepit.Telemetry

  # Pools up to this size are tried whole; larger ones at this many random workers before
  # the caller asks the manager (which probes again, and wakes it when a slot frees).
  @scan_all 8
  @samples 8
  # While a pool's manager restarts, look for the new one this often.
  @rejoin_poll 5
  # How long a new caller waits for a pool whose manager is starting.
  @restart_wait 5_000

  @spec run(atom, Snakepit.WorkerProfile.request(), timeout, :high | :normal | :low) ::
          {:ok, term} | {:ok, term, term} | {:error, term}
  def run(pool, request, timeout, priority \\ :normal) do
    case Ref.lookup(pool) do
      nil -> starting(pool, request, {timeout, priority})
      ref -> instrumented(ref, request, {timeout, priority})
    end
  end

  # No manager published: the pool is not running, or its manager is (re)starting, in which
  # case the caller waits for it as a queued caller would, up to @restart_wait.
  defp starting(pool, request, {timeout, priority}) do
    deadline =
      System.monotonic_time() + System.convert_time_unit(@restart_wait, :millisecond, :native)

    case await_ref(pool, nil, deadline) do
      {:ok, ref} -> instrumented(ref, request, {timeout, priority})
      {:error, _} = error -> error
    end
  end

  defp instrumented(ref, request, {timeout, priority}) do
    command = command_name(request)

    meta = %{
      pool: ref.name,
      command: command,
      profile: ref.config.worker_profile,
      worker: nil,
      node: node()
    }

    ctx = make_ref()
    start = System.monotonic_time()

    Telemetry.execute(
      [:snakepit, :request, :start],
      %{system_time: System.system_time(), monotonic_time: start},
      Map.put(meta, :telemetry_span_context, ctx)
    )

    try do
      dispatch(ref, request, {timeout, priority}, nil)
    catch
      kind, reason ->
        stop = System.monotonic_time()

        Telemetry.execute(
          [:snakepit, :request, :exception],
          %{duration: stop - start, monotonic_time: stop},
          Map.merge(meta, %{
            kind: kind,
            reason: reason,
            stacktrace: __STACKTRACE__,
            telemetry_span_context: ctx
          })
        )

        :erlang.raise(kind, reason, __STACKTRACE__)
    else
      {result, worker_id, ran_at} ->
        stop = System.monotonic_time()
        status = if elem(result, 0) == :ok, do: :ok, else: :error

        Telemetry.execute(
          [:snakepit, :request, :stop],
          %{duration: stop - start, queue_time: (ran_at || stop) - start, monotonic_time: stop},
          %{meta | worker: worker_id} |> Map.merge(%{result: status, telemetry_span_context: ctx})
        )

        if worker_id do
          Telemetry.execute(
            [:snakepit, :request, :executed],
            %{duration_us: System.convert_time_unit(stop - ran_at, :native, :microsecond)},
            %{pool: ref.name, worker_id: worker_id, command: command, success: status == :ok}
          )
        end

        result
    end
  end

  # `woken` is nil, or `{handle, token}` when the manager answered this caller with a
  # worker to try (token: its place in the manager's queue, nil when it was not queued).
  # Only a woken caller, or any caller while nobody waits (`ref.waiting` is 0), may take a
  # slot: a caller that finds others waiting queues behind them instead of barging in.
  defp dispatch(ref, request, {timeout, priority}, since, woken \\ nil) do
    hint = if woken, do: elem(woken, 0)

    with true <- woken != nil or :atomics.get(ref.waiting, 1) == 0,
         {:ok, handles} <- sample(ref, hint) do
      case attempt(ref, handles, request, timeout, woken) do
        {:done, result, worker_id, ran_at} -> {result, worker_id, ran_at}
        :all_busy -> wait(ref, request, {timeout, priority}, since, woken)
      end
    else
      false ->
        wait(ref, request, {timeout, priority}, since, nil)

      # The manager that owned the table is dead (killed): wait for its successor.
      :gone ->
        rejoin(ref, request, {timeout, priority}, since || System.monotonic_time())
    end
  end

  # A caller the manager woke from its queue tells it when it holds a slot (or gave up), so
  # the manager stops counting it as waiting: profiles with execute_request/4 call back at
  # the check-out itself; for others it is told just before the first try. Telling it twice
  # is harmless (the second finds nothing); a profile that raises still tells it.
  defp attempt(ref, handles, request, timeout, {_hint, token}) when token != nil do
    manager = ref.manager
    settle = fn -> GenServer.cast(manager, {:checked_out, token}) end
    on_checkout = if function_exported?(ref.profile, :execute_request, 4), do: settle
    unless on_checkout, do: settle.()

    try do
      try_workers(free_first(ref.profile, handles), ref.profile, request, timeout, on_checkout)
    catch
      kind, reason ->
        settle.()
        :erlang.raise(kind, reason, __STACKTRACE__)
    else
      # Possibly refused before any check-out (an invalid request).
      {:done, {:error, _}, _, _} = done ->
        settle.()
        done

      other ->
        other
    end
  end

  defp attempt(ref, handles, request, timeout, _woken),
    do: try_workers(free_first(ref.profile, handles), ref.profile, request, timeout, nil)

  defp try_workers([], _profile, _request, _timeout, _on_checkout), do: :all_busy

  defp try_workers([handle | rest], profile, request, timeout, on_checkout) do
    ran_at = System.monotonic_time()

    result =
      if on_checkout,
        do: profile.execute_request(handle, request, timeout, on_checkout),
        else: profile.execute_request(handle, request, timeout)

    case result do
      {:error, :at_capacity} -> try_workers(rest, profile, request, timeout, on_checkout)
      result -> {:done, result, handle.id, ran_at}
    end
  end

  # A few workers to try: every worker of a small pool (from a random offset), a few random
  # ones of a large pool, so the work and the memory a caller spends here do not grow with
  # the pool. Random picks spread equal-load choices. The worker the manager named on waking
  # the caller (`hint`) comes first.
  defp sample(ref, hint) do
    n = :ets.lookup_element(ref.table, :size, 2)
    offset = random(n, 0)

    indices =
      if n <= @scan_all,
        do: for(k <- 0..(n - 1)//1, do: rem(k + offset, n)),
        else: [offset | for(k <- 1..(@samples - 1), do: random(n, k))]

    sampled =
      for i <- Enum.uniq(indices),
          [{_, handle}] <- [:ets.lookup(ref.table, {:slot, i})],
          hint == nil or handle.id != hint.id,
          do: handle

    {:ok, if(hint, do: [hint | sampled], else: sampled)}
  rescue
    # The table went with its owner.
    ArgumentError -> :gone
  end

  # Those with a free slot, most free slots first (a stable sort: ties keep their random
  # order, and the hint its place).
  defp free_first(profile, handles) do
    handles
    |> Enum.flat_map(fn handle ->
      free = profile.get_capacity(handle) - profile.get_load(handle)
      if free > 0, do: [{free, handle}], else: []
    end)
    |> Enum.sort_by(&elem(&1, 0), :desc)
    |> Enum.map(&elem(&1, 1))
  end

  # A well-mixed index below n (`rem` of a unique integer alone is not: on one scheduler
  # they step by a power of two, which sent every request of a caller to the same worker).
  defp random(0, _salt), do: 0
  defp random(n, salt), do: :erlang.phash2({:erlang.unique_integer(), salt}, n)

  # Asks the manager for a place in the queue. `retry` tells it who asks: false for a new
  # caller, `{:woken, token}` for a caller it woke that lost the slot (back to its place),
  # true for one that lost a slot it was pointed at without queueing, or that comes from a
  # restarted manager (front of its class).
  defp wait(ref, request, {timeout, priority}, since, woken) do
    {since, retry} =
      case {since, woken} do
        {nil, _} -> {System.monotonic_time(), false}
        {since, {_hint, token}} when token != nil -> {since, {:woken, token}}
        {since, _} -> {since, true}
      end

    try do
      GenServer.call(ref.manager, {:wait, since, retry, priority}, :infinity)
    catch
      :exit, _ -> rejoin(ref, request, {timeout, priority}, since)
    else
      {:retry, handle, token} ->
        dispatch(ref, request, {timeout, priority}, since, {handle, token})

      :manager_down ->
        rejoin(ref, request, {timeout, priority}, since)

      {:error, _} = error ->
        {error, nil, nil}
    end
  end

  # The manager went away while we waited. If the pool's supervisor is still there it is
  # restarting the manager: queue again at the new one, within our original queue deadline,
  # instead of failing a caller whom a retry after the restart would have served.
  defp rejoin(old, request, {timeout, priority}, since) do
    deadline = since + System.convert_time_unit(old.config.queue_timeout, :millisecond, :native)

    case await_ref(old.name, old.manager, deadline) do
      {:ok, ref} -> dispatch(ref, request, {timeout, priority}, since)
      {:error, _} = error -> {error, nil, nil}
    end
  end

  # The pool's current Ref once a live manager other than `gone` publishes it; :pool_not_found
  # once the pool's supervisor is gone (the pool was stopped); :queue_timeout at `deadline`.
  defp await_ref(pool, gone, deadline) do
    case Ref.lookup(pool) do
      %Ref{manager: manager} = ref when manager != gone ->
        if Process.alive?(manager), do: {:ok, ref}, else: retry_await(pool, gone, deadline)

      _stale_or_none ->
        retry_await(pool, gone, deadline)
    end
  end

  defp retry_await(pool, gone, deadline) do
    cond do
      not Ref.alive?(pool) ->
        {:error, :pool_not_found}

      System.monotonic_time() >= deadline ->
        {:error, :queue_timeout}

      true ->
        Process.sleep(@rejoin_poll)
        await_ref(pool, gone, deadline)
    end
  end

  defp command_name({:fun, _}), do: :fun
  defp command_name({command, _args}), do: command
  defp command_name(other), do: other
end
