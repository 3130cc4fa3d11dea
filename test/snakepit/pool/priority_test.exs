defmodule Snakepit.Pool.PriorityTest do
  # One-slot pools: a held slot makes every later caller queue, and the order in which the
  # queued callers run is the order the queue served them.
  use Snakepit.PoolCase, async: true

  alias Snakepit.Pool.Queue

  describe "Queue" do
    test "serves higher classes first, a passed-over class after at most the limit" do
      q = Queue.new(:atomics.new(1, signed: true), 2)
      arrivals = [n1: :normal, l1: :low, h1: :high, h2: :high, h3: :high, h4: :high, h5: :high]

      q =
        Enum.reduce(arrivals, q, fn {tag, p}, q ->
          Queue.arrive(q)
          Queue.add(q, {self(), tag}, 60_000, false, p)
        end)

      assert drain(q) == [:h1, :h2, :l1, :n1, :h3, :h4, :h5]
    end

    test "a woken caller that lost its race goes back to the front of its own class" do
      q = Queue.new(:atomics.new(1, signed: true), 8)
      q = Queue.add(q, {self(), :n1}, 60_000, false, :normal)
      q = Queue.add(q, {self(), :h1}, 60_000, false, :high)
      q = Queue.add(q, {self(), :n0}, 60_000, true, :normal)
      assert drain(q) == [:h1, :n0, :n1]
    end

    test "callers that left do not count as passed over" do
      q = Queue.new(:atomics.new(1, signed: true), 1)
      q = Queue.add(q, {self(), :h1}, 60_000, false, :high)
      q = Queue.add(q, {self(), :l1}, 60_000, false, :low)
      {from, _token, q} = Queue.out(q, :w)
      assert from == {self(), :h1}
      # The low caller was passed over once: with limit 1 it is next, before a new high one.
      q = Queue.add(q, {self(), :h2}, 60_000, false, :high)
      assert drain(q) == [:l1, :h2]
    end

    test "woken callers that lost their slot come back in their order, ahead of later ones" do
      waiting = :atomics.new(1, signed: true)
      q = Queue.new(waiting, 8)

      q =
        Enum.reduce([:n1, :n2, :n3], q, fn tag, q ->
          Queue.arrive(q)
          Queue.add(q, {self(), tag}, 60_000, false, :normal)
        end)

      {{_, :n1}, t1, q} = Queue.out(q, :w)
      {{_, :n2}, t2, q} = Queue.out(q, :w)
      Queue.arrive(q)
      q = Queue.add(q, {self(), :n4}, 60_000, false, :normal)
      # Back in the other order than they were woken: still served n1, n2, then the rest.
      {:ok, q} = Queue.return(q, t2, {self(), :n2}, 60_000)
      {:ok, q} = Queue.return(q, t1, {self(), :n1}, 60_000)
      assert Queue.return(q, t1, {self(), :n1}, 60_000) == :unknown
      assert :atomics.get(waiting, 1) == 4
      assert drain(q) == [:n1, :n2, :n3, :n4]
    end

    test "a woken caller that dies before it checks out is no longer counted" do
      waiting = :atomics.new(1, signed: true)
      caller = spawn(fn -> Process.sleep(:infinity) end)
      Queue.arrive(Queue.new(waiting))
      q = Queue.add(Queue.new(waiting), {caller, :c}, 60_000, false)
      {{^caller, :c}, _token, q} = Queue.out(q, :w)
      Process.exit(caller, :kill)
      assert_receive {:DOWN, mref, :process, ^caller, :killed}
      assert {:ok, q} = Queue.caller_down(q, mref)
      assert {:atomics.get(waiting, 1), Queue.pending(q, :w), Queue.held?(q)} == {0, 0, false}
    end

    defp drain(q) do
      case Queue.out(q, :w) do
        :empty -> []
        {{_pid, tag}, _token, q} -> [tag | drain(q)]
      end
    end
  end

  for profile <- [:process, :thread] do
    describe "#{profile} pool" do
      test "queued callers run by priority with anti-starvation" do
        pool = one_slot_pool!(unquote(profile), priority_starvation_limit: 2)
        release = hold_only_slot(pool)

        arrivals =
          [l1: :low, l2: :low, l3: :low, h1: :high, h2: :high, h3: :high] ++
            [h4: :high, h5: :high, h6: :high]

        callers = queue_in_order(pool, arrivals)
        release.()

        assert Enum.map(callers, &Task.await/1) ==
                 Enum.map(arrivals, fn {tag, _} -> {:ok, tag} end)

        ran = for _ <- arrivals, do: receive(do: ({:ran, tag} -> tag))
        # Served as [:h1, :h2, :l1, :h3, :h4, :l2, :h5, :h6, :l3]. A caller woken for a slot
        # may lose it to the next one woken (by the manager's safety-net poll, on a slow
        # machine), which then runs first: so each low caller runs after 2k highs, give or
        # take the one such swap.
        for {low, k} <- Enum.with_index([:l1, :l2, :l3], 1) do
          highs_before =
            ran
            |> Enum.take_while(&(&1 != low))
            |> Enum.count(&(&1 in [:h1, :h2, :h3, :h4, :h5, :h6]))

          assert abs(highs_before - 2 * k) <= 1,
                 "#{low} ran after #{highs_before} highs: #{inspect(ran)}"
        end
      end

      test "queue timeouts answer each caller once, whatever its priority" do
        pool = one_slot_pool!(unquote(profile), queue_timeout: 1000)
        capture_telemetry([[:snakepit, :pool, :queue, :timeout]], pool)
        release = hold_only_slot(pool)

        callers =
          for i <- 1..9 do
            priority = Enum.at([:high, :normal, :low], rem(i, 3))

            Task.async(fn ->
              Snakepit.Pool.run(pool, fn -> send(self(), {:ran, i}) end, priority: priority)
            end)
          end

        results = Enum.map(callers, &Task.await(&1, 5000))
        assert results == List.duplicate({:error, :queue_timeout}, 9)
        release.()

        for _ <- 1..9,
            do: assert_receive({:telemetry, [:snakepit, :pool, :queue, :timeout], _, _}, 1000)

        refute_receive {:telemetry, _, _, _}, 300
        refute_received {:ran, _}
        assert status!(pool).queue_length == 0
        assert :atomics.get(Snakepit.Pool.Ref.lookup(pool).waiting, 1) == 0
      end

      test "a full queue turns away every priority, once each" do
        pool = one_slot_pool!(unquote(profile), max_queue_size: 2)
        capture_telemetry([[:snakepit, :pool, :saturated]], pool)
        release = hold_only_slot(pool)
        callers = queue_in_order(pool, l1: :low, l2: :low)

        for p <- [:high, :normal, :low] do
          assert Snakepit.Pool.run(pool, fn -> :never end, priority: p) ==
                   {:error, :pool_saturated}

          assert_receive {:telemetry, [:snakepit, :pool, :saturated], _, _}, 1000
        end

        release.()
        assert Enum.map(callers, &Task.await/1) == [{:ok, :l1}, {:ok, :l2}]
        refute_receive {:telemetry, _, _, _}, 100
      end
    end
  end

  test "priority is validated" do
    assert_raise ArgumentError, ~r/invalid :priority.*got: :urgent/, fn ->
      Snakepit.execute(:ping, [1], priority: :urgent)
    end

    assert_raise ArgumentError,
                 ~r/priority_starvation_limit must be a positive integer, got: 0/,
                 fn ->
                   Snakepit.Config.normalize_pool!(priority_starvation_limit: 0)
                 end
  end

  defp one_slot_pool!(profile, opts) do
    start_pool!(
      Keyword.merge(
        [
          commands: Snakepit.Test.Commands,
          worker_profile: profile,
          pool_size: 1,
          threads_per_worker: 1,
          queue_timeout: 30_000
        ],
        opts
      )
    )
  end

  # Holds the pool's only slot until the returned function is called.
  defp hold_only_slot(pool) do
    held = hold_slot(pool, 30_000)
    fn -> release_slot(held) end
  end

  # Queues one caller per arrival, each after the previous one is in the queue, so the
  # arrival order is known.
  defp queue_in_order(pool, arrivals) do
    test = self()

    arrivals
    |> Enum.with_index(1)
    |> Enum.map(fn {{tag, priority}, n} ->
      task =
        Task.async(fn ->
          Snakepit.Pool.run(pool, fn -> send(test, {:ran, tag}) && tag end,
            priority: priority,
            timeout: 30_000
          )
        end)

      eventually(fn -> status!(pool).queue_length == n end)
      task
    end)
  end
end
