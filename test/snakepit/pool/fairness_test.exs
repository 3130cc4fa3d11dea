defmodule Snakepit.Pool.FairnessTest do
  # A queued caller is served in its turn, not passed over by callers that arrive after it
  # (issue #10). A few "streamer" processes keep a small pool full, each running one short
  # request after another; a caller that comes while they do has to queue. What it may wait
  # for is counted, not timed: how many requests ran between its arrival and its own.
  use Snakepit.PoolCase, async: true

  alias Snakepit.Test.BothProfiles

  # Streamers: more than the pools' capacity (1 and 2 slots), so the pool stays full.
  @streamers 4
  # Ahead of a caller when it queues: each streamer at most twice (one request running or
  # already past the fast path, one queued), plus a running request per slot.
  @fifo_bound 2 * @streamers + 2

  setup do
    BothProfiles.start_pools!("fair")
  end

  test "a queued caller is served before callers that came after it", %{pools: pools} do
    # A profile without execute_request/4 (its woken callers are uncounted before they try).
    custom = start_pool!(worker_profile: Snakepit.Test.FlakyProfile, pool_size: 1)

    for pool <- pools ++ [custom] do
      stream = start_stream!(pool, :normal)

      for _round <- 1..3 do
        {result, passed} = run_counted(pool, stream, :normal)
        assert result == :ok, "#{pool}: the queued caller got #{inspect(result)}"

        assert passed <= @fifo_bound,
               "#{pool}: #{passed} requests ran while the caller waited (bound #{@fifo_bound})"
      end

      stop_stream(pool, stream)
    end
  end

  test "a low-priority caller waits for at most the starvation limit of later normal ones",
       %{pools: pools} do
    limit = 8

    for pool <- pools do
      stream = start_stream!(pool, :normal)
      {result, passed} = run_counted(pool, stream, :low)
      assert result == :ok, "#{pool}: the low caller got #{inspect(result)}"
      # Passed over by at most `limit` normal callers after those already ahead of it.
      assert passed <= @fifo_bound + limit, "#{pool}: #{passed} ran before the low caller"
      stop_stream(pool, stream)
    end
  end

  test "resizes and recycles under a stream lose no caller and leave nobody counted",
       %{pools: pools} do
    for pool <- pools do
      stream = start_stream!(pool, :normal)
      queued = Task.async(fn -> run_counted(pool, stream, :normal) end)
      # Callers woken for a worker that is retired under them go back to their place.
      assert {:ok, _} = Snakepit.resize_pool(pool, 2)
      [first | _] = status!(pool).workers
      assert :ok = Snakepit.recycle_worker(pool, first)
      assert {:ok, _} = Snakepit.resize_pool(pool, 1)
      assert {:ok, _passed} = Task.await(queued, 15_000)
      stop_stream(pool, stream)
    end
  end

  # Streamers that each run request after request on `pool` until stopped; `served` counts
  # the requests that ran, `failed` the ones that did not (a fair queue times none out).
  defp start_stream!(pool, priority) do
    counters = :atomics.new(2, [])
    stop = :atomics.new(1, [])

    tasks =
      for _ <- 1..@streamers do
        Task.async(fn -> stream_loop(pool, priority, counters, stop) end)
      end

    stream = %{counters: counters, stop: stop, tasks: tasks}
    # Running, and full: the pool's slots are taken.
    eventually(fn -> served(stream) >= 20 end, 10_000)
    stream
  end

  defp stream_loop(pool, priority, counters, stop) do
    if :atomics.get(stop, 1) == 0 do
      work = fn ->
        :atomics.add(counters, 1, 1)
        Process.sleep(1)
      end

      case Snakepit.Pool.run(pool, work, timeout: 10_000, priority: priority) do
        {:ok, :ok} -> :ok
        _error -> :atomics.add(counters, 2, 1)
      end

      stream_loop(pool, priority, counters, stop)
    end
  end

  defp served(stream), do: :atomics.get(stream.counters, 1)

  defp stop_stream(pool, stream) do
    :atomics.put(stream.stop, 1, 1)
    Enum.each(stream.tasks, &Task.await(&1, 15_000))
    assert :atomics.get(stream.counters, 2) == 0, "streamer requests failed"
    # Everyone served: nobody is counted as waiting, so the fast path is open again.
    # (The manager may not have read the last callers' check-out messages yet.)
    waiting = Snakepit.Pool.Ref.lookup(pool).waiting
    eventually(fn -> :atomics.get(waiting, 1) == 0 and status!(pool).queue_length == 0 end)
  end

  # Runs one request among the stream: its result tag, and how many stream requests ran
  # between its arrival and its own start.
  defp run_counted(pool, stream, priority) do
    before = served(stream)
    work = fn -> served(stream) end

    case Snakepit.Pool.run(pool, work, timeout: 10_000, priority: priority) do
      {:ok, at_start} -> {:ok, at_start - before}
      {:error, reason} -> {reason, served(stream) - before}
    end
  end
end
