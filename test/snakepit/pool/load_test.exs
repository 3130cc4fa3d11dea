defmodule Snakepit.Pool.LoadTest do
  # Counts VM-wide processes, so nothing may run beside it.
  use Snakepit.PoolCase, async: false

  @callers 10_000
  @max_queue 100

  for profile <- [:process, :thread] do
    test "#{profile}: 10,000 concurrent callers keep the queue bounded and leave nothing behind" do
      before = Process.list()

      pool =
        start_pool!(
          worker_profile: unquote(profile),
          pool_size: 2,
          threads_per_worker: 2,
          max_queue_size: @max_queue,
          # Nobody may time out while 10,000 callers are spawned on a loaded machine.
          queue_timeout: 60_000
        )

      # This pool's own native pools, checked after the pool stops. (A VM-wide census would
      # also see pools of earlier tests whose threads are still exiting.)
      resources = thread_resources(pool)
      assert length(resources) == if(unquote(profile) == :thread, do: 2, else: 0)
      capture_telemetry([[:snakepit, :pool, :capacity_reached]], pool)
      test = self()

      # Every slot is held until the test lets go, however long the callers take to arrive,
      # so exactly @max_queue of them can wait and the rest must be turned away at once.
      capacity = status!(pool).capacity

      held = for _ <- 1..capacity, do: hold_slot(pool, 60_000)
      {holders, holding} = Enum.unzip(held)
      assert status!(pool).load == capacity

      callers =
        for i <- 1..@callers do
          spawn_link(fn -> send(test, {:result, i, Snakepit.execute(:ping, [i], pool: pool)}) end)
        end

      # The turned-away callers answer while the slots are still held; the rest are queued.
      rejected = for _ <- 1..(@callers - @max_queue), do: receive_result(60_000)
      assert Enum.all?(rejected, fn {_i, result} -> result == {:error, :pool_saturated} end)
      assert status!(pool).queue_length == @max_queue

      Enum.each(holding, &send(&1, :release))
      served = for _ <- 1..@max_queue, do: receive_result(60_000)
      assert Enum.map(holders, &Task.await(&1, 60_000)) == List.duplicate({:ok, :held}, capacity)
      assert Enum.all?(served, fn {i, result} -> result == {:ok, i} end)
      assert length(Enum.uniq(Enum.map(rejected ++ served, &elem(&1, 0)))) == length(callers)
      refute_received {:result, _, _}

      queue_lengths = queue_lengths()
      assert Enum.max(queue_lengths) == @max_queue

      status = status!(pool)
      assert status.queue_length == 0 and status.load == 0
      assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0

      stop_supervised!(pool)

      # Every native pool this test started is closed and its threads have exited.
      for resource <- resources do
        eventually(
          fn -> match?({false, 2, 0}, Snakepit.Native.thread_pool_threads(resource)) end,
          5000
        )
      end

      eventually(fn -> leftover_processes(before) == [] end, 5000)
    end
  end

  defp receive_result(timeout) do
    receive do
      {:result, i, result} -> {i, result}
    after
      timeout -> flunk("no caller answered within #{timeout} ms")
    end
  end

  defp thread_resources(pool) do
    ref = Snakepit.Pool.Ref.lookup(pool)

    for %{handle: %{resource: resource}} <- Snakepit.Pool.Manager.workers(ref.manager),
        do: resource
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
