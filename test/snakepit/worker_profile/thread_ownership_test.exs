defmodule Snakepit.WorkerProfile.ThreadOwnershipTest do
  # Slots of the :thread profile are owned: whoever holds one is monitored by the worker's
  # owner process, so no exit signal can leak one. Also: timeouts for local work, workers
  # that stop for good, and the bounds on what runs on the caller's scheduler. Counts OS
  # threads and uses the VM-wide system monitor, so not async.
  use Snakepit.PoolCase, async: false

  alias Snakepit.{Marc, Native}
  alias Snakepit.Marc.Record
  alias Snakepit.Test.{Corpus, OsResources}
  alias Snakepit.Marc.Commands

  @dump "synthetic/records_10k.mrc"

  defp thread_pool!(threads \\ 2),
    do:
      start_pool!(
        commands: Snakepit.Test.Commands,
        worker_profile: :thread,
        pool_size: 1,
        threads_per_worker: threads
      )

  # Every slot comes back (a leaked one never does). Workers of a stopped map/3 may still
  # finish the batch they were running, so this waits for that, generously.
  defp all_slots_return!(pool), do: eventually(fn -> status!(pool).load == 0 end, 10_000)

  describe "slots held by processes that die" do
    test "the README's map |> Enum.take(5), six times in a row, leaves every slot free" do
      pool = thread_pool!()

      for _ <- 1..6 do
        isbns = Marc.map(Corpus.path(@dump), &Record.isbn/1, pool: pool) |> Enum.take(5)
        assert length(isbns) == 5
      end

      all_slots_return!(pool)
      assert Snakepit.Pool.run(pool, fn -> :next end, 5000) == {:ok, :next}
    end

    test "a raise in the mapped function, six times in a row, leaves every slot free" do
      pool = thread_pool!()

      for _ <- 1..6 do
        # The first record raises; the other worker is mid-batch, holding a slot.
        calls = :atomics.new(1, [])

        fun = fn record ->
          if :atomics.add_get(calls, 1, 1) == 1, do: raise("boom")
          Process.sleep(2)
          record
        end

        assert_raise RuntimeError, "boom", fn ->
          Marc.map(Corpus.path(@dump), fun, pool: pool) |> Stream.run()
        end
      end

      all_slots_return!(pool)
      assert Snakepit.Pool.run(pool, fn -> :next end, 5000) == {:ok, :next}
    end

    test "a caller killed while it holds a local slot gives the slot back" do
      pool = thread_pool!(1)
      test = self()

      holder =
        spawn(fn ->
          Snakepit.Pool.run(
            pool,
            fn -> send(test, :holding) && Process.sleep(:infinity) end,
            :infinity
          )
        end)

      assert_receive :holding, 5000
      assert status!(pool).load == 1
      Process.exit(holder, :kill)
      all_slots_return!(pool)
      assert Snakepit.execute(:encode, [[]], pool: pool) == {:ok, []}
    end

    test "a local command's process killed mid-run gives the slot back and fails the caller" do
      pool = thread_pool!(1)
      test = self()

      caller =
        Task.async(fn ->
          Snakepit.Pool.run(
            pool,
            fn -> send(test, {:running, self()}) && Process.sleep(:infinity) end,
            60_000
          )
        end)

      assert_receive {:running, runner}, 5000
      Process.exit(runner, :kill)
      assert Task.await(caller) == {:error, :worker_crashed}
      all_slots_return!(pool)
    end
  end

  describe "local work with the worker's threads (:local_with_threads)" do
    test "takes every free slot, at least one, and gives them all back" do
      pool = thread_pool!(3)
      test = self()

      run = fn timeout ->
        Snakepit.execute(:__with_threads__, [test], pool: pool, timeout: timeout)
      end

      # All three free: it holds all three.
      task = Task.async(fn -> run.(:infinity) end)
      assert_receive {:with_threads, holder, threads}, 5000
      assert length(threads) == 3 and status!(pool).load == 3
      send(holder, :go_on)
      assert Task.await(task) == {:ok, 3}
      assert status!(pool).load == 0

      # One held by someone else: it takes the other two, in a runner when it has a timeout.
      other =
        Task.async(fn -> Snakepit.Pool.run(pool, fn -> Process.sleep(300) end, :infinity) end)

      eventually(fn -> status!(pool).load == 1 end, 5000)
      task = Task.async(fn -> run.(10_000) end)
      assert_receive {:with_threads, holder, threads}, 5000
      assert length(threads) == 2 and status!(pool).load == 3
      send(holder, :go_on)
      assert Task.await(task) == {:ok, 2}
      Task.await(other)
      all_slots_return!(pool)
    end

    test "a holder killed mid-run gives every slot back" do
      pool = thread_pool!(2)
      test = self()

      run = fn timeout ->
        Snakepit.execute(:__with_threads__, [test], pool: pool, timeout: timeout)
      end

      # The caller itself holds them.
      caller = spawn(fn -> run.(:infinity) end)
      assert_receive {:with_threads, ^caller, [_, _]}, 5000
      assert status!(pool).load == 2
      Process.exit(caller, :kill)
      all_slots_return!(pool)

      # A runner holds them for a caller with a timeout: the caller is told.
      task = Task.async(fn -> run.(60_000) end)
      assert_receive {:with_threads, runner, [_, _]}, 5000
      Process.exit(runner, :kill)
      assert Task.await(task) == {:error, :worker_crashed}
      all_slots_return!(pool)
    end

    test "native work refuses threads whose slots were given back" do
      pool = thread_pool!(2)
      test = self()
      task = Task.async(fn -> Snakepit.execute(:__with_threads__, [test], pool: pool) end)
      assert_receive {:with_threads, holder, threads}, 5000
      send(holder, :go_on)
      assert Task.await(task) == {:ok, 2}
      compiled = Snakepit.Marc.Spec.compile!(t: "245a")

      assert_raise ArgumentError, fn ->
        Snakepit.Marc.Extract.all_with_threads(threads, Corpus.read!(@dump), compiled)
      end
    end

    test "a :thread pool extracts a small input in the caller, on the worker's threads" do
      pool = thread_pool!(2)
      compiled = Snakepit.Marc.Spec.compile!(title: "245a", isbn: "020a")
      path = Corpus.path(@dump)
      expected = Marc.extract(path, compiled) |> Enum.to_list()

      for source <- [path, File.read!(path)] do
        assert Marc.extract(source, compiled, pool: pool) |> Enum.to_list() == expected

        assert Snakepit.execute(:extract, [File.read!(path), compiled], pool: pool) ==
                 {:ok, expected}
      end

      # A file that is no longer small and regular when the command reads it: left to a
      # stream.
      small = %Snakepit.Marc.Extract.SmallFile{path: "/dev/null"}
      assert Snakepit.execute(:extract, [small, compiled], pool: pool) == {:ok, :stream}
      assert Snakepit.Marc.Extract.all(small, compiled) == {:ok, :stream}

      all_slots_return!(pool)
    end
  end

  describe "timeouts for local work" do
    test "Pool.run honours its timeout; the slot returns when the function ends" do
      pool = thread_pool!(1)
      assert Snakepit.Pool.run(pool, fn -> Process.sleep(4000) end, 100) == {:error, :timeout}
      # The abandoned function still holds its slot, as an abandoned native job does.
      assert status!(pool).load == 1
      all_slots_return!(pool)
      assert Snakepit.Pool.run(pool, fn -> :after end, 5000) == {:ok, :after}
      refute_received {_, {:ok, :ok}}
    end
  end

  describe "map/3 workers" do
    test "killing one raises in the consumer, which lives on" do
      test = self()

      killer =
        spawn(fn ->
          receive do
            {:worker, pid} -> Process.exit(pid, :kill)
          end
        end)

      fun = fn record ->
        send(killer, {:worker, self()})
        Process.sleep(100)
        record
      end

      error =
        assert_raise Snakepit.Error, fn ->
          Marc.map(Corpus.path(@dump), fun, workers: 2) |> Stream.run()
        end

      assert error.reason == :worker_crashed
      assert error.message =~ ":killed"
      assert Process.alive?(test)
    end

    test "an unknown pool is named in the error" do
      error =
        assert_raise Snakepit.Error, fn ->
          Marc.map(Corpus.path(@dump), & &1, pool: :no_such_pool_named_here) |> Enum.take(1)
        end

      assert error.message =~ ":no_such_pool_named_here"

      error =
        assert_raise Snakepit.Error, fn ->
          Marc.stream(Corpus.path(@dump), pool: :no_such_pool_named_here) |> Enum.take(1)
        end

      assert error.message =~ ":no_such_pool_named_here"
    end
  end

  describe "a stopped worker" do
    test "ends its sleeping job, so its OS threads exit and its payload is freed" do
      # Thread ids, not counts: threads of earlier tests (a stream reader noticing its stream
      # is gone) may exit meanwhile and make a count come out short.
      others = OsResources.pool_thread_ids()
      pool = thread_pool!(2)

      assert OsResources.settles?(fn ->
               MapSet.size(MapSet.difference(OsResources.pool_thread_ids(), others)) == 2
             end)

      old_threads = MapSet.difference(OsResources.pool_thread_ids(), others)
      [{_id, owner}] = Map.to_list(worker_pids(pool))
      payload = :binary.copy("x", 1_000_000)
      sleeper = Task.async(fn -> Snakepit.execute(:sleep, [600_000, payload], pool: pool) end)
      eventually(fn -> status!(pool).load == 1 end)

      # The manager replaces the dead worker (two new threads) and stops the old one.
      Process.exit(owner, :kill)
      assert Task.await(sleeper) == {:error, :worker_crashed}

      eventually(fn -> map_size(worker_pids(pool)) == 1 and worker_pids(pool) != %{1 => owner} end)

      # The old worker's two threads are gone; the replacement's two are there.
      assert OsResources.settles?(fn ->
               now = OsResources.pool_thread_ids()

               MapSet.disjoint?(now, old_threads) and
                 MapSet.size(MapSet.difference(now, others)) == 2
             end)
    end
  end

  describe "the caller's scheduler" do
    # Runs `fun` in a fresh process; returns its result and the long schedules (10 ms or
    # more on a normal scheduler) the VM reported for that process.
    defp long_schedules_in(fun) do
      :erlang.system_monitor(self(), [{:long_schedule, 10}])
      task = Task.async(fn -> :erlang.garbage_collect() && fun.() end)
      result = Task.await(task, 30_000)
      # Reports come as messages after the process is scheduled out.
      Process.sleep(200)
      :erlang.system_monitor(:undefined)
      {result, collect_reports(task.pid, [])}
    end

    defp collect_reports(pid, acc) do
      receive do
        {:monitor, ^pid, :long_schedule, info} -> collect_reports(pid, [info | acc])
      after
        0 -> acc
      end
    end

    test "thread_pool_new refuses more threads than the maximum, with a clear error" do
      max = Native.thread_pool_max_threads()
      assert {:error, message} = Native.thread_pool_new(max + 1, self(), 1, 0)
      assert message =~ "threads_per_worker must be between 1 and #{max}, got: #{max + 1}"
      assert {:error, _} = Native.thread_pool_new(0, self(), 1, 0)
    end

    test "thread_pool_new starts its threads off the normal schedulers" do
      {{:ok, resource}, reports} =
        long_schedules_in(fn -> Native.thread_pool_new(400, self(), 1, 0) end)

      Native.thread_pool_stop(resource)
      assert reports == []
    end

    test "a big term argument is not copied on the caller's scheduler" do
      {:ok, resource} = Native.thread_pool_new(1, self(), 1, 0)
      big = Enum.to_list(1..2_000_000)
      tag = make_ref()
      assert Native.thread_pool_submit(resource, tag, :sleep, {0, big}) == :copy_on_dirty
      Native.thread_pool_stop(resource)

      pool = thread_pool!(1)

      {result, reports} =
        long_schedules_in(fn -> Snakepit.execute(:sleep, [0, big], pool: pool) end)

      assert result == {:ok, 0}
      assert reports == []
    end
  end

  describe "big parse results" do
    defp parse_messages(bytes, opts) do
      {:ok, resource} = Native.thread_pool_new(1, self(), 1, 0)
      {:native, :parse, args, _post} = Commands.native_plan(:parse, [bytes, opts])
      tag = make_ref()
      {:ok, _ticket} = Native.thread_pool_submit(resource, tag, :parse, args)
      messages = receive_until_reply(tag, [])
      Native.thread_pool_stop(resource)
      messages
    end

    defp receive_until_reply(tag, acc) do
      receive do
        {^tag, {:snakepit_chunk, _} = chunk} -> receive_until_reply(tag, [chunk | acc])
        {^tag, reply} -> Enum.reverse([reply | acc])
      after
        10_000 -> flunk("no reply")
      end
    end

    test "stop coming once the caller gives up" do
      bytes = :binary.copy(Corpus.read!("synthetic/realistic_2000.mrc"), 20)
      {:ok, resource} = Native.thread_pool_new(1, self(), 1, 0)
      {:native, :parse, args, _post} = Commands.native_plan(:parse, [bytes, []])
      tag = make_ref()
      {:ok, ticket} = Native.thread_pool_submit(resource, tag, :parse, args)
      assert Native.thread_pool_cancel(ticket) == :ok

      # Over 40 chunks are due; the job stops at the next one and says so.
      messages = receive_until_reply(tag, [])
      assert List.last(messages) == {:error, :cancelled}
      assert length(messages) < 40
      Native.thread_pool_stop(resource)

      pool = thread_pool!(1)
      assert Snakepit.execute(:parse, [bytes], pool: pool, timeout: 1) == {:error, :timeout}
      all_slots_return!(pool)
    end

    test "arrive in several messages that assemble to the whole result" do
      good = Corpus.read!("synthetic/realistic_2000.mrc")
      bad = Corpus.read!("bad/pymarc_bad_records.mrc")
      bytes = good <> bad <> good

      messages = parse_messages(bytes, mode: :permissive)
      assert length(messages) >= 4

      {:ok, expected} = Marc.parse(bytes, mode: :permissive)
      pool = thread_pool!(1)
      assert Snakepit.execute(:parse, [bytes, [mode: :permissive]], pool: pool) == {:ok, expected}

      {:ok, expected, report} = Marc.parse(bytes, mode: :skip, report: true)

      assert Snakepit.execute(:parse, [bytes, [mode: :skip, report: true]], pool: pool) ==
               {:ok, expected, report}

      # Strict: the error in the middle is the answer, with its place in the whole input.
      assert Snakepit.execute(:parse, [bytes], pool: pool) == Marc.parse(bytes)
      assert {:error, %Marc.ParseError{}} = Marc.parse(bytes)
    end
  end
end
