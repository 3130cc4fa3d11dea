defmodule Snakepit.Metrics.Store do
  # Where the event metrics live: one ETS table holding, per metric and label set,
  # `{{name, label_values}, counters_ref}` (what rendering reads), and per event and
  # metadata, `{{event, values}, {counters_ref, ...}}` (what the handler reads: the refs of
  # every metric of that event at once). It also attaches the telemetry handler.
  #
  # The handler runs in the process that emits the event. Its cost per event is one ETS
  # read (read_concurrency) and, per metric, one or two lock-free `:counters.add/3`
  # (write_concurrency): no message, no process of ours on the hot path. A label set's
  # counters are created once, by whichever caller meets it first (insert_new decides
  # races). A counter is one slot; a histogram has one slot per bucket, one for +Inf and one
  # for the sum (native time units, integers, so no float adds).
  @moduledoc false
  use GenServer

  require Logger

  alias Snakepit.Metrics.Definitions
  alias Snakepit.Telemetry

  @table __MODULE__
  @handler_id {__MODULE__, :handler}
  @specs_key {__MODULE__, :specs}
  @events_key {__MODULE__, :events}
  # A host's :telemetry application may start after ours: attaching is retried this often,
  # this many times.
  @attach_retry_ms 1000
  @attach_tries 60

  def start_link(options), do: GenServer.start_link(__MODULE__, options, name: __MODULE__)

  @doc "The compiled metrics (event metrics with their bounds), in definition order."
  def specs, do: :persistent_term.get(@specs_key, [])

  @doc "Whether the store runs (its table exists)."
  def running?, do: :ets.whereis(@table) != :undefined

  @doc "`[{label_values, counters_ref}]` of the metric `name`, sorted by label values."
  def rows(name) do
    @table
    |> :ets.match_object({{name, :_}, :_})
    |> Enum.map(fn {{_name, values}, ref} -> {values, ref} end)
    |> Enum.sort()
  rescue
    ArgumentError -> []
  end

  @doc "Compiles the event metrics with the bucket bounds of `options`."
  def compile(options) do
    per_second = System.convert_time_unit(1, :second, :native)

    for metric <- Definitions.event_metrics() do
      case metric.type do
        :counter ->
          Map.merge(metric, %{kind: :counter, size: 1})

        {:histogram, option} ->
          seconds = Map.fetch!(options, option)
          native = seconds |> Enum.map(&round(&1 * per_second)) |> List.to_tuple()

          Map.merge(metric, %{
            kind: :histogram,
            seconds: seconds,
            bounds: native,
            size: length(seconds) + 2
          })
      end
    end
  end

  # -- the handler (runs in the emitting process) ---------------------------------------------

  @doc false
  # The metrics of `event` come from :persistent_term (read without copying), not from the
  # handler's config, which :telemetry and the built-in dispatcher copy out of ETS per event.
  def handle_event(event, measurements, metadata, _config) do
    case :persistent_term.get(@events_key, %{}) do
      %{^event => %{keys: keys, specs: specs}} ->
        observe_all(specs, event_counters(event, keys, specs, metadata), 0, measurements)

      _ ->
        :ok
    end
  end

  # The counters of every metric of `event` for this metadata, in one ETS read: a row keyed
  # by the event and the metadata values its metrics label with, holding their refs.
  defp event_counters(event, keys, specs, metadata) do
    key = {event, List.to_tuple(for k <- keys, do: Map.get(metadata, k))}

    case :ets.lookup(@table, key) do
      [{_, refs}] ->
        refs

      [] ->
        refs = specs |> Enum.map(&counters(&1, metadata)) |> List.to_tuple()
        # Every racer builds the same refs (counters/2 decides), so any insert will do.
        :ets.insert(@table, {key, refs})
        refs
    end
  rescue
    # The store stopped: count into throwaway arrays rather than get the handler detached.
    ArgumentError -> specs |> Enum.map(&:counters.new(&1.size, [])) |> List.to_tuple()
  end

  defp observe_all([], _refs, _i, _measurements), do: :ok

  defp observe_all([spec | rest], refs, i, measurements) do
    observe(spec, elem(refs, i), measurements)
    observe_all(rest, refs, i + 1, measurements)
  end

  defp observe(%{kind: :counter, value: nil}, ref, _measurements), do: :counters.add(ref, 1, 1)

  defp observe(%{kind: :counter, value: key}, ref, measurements) do
    case measurements do
      # Counters only go up.
      %{^key => n} when is_integer(n) and n > 0 -> :counters.add(ref, 1, n)
      _ -> :ok
    end
  end

  defp observe(%{kind: :histogram, value: key, bounds: bounds}, ref, measurements) do
    case measurements do
      %{^key => v} when is_integer(v) ->
        :counters.add(ref, bucket(bounds, v, 0), 1)
        :counters.add(ref, tuple_size(bounds) + 2, v)

      _ ->
        :ok
    end
  end

  # The 1-based slot of the first bound `v` does not exceed; past the last, the +Inf slot.
  defp bucket(bounds, _v, i) when i == tuple_size(bounds), do: i + 1
  defp bucket(bounds, v, i) when v <= elem(bounds, i), do: i + 1
  defp bucket(bounds, v, i), do: bucket(bounds, v, i + 1)

  # One metric's counters for one label set (what render reads), created on first use.
  defp counters(spec, metadata) do
    key = {spec.name, label_values(spec.labels, metadata)}

    case :ets.lookup(@table, key) do
      [{_, ref}] ->
        ref

      [] ->
        ref = :counters.new(spec.size, [:write_concurrency])
        if :ets.insert_new(@table, {key, ref}), do: ref, else: counters(spec, metadata)
    end
  end

  defp label_values(labels, metadata) do
    labels
    |> Enum.map(fn
      {_label, constant} -> constant
      key -> Map.get(metadata, key)
    end)
    |> List.to_tuple()
  end

  # -- owner process --------------------------------------------------------------------------

  @impl true
  def init(options) do
    # So terminate/2 runs on shutdown: handlers attached to :telemetry outlive us otherwise.
    Process.flag(:trap_exit, true)

    :ets.new(@table, [
      :set,
      :named_table,
      :public,
      read_concurrency: true,
      write_concurrency: true
    ])

    specs = compile(options)
    :persistent_term.put(@specs_key, specs)

    by_event =
      specs
      |> Enum.group_by(& &1.event)
      |> Map.new(fn {event, specs} ->
        keys = specs |> Enum.flat_map(& &1.labels) |> Enum.filter(&is_atom/1) |> Enum.uniq()
        {event, %{keys: keys, specs: specs}}
      end)

    :persistent_term.put(@events_key, by_event)
    events = Map.keys(by_event)
    {:ok, attach(events, 0)}
  end

  @impl true
  def handle_info({:attach, events, tries}, _state), do: {:noreply, attach(events, tries)}
  def handle_info(_other, state), do: {:noreply, state}

  # Handlers attached with :telemetry outlive this process: any from a previous run goes.
  defp attach(events, tries) do
    _ = Telemetry.detach(@handler_id)
    :ok = Telemetry.attach_many(@handler_id, events, &__MODULE__.handle_event/4, nil)
    :attached
  catch
    _kind, _reason when tries < @attach_tries ->
      Process.send_after(self(), {:attach, events, tries + 1}, @attach_retry_ms)
      :waiting

    kind, reason ->
      Logger.warning(
        "Snakepit.Metrics could not attach its telemetry handler; event metrics stay at " <>
          "zero: #{Exception.format_banner(kind, reason)}"
      )

      :detached
  end

  @impl true
  def terminate(_reason, _state) do
    Telemetry.detach(@handler_id)
    :persistent_term.erase(@events_key)
    :persistent_term.erase(@specs_key)
    :ok
  end
end
