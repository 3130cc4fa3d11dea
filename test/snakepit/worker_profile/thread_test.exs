defmodule Snakepit.WorkerProfile.ThreadTest do
  use Snakepit.PoolCase, async: true

  alias Snakepit.Native

  test "requests waiting or running hold no scheduler: dirty NIFs still run at once" do
    pool =
      start_pool!(
        commands: Snakepit.Test.Commands,
        worker_profile: :thread,
        pool_size: 1,
        threads_per_worker: 4
      )

    sleepers =
      for _ <- 1..4, do: Task.async(fn -> Snakepit.execute(:sleep, [300], pool: pool) end)

    eventually(fn -> status!(pool).load == 4 end)

    # Four requests run, two dirty CPU schedulers exist: both must still be free.
    bytes = Snakepit.Test.Corpus.read!("formats/pymarc_test.dat")

    {micros, _} =
      :timer.tc(fn ->
        1..4 |> Task.async_stream(fn _ -> Snakepit.Marc.count(bytes) end) |> Enum.to_list()
      end)

    assert micros < 150_000
    assert Enum.map(sleepers, &Task.await/1) == List.duplicate({:ok, 300}, 4)
  end

  test "the submit NIF checks out atomically and never exceeds the thread count" do
    {:ok, resource} = Native.thread_pool_new(2, self(), 1, 0)
    tags = for _ <- 1..2, do: make_ref()
    assert Enum.map(tags, &Native.thread_pool_submit(resource, &1, :sleep, 50)) == [:ok, :ok]
    assert Native.thread_pool_submit(resource, make_ref(), :ping, 1) == :busy
    assert Native.thread_pool_acquire(resource, self()) == :busy
    assert Native.thread_pool_load(resource) == 2

    for tag <- tags, do: assert_receive({^tag, {:ok, 50}}, 1000)
    # The pool was full, so the first slot freed told the notify pid.
    assert_receive {:snakepit_capacity_freed, 1}, 1000
    assert Native.thread_pool_load(resource) == 0
    Native.thread_pool_close(resource)
  end

  test "max_requests stops check-outs at the limit and is reported once" do
    {:ok, resource} = Native.thread_pool_new(1, self(), 7, 2)

    for i <- 1..2 do
      tag = make_ref()
      assert Native.thread_pool_submit(resource, tag, :ping, i) == :ok
      assert_receive {^tag, {:ok, ^i}}, 1000
    end

    assert_receive {:snakepit_max_requests, 7}, 1000
    assert Native.thread_pool_submit(resource, make_ref(), :ping, 3) == :closed
    # A used-up worker reports itself full, so the router skips it.
    assert Native.thread_pool_load(resource) == 1
    refute_receive {:snakepit_max_requests, 7}, 50
    Native.thread_pool_close(resource)
  end

  test "health-check pings do not count as requests, even on a used-up worker" do
    {:ok, resource} = Native.thread_pool_new(1, self(), 1, 1)
    tag = make_ref()
    :ok = Native.thread_pool_submit(resource, tag, :ping, 1)
    assert_receive {^tag, {:ok, 1}}, 1000
    assert Native.thread_pool_submit(resource, make_ref(), :ping, 2) == :closed

    tag = make_ref()
    :ok = Native.thread_pool_submit(resource, tag, :__health__, :health)
    assert_receive {^tag, {:ok, :health}}, 1000
    eventually(fn -> match?({0, 0, 1, 1, _}, Native.thread_pool_stats(resource)) end)
    Native.thread_pool_close(resource)
  end

  test "native bytes count the binaries that queued and running jobs hold" do
    {:ok, resource} = Native.thread_pool_new(1, self(), 1, 0)
    {0, 0, 1, 0, idle_bytes} = Native.thread_pool_stats(resource)
    payload = :binary.copy("x", 1_000_000)
    tag = make_ref()
    :ok = Native.thread_pool_submit(resource, tag, :sleep, {100, payload})

    {1, 1, 1, 0, busy_bytes} = Native.thread_pool_stats(resource)
    assert busy_bytes - idle_bytes == 1_000_000

    assert_receive {^tag, {:ok, 100}}, 1000
    eventually(fn -> match?({0, 0, 1, 1, ^idle_bytes}, Native.thread_pool_stats(resource)) end)
    Native.thread_pool_close(resource)
  end

  test "a closed pool refuses work and finishes what it has" do
    {:ok, resource} = Native.thread_pool_new(2, self(), 1, 0)
    tag = make_ref()
    :ok = Native.thread_pool_submit(resource, tag, :sleep, 50)
    Native.thread_pool_close(resource)

    assert Native.thread_pool_submit(resource, make_ref(), :ping, 1) == :closed
    assert Native.thread_pool_acquire(resource, self()) == :closed
    assert_receive {^tag, {:ok, 50}}, 1000
  end

  test "unknown native commands and bad arguments are errors" do
    {:ok, resource} = Native.thread_pool_new(1, self(), 1, 0)

    assert Native.thread_pool_submit(resource, make_ref(), :nope, 1) ==
             {:error, {:unknown_command, :nope}}

    tag = make_ref()
    :ok = Native.thread_pool_submit(resource, tag, :count, :not_a_binary)
    assert_receive {^tag, {:error, {:invalid_arguments, "count"}}}, 1000
    Native.thread_pool_close(resource)
  end
end
