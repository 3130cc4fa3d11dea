defmodule Snakepit.Diagnostics.ProfileInspectorTest do
  use Snakepit.PoolCase, async: true

  alias Snakepit.Diagnostics.ProfileInspector, as: Inspector

  @mib 1024 * 1024

  # Holds `n` slots of `pool` until `release/1`; returns what to release.
  defp hold(pool, n) do
    test = self()

    tasks =
      for _ <- 1..n do
        Task.async(fn ->
          Snakepit.Pool.run(
            pool,
            fn ->
              send(test, {:holding, self()})
              receive do: (:release -> :released)
            end,
            30_000
          )
        end)
      end

    holders = for _ <- tasks, do: receive(do: ({:holding, pid} -> pid))
    {tasks, holders}
  end

  defp release({tasks, holders}) do
    Enum.each(holders, &send(&1, :release))
    Enum.map(tasks, &Task.await(&1, 30_000))
  end

  describe "get_pool_stats/1" do
    test "capacity, utilisation, queue and per-worker figures of a :process pool" do
      pool = start_pool!(worker_profile: :process, pool_size: 2, max_queue_size: 7)
      for i <- 1..3, do: {:ok, ^i} = Snakepit.execute(:ping, [i], pool: pool)
      held = hold(pool, 1)

      {:ok, stats} = Inspector.get_pool_stats(pool)
      assert %{pool: ^pool, profile: :process, worker_count: 2, retiring: 0} = stats
      assert stats.capacity == %{total: 2, used: 1, available: 1}
      assert stats.utilization == 50.0
      assert stats.queue_length == 0 and stats.max_queue_size == 7
      assert stats.config.pool_size == 2

      assert [%{id: 1}, %{id: 2}] = workers = Enum.sort_by(stats.workers, & &1.id)
      assert Enum.sort(Enum.map(workers, & &1.status)) == [:full, :idle]

      assert Enum.map(workers, & &1.pid) |> Enum.sort() ==
               worker_pids(pool) |> Map.values() |> Enum.sort()

      for w <- workers do
        assert w.capacity == 1
        assert w.memory == w.process_memory + w.native_bytes and w.process_memory > 0
        assert is_integer(w.uptime_ms) and w.uptime_ms >= 0
      end

      assert workers |> Enum.map(& &1.requests) |> Enum.sum() == 3
      release(held)
      assert {:ok, %{capacity: %{used: 0}, utilization: +0.0}} = Inspector.get_pool_stats(pool)
    end

    test "unknown pools are {:error, :pool_not_found} everywhere" do
      pool = :"no_such_pool_#{System.unique_integer([:positive])}"

      for fun <- [
            :get_pool_stats,
            :get_capacity_stats,
            :get_memory_stats,
            :get_workload_stats,
            :get_recommendations,
            :get_pool_report,
            :check_saturation
          ] do
        assert apply(Inspector, fun, [pool]) == {:error, :pool_not_found}, "#{fun}"
      end
    end
  end

  describe "get_capacity_stats/1" do
    test ":thread pools report their threads: configured, running, in flight" do
      pool = start_pool!(worker_profile: :thread, pool_size: 2, threads_per_worker: 3)
      # Rayon threads start asynchronously.
      eventually(fn ->
        match?({:ok, %{threads: %{live: 6}}}, Inspector.get_capacity_stats(pool))
      end)

      held = hold(pool, 2)

      {:ok, cap} = Inspector.get_capacity_stats(pool)
      assert %{total: 6, used: 2, available: 4, utilization: 33.3, profile: :thread} = cap
      assert %{per_worker: 3, total: 6, live: 6, in_flight: 2} = cap.threads

      assert [%{threads: 3, live: 3, open: true}, %{threads: 3, live: 3, open: true}] =
               cap.threads.workers

      assert cap.effective_parallelism == min(6, cap.machine.logical_cores)
      assert Enum.map(cap.workers, & &1.capacity) == [3, 3]
      release(held)
    end

    test ":process pools have no thread details and share the dirty CPU schedulers" do
      pool = start_pool!(worker_profile: :process, pool_size: 3)
      {:ok, cap} = Inspector.get_capacity_stats(pool)
      assert cap.threads == nil

      assert cap.effective_parallelism ==
               min(3, :erlang.system_info(:dirty_cpu_schedulers_online))
    end
  end

  describe "get_memory_stats/1" do
    test "counts the native bytes a worker holds, with total, average, max and min" do
      pool =
        start_pool!(
          commands: Snakepit.Test.Commands,
          worker_profile: :thread,
          pool_size: 2,
          threads_per_worker: 1
        )

      payload = :binary.copy("x", 2 * @mib)
      task = Task.async(fn -> Snakepit.execute(:sleep, [1000, payload], pool: pool) end)

      {:ok, mem} =
        eventually(fn ->
          {:ok, mem} = Inspector.get_memory_stats(pool)
          mem.native_total >= 2 * @mib && {:ok, mem}
        end)

      memories = Enum.map(mem.workers, & &1.memory)
      assert mem.total == Enum.sum(memories)
      assert mem.max == Enum.max(memories) and mem.min == Enum.min(memories)
      assert mem.average == div(mem.total, 2)
      assert mem.max >= 2 * @mib and mem.min < @mib
      assert mem.total == mem.process_total + mem.native_total
      assert mem.threshold_mb == :infinity
      assert {:ok, 1000} = Task.await(task)
    end
  end

  describe "check_saturation/2" do
    test "healthy below the threshold, a warning at or above it" do
      pool = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: 4)
      assert Inspector.check_saturation(pool, 50) == {:ok, :healthy}
      held = hold(pool, 3)
      assert Inspector.check_saturation(pool, 50) == {:warning, :approaching_saturation, 75.0}
      assert Inspector.check_saturation(pool, 80) == {:ok, :healthy}
      release(held)
      assert Inspector.check_saturation(pool) == {:ok, :healthy}
    end

    test "queued callers mean saturation" do
      pool = start_pool!(worker_profile: :process, pool_size: 1)
      held = hold(pool, 1)
      waiter = Task.async(fn -> Snakepit.execute(:ping, [:queued], pool: pool) end)
      eventually(fn -> status!(pool).queue_length == 1 end)
      assert Inspector.check_saturation(pool, 100) == {:warning, :approaching_saturation, 100.0}
      release(held)
      assert Task.await(waiter) == {:ok, :queued}
    end

    test "the threshold must be a percentage" do
      pool = start_pool!(pool_size: 1)

      for bad <- [0, -5, 101, "80", nil] do
        assert_raise ArgumentError,
                     ~r/threshold_pct must be a number in 0 < t <= 100, got: /,
                     fn ->
                       Inspector.check_saturation(pool, bad)
                     end
      end
    end
  end

  describe "get_workload_stats/1" do
    test "counts requests and errors per command, with durations" do
      pool = start_pool!(worker_profile: :process, pool_size: 1)
      bytes = Snakepit.Test.Corpus.read!("formats/pymarc_test.dat")
      for _ <- 1..3, do: {:ok, _} = Snakepit.execute(:parse, [bytes], pool: pool)
      {:ok, :x} = Snakepit.execute(:ping, [:x], pool: pool)
      {:error, _} = Snakepit.execute(:count, [:not_a_binary], pool: pool)

      {:ok, wl} = Inspector.get_workload_stats(pool)
      assert wl.requests == 5 and wl.errors == 1
      assert %{requests: 3, errors: 0} = parse = wl.commands.parse
      assert parse.avg_exec_ms > 0 and parse.avg_ms >= parse.avg_exec_ms
      assert %{requests: 1, errors: 1} = wl.commands.count
      assert wl.queue == %{capacity_reached: 0, saturated: 0, queue_timeouts: 0}
    end

    test "queue pressure and recycles are counted" do
      pool = start_pool!(worker_profile: :process, pool_size: 1, max_queue_size: 0)
      held = hold(pool, 1)
      assert Snakepit.execute(:ping, [1], pool: pool) == {:error, :pool_saturated}
      release(held)
      [id] = Map.keys(worker_pids(pool))
      :ok = Snakepit.recycle_worker(pool, id)

      eventually(fn ->
        Inspector.get_workload_stats(pool) |> elem(1) |> Map.get(:recycled) == %{manual: 1}
      end)

      assert {:ok, %{queue: %{saturated: 1}}} = Inspector.get_workload_stats(pool)
    end
  end

  describe "get_recommendations/1" do
    defp recommendation(pool, topic) do
      {:ok, recs} = Inspector.get_recommendations(pool)
      Enum.find(recs, &(&1.topic == topic))
    end

    test "a :process pool larger than the dirty CPU schedulers is told their number" do
      dirty = :erlang.system_info(:dirty_cpu_schedulers_online)
      pool = start_pool!(worker_profile: :process, pool_size: dirty + 1)
      rec = recommendation(pool, :pool_size)
      assert rec.severity == :warning
      assert rec.message =~ "Set pool_size: #{dirty}"
      assert rec.figures == %{pool_size: dirty + 1, dirty_cpu_schedulers: dirty, waits: 0}
    end

    test "well-sized pools get :ok for size, threads, memory and queue" do
      cores = Snakepit.Config.Options.logical_cores()
      pool = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: cores)
      {:ok, recs} = Inspector.get_recommendations(pool)

      assert Enum.map(recs, & &1.topic) == [
               :pool_size,
               :threads_per_worker,
               :memory,
               :queue,
               :profile
             ]

      for rec <- recs, rec.topic != :profile, do: assert(rec.severity == :ok, inspect(rec))
      assert recommendation(pool, :profile).message =~ "no requests seen yet"
    end

    test "counts read as words: 1 request, 1 worker, 1 thread" do
      pool = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: 1)

      assert recommendation(pool, :pool_size).message =~
               "1 worker x 1 thread = 1 native thread on "

      pool = start_pool!(worker_profile: :process, pool_size: 1)
      {:ok, :x} = Snakepit.execute(:ping, [:x], pool: pool)

      eventually(fn ->
        Inspector.get_workload_stats(pool) |> elem(1) |> Map.get(:requests) == 1
      end)

      message = recommendation(pool, :profile).message
      assert message =~ "fits the workload seen (1 request: ", message
      refute message =~ ~r/\b1 requests|\(s\)/
    end

    test "more threads per worker than cores is a warning with a number to use" do
      cores = Snakepit.Config.Options.logical_cores()
      pool = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: cores * 3)
      rec = recommendation(pool, :threads_per_worker)
      assert rec.severity == :warning
      assert rec.message =~ "Set threads_per_worker: #{cores}"
    end

    test "a worker near memory_threshold_mb is a warning" do
      pool =
        start_pool!(
          commands: Snakepit.Test.Commands,
          worker_profile: :thread,
          pool_size: 1,
          threads_per_worker: 1,
          memory_threshold_mb: 2
        )

      task =
        Task.async(fn ->
          Snakepit.execute(:sleep, [1000, :binary.copy("x", 2 * @mib)], pool: pool)
        end)

      eventually(fn -> recommendation(pool, :memory).severity == :warning end)
      assert recommendation(pool, :memory).message =~ "memory_threshold_mb"
      Task.await(task)
    end

    test "a turned-away caller is a queue warning" do
      pool = start_pool!(worker_profile: :process, pool_size: 1, max_queue_size: 0)
      held = hold(pool, 1)
      {:error, :pool_saturated} = Snakepit.execute(:ping, [1], pool: pool)
      release(held)
      rec = recommendation(pool, :queue)
      assert rec.severity == :warning and rec.figures.saturated == 1
      assert rec.message =~ "max_queue_size"
    end

    test "the profile advice follows the command mix" do
      # Elixir work on a :thread pool runs in the caller, not on the pool's threads.
      thread = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: 1)
      for _ <- 1..3, do: {:ok, _} = Snakepit.Pool.run(thread, fn -> Process.sleep(5) end)
      assert %{severity: :warning, message: message} = recommendation(thread, :profile)
      assert message =~ "a :process pool runs it"

      # Bulk parsing on a :process pool: the :thread profile is suggested.
      process = start_pool!(worker_profile: :process, pool_size: 1)
      # (A modest file: other tests measure the VM's total memory while this one runs.)
      bytes = Snakepit.Test.Corpus.read!("real/loc_bibliographic.mrc")
      for _ <- 1..3, do: {:ok, _} = Snakepit.execute(:parse, [bytes], pool: process)
      assert %{severity: :info, message: message} = recommendation(process, :profile)
      assert message =~ "the :thread profile"
    end
  end

  describe "get_comprehensive_report/0" do
    test "covers every running pool, with totals" do
      a = start_pool!(worker_profile: :process, pool_size: 2)
      b = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: 2)
      report = Inspector.get_comprehensive_report()

      assert report.node == node()
      assert %{logical_cores: _, dirty_cpu_schedulers: _} = report.system
      names = Enum.map(report.pools, & &1.pool)
      assert a in names and b in names
      assert report.totals.pools == length(report.pools)
      assert report.totals.capacity == report.pools |> Enum.map(& &1.capacity.total) |> Enum.sum()

      entry = Enum.find(report.pools, &(&1.pool == b))
      assert %{threads: %{per_worker: 2}, memory: %{total: _}, workload: %{requests: _}} = entry
      assert [_ | _] = entry.recommendations
      assert {:ok, single} = Inspector.get_pool_report(b)
      assert single.pool == b and single.capacity.total == 2
    end
  end
end
