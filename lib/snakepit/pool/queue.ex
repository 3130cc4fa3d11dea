defmodule Snakepit.Pool.Queue do
  # The bounded wait queue of a pool, kept by its manager: callers that found no free slot,
  # in order within each priority (:high, :normal, :low), each with a monitor (a caller that
  # dies leaves the queue) and one timer (its queue deadline). The manager never reserves a
  # slot for anyone: it answers a caller it takes out of the queue with a worker that has a
  # free slot, and the caller checks out again.
  #
  # Order: each caller gets a sequence number when it first queues here. A caller taken out
  # (woken) stays known as woken, still monitored and counted, until it says it checked a
  # slot out (settle/2), dies, or comes back because the slot went elsewhere (return/4): it
  # then goes back to the place its number gives it, ahead of every caller of its class
  # that queued after it (`returned` keeps those, by number).
  #
  # Priorities: out/2 serves the highest class that has callers, except that a class whose
  # callers have been passed over `starvation_limit` times in a row (a higher class served
  # while it had callers) is served next, lowest such class first. So between two callers of
  # a class served, at most `starvation_limit` callers of higher classes are served.
  #
  # `waiting` (an :atomics ref, slot 1) counts callers from their arrival at the manager until
  # they are answered with an error, leave, or check a slot out after being woken. Callers
  # take the fast path only while it is 0, so nobody takes a slot ahead of a queued or woken
  # caller. The manager counts a caller BEFORE it probes for a free slot, and workers read
  # the count AFTER freeing a slot (or notify on every full-to-not-full change), so a freed
  # slot is seen by one side or the other and no wake-up is lost.
  @moduledoc false

  @priorities [:high, :normal, :low]

  # entries: queue ref => %{from, mref, timer, priority, seq}; monitors: caller monitor =>
  # queue ref; orders/returned/live/skips: per priority, the refs in order of arrival, the
  # woken callers that came back ({seq, ref}, served first), the live callers, and how often
  # the class was passed over since it was last served. woken: queue ref => %{mref,
  # priority, seq, worker}; pending: worker id => callers woken for it and not yet settled.
  # Refs of entries gone by timeout or death stay in their order until compact/1 drops them.
  defstruct [
    :waiting,
    starvation_limit: 8,
    orders: %{high: :queue.new(), normal: :queue.new(), low: :queue.new()},
    returned: %{high: :gb_sets.new(), normal: :gb_sets.new(), low: :gb_sets.new()},
    live: %{high: 0, normal: 0, low: 0},
    skips: %{high: 0, normal: 0, low: 0},
    entries: %{},
    monitors: %{},
    woken: %{},
    pending: %{},
    next_seq: 0,
    front_seq: 0,
    poll: nil
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

  @doc "Whether any caller waits or was woken and has not checked out yet."
  def held?(%__MODULE__{entries: entries, woken: woken}),
    do: map_size(entries) > 0 or map_size(woken) > 0

  @doc "Whether `token` is a caller this queue woke that has not settled."
  def woken?(%__MODULE__{woken: woken}, token), do: is_map_key(woken, token)

  @doc "Callers woken for worker `id` that have not checked out yet."
  def pending(%__MODULE__{pending: pending}, id), do: Map.get(pending, id, 0)

  @doc """
  Queues an arrived caller (`from` of a `GenServer.call`) of `priority` for `remaining` ms:
  at the back of its class, or at the front when it lost a race for a slot this queue did
  not wake it for (a caller woken by a manager before a restart).
  """
  def add(%__MODULE__{} = q, {pid, _} = from, remaining, front?, priority \\ :normal)
      when priority in @priorities do
    qref = make_ref()
    mref = Process.monitor(pid)

    if front? do
      seq = q.front_seq - 1
      enqueue(%{q | front_seq: seq}, qref, from, mref, remaining, priority, {:returned, seq})
    else
      seq = q.next_seq
      enqueue(%{q | next_seq: seq + 1}, qref, from, mref, remaining, priority, {:order, seq})
    end
  end

  @doc """
  Puts woken caller `token` back in its place (it lost the slot it was woken for), now
  waiting as `from` for `remaining` ms: `{:ok, queue}`, or `:unknown` when this queue did
  not wake it (or it settled). It stays counted.
  """
  def return(%__MODULE__{} = q, token, from, remaining) do
    case Map.pop(q.woken, token) do
      {nil, _} ->
        :unknown

      {w, woken} ->
        q = unpend(%{q | woken: woken}, w.worker)
        {:ok, enqueue(q, token, from, w.mref, remaining, w.priority, {:returned, w.seq})}
    end
  end

  defp enqueue(q, qref, from, mref, remaining, priority, {place, seq}) do
    timer = Process.send_after(self(), {:queue_timeout, qref}, remaining)
    entry = %{from: from, mref: mref, timer: timer, priority: priority, seq: seq}

    q =
      case place do
        :order ->
          %{q | orders: %{q.orders | priority => :queue.in(qref, q.orders[priority])}}

        :returned ->
          set = :gb_sets.add({seq, qref}, q.returned[priority])
          %{q | returned: %{q.returned | priority => set}}
      end

    %{
      q
      | live: Map.update!(q.live, priority, &(&1 + 1)),
        entries: Map.put(q.entries, qref, entry),
        monitors: Map.put(q.monitors, mref, qref)
    }
  end

  @doc """
  Takes the next waiting caller out, woken for worker `worker`: `{from, token, queue}` or
  `:empty`. It stays counted until `settle/2`, `return/4` or its death.
  """
  def out(%__MODULE__{} = q, worker) do
    case next_class(q) do
      nil ->
        :empty

      class ->
        {qref, q} = next_ref(q, class)

        case unqueue(q, qref) do
          {nil, q} ->
            out(q, worker)

          {entry, q} ->
            w = %{mref: entry.mref, priority: class, seq: entry.seq, worker: worker}
            q = %{q | woken: Map.put(q.woken, qref, w)}
            q = %{q | pending: Map.update(q.pending, worker, 1, &(&1 + 1))}
            {entry.from, qref, served(q, class)}
        end
    end
  end

  # Callers that came back first (lowest number first), then the class's arrivals in order.
  defp next_ref(q, class) do
    returned = q.returned[class]

    if :gb_sets.is_empty(returned) do
      {{:value, qref}, order} = :queue.out(q.orders[class])
      {qref, %{q | orders: %{q.orders | class => order}}}
    else
      {{_seq, qref}, returned} = :gb_sets.take_smallest(returned)
      {qref, %{q | returned: %{q.returned | class => returned}}}
    end
  end

  @doc """
  Woken caller `token` checked a slot out (or gave up): `{worker, queue}` with the worker it
  was woken for, or `{nil, queue}` when it was not woken here (or settled already).
  """
  def settle(%__MODULE__{} = q, token) do
    case Map.pop(q.woken, token) do
      {nil, _} ->
        {nil, q}

      {w, woken} ->
        Process.demonitor(w.mref, [:flush])
        :atomics.sub(q.waiting, 1, 1)
        q = %{q | woken: woken, monitors: Map.delete(q.monitors, w.mref)}
        {w.worker, unpend(q, w.worker)}
    end
  end

  defp unpend(q, worker) do
    pending =
      case q.pending do
        %{^worker => 1} -> Map.delete(q.pending, worker)
        %{^worker => n} -> %{q.pending | worker => n - 1}
      end

    %{q | pending: pending}
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

  @doc """
  Forgets a queued or woken caller that died: `{:ok, queue}`, or `:error` if `mref` is no
  caller's.
  """
  def caller_down(%__MODULE__{} = q, mref) do
    case q.monitors do
      %{^mref => qref} when is_map_key(q.entries, qref) ->
        {:ok, q |> take(qref) |> elem(1) |> compact()}

      %{^mref => qref} ->
        {:ok, q |> settle(qref) |> elem(1)}

      _ ->
        :error
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

  # Out of the queue (timer cancelled), still monitored and counted.
  defp unqueue(q, qref) do
    case Map.pop(q.entries, qref) do
      {nil, _} ->
        {nil, q}

      {entry, entries} ->
        Process.cancel_timer(entry.timer)
        p = entry.priority
        # A class left empty owes nobody: its next caller starts with a clean count.
        live = Map.update!(q.live, p, &(&1 - 1))
        skips = if live[p] == 0, do: %{q.skips | p => 0}, else: q.skips
        {entry, %{q | entries: entries, live: live, skips: skips}}
    end
  end

  # Out of the queue for good: neither monitored nor counted.
  defp take(q, qref) do
    case unqueue(q, qref) do
      {nil, q} ->
        {nil, q}

      {entry, q} ->
        Process.demonitor(entry.mref, [:flush])
        :atomics.sub(q.waiting, 1, 1)
        {entry, %{q | monitors: Map.delete(q.monitors, entry.mref)}}
    end
  end

  # Timed-out and dead callers leave their ref in their order; drop them once they dominate.
  defp compact(q) do
    held =
      Enum.sum(for {_p, order} <- q.orders, do: :queue.len(order)) +
        Enum.sum(for {_p, set} <- q.returned, do: :gb_sets.size(set))

    if held > 2 * map_size(q.entries) + 16 do
      live? = &Map.has_key?(q.entries, &1)

      %{
        q
        | orders: Map.new(q.orders, fn {p, order} -> {p, :queue.filter(live?, order)} end),
          returned:
            Map.new(q.returned, fn {p, set} ->
              {p, :gb_sets.filter(fn {_seq, qref} -> live?.(qref) end, set)}
            end)
      }
    else
      q
    end
  end
end
