defmodule Snakepit.Pool.Queue do
  # The bounded wait queue of a pool, kept by its manager: callers that found no free slot,
  # in order, each with a monitor (a caller that dies leaves the queue) and one timer (its
  # queue deadline). The manager never reserves a slot for anyone: it answers a caller it
  # takes out of the queue with a worker that has a free slot, and the caller checks out again.
  #
  # `waiting` (an :atomics ref, slot 1) counts callers from their arrival at the manager until
  # they are answered. The manager counts a caller BEFORE it probes for a free slot, and
  # workers read the count AFTER freeing a slot (or notify on every full-to-not-full change),
  # so a freed slot is seen by one side or the other and no wake-up is lost.
  @moduledoc false

  # entries: queue ref => %{from, mref, timer}; monitors: caller monitor => queue ref. Refs of
  # entries gone by timeout or death stay in `order` until compact/1 drops them.
  defstruct [:waiting, order: :queue.new(), entries: %{}, monitors: %{}, poll: nil]

  @type t :: %__MODULE__{}

  @doc "An empty queue counting its callers in `waiting`."
  def new(waiting), do: %__MODULE__{waiting: waiting}

  @doc "Counts a caller that arrived, before the manager looks for a free slot for it."
  def arrive(%__MODULE__{waiting: waiting}), do: :atomics.add(waiting, 1, 1)

  @doc "Uncounts a caller that was answered at once, without being queued."
  def leave(%__MODULE__{waiting: waiting}), do: :atomics.sub(waiting, 1, 1)

  @doc "Callers that wait."
  def size(%__MODULE__{entries: entries}), do: map_size(entries)

  @doc """
  Queues an arrived caller (`from` of a `GenServer.call`) for `remaining` ms: at the back, or
  at the front when it lost a race for the slot it was woken for.
  """
  def add(%__MODULE__{} = q, {pid, _} = from, remaining, front?) do
    qref = make_ref()
    mref = Process.monitor(pid)
    timer = Process.send_after(self(), {:queue_timeout, qref}, remaining)
    order = if front?, do: :queue.in_r(qref, q.order), else: :queue.in(qref, q.order)

    %{
      q
      | order: order,
        entries: Map.put(q.entries, qref, %{from: from, mref: mref, timer: timer}),
        monitors: Map.put(q.monitors, mref, qref)
    }
  end

  @doc "Takes the first waiting caller out: `{from, queue}` or `:empty`."
  def out(%__MODULE__{} = q) do
    case :queue.out(q.order) do
      {:empty, _} ->
        :empty

      {{:value, qref}, order} ->
        case take(%{q | order: order}, qref) do
          {nil, q} -> out(q)
          {entry, q} -> {entry.from, q}
        end
    end
  end

  @doc """
  The caller whose timer `qref` fired: `{from, queue}`, or `:none` when it was served
  already (each caller gets exactly one answer).
  """
  def expire(%__MODULE__{} = q, qref) do
    case take(q, qref) do
      {nil, _q} -> :none
      {entry, q} -> {entry.from, compact(q)}
    end
  end

  @doc "Forgets a queued caller that died: `{:ok, queue}`, or `:error` if `mref` is no caller's."
  def caller_down(%__MODULE__{} = q, mref) do
    case q.monitors do
      %{^mref => qref} -> {:ok, q |> take(qref) |> elem(1) |> compact()}
      _ -> :error
    end
  end

  @doc "Every waiting caller's `from`, for telling them all at once."
  def callers(%__MODULE__{entries: entries}), do: for({_, entry} <- entries, do: entry.from)

  @doc "Schedules one `:queue_poll` message in `ms` while callers wait and none is due."
  def schedule_poll(%__MODULE__{poll: nil, entries: entries} = q, ms) when map_size(entries) > 0,
    do: %{q | poll: Process.send_after(self(), :queue_poll, ms)}

  def schedule_poll(q, _ms), do: q

  @doc "Notes that the scheduled `:queue_poll` came."
  def polled(q), do: %{q | poll: nil}

  defp take(q, qref) do
    case Map.pop(q.entries, qref) do
      {nil, _} ->
        {nil, q}

      {entry, entries} ->
        Process.cancel_timer(entry.timer)
        Process.demonitor(entry.mref, [:flush])
        :atomics.sub(q.waiting, 1, 1)
        {entry, %{q | entries: entries, monitors: Map.delete(q.monitors, entry.mref)}}
    end
  end

  # Timed-out and dead callers leave their ref in `order`; drop them once they dominate.
  defp compact(q) do
    if :queue.len(q.order) > 2 * map_size(q.entries) + 16,
      do: %{q | order: :queue.filter(&Map.has_key?(q.entries, &1), q.order)},
      else: q
  end
end
