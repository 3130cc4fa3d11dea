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
          max_queue_size: @max_queue,
          queue_timeout: 10_000
        )

      capture_telemetry([[:snakepit, :pool, :capacity_reached]], pool)
      test = self()

      # Every slot is held while the callers arrive, so exactly @max_queue of them can wait
      # and the rest must be turned away at once.
      capacity = status!(pool).capacity

      holders =
        for _ <- 1..capacity,
            do: Task.async(fn -> Snakepit.execute(:sleep, [600], pool: pool) end)

      eventually(fn -> status!(pool).load == capacity end)

      callers =
        for i <- 1..@callers do
          spawn_link(fn -> send(test, {:result, i, Snakepit.execute(:ping, [i], pool: pool)}) end)
        end

      results = for _ <- callers, do: receive(do: ({:result, i, result} -> {i, result}))
      assert Enum.map(holders, &Task.await/1) == List.duplicate({:ok, 600}, capacity)

      {served, rejected} =
        Enum.split_with(results, fn {_i, result} -> match?({:ok, _}, result) end)

      assert Enum.all?(served, fn {i, result} -> result == {:ok, i} end)
      assert Enum.all?(rejected, fn {_i, result} -> result == {:error, :pool_saturated} end)
      assert length(served) == @max_queue
      assert length(rejected) == @callers - @max_queue

      queue_lengths = queue_lengths()
      assert Enum.max(queue_lengths) == @max_queue

      status = status!(pool)
      assert status.queue_length == 0 and status.load == 0
      assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0

      stop_supervised!(pool)
      eventually(fn -> Snakepit.Native.thread_pool_census() == baseline_census end, 5000)
      eventually(fn -> leftover_processes(before) == [] end, 5000)
    end
  end

  # New processes since `before`, except ExUnit's per-test supervisor (child of this test).
  defp leftover_processes(before) do
    test = self()

    Enum.reject(Process.list() -- before, fn pid ->
      case Process.info(pid, :dictionary) do
        {:dictionary, dictionary} -> Keyword.get(dictionary, :"$ancestors") == [test]
        nil -> true
      end
    end)
  end

  defp queue_lengths do
    receive do
      {:telemetry, _, %{queue_size: n}, _} -> [n | queue_lengths()]
    after
      0 -> []
    end
  end
end
