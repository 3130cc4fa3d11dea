defmodule Snakepit.LifecycleTest do
  use Snakepit.PoolCase, async: true

  @recycled [:snakepit, :worker, :recycled]
  @executed [:snakepit, :request, :executed]

  for profile <- [:process, :thread] do
    describe "#{profile} profile" do
      test "10,000 requests while workers recycle every 100: none lost, none duplicated" do
        pool =
          start_pool!(
            worker_profile: unquote(profile),
            pool_size: 2,
            threads_per_worker: 2,
            worker_max_requests: 100
          )

        capture_telemetry([@recycled, @executed], pool)

        results =
          1..10_000
          |> Task.async_stream(&Snakepit.execute(:ping, [&1], pool: pool),
            max_concurrency: 8,
            ordered: false
          )
          |> Enum.map(fn {:ok, result} -> result end)

        assert Enum.sort(results) == Enum.map(1..10_000, &{:ok, &1})

        # Every request ran on exactly one worker: the request counts of retired workers plus
        # those still running add up to 10,000 exactly.
        recycled = collect(@recycled)
        assert length(recycled) >= div(10_000, 100) - 2
        assert Enum.all?(recycled, fn {_, meta} -> meta.reason == :max_requests end)
        assert Enum.all?(recycled, fn {m, _} -> m.request_count <= 100 end)

        ref = Snakepit.Pool.Ref.lookup(pool)

        eventually(fn ->
          Enum.all?(Snakepit.Pool.Manager.workers(ref.manager), &(&1.status == :active))
        end)

        recycled = recycled ++ collect(@recycled)

        live =
          for w <- Snakepit.Pool.Manager.workers(ref.manager),
              do: ref.profile.get_metadata(w.handle).request_count

        assert Enum.sum(Enum.map(recycled, fn {m, _} -> m.request_count end)) + Enum.sum(live) ==
                 10_000

        assert length(collect(@executed)) == 10_000
        assert length(Map.keys(worker_pids(pool))) == 2
      end

      test "manual recycling is graceful: the replacement starts first, in-flight work finishes" do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: unquote(profile),
            pool_size: 1,
            threads_per_worker: 1
          )

        capture_telemetry([@recycled, [:snakepit, :worker, :started]], pool)
        [old_id] = Map.keys(worker_pids(pool))

        # Long enough to outlast the steps below even on a loaded machine.
        running = Task.async(fn -> Snakepit.execute(:sleep, [1000], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        assert Snakepit.recycle_worker(pool, old_id) == :ok

        assert_receive {:telemetry, [:snakepit, :worker, :started], _,
                        %{replaces: ^old_id, worker: new_id}},
                       1000

        # The new worker takes requests while the old one drains.
        assert Snakepit.execute(:ping, [:new], pool: pool) == {:ok, :new}
        refute_received {:telemetry, @recycled, _, _}

        assert Task.await(running) == {:ok, 1000}

        assert_receive {:telemetry, @recycled,
                        %{request_count: 1, uptime: uptime, memory: memory},
                        %{worker: ^old_id, reason: :manual}},
                       1000

        assert uptime > 0 and memory > 0
        assert Map.keys(worker_pids(pool)) == [new_id]
        assert Snakepit.recycle_worker(pool, old_id) == {:error, :worker_not_found}
      end

      test "a worker over memory_threshold_mb is recycled, native bytes counted" do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: unquote(profile),
            pool_size: 1,
            threads_per_worker: 1,
            memory_threshold_mb: 1,
            health_check_interval: 20
          )

        capture_telemetry([@recycled], pool)
        payload = :binary.copy("x", 3 * 1024 * 1024)
        assert Snakepit.execute(:sleep, [300, payload], pool: pool) == {:ok, 300}

        assert_receive {:telemetry, @recycled, %{memory: memory}, %{reason: :memory}}, 1000
        assert memory > 3 * 1024 * 1024
      end

      test "workers are recycled after their TTL, with jitter" do
        pool =
          start_pool!(
            worker_profile: unquote(profile),
            pool_size: 2,
            threads_per_worker: 1,
            worker_ttl: {1, :seconds}
          )

        capture_telemetry([@recycled], pool)
        # The jittered TTL is 900-1000 ms. Never early; the upper bound leaves a busy 2-core
        # machine room to schedule the lifecycle process late (300 ms was not enough).
        assert_receive {:telemetry, @recycled, %{uptime: uptime}, %{reason: :ttl}}, 3000
        ms = System.convert_time_unit(uptime, :native, :millisecond)
        assert ms >= 900 and ms < 2000
        assert_receive {:telemetry, @recycled, _, %{reason: :ttl}}, 3000
        assert map_size(worker_pids(pool)) == 2
      end
    end
  end

  test "a worker failing its health check is replaced" do
    pool =
      start_pool!(
        worker_profile: Snakepit.Test.FlakyProfile,
        pool_size: 2,
        health_check_interval: 20
      )

    capture_telemetry([[:snakepit, :worker, :health_check_failed], @recycled], pool)
    [sick | _] = Map.keys(worker_pids(pool))

    Snakepit.Test.FlakyProfile.make_unhealthy(pool, sick)

    assert_receive {:telemetry, [:snakepit, :worker, :health_check_failed], %{system_time: _},
                    %{worker: ^sick, reason: :made_unhealthy}},
                   1000

    assert_receive {:telemetry, @recycled, _, %{worker: ^sick, reason: :health_check}}, 1000

    eventually(fn ->
      map_size(worker_pids(pool)) == 2 and not Map.has_key?(worker_pids(pool), sick)
    end)

    assert Snakepit.execute(:ping, [1], pool: pool) == {:ok, 1}
  end

  test "a worker full without progress while callers wait is recycled: the pool recovers" do
    pool =
      start_pool!(
        worker_profile: :thread,
        pool_size: 1,
        threads_per_worker: 1,
        health_check_interval: 20,
        queue_timeout: 100
      )

    [stuck] = Map.keys(worker_pids(pool))
    test = self()

    # A holder killed while it runs a function under the worker's only slot: however the
    # slot is (or is not) returned, the pool must serve again.
    holder =
      spawn(fn ->
        Snakepit.Pool.run(pool, fn ->
          send(test, :holding)
          Process.sleep(:infinity)
        end)
      end)

    assert_receive :holding, 1000
    Process.exit(holder, :kill)

    log =
      ExUnit.CaptureLog.capture_log(fn ->
        assert eventually(
                 fn -> Snakepit.execute(:ping, [:back], pool: pool) == {:ok, :back} end,
                 10_000
               )
      end)

    # Recovered by recycling (the replacement took over; the stuck worker drains), unless
    # the profile gave the slot back itself.
    if status!(pool).workers != [stuck], do: assert(log =~ "without completing a request")
  end

  test "jitter keeps limits within the top 10% and never above" do
    values = for _ <- 1..1000, do: Snakepit.Pool.Jitter.jitter(100)
    assert Enum.min(values) >= 90 and Enum.max(values) <= 100
    assert length(Enum.uniq(values)) > 5
    assert Snakepit.Pool.Jitter.jitter(:infinity) == :infinity
  end

  defp collect(event) do
    receive do
      {:telemetry, ^event, measurements, metadata} -> [{measurements, metadata} | collect(event)]
    after
      0 -> []
    end
  end
end
