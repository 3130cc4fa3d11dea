defmodule Snakepit.Pool.ReconfigureTest do
  use Snakepit.PoolCase, async: true

  @requests 10_000
  @callers 40

  for profile <- [:process, :thread] do
    test "#{profile}: 10,000 requests while the pool is resized up and down" do
      pool =
        start_pool!(
          worker_profile: unquote(profile),
          pool_size: 2,
          threads_per_worker: 2,
          max_queue_size: 10_000,
          queue_timeout: 60_000
        )

      per_worker = if unquote(profile) == :thread, do: 2, else: 1
      sizes = [4, 1, 3, 1, 5, 2, 6, 1, 2]
      capture_telemetry([[:snakepit, :pool, :reconfigured]], pool)
      # runs[i]: how often request i ran; running: requests running now, and the most seen.
      runs = :atomics.new(@requests, [])
      running = :atomics.new(2, signed: true)
      test = self()

      callers =
        for c <- 0..(@callers - 1) do
          Task.async(fn ->
            for i <- c..(@requests - 1)//@callers do
              work = fn ->
                now = :atomics.add_get(running, 1, 1)
                bump_max(running, now)
                :atomics.add(runs, i + 1, 1)
                :atomics.sub(running, 1, 1)
                i
              end

              {i, Snakepit.Pool.run(pool, work, 60_000)}
            end
          end)
        end

      for size <- sizes do
        assert {:ok, %{pool_size: ^size}} = Snakepit.resize_pool(pool, size)

        assert_receive {:telemetry, [:snakepit, :pool, :reconfigured], _, %{changes: changes}},
                       1000

        assert %{pool_size: {_old, ^size}} = changes
        check_invariants(pool, per_worker)
        # Retiring workers finish their in-flight requests and go; the pool settles at size.
        eventually(
          fn ->
            status = check_invariants(pool, per_worker)
            length(status.workers) == size and status.retiring == []
          end,
          30_000
        )
      end

      results = Enum.flat_map(callers, &Task.await(&1, 120_000))
      send(test, :done)
      assert length(results) == @requests
      assert Enum.all?(results, fn {i, result} -> result == {:ok, i} end)
      # Each request ran exactly once, and never more at once than the largest pool's slots.
      assert Enum.all?(1..@requests, &(:atomics.get(runs, &1) == 1))
      assert :atomics.get(running, 2) <= Enum.max([2 | sizes]) * per_worker
      status = status!(pool)
      assert status.load == 0 and status.queue_length == 0
    end
  end

  test "threads_per_worker changes by rolling replacement, capacity never dropping" do
    pool = start_pool!(worker_profile: :thread, pool_size: 3, threads_per_worker: 1)
    capture_telemetry([[:snakepit, :pool, :reconfigured], [:snakepit, :worker, :recycled]], pool)
    before = status!(pool).workers

    assert {:ok, %{threads_per_worker: 2}} = Snakepit.update_pool(pool, threads_per_worker: 2)

    assert_receive {:telemetry, [:snakepit, :pool, :reconfigured], %{capacity: capacity} = m,
                    %{changes: %{threads_per_worker: {1, 2}}} = meta},
                   1000

    spec =
      Enum.find(Snakepit.Telemetry.events(), &(&1.event == [:snakepit, :pool, :reconfigured]))

    assert Enum.sort(Map.keys(m)) == Enum.sort(spec.measurements)
    assert Enum.sort(Map.keys(meta)) == Enum.sort(spec.metadata)

    assert capacity >= 3

    eventually(
      fn ->
        status = status!(pool)
        assert status.capacity >= 3
        status.capacity == 6 and status.retiring == [] and length(status.workers) == 3
      end,
      30_000
    )

    assert MapSet.disjoint?(MapSet.new(before), MapSet.new(status!(pool).workers))

    for _ <- before,
        do:
          assert_receive(
            {:telemetry, [:snakepit, :worker, :recycled], _, %{reason: :reconfigured}},
            1000
          )

    assert {:ok, 2} =
             Snakepit.Config.get_pool_config(pool)
             |> then(fn {:ok, c} -> {:ok, c.threads_per_worker} end)
  end

  test "queue settings apply to the next caller" do
    pool =
      start_pool!(
        commands: Snakepit.Test.Commands,
        pool_size: 1,
        max_queue_size: 10,
        queue_timeout: 10_000
      )

    busy = Task.async(fn -> Snakepit.execute(:sleep, [600], pool: pool) end)
    eventually(fn -> status!(pool).load == 1 end)
    assert {:ok, _} = Snakepit.update_pool(pool, queue_timeout: 50, max_queue_size: 0)
    assert Snakepit.execute(:ping, [1], pool: pool) == {:error, :pool_saturated}
    assert {:ok, _} = Snakepit.update_pool(pool, max_queue_size: 5)
    assert Snakepit.execute(:ping, [1], pool: pool) == {:error, :queue_timeout}
    # The inspector reports the running config.
    {:ok, report} = Snakepit.Diagnostics.ProfileInspector.get_pool_report(pool)
    assert %{queue_timeout: 50, max_queue_size: 5} = report.config
    assert Task.await(busy) == {:ok, 600}
  end

  test "a restarted manager or lifecycle keeps the live changes; a new pool does not" do
    pool = start_pool!(pool_size: 1, queue_timeout: 5000)
    {:ok, _} = Snakepit.update_pool(pool, pool_size: 3, queue_timeout: 1234)
    old = Snakepit.Pool.Ref.lookup(pool).manager
    Process.exit(old, :kill)

    eventually(
      fn ->
        ref = Snakepit.Pool.Ref.lookup(pool)
        ref != nil and ref.manager != old and length(status!(pool).workers) == 3
      end,
      10_000
    )

    assert {:ok, %{pool_size: 3, queue_timeout: 1234}} = Snakepit.Config.get_pool_config(pool)
    # The manager's restart restarts the lifecycle after it: wait until it is registered.
    eventually(fn -> Process.whereis(Snakepit.Lifecycle.name(pool)) != nil end)
    lifecycle = Process.whereis(Snakepit.Lifecycle.name(pool))
    Process.exit(lifecycle, :kill)
    eventually(fn -> Process.whereis(Snakepit.Lifecycle.name(pool)) not in [nil, lifecycle] end)
    assert %{config: %{queue_timeout: 1234}} = :sys.get_state(Snakepit.Lifecycle.name(pool))

    stop_supervised!(pool)
    start_pool!(name: pool, pool_size: 1)
    assert {:ok, %{pool_size: 1, queue_timeout: 5000}} = Snakepit.Config.get_pool_config(pool)
  end

  test "a new worker_ttl recycles workers already running" do
    pool = start_pool!(pool_size: 2)
    capture_telemetry([[:snakepit, :worker, :recycled]], pool)
    assert {:ok, %{worker_ttl: 1000}} = Snakepit.update_pool(pool, worker_ttl: {1, :seconds})
    assert_receive {:telemetry, [:snakepit, :worker, :recycled], _, %{reason: :ttl}}, 5000
    assert_receive {:telemetry, [:snakepit, :worker, :recycled], _, %{reason: :ttl}}, 5000
  end

  test "changes are validated like start-up config" do
    pool = start_pool!(pool_size: 1)

    assert_raise ArgumentError, ~r/:queue_timeout must be a non-negative integer.*got: -1/, fn ->
      Snakepit.update_pool(pool, queue_timeout: -1)
    end

    assert_raise ArgumentError, ~r/unknown option \[:worker_profile\].*got: /, fn ->
      Snakepit.update_pool(pool, worker_profile: :thread)
    end

    assert_raise ArgumentError, ~r/:pool_size must be a positive integer, got: 0/, fn ->
      Snakepit.resize_pool(pool, 0)
    end

    assert Snakepit.resize_pool(:no_such_pool, 2) == {:error, :pool_not_found}
    # An unchanged value is no change: no event.
    capture_telemetry([[:snakepit, :pool, :reconfigured]], pool)
    assert {:ok, _} = Snakepit.resize_pool(pool, 1)
    refute_receive {:telemetry, _, _, _}, 100
  end

  # Capacity is the routable workers' slots; load never exceeds it; the queue stays bounded.
  defp check_invariants(pool, per_worker) do
    status = status!(pool)
    assert status.capacity == length(status.workers) * per_worker
    assert status.load <= status.capacity
    assert status.queue_length <= 10_000
    assert MapSet.disjoint?(MapSet.new(status.workers), MapSet.new(status.retiring))
    status
  end

  defp bump_max(running, now) do
    seen = :atomics.get(running, 2)

    if now > seen and :atomics.compare_exchange(running, 2, seen, now) != :ok,
      do: bump_max(running, now)
  end
end
