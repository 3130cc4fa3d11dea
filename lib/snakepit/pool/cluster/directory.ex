defmodule Snakepit.Pool.Cluster.Directory do
  # One per node (in the :snakepit application's tree): what every connected node's pools
  # have free, for routing `nodes: :cluster` requests without asking anyone.
  #
  # Every sample_interval ms it reads this node's pools (each worker's capacity and load,
  # the queue counter: no process is asked) into the table, and sends the figures to the
  # directories of the other nodes (Snakepit.Pool.Cluster.Groups) every send_interval ms,
  # or at once when a pool's free capacity moved by a quarter of its capacity since the last
  # send. A node is routable while its last snapshot is younger than stale_after ms and it
  # is connected: a node that goes down stops being chosen when the connection drops
  # (nodedown) or, for a net split the connection has not noticed, after stale_after ms.
  # The timings are the node's (Snakepit.Pool.Cluster.Options), kept in the table for
  # callers to read.
  #
  # Snapshots are sent :nosuspend: to a node cut off by a split the distribution buffer
  # fills up, and a directory that waited on it would stop serving every other node. A
  # snapshot dropped there is replaced by the next one.
  #
  # Callers count their own requests in flight per {pool, node} in the same table, and
  # routing subtracts those sent since the node's last snapshot, so a burst of callers
  # between two snapshots spreads instead of all choosing the same node.
  @moduledoc false
  use GenServer

  alias Snakepit.Pool.Cluster.{Groups, Options}
  alias Snakepit.Pool.Ref
  alias Snakepit.Telemetry

  @table __MODULE__
  # Local pools up to this many workers are read live when routing.
  @live_read 64

  @doc """
  Starts the node's directory. `opts` are the cluster timings (Snakepit.Pool.Cluster.Options);
  the :snakepit application passes `config :snakepit, :cluster`. Raises on invalid ones.
  """
  def start_link(opts \\ []) do
    timings =
      case Options.validate(opts) do
        {:ok, timings} -> timings
        {:error, message} -> raise ArgumentError, message
      end

    GenServer.start_link(__MODULE__, timings, name: __MODULE__)
  end

  @doc "The timings in use on this node (defaults when no directory runs)."
  def timings do
    lookup(:timings) || elem(Options.validate([]), 1)
  end

  @doc """
  The node to run a request of `pool` on, among `candidates` (nodes where the pool runs)
  minus `exclude`: the most free capacity, this node on a tie; nil when none is routable.
  """
  def choose(pool, candidates, exclude) do
    now = now_ms()
    me = node()
    stale_after = timings().stale_after

    scored =
      for node <- candidates,
          node not in exclude,
          routable?(node, me, now, stale_after),
          score = score(pool, node, me),
          score != nil,
          do: {{score, node == me, :rand.uniform()}, node}

    # Most free first; on a tie this node (true > false), else a random one of the tied.
    case Enum.max_by(scored, &elem(&1, 0), fn -> nil end) do
      nil -> nil
      {_score, node} -> node
    end
  end

  # This node's pool is read as it is now (a few atomics per worker) when it is small, else
  # (like another node's) from its last snapshot less what this node sent it since, so a
  # request's work does not grow with the pool.
  defp score(pool, me, me) do
    case Ref.lookup(pool) do
      nil -> nil
      ref -> if pool_size(ref) <= @live_read, do: local_free(ref), else: snapshot_score(pool, me)
    end
  end

  defp score(pool, node, _me), do: snapshot_score(pool, node)

  defp snapshot_score(pool, node) do
    case row(pool, node) do
      {free, _capacity, _qt, base} -> free - max(counter(pool, node) - base, 0)
      nil -> nil
    end
  end

  @doc "Runs `fun` counted as a request of this node's callers in flight on `node`'s `pool`."
  def outstanding(pool, node, fun) do
    key = {:out, pool, node}
    :ets.update_counter(@table, key, 1, {key, 0})

    try do
      fun.()
    after
      :ets.update_counter(@table, key, -1, {key, 0})
    end
  end

  @doc "The queue timeout `node` published for `pool` (0 when unknown)."
  def queue_timeout(pool, node) do
    case row(pool, node) do
      {_free, _capacity, queue_timeout, _base} -> queue_timeout
      nil -> 0
    end
  end

  @doc "Milliseconds since `node`'s last snapshot (0 for this node)."
  def silent_for(node) do
    if node == node() do
      0
    else
      case lookup({:seen, node}) do
        nil -> :infinity
        at -> now_ms() - at
      end
    end
  end

  @doc """
  Every routable node's pools as last published: `%{node => %{pool => %{free, capacity}}}`,
  this node included.
  """
  def snapshot do
    now = now_ms()
    me = node()
    stale_after = timings().stale_after

    for {{:row, pool, node}, free, capacity, _qt, _base} <- safe_tab2list(),
        routable?(node, me, now, stale_after),
        reduce: %{} do
      acc ->
        Map.update(
          acc,
          node,
          %{pool => %{free: free, capacity: capacity}},
          &Map.put(&1, pool, %{free: free, capacity: capacity})
        )
    end
  end

  # -- server ---------------------------------------------------------------------------

  @impl true
  def init(timings) do
    :ets.new(@table, [
      :named_table,
      :public,
      :set,
      read_concurrency: true,
      write_concurrency: true
    ])

    :ets.insert(@table, {:timings, timings})
    :ok = Groups.join_directories()
    :ok = :net_kernel.monitor_nodes(true)
    send(self(), :sample)
    # Due at once (monotonic time may be negative: 0 is not "long ago").
    sent_at = now_ms() - timings.send_interval
    {:ok, %{sent: %{}, sent_at: sent_at, up: MapSet.new(), timings: timings}}
  end

  @impl true
  def handle_info(:sample, state) do
    Process.send_after(self(), :sample, state.timings.sample_interval)
    pools = local_pools()
    put_rows(node(), pools)
    :ets.insert(@table, {{:seen, node()}, now_ms()})
    state = if broadcast?(state, pools), do: broadcast(state, pools), else: state
    {:noreply, expire_silent(state)}
  end

  def handle_info({:snakepit_snapshot, node, pools}, state) do
    put_rows(node, pools)
    :ets.insert(@table, {{:seen, node}, now_ms()})

    state =
      if MapSet.member?(state.up, node) do
        state
      else
        Telemetry.execute(
          [:snakepit, :cluster, :node, :up],
          %{system_time: System.system_time()},
          %{node: node, pools: pools |> Map.keys() |> Enum.sort()}
        )

        %{state | up: MapSet.put(state.up, node)}
      end

    {:noreply, state}
  end

  def handle_info({:nodedown, node}, state), do: {:noreply, forget(state, node, :nodedown)}
  def handle_info(_other, state), do: {:noreply, state}

  defp broadcast?(state, pools) do
    now_ms() - state.sent_at >= state.timings.send_interval or
      Enum.any?(pools, fn {pool, {free, capacity, _qt}} ->
        case state.sent do
          %{^pool => {sent_free, _, _}} -> abs(free - sent_free) * 4 >= max(capacity, 4)
          _ -> true
        end
      end)
  end

  defp broadcast(state, pools) do
    for pid <- Groups.other_directories(),
        do: :erlang.send(pid, {:snakepit_snapshot, node(), pools}, [:noconnect, :nosuspend])

    %{state | sent: pools, sent_at: now_ms()}
  end

  # Nodes whose snapshots stopped coming without a nodedown (a net split not yet noticed).
  defp expire_silent(state) do
    now = now_ms()

    Enum.reduce(state.up, state, fn node, state ->
      case lookup({:seen, node}) do
        at when is_integer(at) and now - at < state.timings.stale_after -> state
        _ -> forget(state, node, :silent)
      end
    end)
  end

  # A silent node keeps its last-seen time, so callers waiting on it can tell how long it
  # has been silent (node_down_after is longer than stale_after).
  defp forget(state, node, reason) do
    :ets.match_delete(@table, {{:row, :_, node}, :_, :_, :_, :_})
    if reason == :nodedown, do: :ets.delete(@table, {:seen, node})

    if MapSet.member?(state.up, node) do
      Telemetry.execute(
        [:snakepit, :cluster, :node, :down],
        %{system_time: System.system_time()},
        %{node: node, reason: reason}
      )
    end

    %{state | up: MapSet.delete(state.up, node)}
  end

  # %{pool => {free, capacity, queue_timeout}}: free is unused slots minus waiting callers.
  defp local_pools do
    for ref <- Ref.all(), into: %{} do
      {capacity, _load} = usage(ref)
      {ref.name, {local_free(ref), capacity, ref.config.queue_timeout}}
    end
  end

  # Unused slots less waiting callers: negative when callers queue.
  defp local_free(ref) do
    {capacity, load} = usage(ref)
    capacity - load - :atomics.get(ref.waiting, 1)
  end

  defp pool_size(ref) do
    :ets.lookup_element(ref.table, :size, 2)
  rescue
    # The pool stopped: its table went with its manager.
    ArgumentError -> 0
  end

  defp usage(ref) do
    n = pool_size(ref)

    Enum.reduce(0..(n - 1)//1, {0, 0}, fn i, {capacity, load} ->
      case :ets.lookup(ref.table, {:slot, i}) do
        [{_, handle}] ->
          {capacity + ref.profile.get_capacity(handle), load + ref.profile.get_load(handle)}

        [] ->
          {capacity, load}
      end
    end)
  catch
    # The pool stopped while it was read.
    _kind, _reason -> {0, 0}
  end

  # The rows of `node`'s pools, each with this node's in-flight count at the snapshot.
  defp put_rows(node, pools) do
    :ets.match_delete(@table, {{:row, :_, node}, :_, :_, :_, :_})

    rows =
      for {pool, {free, capacity, queue_timeout}} <- pools,
          do: {{:row, pool, node}, free, capacity, queue_timeout, counter(pool, node)}

    :ets.insert(@table, rows)
  end

  defp routable?(node, me, now, stale_after) do
    node == me or
      (node in Node.list() and
         case lookup({:seen, node}) do
           at when is_integer(at) -> now - at < stale_after
           nil -> false
         end)
  end

  defp row(pool, node) do
    case :ets.lookup(@table, {:row, pool, node}) do
      [{_, free, capacity, queue_timeout, base}] -> {free, capacity, queue_timeout, base}
      [] -> nil
    end
  rescue
    ArgumentError -> nil
  end

  defp counter(pool, node), do: lookup({:out, pool, node}) || 0

  defp lookup(key) do
    case :ets.lookup(@table, key) do
      [{_, value}] -> value
      [] -> nil
    end
  rescue
    ArgumentError -> nil
  end

  defp safe_tab2list do
    :ets.tab2list(@table)
  rescue
    ArgumentError -> []
  end

  defp now_ms, do: System.monotonic_time(:millisecond)
end
