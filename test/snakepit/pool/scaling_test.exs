defmodule Snakepit.Pool.ScalingTest do
  # What a pool costs must not grow with its size per caller. Work is measured in
  # reductions and memory, never in wall-clock time.
  use Snakepit.PoolCase, async: false

  @waiting 50

  test "a waiting caller's memory does not grow with pool_size" do
    small = waiting_caller_memory(10)
    large = waiting_caller_memory(1_000)
    # Before: every waiting caller kept a copy of every worker's handle (about 230 bytes
    # per worker), so 1,000 workers cost ~50x as much as 10.
    assert large < 2 * small, "#{large} bytes per waiting caller vs #{small}"
  end

  test "starting a pool costs linear work in pool_size" do
    small = start_reductions(300)
    large = start_reductions(3_000)
    # Linear: ~10x. Before, each start re-sorted and re-published every worker: ~100x.
    assert large < 20 * small, "#{large} reductions vs #{small}"
  end

  # Holds every slot of a pool_size-worker pool, queues @waiting callers behind them and
  # returns their mean process memory, in bytes.
  defp waiting_caller_memory(pool_size) do
    pool =
      start_pool!(
        worker_profile: :process,
        pool_size: pool_size,
        max_queue_size: @waiting,
        queue_timeout: 60_000
      )

    test = self()

    holders =
      for _ <- 1..pool_size do
        spawn_link(fn ->
          Snakepit.Pool.run(pool, fn -> receive do: (:release -> :ok) end, 60_000)
          send(test, :released)
        end)
      end

    eventually(fn -> status!(pool).load == pool_size end, 30_000)

    callers =
      for i <- 1..@waiting do
        spawn_link(fn -> send(test, {:served, Snakepit.execute(:ping, [i], pool: pool)}) end)
      end

    eventually(fn -> status!(pool).queue_length == @waiting end, 30_000)
    # Collected first, so that what is measured is what each caller keeps, not how far its
    # heap happened to grow before the last collection (that made the test fail now and
    # then in a run of the whole suite).
    Enum.each(callers, &:erlang.garbage_collect/1)
    memory = callers |> Enum.map(&elem(Process.info(&1, :memory), 1)) |> Enum.sum()

    ref = Snakepit.Pool.Ref.lookup(pool)

    for w <- Snakepit.Pool.Manager.workers(ref.manager), do: send(w.handle.pid, :release)

    for _ <- holders, do: assert_receive(:released, 30_000)
    for _ <- callers, do: assert_receive({:served, {:ok, _}}, 30_000)
    stop_supervised!(pool)
    div(memory, @waiting)
  end

  defp start_reductions(pool_size) do
    pool = start_pool!(worker_profile: :process, pool_size: pool_size)
    manager = Snakepit.Pool.Ref.lookup(pool).manager
    {:reductions, reductions} = Process.info(manager, :reductions)
    stop_supervised!(pool)
    reductions
  end
end
