defmodule Snakepit.WorkerProfile.ProcessTest do
  use Snakepit.PoolCase, async: true

  import ExUnit.CaptureLog

  test "a slot left taken by a caller that died is reclaimed by the health checks" do
    pool = start_pool!(worker_profile: :process, pool_size: 1, health_check_interval: 10)
    ref = Snakepit.Pool.Ref.lookup(pool)
    [%{handle: handle}] = Snakepit.Pool.Manager.workers(ref.manager)

    log =
      capture_log(fn ->
        # What a caller killed between check-out and send leaves behind.
        :atomics.add(handle.counters, 1, 1)
        assert status!(pool).load == 1
        eventually(fn -> status!(pool).load == 0 end)
      end)

    assert log =~ "reclaimed a slot"
    assert Snakepit.execute(:ping, [:ok], pool: pool) == {:ok, :ok}
  end

  test "a slot held by a running request is never reclaimed" do
    pool = start_pool!(worker_profile: :process, pool_size: 1, health_check_interval: 10)
    task = Task.async(fn -> Snakepit.execute(:sleep, [150], pool: pool) end)
    eventually(fn -> status!(pool).load == 1 end)
    Process.sleep(100)
    assert status!(pool).load == 1
    assert Task.await(task) == {:ok, 150}
  end

  test "results are the command's own values, functions run in the worker process" do
    pool = start_pool!(worker_profile: :process, pool_size: 1)
    [worker] = Map.values(worker_pids(pool))
    assert Snakepit.Pool.run(pool, fn -> self() end) == {:ok, worker}
  end
end
