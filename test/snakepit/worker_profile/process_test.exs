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
        # (Not asserted as load 1 here: two health checks 10 ms apart may already have
        # reclaimed it on a busy machine; the warning below says it was taken.)
        :atomics.add(handle.counters, 1, 1)
        eventually(fn -> status!(pool).load == 0 end)
        # The lifecycle's health-check helper gives the slot back, THEN logs: under load the
        # test can see the slot free before the warning is made. Once the helper running now
        # (the one that reclaimed it, or a later one) has exited, the warning is in the
        # Logger's mailbox, ahead of capture_log's flush.
        await_health_checks(pool)
      end)

    assert log =~ "reclaimed a slot"
    assert Snakepit.execute(:ping, [:ok], pool: pool) == {:ok, :ok}
  end

  test "a slot held by a running request is never reclaimed" do
    pool =
      start_pool!(
        commands: Snakepit.Test.Commands,
        worker_profile: :process,
        pool_size: 1,
        health_check_interval: 10
      )

    # Ten health checks (and more) while the request runs; it runs long enough that a
    # descheduled test process still looks while it runs.
    task = Task.async(fn -> Snakepit.execute(:sleep, [1_000], pool: pool, timeout: 5_000) end)
    eventually(fn -> status!(pool).load == 1 end)
    Process.sleep(100)
    assert status!(pool).load == 1
    assert Task.await(task, 5_000) == {:ok, 1_000}
  end

  test "results are the command's own values, functions run in the worker process" do
    pool = start_pool!(worker_profile: :process, pool_size: 1)
    [worker] = Map.values(worker_pids(pool))
    assert Snakepit.Pool.run(pool, fn -> self() end) == {:ok, worker}
  end

  test "an idle worker does not keep its last big result or arguments alive" do
    pool = start_pool!(commands: Snakepit.Test.Commands, worker_profile: :process, pool_size: 1)
    [worker] = Map.values(worker_pids(pool))

    # A big heap result (built in the worker, copied to the caller).
    assert {:ok, list} = Snakepit.Pool.run(pool, fn -> Enum.to_list(1..500_000) end)
    assert length(list) == 500_000
    eventually(fn -> memory(worker) < 1024 * 1024 end)

    # A big refc binary argument.
    payload = :binary.copy("x", 8 * 1024 * 1024)
    assert Snakepit.execute(:sleep, [0, payload], pool: pool) == {:ok, 0}
    eventually(fn -> binary_bytes(worker) < 1024 * 1024 end)
  end

  defp await_health_checks(pool) do
    case :sys.get_state(Snakepit.Lifecycle.name(pool)).helper do
      {helper, _} ->
        mref = Process.monitor(helper)
        assert_receive {:DOWN, ^mref, _, _, _}, 5000

      nil ->
        :ok
    end
  end

  defp memory(pid), do: elem(Process.info(pid, :memory), 1)

  defp binary_bytes(pid),
    do: pid |> Process.info(:binary) |> elem(1) |> Enum.map(&elem(&1, 1)) |> Enum.sum()

  test "a big parse result comes back in pieces, assembled in order" do
    # One send copies its whole message on the worker's scheduler: 2,000 records must not go
    # in one message, nor be copied at all.
    pool = start_pool!(worker_profile: :process, pool_size: 1)
    [worker] = Map.values(worker_pids(pool))
    bytes = Snakepit.Test.Corpus.read!("synthetic/realistic_2000.mrc")
    :erlang.trace(worker, true, [:send])

    assert Snakepit.execute(:parse, [bytes], pool: pool) == Snakepit.Marc.parse(bytes)

    assert Snakepit.execute(:parse, [bytes, [records: :lazy]], pool: pool) ==
             Snakepit.Marc.parse(bytes, records: :lazy)

    # A function's list comes back as it was, improper tail included.
    improper = Enum.reduce(1..1_000, :tail, &[&1 | &2])
    assert Snakepit.Pool.run(pool, fn -> improper end) == {:ok, improper}
    :erlang.trace(worker, false, [:send])

    chunks =
      Stream.repeatedly(fn ->
        receive do
          {:trace, ^worker, :send, {_alias, {:snakepit_chunk, [ref]}}, _to}
          when is_reference(ref) ->
            :batch

          {:trace, ^worker, :send, {_alias, {:snakepit_chunk, items}}, _to} ->
            length(items)
        after
          0 -> nil
        end
      end)
      |> Enum.take_while(& &1)

    # 2,000 records (2.3 MB): parsed a batch at a time, each batch sent as made as one
    # reference to its records held natively (the caller builds them), the reply itself
    # empty; then four pieces of 200 before the function's 1,000.
    {parse_chunks, fun_chunks} = Enum.split(chunks, -4)
    assert Enum.all?(parse_chunks, &(&1 == :batch)), inspect(chunks)
    assert length(parse_chunks) >= 2 * 10, inspect(chunks)
    assert fun_chunks == List.duplicate(200, 4), inspect(chunks)
  end
end
