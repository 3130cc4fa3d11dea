defmodule Snakepit.Pool.ClusterOptionsTest do
  # The node's cluster timings (`config :snakepit, cluster: [...]`, docs/cluster.md).
  use Snakepit.PoolCase, async: false

  alias Snakepit.Pool.Cluster.{Directory, Options}
  alias Snakepit.Test.Peers

  test "the defaults are the documented ones, and this node runs them" do
    defaults = %{
      sample_interval: 100,
      send_interval: 250,
      stale_after: 1000,
      node_down_after: 3000
    }

    assert Options.validate([]) == {:ok, defaults}
    assert Options.configured!([]) == defaults
    assert Directory.timings() == defaults

    for {key, rules} <- Options.schema(),
        do: assert({:ok, _} = Snakepit.Options.Schema.check(key, rules[:default], rules))
  end

  test "bad timings are refused, naming the key and what was given" do
    for {opts, message} <- [
          {[sample_interval: 0],
           ":sample_interval must be an integer in 10..60000 (milliseconds), got: 0"},
          {[send_interval: "250"],
           ~s(:send_interval must be an integer in 10..60000 (milliseconds\), at least `sample_interval`, got: "250")},
          {[stale_after: :never],
           ":stale_after must be an integer in 20..600000 (milliseconds), more than `send_interval`, got: :never"},
          {[sample_interval: 300], ":send_interval must be at least :sample_interval, got: "},
          {[send_interval: 1000], ":stale_after must be more than :send_interval, got: "},
          {[stale_after: 5000], ":node_down_after must be at least :stale_after, got: "},
          {[stale: 1],
           "unknown option [:stale], allowed: [:sample_interval, :send_interval, :stale_after, :node_down_after], got: [stale: 1]"},
          {:fast, "options must be a keyword list, got: :fast"}
        ] do
      assert {:error, error} = Options.validate(opts)
      assert String.starts_with?(error, message), "#{inspect(opts)}: #{error}"
    end

    error = assert_raise ArgumentError, fn -> Options.configured!(cluster: [send_interval: 5]) end
    assert error.message =~ "config :snakepit, :cluster: :send_interval must be"

    assert_raise ArgumentError, ~r/:node_down_after must be/, fn ->
      Directory.start_link(node_down_after: 0)
    end
  end

  test "docs/cluster.md lists the options as the schema does" do
    doc = File.read!(Path.expand("../../../docs/cluster.md", __DIR__))

    assert doc =~ Options.markdown(),
           "docs/cluster.md is out of date: paste Snakepit.Pool.Cluster.Options.markdown()"
  end

  describe "on peers" do
    @describetag :cluster
    @describetag timeout: 180_000

    test "a node's send_interval and stale_after take effect" do
      slow_env = [cluster: [sample_interval: 50, send_interval: 1000, stale_after: 2500]]
      {slow_peer, slow} = Peers.start!(slow_env)
      {quick_peer, quick} = Peers.start!()
      on_exit(fn -> Enum.each([slow_peer, quick_peer], &Peers.stop/1) end)
      assert :erpc.call(slow, Directory, :timings, []).send_interval == 1000

      # Both heard from (once :pg has told them about this node's directory).
      eventually(
        fn -> Directory.silent_for(slow) < 5_000 and Directory.silent_for(quick) < 5_000 end,
        30_000
      )

      # How often each peer's snapshots reach this node's directory.
      :erlang.trace(Process.whereis(Directory), true, [:receive, :monotonic_timestamp])
      on_exit(fn -> :erlang.trace(:all, false, [:receive]) end)
      Process.sleep(3_500)
      :erlang.trace(Process.whereis(Directory), false, [:receive])
      gaps = arrival_gaps()
      assert Enum.min(gaps[slow]) >= 800, "gaps #{inspect(gaps[slow])}"
      assert median(gaps[quick]) < 500, "gaps #{inspect(gaps[quick])}"

      # `quick` goes silent: this node (stale_after 1000) stops routing to it first, the
      # slow peer (2500) later.
      pool = :"timings_pool_#{System.unique_integer([:positive])}"
      Peers.start_pool!(quick, name: pool, commands: Snakepit.Test.Commands, pool_size: 1)

      routed? = fn on ->
        Map.has_key?(Map.get(:erpc.call(on, Directory, :snapshot, []), quick, %{}), pool)
      end

      eventually(fn -> routed?.(node()) and routed?.(slow) end, 15_000)
      :ok = :erpc.call(quick, :sys, :suspend, [Directory])
      silenced = now_ms()
      eventually(fn -> not routed?.(node()) end, 10_000)
      here = now_ms() - silenced
      eventually(fn -> not routed?.(slow) end, 10_000)
      there = now_ms() - silenced
      :ok = :erpc.call(quick, :sys, :resume, [Directory])
      assert here < 1_500 and there >= 1_900, "dropped after #{here} ms here, #{there} ms there"
    end
  end

  # Per node, the milliseconds between its snapshots' arrivals here, from the trace.
  defp arrival_gaps do
    me = Process.whereis(Directory)
    # Trace messages come on their own time: this one comes after the last of them.
    delivered = :erlang.trace_delivered(me)

    Stream.repeatedly(fn ->
      receive do
        {:trace_ts, ^me, :receive, {:snakepit_snapshot, node, _pools}, at} -> {node, at}
        {:trace_ts, ^me, :receive, _other, _at} -> nil
        {:trace_delivered, ^me, ^delivered} -> :done
      end
    end)
    |> Stream.take_while(&(&1 != :done))
    |> Enum.reject(&is_nil/1)
    |> Enum.group_by(&elem(&1, 0), &System.convert_time_unit(elem(&1, 1), :native, :millisecond))
    |> Map.new(fn {node, ats} ->
      {node, ats |> Enum.chunk_every(2, 1, :discard) |> Enum.map(fn [a, b] -> b - a end)}
    end)
  end

  defp median(list), do: list |> Enum.sort() |> Enum.at(div(length(list), 2))
  defp now_ms, do: System.monotonic_time(:millisecond)
end
