defmodule Snakepit.ApplicationTest do
  # Restarts the :snakepit application with different env: global state, run alone.
  use ExUnit.Case, async: false
  @moduletag :capture_log

  alias Snakepit.Test.Corpus

  setup do
    saved = Application.get_all_env(:snakepit)

    on_exit(fn ->
      Application.stop(:snakepit)

      for {key, _} <- Application.get_all_env(:snakepit),
          do: Application.delete_env(:snakepit, key)

      for {key, value} <- saved, do: Application.put_env(:snakepit, key, value)
      System.delete_env("SNAKEPIT_NUM_THREADS")
      {:ok, _} = Application.ensure_all_started(:snakepit)
    end)
  end

  defp restart_with(env) do
    Application.stop(:snakepit)
    for {key, _} <- Application.get_all_env(:snakepit), do: Application.delete_env(:snakepit, key)

    for {key, value} <- Snakepit.Test.AppEnv.with_defaults(env),
        do: Application.put_env(:snakepit, key, value)

    Application.ensure_all_started(:snakepit)
  end

  test "the application starts the pools in its config" do
    {:ok, _} =
      restart_with(
        pools: [
          [name: :app_procs, pool_size: 2],
          %{name: :app_threads, worker_profile: :thread, threads_per_worker: 2}
        ]
      )

    assert Snakepit.Config.pool_names() |> Enum.filter(&(&1 in [:app_procs, :app_threads])) == [
             :app_procs,
             :app_threads
           ]

    assert {:ok, %{pool_size: 2, worker_profile: :process}} =
             Snakepit.Config.get_pool_config(:app_procs)

    assert {:ok, %{pool_size: 1, threads_per_worker: 2}} =
             Snakepit.Config.get_pool_config(:app_threads)

    assert Snakepit.execute(:ping, [:a], pool: :app_procs) == {:ok, :a}
    assert Snakepit.execute(:ping, [:b], pool: :app_threads) == {:ok, :b}
  end

  test "the legacy flat config starts one :default process pool" do
    {:ok, _} = restart_with(pooling_enabled: true, pool_size: 3)

    assert {:ok, %{name: :default, worker_profile: :process, pool_size: 3}} =
             Snakepit.Config.get_pool_config(:default)

    assert Snakepit.execute(:ping, [:legacy]) == {:ok, :legacy}
  end

  test "pools run the MARC commands unless they or config :snakepit, :commands say otherwise" do
    {:ok, _} =
      restart_with(pools: [[name: :marc_pool], [name: :own, commands: Snakepit.Test.Commands]])

    assert {:ok, %{commands: Snakepit.Marc.Commands}} =
             Snakepit.Config.get_pool_config(:marc_pool)

    assert {:ok, %{records: 1}} =
             Snakepit.execute(:count, [Corpus.read!("formats/pymarc_one.dat")], pool: :marc_pool)

    assert {:error, %Snakepit.Error{reason: :unsupported_command}} =
             Snakepit.execute(:sleep, [0], pool: :marc_pool)

    assert Snakepit.execute(:sleep, [0], pool: :own) == {:ok, 0}

    {:ok, _} = restart_with(commands: Snakepit.Test.Commands, pools: [[name: :hooks]])
    assert Snakepit.execute(:sleep, [0], pool: :hooks) == {:ok, 0}
  end

  test "an invalid config stops the application with a message naming the problem" do
    assert {:error, {:snakepit, reason}} = restart_with(pools: [[name: :x, pool_size: 0]])
    assert inspect(reason) =~ "pool :x: :pool_size must be a positive integer, got: 0"
  end

  test "config :snakepit, :metrics starts the metrics under the application, before its pools" do
    refute Snakepit.Metrics.running?()
    {:ok, _} = restart_with(metrics: [port: 0], pools: [[name: :app_metered, pool_size: 2]])

    assert Snakepit.Metrics in Enum.map(
             Supervisor.which_children(Snakepit.Supervisor),
             &elem(&1, 0)
           )

    assert {:ok, {{127, 0, 0, 1}, port}} = Snakepit.Metrics.endpoint()
    assert port > 0
    # Started first, it saw the pool's workers start.
    assert Snakepit.Metrics.render() =~ ~s(snakepit_workers_started_total{pool="app_metered"} 2\n)

    {:ok, _} = restart_with([])
    refute Snakepit.Metrics.running?()
    assert Snakepit.Metrics.endpoint() == :error
  end

  test "an invalid metrics config stops the application naming it" do
    assert {:error, {:snakepit, reason}} = restart_with(metrics: [port: 9568, bind: :all])
    assert inspect(reason) =~ "config :snakepit, :metrics: unknown option [:bind]"
  end

  test "execute before the application started says so" do
    Application.stop(:snakepit)
    assert Snakepit.execute(:ping, [1]) == {:error, :pool_not_found}

    error = assert_raise Snakepit.Error, fn -> Snakepit.execute!(:ping, [1]) end
    assert error.reason == :pool_not_found
    assert Exception.message(error) =~ "no Snakepit pool named :default is running"
    assert Exception.message(error) =~ "the :snakepit application is not started"
  end

  test "SNAKEPIT_NUM_THREADS sets the default threads per worker" do
    System.put_env("SNAKEPIT_NUM_THREADS", "3")

    assert Snakepit.Config.normalize_pool!(name: :n, worker_profile: :thread).threads_per_worker ==
             3

    assert %{threads: 3, threads_source: :env} = Snakepit.Environment.info()

    System.put_env("SNAKEPIT_NUM_THREADS", "lots")
    assert Snakepit.Environment.info().threads_source == :default
  end
end
