defmodule Snakepit.Pool.MultiPoolTest do
  use Snakepit.PoolCase, async: true

  test "requests go to the pool they name, each with its own profile and capacity" do
    procs = start_pool!(commands: Snakepit.Test.Commands, worker_profile: :process, pool_size: 1)
    threads = start_pool!(worker_profile: :thread, pool_size: 2, threads_per_worker: 2)
    capture_telemetry([[:snakepit, :request, :stop]], procs)
    capture_telemetry([[:snakepit, :request, :stop]], threads)

    busy = Task.async(fn -> Snakepit.execute(:sleep, [100], pool: procs) end)
    eventually(fn -> status!(procs).load == 1 end)

    # The process pool is full; the thread pool is not affected.
    assert Snakepit.execute(:ping, [:t], pool: threads) == {:ok, :t}

    assert_receive {:telemetry, [:snakepit, :request, :stop], _,
                    %{pool: ^threads, profile: :thread}},
                   1000

    assert status!(threads).capacity == 4
    assert status!(procs).capacity == 1

    Task.await(busy)

    assert_receive {:telemetry, [:snakepit, :request, :stop], _,
                    %{pool: ^procs, profile: :process}},
                   1000
  end

  test "an unknown pool is an error" do
    assert Snakepit.execute(:ping, [1], pool: :no_such_pool) == {:error, :pool_not_found}
    assert Snakepit.Config.get_pool_config(:no_such_pool) == {:error, :pool_not_found}
  end

  test "each running pool's normalised config is readable" do
    a = start_pool!(worker_profile: :process, pool_size: 1, worker_ttl: {1, :minutes})
    b = start_pool!(%{worker_profile: :thread, threads_per_worker: 1} |> Map.to_list())

    assert {:ok, %{worker_profile: :process, pool_size: 1, worker_ttl: 60_000}} =
             Snakepit.Config.get_pool_config(a)

    assert {:ok, %{worker_profile: :thread, pool_size: 1}} = Snakepit.Config.get_pool_config(b)
    assert a in Snakepit.Config.pool_names() and b in Snakepit.Config.pool_names()
  end

  test "a second pool with a taken name does not start" do
    name = start_pool!(pool_size: 1)
    assert {:error, {:already_started, _}} = Snakepit.Pool.start_link(name: name, pool_size: 1)
  end

  test "execute validates its options" do
    assert_raise ArgumentError, ~r/:timeout must be .*got: -1/, fn ->
      Snakepit.execute(:ping, [1], timeout: -1)
    end

    assert_raise ArgumentError, ~r/:pool must be an atom, got: "x"/, fn ->
      Snakepit.execute(:ping, [1], pool: "x")
    end

    assert_raise ArgumentError, ~r/unknown options/, fn ->
      Snakepit.execute(:ping, [1], poool: :x)
    end
  end

  test "execute! raises Snakepit.Error for pool errors" do
    assert_raise Snakepit.Error, ~r/no Snakepit pool named :nope/, fn ->
      Snakepit.execute!(:ping, [1], pool: :nope)
    end
  end
end
