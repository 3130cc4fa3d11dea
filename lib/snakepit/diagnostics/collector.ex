defmodule Snakepit.Diagnostics.Collector do
  # What each pool has been asked to do, for the profile inspector's recommendations: per
  # pool and command, requests, errors, time from entry to result (queueing included) and
  # time on a worker; per pool, queue pressure (capacity reached, saturated, queue timeouts)
  # and worker recycles by reason.
  #
  # Fed by telemetry handlers that run in the emitting process. The hot path pays one ETS
  # read (read_concurrency) and lock-free `:counters` adds: every {pool, command} gets its
  # own counters array, created once by whichever caller sees it first (insert_new).
  # This process only owns the table and attaches the handlers.
  @moduledoc false
  use GenServer

  alias Snakepit.Telemetry

  @table __MODULE__
  @handler_id {__MODULE__, :handlers}

  # Slots of a command's counters.
  @count 1
  @errors 2
  @duration 3
  @exec_us 4
  @executed 5

  @events [
    [:snakepit, :request, :stop],
    [:snakepit, :request, :executed],
    [:snakepit, :pool, :capacity_reached],
    [:snakepit, :pool, :saturated],
    [:snakepit, :pool, :queue, :timeout],
    [:snakepit, :worker, :recycled]
  ]

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @doc """
  What pool `pool` has seen since it first served a request (or since the application
  started): `%{since_ms, requests, errors, commands: %{command => %{...}}, queue: %{...},
  recycled: %{reason => n}}`. All zeros for a pool that has seen nothing.
  """
  def workload(pool) do
    now = System.monotonic_time()

    since =
      case lookup({:first_seen, pool}) do
        nil -> now
        first -> first
      end

    commands =
      for {{:command, ^pool, command}, ref} <- entries(), into: %{} do
        count = :counters.get(ref, @count)
        executed = :counters.get(ref, @executed)
        duration_us = native_to_us(:counters.get(ref, @duration))
        exec_us = :counters.get(ref, @exec_us)

        {command,
         %{
           requests: count,
           errors: :counters.get(ref, @errors),
           total_ms: duration_us / 1000,
           exec_ms: exec_us / 1000,
           avg_ms: if(count > 0, do: duration_us / count / 1000, else: 0.0),
           avg_exec_ms: if(executed > 0, do: exec_us / executed / 1000, else: 0.0)
         }}
      end

    events =
      for {{:event, ^pool, name}, ref} <- entries(), into: %{}, do: {name, :counters.get(ref, 1)}

    %{
      since_ms: native_to_us(now - since) / 1000,
      requests: commands |> Map.values() |> Enum.map(& &1.requests) |> Enum.sum(),
      errors: commands |> Map.values() |> Enum.map(& &1.errors) |> Enum.sum(),
      exec_ms: commands |> Map.values() |> Enum.map(& &1.exec_ms) |> Enum.sum(),
      commands: commands,
      queue: %{
        capacity_reached: Map.get(events, :capacity_reached, 0),
        saturated: Map.get(events, :saturated, 0),
        queue_timeouts: Map.get(events, :queue_timeout, 0)
      },
      recycled: for({{:recycled, reason}, n} <- events, into: %{}, do: {reason, n})
    }
  end

  @doc "Forgets what `pool` has seen (a fresh start for measurements)."
  def reset(pool) do
    if :ets.whereis(@table) != :undefined do
      :ets.match_delete(@table, {{:command, pool, :_}, :_})
      :ets.match_delete(@table, {{:event, pool, :_}, :_})
      :ets.delete(@table, {:first_seen, pool})
    end

    :ok
  end

  # -- handlers (run in the process that emits the event) -----------------------------------

  @doc false
  def handle_event([:snakepit, :request, :stop], measurements, meta, _config) do
    ref = counters({:command, meta.pool, meta.command}, 5)
    error = if meta[:result] == :ok, do: 0, else: 1
    :counters.add(ref, @count, 1)
    if error == 1, do: :counters.add(ref, @errors, 1)
    :counters.add(ref, @duration, measurements.duration)
  end

  def handle_event([:snakepit, :request, :executed], measurements, meta, _config) do
    ref = counters({:command, meta.pool, meta.command}, 5)
    :counters.add(ref, @exec_us, measurements.duration_us)
    :counters.add(ref, @executed, 1)
  end

  def handle_event([:snakepit, :pool, :capacity_reached], _m, meta, _config),
    do: bump(meta.pool, :capacity_reached)

  def handle_event([:snakepit, :pool, :saturated], _m, meta, _config),
    do: bump(meta.pool, :saturated)

  def handle_event([:snakepit, :pool, :queue, :timeout], _m, meta, _config),
    do: bump(meta.pool, :queue_timeout)

  def handle_event([:snakepit, :worker, :recycled], _m, meta, _config),
    do: bump(meta.pool, {:recycled, meta.reason})

  defp bump(pool, name), do: :counters.add(counters({:event, pool, name}, 1), 1, 1)

  # The counters of `key`, created on first use. A table that is gone (the application
  # restarting) makes the handler a no-op instead of getting it detached.
  defp counters(key, size) do
    case :ets.lookup(@table, key) do
      [{_, ref}] ->
        ref

      [] ->
        ref = :counters.new(size, [:write_concurrency])

        if :ets.insert_new(@table, {key, ref}) do
          :ets.insert_new(@table, {{:first_seen, elem(key, 1)}, System.monotonic_time()})
          ref
        else
          counters(key, size)
        end
    end
  rescue
    ArgumentError -> :counters.new(size, [])
  end

  defp lookup(key) do
    case :ets.lookup(@table, key) do
      [{_, value}] -> value
      [] -> nil
    end
  rescue
    ArgumentError -> nil
  end

  defp entries do
    :ets.tab2list(@table)
  rescue
    ArgumentError -> []
  end

  defp native_to_us(native), do: System.convert_time_unit(native, :native, :microsecond)

  # -- owner process -------------------------------------------------------------------------

  @impl true
  def init(:ok) do
    :ets.new(@table, [:set, :named_table, :public, read_concurrency: true])
    {:ok, attach(0)}
  end

  @impl true
  def handle_info({:attach, tries}, _state), do: {:noreply, attach(tries)}
  def handle_info(_other, state), do: {:noreply, state}

  # With :telemetry loaded, handlers outlive this process: replace any from a previous run.
  # A host's :telemetry application may start after this one; until it runs, attaching
  # fails, so retry (for a minute) rather than take the application down.
  defp attach(tries) do
    _ = Telemetry.detach(@handler_id)
    :ok = Telemetry.attach_many(@handler_id, @events, &__MODULE__.handle_event/4, nil)
    :attached
  catch
    _, _ when tries < 60 ->
      Process.send_after(self(), {:attach, tries + 1}, 1000)
      :waiting

    kind, reason ->
      require Logger

      Logger.warning(
        "Snakepit diagnostics could not attach telemetry handlers; workload figures stay " <>
          "empty: #{Exception.format_banner(kind, reason)}"
      )

      :detached
  end

  @impl true
  def terminate(_reason, _state) do
    Telemetry.detach(@handler_id)
    :ok
  end
end
