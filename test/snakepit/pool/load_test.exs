defmodule Snakepit.Pool.LoadTest do
  # Counts VM-wide processes and native thread pools, so nothing may run beside it.
  use Snakepit.PoolCase, async: false

  @callers 10_000
  @max_queue 100

  for profile <- [:process, :thread] do
    test "#{profile}: 10,000 concurrent callers keep the queue bounded and leave nothing behind" do
      baseline_census = Snakepit.Native.thread_pool_census()
      before = Process.list()

      pool =
        start_pool!(
          worker_profile: unquote(profile),
          pool_size: 2,
          threads_per_worker: 2,
          max_queue_size: @max_queue
        )

      capture_telemetry([[:snakepit, :pool, :capacity_reached]], pool)
      test = self()

      callers =
        for i <- 1..@callers do
          spawn_link(fn -> send(test, {:result, i, Snakepit.execute(:ping, [i], pool: pool)}) end)
        end

      results = for _ <- callers, do: receive(do: ({:result, i, result} -> {i, result}))

      {served, rejected} =
        Enum.split_with(results, fn {_i, result} -> match?({:ok, _}, result) end)

      assert Enum.all?(served, fn {i, result} -> result == {:ok, i} end)
      assert Enum.all?(rejected, fn {_i, result} -> result == {:error, :pool_saturated} end)
      assert length(served) + length(rejected) == @callers
      assert length(served) > 0

      queue_lengths = queue_lengths()
      assert queue_lengths != [], "the pool never queued: the test did not load it"
      assert Enum.max(queue_lengths) <= @max_queue

      status = status!(pool)
      assert status.queue_length == 0 and status.load == 0
      assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0

      stop_supervised!(pool)
      eventually(fn -> Snakepit.Native.thread_pool_census() == baseline_census end)
      eventually(fn -> leftover_processes(before) == [] end)
    end
  end

  # New processes since `before`, except ExUnit's per-test supervisor (child of this test).
  defp leftover_processes(before) do
    test = self()

    Enum.reject(Process.list() -- before, fn pid ->
      match?(
        {:dictionary, %{"$ancestors": [^test]}},
        with({:dictionary, d} <- Process.info(pid, :dictionary), do: {:dictionary, Map.new(d)})
      ) or
        not Process.alive?(pid)
    end)
  end

  defp queue_lengths do
    receive do
      {:telemetry, _, %{queue_length: n}, _} -> [n | queue_lengths()]
    after
      0 -> []
    end
  end
end
