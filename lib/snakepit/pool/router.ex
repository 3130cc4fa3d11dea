defmodule Snakepit.Pool.Router do
  # The hot path, run in the caller: read the routable workers from ETS, try them from the
  # least loaded down (each attempt is an atomic check-out inside the profile), and only when
  # all are full ask the manager for a place in the queue.
  @moduledoc false

  alias Snakepit.Pool.Ref
  alias Snakepit.Telemetry

  @spec run(atom, Snakepit.WorkerProfile.request(), timeout) ::
          {:ok, term} | {:ok, term, term} | {:error, term}
  def run(pool, request, timeout) do
    case Ref.lookup(pool) do
      nil -> {:error, :pool_not_found}
      ref -> instrumented(ref, request, timeout)
    end
  end

  defp instrumented(ref, request, timeout) do
    command = command_name(request)
    meta = %{pool: ref.name, command: command, profile: ref.config.worker_profile, worker: nil}
    ctx = make_ref()
    start = System.monotonic_time()

    Telemetry.execute(
      [:snakepit, :request, :start],
      %{system_time: System.system_time(), monotonic_time: start},
      Map.put(meta, :telemetry_span_context, ctx)
    )

    try do
      dispatch(ref, request, timeout, nil)
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
          %{duration: stop - start, monotonic_time: stop},
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

  defp dispatch(ref, request, timeout, since) do
    workers = :ets.lookup_element(ref.table, :active, 2)

    case try_workers(least_loaded_first(ref.profile, workers), ref.profile, request, timeout) do
      {:done, result, worker_id, ran_at} -> {result, worker_id, ran_at}
      :all_busy -> wait(ref, request, timeout, since)
    end
  end

  defp try_workers([], _profile, _request, _timeout), do: :all_busy

  defp try_workers([handle | rest], profile, request, timeout) do
    ran_at = System.monotonic_time()

    case profile.execute_request(handle, request, timeout) do
      {:error, :at_capacity} -> try_workers(rest, profile, request, timeout)
      result -> {:done, result, handle.id, ran_at}
    end
  end

  # Workers with a free slot, most free slots first. The list is rotated by a cheap
  # pseudo-random offset first, so that ties do not all land on the first worker.
  defp least_loaded_first(_profile, []), do: []

  defp least_loaded_first(profile, workers) do
    n = length(workers)
    {front, back} = Enum.split(workers, rem(:erlang.unique_integer([:positive]), n))

    (back ++ front)
    |> Enum.flat_map(fn h ->
      free = profile.get_capacity(h) - profile.get_load(h)
      if free > 0, do: [{free, h}], else: []
    end)
    |> Enum.sort_by(&elem(&1, 0), :desc)
    |> Enum.map(&elem(&1, 1))
  end

  defp wait(ref, request, timeout, since) do
    {since, retry?} = if since, do: {since, true}, else: {System.monotonic_time(), false}

    try do
      GenServer.call(ref.manager, {:wait, since, retry?}, :infinity)
    catch
      # The pool stopped while we waited.
      :exit, _ -> {{:error, :pool_not_found}, nil, nil}
    else
      :retry -> dispatch(ref, request, timeout, since)
      {:error, _} = error -> {error, nil, nil}
    end
  end

  defp command_name({:fun, _}), do: :fun
  defp command_name({command, _args}), do: command
  defp command_name(other), do: other
end
