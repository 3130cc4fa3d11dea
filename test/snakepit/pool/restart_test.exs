defmodule Snakepit.Pool.RestartTest do
  # Internal restarts (manager, lifecycle, a health-check helper) must not reach callers:
  # queued callers wait for the restarted process and are served.
  use Snakepit.PoolCase, async: true
  @moduletag :capture_log

  @callers 50

  for profile <- [:process, :thread] do
    describe "#{profile} profile" do
      test "killing the manager: the holder and every queued caller get their answer" do
        pool = start_full_pool(unquote(profile))
        {holder, queued} = hold_and_queue(pool)
        old_manager = Snakepit.Pool.Ref.lookup(pool).manager

        Process.exit(old_manager, :kill)
        # Callers arriving while the manager is gone find its table gone with it.
        fresh = for i <- 1..10, do: Task.async(fn -> Snakepit.execute(:ping, [i], pool: pool) end)
        eventually(fn -> Snakepit.Pool.Ref.lookup(pool).manager != old_manager end)

        assert_all_served(holder, queued)
        assert Enum.map(fresh, &Task.await(&1, 30_000)) == Enum.map(1..10, &{:ok, &1})
      end

      test "killing the manager: a request in flight on a worker still gets its result" do
        pool = start_full_pool(unquote(profile))
        running = Task.async(fn -> Snakepit.execute(:sleep, [300], pool: pool) end)
        eventually(fn -> status!(pool).load == 1 end)
        old_manager = Snakepit.Pool.Ref.lookup(pool).manager

        Process.exit(old_manager, :kill)
        assert Task.await(running) == {:ok, 300}
        assert Snakepit.execute(:ping, [:after], pool: pool) == {:ok, :after}
      end

      test "a crashing manager: a request in flight and every queued caller get their answer" do
        pool = start_full_pool(unquote(profile))
        {holder, queued} = hold_and_queue(pool)
        old_manager = Snakepit.Pool.Ref.lookup(pool).manager

        # No clause for this cast: the manager raises.
        GenServer.cast(old_manager, :no_such_cast)

        eventually(fn ->
          match?(%{manager: m} when m != old_manager, Snakepit.Pool.Ref.lookup(pool))
        end)

        assert_all_served(holder, queued)
      end

      test "killing the lifecycle process: every queued caller gets its answer" do
        pool = start_full_pool(unquote(profile))
        {holder, queued} = hold_and_queue(pool)
        old = Process.whereis(Snakepit.Lifecycle.name(pool))

        Process.exit(old, :kill)
        eventually(fn -> Process.whereis(Snakepit.Lifecycle.name(pool)) not in [nil, old] end)

        assert_all_served(holder, queued)
      end
    end
  end

  test "killing a health-check helper: queued callers are served, checks go on" do
    pool =
      start_pool!(
        worker_profile: Snakepit.Test.FlakyProfile,
        pool_size: 1,
        max_queue_size: @callers,
        queue_timeout: 30_000,
        health_check_interval: 20
      )

    [id] = Map.keys(worker_pids(pool))
    Snakepit.Test.FlakyProfile.make_slow(pool, id)
    {holder, queued} = hold_and_queue(pool)

    lifecycle = Snakepit.Lifecycle.name(pool)
    {helper, _mref} = eventually(fn -> :sys.get_state(lifecycle).helper end)
    Process.exit(helper, :kill)

    # The lifecycle survives its helper and starts another round of checks.
    eventually(fn ->
      case :sys.get_state(lifecycle).helper do
        {pid, _} -> pid != helper
        nil -> false
      end
    end)

    Snakepit.Test.FlakyProfile.make_slow(pool, nil)
    assert_all_served(holder, queued)
  end

  test "a stopped pool still answers :pool_not_found to callers that were queued" do
    pool = start_full_pool(:process)
    {_holding, queued} = hold_and_queue(pool)
    stop_supervised!(pool)
    assert Enum.map(queued, &Task.await(&1, 10_000)) |> Enum.uniq() == [{:error, :pool_not_found}]
    assert Snakepit.execute(:ping, [1], pool: pool) == {:error, :pool_not_found}
  end

  defp start_full_pool(profile) do
    start_pool!(
      commands: Snakepit.Test.Commands,
      worker_profile: profile,
      pool_size: 1,
      threads_per_worker: 1,
      max_queue_size: @callers,
      queue_timeout: 30_000
    )
  end

  # One caller holds the only slot until told to let go; @callers more queue behind it.
  defp hold_and_queue(pool) do
    {holder, running} = hold_slot(pool)

    queued =
      for i <- 1..@callers, do: Task.async(fn -> Snakepit.execute(:ping, [i], pool: pool) end)

    eventually(fn -> status!(pool).queue_length == @callers end, 10_000)
    {{holder, running}, queued}
  end

  defp assert_all_served({holder, running}, queued) do
    send(running, :release)
    assert Task.await(holder, 30_000) == {:ok, :held}
    assert Enum.map(queued, &Task.await(&1, 30_000)) == Enum.map(1..@callers, &{:ok, &1})
  end
end
