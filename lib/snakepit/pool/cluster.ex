defmodule Snakepit.Pool.Cluster do
  # Requests with `nodes: :cluster`: the caller picks the node whose pool of that name has
  # the most free capacity (from the snapshots in Snakepit.Pool.Cluster.Directory: no call
  # per request), this node on a tie, and runs the request there.
  #
  # A remote request is a process spawned on the chosen node (Node.spawn_monitor/4, by a
  # local courier process, so the caller itself never blocks on a full distribution
  # buffer) that runs the pool's ordinary router there and sends the result to an alias of
  # the caller. The monitor turns a lost connection into {:error, {:node_down, node}} at
  # once; a node that stays connected but silent (no snapshot for node_down_after ms, an
  # option of Snakepit.Pool.Cluster.Options: a net split the connection has not noticed
  # yet) fails its callers the same way, checked every @check ms (or a quarter of
  # node_down_after, if that is less). Giving up unaliases, kills the courier and drops what
  # it sent, so a late reply or :DOWN never reaches the caller's mailbox. Arguments (and
  # what a function closes over) cross the wire as they are: binaries are sent as bytes,
  # never as per-record terms. A list result (a parse's records, a scan's spans) comes back
  # in slices of at most @slice elements, one message each, joined by the caller: one
  # message of the whole list would be encoded there and decoded here in one go, holding a
  # normal scheduler on each node for as long as its hundreds of MB take.
  @moduledoc false

  alias Snakepit.Pool.Cluster.{Directory, Groups}
  alias Snakepit.Pool.Router
  alias Snakepit.Telemetry

  # How often a waiting caller looks at the node it waits on.
  @check 250
  # Beyond its own timeout and queue timeout, how long a remote request may take on the wire.
  @wire_slack 2_000
  # Elements of a list result per message back: 256 records of a parse are about 2 MB.
  @slice 256

  @spec run(atom, Snakepit.WorkerProfile.request(), timeout, atom, boolean) ::
          {:ok, term} | {:ok, term, term} | {:error, term}
  def run(pool, request, timeout, priority, retry?) do
    case Directory.choose(pool, Groups.pool_nodes(pool), []) do
      nil -> Router.run(pool, request, timeout, priority)
      node -> on_node(node, pool, request, timeout, priority, retry?, false)
    end
  end

  defp on_node(node, pool, request, timeout, priority, _retry?, _retried?) when node == node(),
    do: Directory.outstanding(pool, node, fn -> Router.run(pool, request, timeout, priority) end)

  defp on_node(node, pool, request, timeout, priority, retry?, retried?) do
    start = System.monotonic_time()

    result =
      Directory.outstanding(pool, node, fn -> remote(node, pool, request, timeout, priority) end)

    Telemetry.execute(
      [:snakepit, :cluster, :request, :stop],
      %{duration: System.monotonic_time() - start},
      %{
        pool: pool,
        command: command_name(request),
        node: node,
        result: result_tag(result),
        retried: retried?
      }
    )

    maybe_retry(result, pool, request, timeout, priority, retry?, retried?)
  end

  # Once, on another node, and only for a node that went down.
  defp maybe_retry(
         {:error, {:node_down, down}} = error,
         pool,
         request,
         timeout,
         priority,
         true,
         false
       ) do
    case Directory.choose(pool, Groups.pool_nodes(pool), [down]) do
      nil -> error
      node -> on_node(node, pool, request, timeout, priority, true, true)
    end
  end

  defp maybe_retry(result, _pool, _request, _timeout, _priority, _retry?, _retried?),
    do: result

  defp remote(node, pool, request, timeout, priority) do
    reply_to = :erlang.alias()
    courier = courier(node, reply_to, [reply_to, pool, request, timeout, priority])

    guard =
      case timeout do
        :infinity -> :infinity
        ms -> now_ms() + ms + Directory.queue_timeout(pool, node) + @wire_slack
      end

    %{node_down_after: down_after} = Directory.timings()

    wait = %{
      node: node,
      guard: guard,
      down_after: down_after,
      check: min(@check, div(down_after, 4))
    }

    try do
      await(reply_to, wait, [])
    after
      :erlang.unalias(reply_to)
      dismiss(courier, reply_to)
    end
  end

  # Kills the courier (it may be suspended on a full distribution buffer: an exit signal
  # reaches it anyway, and nothing waits for it) and drops what it or the remote process
  # sent that was not read. The alias is gone, so nothing sent to it arrives after.
  defp dismiss(courier, reply_to) do
    Process.exit(courier, :kill)
    flush(reply_to)
  end

  defp flush(reply_to) do
    receive do
      {^reply_to, _late} -> flush(reply_to)
    after
      0 -> :ok
    end
  end

  # The process that sends the request to `node` and watches the process running it there,
  # telling the caller's alias how it ended: `{reply_to, {:down, reason}}`. The caller never
  # sends to `node` itself: once a net split has filled the distribution buffer, a sender
  # (a spawn, even a demonitor) is suspended until the connection drops, net_ticktime
  # later. A courier may be; the caller kills it when it gives up. It goes with its caller.
  defp courier(node, reply_to, args) do
    caller = self()

    spawn(fn ->
      caller_ref = Process.monitor(caller)
      {_pid, mref} = Node.spawn_monitor(node, __MODULE__, :serve, args)

      receive do
        {:DOWN, ^mref, :process, _pid, reason} -> send(reply_to, {reply_to, {:down, reason}})
        {:DOWN, ^caller_ref, :process, _pid, _reason} -> :ok
      end
    end)
  end

  # `slices`: the slices of a list result received so far, the last first.
  defp await(reply_to, %{node: node, guard: guard} = wait, slices) do
    receive do
      {^reply_to, {:slice, slice}} -> await(reply_to, wait, [slice | slices])
      {^reply_to, {:sliced, result}} -> joined(result, slices)
      {^reply_to, {:raised, kind, reason, stacktrace}} -> :erlang.raise(kind, reason, stacktrace)
      {^reply_to, {:down, :noconnection}} -> {:error, {:node_down, node}}
      # The process running it there was killed (or ended without a reply): as a worker
      # crash here.
      {^reply_to, {:down, _reason}} -> {:error, :worker_crashed}
      {^reply_to, result} -> result
    after
      wait.check ->
        cond do
          Directory.silent_for(node) >= wait.down_after -> {:error, {:node_down, node}}
          guard != :infinity and now_ms() >= guard -> {:error, :timeout}
          true -> await(reply_to, wait, slices)
        end
    end
  end

  defp joined(result, slices) do
    list = Enum.reduce(slices, [], &(&1 ++ &2))
    put_elem(result, 1, list)
  end

  @doc false
  # Runs on the chosen node, in a process of its own: the pool's ordinary router, its
  # result (or what it raised) sent back to the caller's alias.
  def serve(reply_to, pool, request, timeout, priority) do
    result =
      try do
        Router.run(pool, request, timeout, priority)
      catch
        kind, reason -> {:raised, kind, reason, __STACKTRACE__}
      end

    reply(reply_to, result)
  end

  # `{:ok, list}` and `{:ok, list, meta}` with a long list go as slices, then the result
  # with the list taken out; anything else (an improper list included) in one message.
  defp reply(reply_to, result)
       when is_tuple(result) and tuple_size(result) in [2, 3] and elem(result, 0) == :ok do
    case long_list(elem(result, 1)) do
      true ->
        send_slices(reply_to, elem(result, 1))
        send(reply_to, {reply_to, {:sliced, put_elem(result, 1, [])}})

      false ->
        send(reply_to, {reply_to, result})
    end
  end

  defp reply(reply_to, result), do: send(reply_to, {reply_to, result})

  defp long_list(list) when is_list(list) do
    length(list) > @slice
  rescue
    # An improper list.
    ArgumentError -> false
  end

  defp long_list(_), do: false

  defp send_slices(reply_to, list) do
    case Enum.split(list, @slice) do
      {slice, []} ->
        send(reply_to, {reply_to, {:slice, slice}})

      {slice, rest} ->
        send(reply_to, {reply_to, {:slice, slice}})
        send_slices(reply_to, rest)
    end
  end

  defp result_tag({:error, {:node_down, _}}), do: :node_down
  defp result_tag(result) when elem(result, 0) == :ok, do: :ok
  defp result_tag(_), do: :error

  defp command_name({:fun, _}), do: :fun
  defp command_name({command, _args}), do: command

  defp now_ms, do: System.monotonic_time(:millisecond)
end
