defmodule Snakepit.ClusterTest do
  # Pools on three nodes of this machine (this one and two :peer nodes running the
  # project's code). Run alone with `mix test --only cluster`.
  use Snakepit.PoolCase, async: false

  @moduletag :cluster
  @moduletag timeout: 180_000

  alias Snakepit.Pool.Cluster.Directory
  alias Snakepit.Test.Peers

  @pool_opts [commands: Snakepit.Test.Commands, pool_size: 2, queue_timeout: 30_000]

  setup do
    pool = :"cluster_pool_#{System.unique_integer([:positive])}"
    peers = for _ <- 1..2, do: Peers.start!()
    on_exit(fn -> Enum.each(peers, fn {peer, _node} -> Peers.stop(peer) end) end)
    for {_peer, node} <- peers, do: Peers.start_pool!(node, [name: pool] ++ @pool_opts)
    start_pool!([name: pool] ++ @pool_opts)
    nodes = [node() | Enum.map(peers, &elem(&1, 1))]
    # Every node's pool is known here once its snapshots come in.
    eventually(
      fn -> Enum.all?(nodes, &Map.has_key?(Map.get(Directory.snapshot(), &1, %{}), pool)) end,
      15_000
    )

    %{pool: pool, peers: peers, nodes: nodes}
  end

  test "idle pools: the local node wins the tie; a busy one sends work elsewhere", ctx do
    %{pool: pool} = ctx

    for _ <- 1..20,
        do: assert(Snakepit.Pool.run(pool, &:erlang.node/0, nodes: :cluster) == {:ok, node()})

    held = for _ <- 1..2, do: hold_slot(pool)
    # The local snapshot sees the pool full within a sample or two.
    eventually(fn -> Directory.snapshot()[node()][pool].free <= 0 end, 5000)

    ran_on =
      for _ <- 1..20 do
        {:ok, node} = Snakepit.Pool.run(pool, &:erlang.node/0, nodes: :cluster)
        node
      end

    assert node() not in ran_on
    assert Enum.all?(ran_on, &(&1 in ctx.nodes))
    Enum.each(held, &release_slot/1)
  end

  test "a binary argument and its result cross the wire as they are", ctx do
    pool = remote_only_pool!(ctx)
    bytes = Snakepit.Test.Corpus.read!("real/loc_bibliographic.mrc")

    assert Snakepit.execute(:count, [bytes], pool: pool, nodes: :cluster) ==
             {:ok, %{records: 386, errors: 0}}

    {:ok, local} = Snakepit.Marc.parse(bytes)
    assert Snakepit.execute(:parse, [bytes], pool: pool, nodes: :cluster) == {:ok, local}
  end

  test "a long list result comes back in slices, joined in order", ctx do
    pool = remote_only_pool!(ctx)
    bytes = Snakepit.Test.Corpus.read!("synthetic/realistic_2000.mrc")
    {:ok, local} = Snakepit.Marc.parse(bytes)
    # Every message this process receives, seen by a tracer: none may hold the whole list.
    tracer = spawn_link(fn -> trace_collector([]) end)
    :erlang.trace(self(), true, [:receive, {:tracer, tracer}])
    result = Snakepit.execute(:parse, [bytes], pool: pool, nodes: :cluster)
    :erlang.trace(self(), false, [:receive])
    send(tracer, {:report, self()})
    assert_receive {:received, messages}, 5_000

    assert result == {:ok, local}
    slices = for {_alias, {:slice, slice}} <- messages, do: length(slice)
    assert length(slices) == 8 and Enum.max(slices) == 256 and Enum.sum(slices) == 2000
    refute Enum.any?(messages, &match?({_alias, {:ok, [_ | _]}}, &1))

    # A result with metadata keeps it; a short list comes whole.
    damaged = bytes <> "00026nam a22000251i 4500\x1D"
    {:ok, records, %{skipped: 1}} = Snakepit.Marc.parse(damaged, mode: :skip, report: true)

    assert Snakepit.execute(:parse, [damaged, [mode: :skip, report: true]],
             pool: pool,
             nodes: :cluster
           ) ==
             {:ok, records, %{skipped: 1}}

    short = Snakepit.Test.Corpus.read!("real/loc_edge_cases.mrc")
    assert {:ok, spans} = Snakepit.execute(:scan, [short], pool: pool, nodes: :cluster)
    assert length(spans) == 50 and spans == Snakepit.Marc.scan(short)
  end

  defp trace_collector(messages) do
    receive do
      {:trace, _pid, :receive, message} -> trace_collector([message | messages])
      {:report, to} -> send(to, {:received, Enum.reverse(messages)})
    end
  end

  test "Marc.map and Marc.extract with nodes: :cluster keep order, on remote pools", ctx do
    pool = remote_only_pool!(ctx)
    capture_telemetry([[:snakepit, :cluster, :request, :stop]], pool)
    path = Snakepit.Test.Corpus.path("synthetic/realistic_2000.mrc")
    expected = path |> Snakepit.Marc.stream() |> Enum.map(&Snakepit.Marc.Record.title/1)

    titles =
      Snakepit.Marc.map(path, &Snakepit.Marc.Record.title/1,
        pool: pool,
        nodes: :cluster,
        workers: 4
      )
      |> Enum.to_list()

    assert titles == expected

    assert Snakepit.Marc.each(path, &:erlang.phash2/1, pool: pool, nodes: :cluster, retry: true) ==
             :ok

    assert_raise ArgumentError, ~r/nodes: :cluster needs a pool: option, got: /, fn ->
      Snakepit.Marc.map(path, &Function.identity/1, nodes: :cluster)
    end

    extracted =
      Snakepit.Marc.extract(path, %{"id" => "001"}, pool: pool, nodes: :cluster) |> Enum.to_list()

    assert length(extracted) == 2000
    assert extracted == Snakepit.Marc.extract(path, %{"id" => "001"}) |> Enum.to_list()
    assert_received {:telemetry, _, _, %{node: node, result: :ok}} when node != node()
  end

  test "killing a node mid-load: every caller answered once, none lost", ctx do
    %{pool: pool, peers: [{_, doomed}, {_, survivor}]} = ctx
    capture_telemetry([[:snakepit, :cluster, :request, :stop]], pool)
    test = self()
    callers = 24
    per_caller = 15

    # Sleeps long enough that requests are in flight on every node when one is killed.
    for c <- 1..callers do
      spawn_link(fn ->
        for k <- 1..per_caller do
          retry = rem(c, 2) == 0

          result =
            Snakepit.execute(:sleep, [40],
              pool: pool,
              nodes: :cluster,
              retry: retry,
              timeout: 30_000
            )

          send(test, {:answer, {c, k}, retry, result})
        end
      end)
    end

    # Let work reach the doomed node, then kill it.
    assert_receive {:telemetry, [:snakepit, :cluster, :request, :stop], _, %{node: ^doomed}},
                   30_000

    Peers.kill!(doomed)

    answers = for _ <- 1..(callers * per_caller), do: receive_answer()
    assert length(Enum.uniq_by(answers, &elem(&1, 0))) == callers * per_caller

    for {_id, retry, result} <- answers do
      if retry,
        do: assert(result == {:ok, 40}),
        else: assert(result in [{:ok, 40}, {:error, {:node_down, doomed}}])
    end

    refute_receive {:answer, _, _, _}, 200

    # Within a second the dead node is no longer chosen: nothing goes there any more.
    Process.sleep(1_000)
    refute doomed in Map.keys(Directory.snapshot())

    for _ <- 1..30 do
      {:ok, node} = Snakepit.Pool.run(pool, &:erlang.node/0, nodes: :cluster)
      assert node in [node(), survivor]
    end
  end

  test "a node that stops sending snapshots is no longer chosen, and comes back", ctx do
    %{pool: pool, peers: [{_, quiet}, _]} = ctx

    forward_checked([:snakepit, :cluster, :node, :down], :down)
    forward_checked([:snakepit, :cluster, :node, :up], :up)

    on_exit(fn ->
      Enum.each([{__MODULE__, :down}, {__MODULE__, :up}], &Snakepit.Telemetry.detach/1)
    end)

    # A request in flight on the quiet node (its pool runs only there).
    lonely = :"lonely_pool_#{System.unique_integer([:positive])}"
    Peers.start_pool!(quiet, [name: lonely] ++ @pool_opts)
    eventually(fn -> Map.has_key?(Map.get(Directory.snapshot(), quiet, %{}), lonely) end, 15_000)

    in_flight =
      Task.async(fn ->
        Snakepit.execute(:sleep, [20_000], pool: lonely, nodes: :cluster, timeout: 60_000)
      end)

    eventually(fn -> Directory.snapshot()[quiet][lonely].free < 2 end, 5_000)
    :ok = :erpc.call(quiet, :sys, :suspend, [Directory])
    assert_receive {:down, %{node: ^quiet, reason: :silent}}, 5_000
    # Silent for 3 s: its callers are told the node is down, long before their timeout.
    assert Task.await(in_flight, 15_000) == {:error, {:node_down, quiet}}
    refute Map.has_key?(Directory.snapshot(), quiet)
    # This node busy: only the other peer is left to choose.
    held = for _ <- 1..2, do: hold_slot(pool)

    for _ <- 1..20 do
      {:ok, node} = Snakepit.Pool.run(pool, &:erlang.node/0, nodes: :cluster, timeout: 10_000)
      assert node != quiet
    end

    Enum.each(held, &release_slot/1)
    :ok = :erpc.call(quiet, :sys, :resume, [Directory])
    assert_receive {:up, %{node: ^quiet, pools: pools}}, 5_000
    assert pool in pools
  end

  test "the profile inspector shows every node's pools", ctx do
    %{pool: pool, nodes: nodes} = ctx
    report = Snakepit.Diagnostics.ProfileInspector.get_cluster_report()
    assert Enum.map(report.nodes, & &1.node) |> Enum.sort() == Enum.sort(nodes)
    assert report.unreachable == []
    for r <- report.nodes, do: assert(pool in Enum.map(r.pools, & &1.pool))

    out =
      ExUnit.CaptureIO.capture_io(fn ->
        Mix.Tasks.Snakepit.ProfileInspector.run(["--cluster", "--pool", Atom.to_string(pool)])
      end)

    for node <- nodes, do: assert(out =~ "Snakepit on #{node}")
    assert length(String.split(out, inspect(pool))) - 1 >= 3

    json =
      ExUnit.CaptureIO.capture_io(fn ->
        Mix.Tasks.Snakepit.ProfileInspector.run(["--cluster", "--format", "json"])
      end)

    assert json =~ ~s("unreachable":[])
  end

  test "cluster events carry their documented keys", ctx do
    %{pool: pool} = ctx
    capture_telemetry([[:snakepit, :cluster, :request, :stop]], pool)
    remote = remote_only_pool!(ctx)
    capture_telemetry([[:snakepit, :cluster, :request, :stop]], remote)
    {:ok, _} = Snakepit.execute(:ping, [1], pool: remote, nodes: :cluster)
    assert_receive {:telemetry, event, measurements, metadata}, 5_000
    assert_documented_keys(event, measurements, metadata)
    assert %{result: :ok, retried: false, command: :ping} = metadata
  end

  # Sends {tag, metadata} here for each `event`, after checking its keys (a handler that
  # raises is detached, so the message never comes and the test fails).
  defp forward_checked(event, tag) do
    test = self()

    Snakepit.Telemetry.attach(
      {__MODULE__, tag},
      event,
      fn event, measurements, meta, _ ->
        assert_documented_keys(event, measurements, meta)
        send(test, {tag, meta})
      end,
      nil
    )
  end

  defp assert_documented_keys(event, measurements, metadata) do
    spec = Enum.find(Snakepit.Telemetry.events(), &(&1.event == event))
    assert Enum.sort(Map.keys(measurements)) == Enum.sort(spec.measurements)
    assert Enum.sort(Map.keys(metadata)) == Enum.sort(spec.metadata)
  end

  # A pool that runs on the peers only: every request of it crosses the wire.
  defp remote_only_pool!(ctx) do
    pool = :"remote_pool_#{System.unique_integer([:positive])}"
    for {_peer, node} <- ctx.peers, do: Peers.start_pool!(node, [name: pool] ++ @pool_opts)

    eventually(
      fn ->
        Enum.count(Directory.snapshot(), fn {_n, pools} -> Map.has_key?(pools, pool) end) == 2
      end,
      15_000
    )

    pool
  end

  defp receive_answer do
    receive do
      {:answer, id, retry, result} -> {id, retry, result}
    after
      60_000 -> flunk("a caller was not answered")
    end
  end
end
