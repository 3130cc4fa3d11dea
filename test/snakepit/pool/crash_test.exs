defmodule Snakepit.Pool.CrashTest do
  use Snakepit.PoolCase, async: true

  for profile <- [:process, :thread] do
    describe "#{profile} profile" do
      test "killing a worker mid-request fails the request in time and the pool refills" do
        pool =
          start_pool!(
            commands: Snakepit.Test.Commands,
            worker_profile: unquote(profile),
            pool_size: 2,
            threads_per_worker: 1
          )

        capture_telemetry([[:snakepit, :worker, :recycled], [:snakepit, :worker, :started]], pool)
        before = worker_pids(pool)

        caller =
          Task.async(fn ->
            :timer.tc(fn -> Snakepit.execute(:sleep, [2_000], pool: pool, timeout: 1_000) end)
          end)

        eventually(fn -> status!(pool).load == 1 end)

        {victim_id, victim} =
          Enum.find(before, fn {id, _pid} ->
            ref = Snakepit.Pool.Ref.lookup(pool)
            worker = Enum.find(Snakepit.Pool.Manager.workers(ref.manager), &(&1.id == id))
            ref.profile.get_load(worker.handle) == 1
          end)

        Process.exit(victim, :kill)
        {micros, result} = Task.await(caller)
        assert result == {:error, :worker_crashed}
        assert micros < 1_000_000

        assert_receive {:telemetry, [:snakepit, :worker, :recycled], _,
                        %{worker: ^victim_id, reason: :crashed}},
                       1000

        assert_receive {:telemetry, [:snakepit, :worker, :started], _, %{replaces: ^victim_id}},
                       1000

        after_crash = worker_pids(pool)
        assert map_size(after_crash) == 2
        refute Map.has_key?(after_crash, victim_id)
        assert status!(pool).capacity == 2

        for i <- 1..4, do: assert(Snakepit.execute(:ping, [i], pool: pool) == {:ok, i})
      end
    end
  end

  test "a native panic is caught: the caller gets an error, the VM and the worker live on" do
    pool =
      start_pool!(
        commands: Snakepit.Test.Commands,
        worker_profile: :thread,
        pool_size: 1,
        threads_per_worker: 1
      )

    pids = worker_pids(pool)

    assert {:error, %Snakepit.Error{reason: :native_panic, message: message}} =
             Snakepit.execute(:__panic__, [], pool: pool)

    assert message =~ "panic requested"
    assert Snakepit.execute(:ping, [:alive], pool: pool) == {:ok, :alive}
    assert worker_pids(pool) == pids
    assert status!(pool).load == 0
  end
end
