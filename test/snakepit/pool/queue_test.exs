defmodule Snakepit.Pool.QueueTest do
  # Capacity-one pools, so one slow request fills the pool and the next callers queue.
  use Snakepit.PoolCase, async: true

  for profile <- [:process, :thread] do
    describe "#{profile} profile" do
      setup do
        %{profile: unquote(profile)}
      end

      test "a full queue rejects with :pool_saturated, queued callers are served later", ctx do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: ctx.profile,
            pool_size: 1,
            threads_per_worker: 1,
            max_queue_size: 2
          )

        capture_telemetry(
          [[:snakepit, :pool, :saturated], [:snakepit, :pool, :capacity_reached]],
          pool
        )

        busy = Task.async(fn -> Snakepit.execute(:sleep, [150], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        queued = for i <- 1..2, do: Task.async(fn -> Snakepit.execute(:ping, [i], pool: pool) end)
        eventually(fn -> status!(pool).queue_length == 2 end)

        assert Snakepit.execute(:ping, [:extra], pool: pool) == {:error, :pool_saturated}

        assert_receive {:telemetry, [:snakepit, :pool, :saturated],
                        %{queue_size: 2, max_queue_size: 2},
                        %{available_workers: 0, busy_workers: 1}},
                       1000

        assert_receive {:telemetry, [:snakepit, :pool, :capacity_reached],
                        %{queue_size: 1, capacity: 1, load: 1}, _},
                       1000

        assert Task.await(busy) == {:ok, 150}
        assert Enum.map(queued, &Task.await/1) |> Enum.sort() == [{:ok, 1}, {:ok, 2}]
        assert status!(pool).queue_length == 0
      end

      test "max_queue_size 0 rejects at once when every worker is busy", ctx do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: ctx.profile,
            pool_size: 1,
            threads_per_worker: 1,
            max_queue_size: 0
          )

        busy = Task.async(fn -> Snakepit.execute(:sleep, [100], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        assert Snakepit.execute(:ping, [1], pool: pool) == {:error, :pool_saturated}
        Task.await(busy)
      end

      test "the queue timeout fires exactly once and leaves nothing behind", ctx do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: ctx.profile,
            pool_size: 1,
            threads_per_worker: 1,
            queue_timeout: 50
          )

        capture_telemetry([[:snakepit, :pool, :queue, :timeout]], pool)

        busy = Task.async(fn -> Snakepit.execute(:sleep, [300], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)

        {micros, result} = :timer.tc(fn -> Snakepit.execute(:ping, [1], pool: pool) end)
        assert result == {:error, :queue_timeout}
        # Never early; the upper bound only rules out a hang (the result above already says
        # it was not served): a busy 2-core CI machine once took over 250 ms.
        assert micros >= 50_000 and micros < 2_000_000

        assert_receive {:telemetry, [:snakepit, :pool, :queue, :timeout], %{queue_timeout: 50},
                        _},
                       1000

        Task.await(busy)
        refute_received {:telemetry, [:snakepit, :pool, :queue, :timeout], _, _}
        # Nothing else reached the caller: no second answer, no timer message.
        refute_received _
        assert status!(pool).queue_length == 0
        assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0
      end

      test "a served caller's queue timer never fires", ctx do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: ctx.profile,
            pool_size: 1,
            threads_per_worker: 1,
            queue_timeout: 100
          )

        capture_telemetry([[:snakepit, :pool, :queue, :timeout]], pool)

        busy = Task.async(fn -> Snakepit.execute(:sleep, [20], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        assert Snakepit.execute(:ping, [1], pool: pool) == {:ok, 1}
        Task.await(busy)
        refute_receive {:telemetry, [:snakepit, :pool, :queue, :timeout], _, _}, 200
      end

      test "a caller that dies while queued is removed", ctx do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: ctx.profile,
            pool_size: 1,
            threads_per_worker: 1,
            queue_timeout: 1000
          )

        capture_telemetry([[:snakepit, :pool, :queue, :timeout]], pool)

        busy = Task.async(fn -> Snakepit.execute(:sleep, [100], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        doomed = spawn(fn -> Snakepit.execute(:ping, [:never], pool: pool) end)
        eventually(fn -> status!(pool).queue_length == 1 end)

        Process.exit(doomed, :kill)
        eventually(fn -> status!(pool).queue_length == 0 end)
        assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0

        Task.await(busy)
        assert Snakepit.execute(:ping, [:next], pool: pool) == {:ok, :next}
        refute_receive {:telemetry, _, _, _}, 50
      end

      test "holders killed with :kill give their capacity and queue places back", ctx do
        pool = one_slot_pool!(ctx.profile)

        holder = spawn(fn -> Snakepit.execute(:sleep, [200], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        queued = for i <- 1..3, do: spawn(fn -> Snakepit.execute(:ping, [i], pool: pool) end)
        eventually(fn -> status!(pool).queue_length == 3 end)

        Enum.each([holder | queued], &Process.exit(&1, :kill))

        eventually(fn ->
          status!(pool) |> Map.take([:load, :queue_length]) == %{load: 0, queue_length: 0}
        end)

        assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0
        assert Snakepit.execute(:ping, [:after], pool: pool) == {:ok, :after}
      end

      test "a caller that times out while its request runs frees the slot", ctx do
        pool = one_slot_pool!(ctx.profile)

        # A sleep far longer than the timeout: on a busy machine the caller can be kept off a
        # core for 100 ms (a 100 ms sleep then replied before the caller began to wait).
        assert Snakepit.execute(:sleep, [1_000], pool: pool, timeout: 10) == {:error, :timeout}
        # The slot is held while the abandoned request still runs, then returned.
        assert status!(pool).load == 1
        eventually(fn -> status!(pool).load == 0 end, 5_000)
        assert Snakepit.execute(:ping, [:after], pool: pool) == {:ok, :after}

        if ctx.profile == :process do
          # The reply went to a dead alias: nothing stray in the mailbox.
          refute_received {_, {:ok, 1_000}}
        end
      end
    end
  end

  # One worker with one slot, which the :sleep test command can hold.
  defp one_slot_pool!(profile) do
    start_pool!(
      commands: Snakepit.Test.Commands,
      worker_profile: profile,
      pool_size: 1,
      threads_per_worker: 1
    )
  end
end
