defmodule Snakepit.Pool.Queue do
  # The bounded wait queue of a pool, kept by its manager: callers that found no free slot,
  # in order within each priority (:high, :normal, :low), each with a monitor (a caller that
  # dies leaves the queue) and one timer (its queue deadline). The manager never reserves a
  # slot for anyone: it answers a caller it takes out of the queue with a worker that has a
  # free slot, and the caller checks out again.
  #
  # Priorities: out/1 serves the highest class that has callers, except that a class whose
  # callers have been passed over `starvation_limit` times in a row (a higher class served
  # while it had callers) is served next, lowest such class first. So between two callers of
  # a class served, at most `starvation_limit` callers of higher classes are served.
  #
  # `waiting` (an :atomics ref, slot 1) counts callers from their arrival at the manager until
  # they are answered. The manager counts a caller BEFORE it probes for a free slot, and
  # workers read the count AFTER freeing a slot (or notify on every full-to-not-full change),
  # so a freed slot is seen by one side or the other and no wake-up is lost.
  @moduledoc false

  @priorities [:high, :normal, :low]

  # entries: queue ref => %{from, mref, timer, priority}; monitors: caller monitor => queue
  # ref; orders/live/skips: per priority, the refs in order, the live callers, and how often
  # the class was passed over since it was last served. Refs of entries gone by timeout or
  # death stay in their order until compact/1 drops them.
  defstruct [
    :waiting,
    starvation_limit: 8,
    orders: %{high: :queue.new(), normal: :queue.new(), low: :queue.new()},
    live: %{high: 0, normal: 0, low: 0},
    skips: %{high: 0, normal: 0, low: 0},
    entries: %{},
    monitors: %{},
    poll: nil,
    # Workers whose free slots were handed to callers since the last poll: the poll leaves
    # them to those callers rather than waking more for the same slot.
    woken: MapSet.new()
  ]

  @type t :: %__MODULE__{}
  @type priority :: :high | :normal | :low

  @doc "The priorities, highest first."
  def priorities, do: @priorities

  @doc """
  An empty queue counting its callers in `waiting`; a class is passed over at most
  `starvation_limit` times in a row.
  """
  def new(waiting, starvation_limit \\ 8),
    do: %__MODULE__{waiting: waiting, starvation_limit: starvation_limit}

  @doc "Changes the starvation limit of a running queue."
  def set_starvation_limit(%__MODULE__{} = q, limit), do: %{q | starvation_limit: limit}

  @doc "Counts a caller that arrived, before the manager looks for a free slot for it."
  def arrive(%__MODULE__{waiting: waiting}), do: :atomics.add(waiting, 1, 1)

  @doc "Uncounts a caller that was answered at once, without being queued."
  def leave(%__MODULE__{waiting: waiting}), do: :atomics.sub(waiting, 1, 1)

  @doc "Callers that wait."
  def size(%__MODULE__{entries: entries}), do: map_size(entries)

  @doc "Callers that wait, by priority."
  def sizes(%__MODULE__{live: live}), do: live

  @doc """
  Queues an arrived caller (`from` of a `GenServer.call`) of `priority` for `remaining` ms:
  at the back of its class, or at the front when it lost a race for the slot it was woken for.
  """
  def add(%__MODULE__{} = q, {pid, _} = from, remaining, front?, priority \\ :normal)
      when priority in @priorities do
    qref = make_ref()
    mref = Process.monitor(pid)
    timer = Process.send_after(self(), {:queue_timeout, qref}, remaining)
    order = q.orders[priority]
    order = if front?, do: :queue.in_r(qref, order), else: :queue.in(qref, order)
    entry = %{from: from, mref: mref, timer: timer, priority: priority}

    %{
      q
      | orders: %{q.orders | priority => order},
        live: Map.update!(q.live, priority, &(&1 + 1)),
        entries: Map.put(q.entries, qref, entry),
        monitors: Map.put(q.monitors, mref, qref)
    }
  end

  @doc "Takes the next waiting caller out: `{from, queue}` or `:empty`."
  def out(%__MODULE__{} = q) do
    case next_class(q) do
      nil ->
        :empty

      class ->
        {{:value, qref}, order} = :queue.out(q.orders[class])
        q = %{q | orders: %{q.orders | class => order}}

        case take(q, qref) do
          {nil, q} -> out(q)
          {entry, q} -> {entry.from, served(q, class)}
        end
    end
  end

  # The lowest class passed over too often, else the highest class with callers.
  defp next_class(q) do
    starved =
      Enum.find(Enum.reverse(@priorities), fn p ->
        q.live[p] > 0 and q.skips[p] >= q.starvation_limit
      end)

    starved || Enum.find(@priorities, &(q.live[&1] > 0))
  end

  # `class` was served: the classes below it that have callers were passed over once more.
  defp served(q, class) do
    skips =
      @priorities
      |> Enum.drop_while(&(&1 != class))
      |> tl()
      |> Enum.reduce(%{q.skips | class => 0}, fn p, skips ->
        if q.live[p] > 0, do: Map.update!(skips, p, &(&1 + 1)), else: skips
      end)

    %{q | skips: skips}
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

  @doc "Notes that callers were pointed at worker `id`'s free slots."
  def woke(q, id), do: %{q | woken: MapSet.put(q.woken, id)}

  @doc "Whether callers were pointed at worker `id` since the last poll."
  def woken?(q, id), do: MapSet.member?(q.woken, id)

  @doc "Forgets the wakes before a poll."
  def clear_woken(q), do: %{q | woken: MapSet.new()}

  defp take(q, qref) do
    case Map.pop(q.entries, qref) do
      {nil, _} ->
        {nil, q}

      {entry, entries} ->
        Process.cancel_timer(entry.timer)
        Process.demonitor(entry.mref, [:flush])
        :atomics.sub(q.waiting, 1, 1)
        p = entry.priority
        # A class left empty owes nobody: its next caller starts with a clean count.
        live = Map.update!(q.live, p, &(&1 - 1))
        skips = if live[p] == 0, do: %{q.skips | p => 0}, else: q.skips

        {entry,
         %{
           q
           | entries: entries,
             live: live,
             skips: skips,
             monitors: Map.delete(q.monitors, entry.mref)
         }}
    end
  end

  # Timed-out and dead callers leave their ref in their order; drop them once they dominate.
  defp compact(q) do
    held = Enum.sum(for {_p, order} <- q.orders, do: :queue.len(order))

    if held > 2 * map_size(q.entries) + 16 do
      orders =
        Map.new(q.orders, fn {p, order} ->
          {p, :queue.filter(&Map.has_key?(q.entries, &1), order)}
        end)

      %{q | orders: orders}
    else
      q
    end
  end
end
