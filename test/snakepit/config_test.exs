defmodule Snakepit.ConfigTest do
  use ExUnit.Case, async: true

  alias Snakepit.Config
  alias Snakepit.Config.Options

  describe "normalize_pool!/1" do
    test "fills in every default" do
      config = Config.normalize_pool!(name: :a)

      assert config == %{
               name: :a,
               worker_profile: :process,
               commands: Snakepit.Marc.Commands,
               pool_size: :erlang.system_info(:dirty_cpu_schedulers),
               threads_per_worker: Options.env_threads() || Options.logical_cores(),
               max_queue_size: 1000,
               queue_timeout: 5000,
               priority_starvation_limit: 8,
               worker_ttl: :infinity,
               worker_max_requests: :infinity,
               memory_threshold_mb: :infinity,
               health_check_interval: 30_000
             }
    end

    test "accepts maps and keyword lists alike" do
      opts = [name: :b, worker_profile: :thread, pool_size: 2, threads_per_worker: 3]
      assert Config.normalize_pool!(opts) == Config.normalize_pool!(Map.new(opts))
      assert Config.normalize_pool!(opts).pool_size == 2
    end

    test "thread pools default to one worker" do
      assert Config.normalize_pool!(name: :t, worker_profile: :thread).pool_size == 1
    end

    test "normalises worker_ttl to milliseconds" do
      assert Config.normalize_pool!(worker_ttl: {2, :seconds}).worker_ttl == 2_000
      assert Config.normalize_pool!(worker_ttl: {3, :minutes}).worker_ttl == 180_000
      assert Config.normalize_pool!(worker_ttl: {1, :hours}).worker_ttl == 3_600_000
      assert Config.normalize_pool!(worker_ttl: :infinity).worker_ttl == :infinity
    end

    test "accepts a module implementing the behaviour as profile" do
      assert Config.normalize_pool!(worker_profile: Snakepit.Test.FlakyProfile).worker_profile ==
               Snakepit.Test.FlakyProfile
    end

    # One invalid value per key: the message names the pool, the key, the value and what
    # is allowed.
    invalid = [
      name: "not an atom",
      worker_profile: :green_threads,
      worker_profile: Enum,
      pool_size: 0,
      pool_size: 1.5,
      threads_per_worker: -1,
      threads_per_worker: 1025,
      threads_per_worker: 1_000_000,
      max_queue_size: -1,
      queue_timeout: :soon,
      worker_ttl: {5, :days},
      worker_ttl: {0, :seconds},
      worker_ttl: 60,
      worker_max_requests: 0,
      memory_threshold_mb: "512",
      health_check_interval: 0,
      commands: :no_such_module,
      commands: Snakepit.Config,
      commands: "Snakepit.Marc.Commands"
    ]

    test "threads_per_worker: 1..1024, the limit named in the error" do
      assert Config.normalize_pool!(worker_profile: :thread, threads_per_worker: 1024).threads_per_worker ==
               1024

      error =
        assert_raise ArgumentError, fn ->
          Config.normalize_pool!(name: :big, worker_profile: :thread, threads_per_worker: 4096)
        end

      assert error.message ==
               "pool :big: :threads_per_worker must be an integer in 1..1024, got: 4096"
    end

    for {key, value} <- invalid do
      test "rejects #{key}: #{inspect(value)}" do
        key = unquote(key)
        value = unquote(Macro.escape(value))
        pool = if key == :name, do: value, else: :my_pool
        opts = Keyword.merge([name: :my_pool], [{key, value}])

        error = assert_raise ArgumentError, fn -> Config.normalize_pool!(opts) end
        assert error.message =~ "pool #{inspect(pool)}"
        assert error.message =~ inspect(key)
        assert error.message =~ "got: #{inspect(value)}"

        assert error.message =~
                 Snakepit.Options.Schema.allowed(Keyword.fetch!(Options.schema(), key))
      end
    end

    test "commands: any module implementing Snakepit.Pool.Commands" do
      assert Config.normalize_pool!(commands: Snakepit.Test.Commands).commands ==
               Snakepit.Test.Commands
    end

    test "rejects unknown keys, naming them" do
      error = assert_raise ArgumentError, fn -> Config.normalize_pool!(name: :x, pool_sise: 3) end

      assert error.message =~
               "pool :x: unknown option [:pool_sise], allowed: [:name, :worker_profile,"

      assert error.message =~ "got: [name: :x, pool_sise: 3]"
    end

    test "rejects a config that is not a keyword list or map" do
      assert_raise ArgumentError, ~r/keyword list or a map, got: 42/, fn ->
        Config.normalize_pool!(42)
      end

      assert_raise ArgumentError, ~r/keyword list or a map/, fn ->
        Config.normalize_pool!([:a])
      end
    end
  end

  describe "configured_pools/1" do
    test "reads pools as maps or keyword lists" do
      env = [pools: [[name: :a], %{name: :b, worker_profile: :thread}]]

      assert [%{name: :a, worker_profile: :process}, %{name: :b, worker_profile: :thread}] =
               Config.configured_pools(env)
    end

    test "rejects duplicate names" do
      assert_raise ArgumentError, "duplicate pool name :a in config :snakepit, :pools", fn ->
        Config.configured_pools(pools: [[name: :a], %{name: :a}])
      end
    end

    test "rejects a pools value that is not a list" do
      assert_raise ArgumentError, ~r/must be a list of pool configs, got: :yes/, fn ->
        Config.configured_pools(pools: :yes)
      end
    end

    test "converts the legacy flat form to one :default :process pool" do
      assert [%{name: :default, worker_profile: :process, pool_size: 8}] =
               Config.configured_pools(pooling_enabled: true, pool_size: 8)

      assert [%{name: :default, pool_size: size}] = Config.configured_pools(pooling_enabled: true)
      assert size == :erlang.system_info(:dirty_cpu_schedulers)
    end

    test "legacy form with pooling disabled, or no config at all, starts no pool" do
      assert Config.configured_pools(pooling_enabled: false, pool_size: 8) == []
      assert Config.configured_pools([]) == []
    end

    test "legacy values are validated like the rest" do
      assert_raise ArgumentError,
                   ~r/pool :default: :pool_size must be a positive integer, got: 0/,
                   fn ->
                     Config.configured_pools(pooling_enabled: true, pool_size: 0)
                   end
    end
  end

  describe "docs/configuration.md" do
    test "holds the options table generated from the option specs" do
      doc = File.read!(Path.expand("../../docs/configuration.md", __DIR__))

      assert doc =~ Options.markdown(),
             "docs/configuration.md is out of date: paste Snakepit.Config.Options.markdown()"
    end

    test "documents every key" do
      doc = File.read!(Path.expand("../../docs/configuration.md", __DIR__))
      for key <- Options.keys(), do: assert(doc =~ "`#{key}`")
    end
  end
end

defmodule Snakepit.ConfigDocsTest do
  # Every sample of docs/configuration.md, started as written: `config :snakepit, ...`
  # samples as a config file (the :snakepit application restarted with what they set),
  # supervision-tree samples under a supervisor. Restarts the application: not async.
  use ExUnit.Case, async: false
  @moduletag :capture_log

  @doc_path Path.expand("../../docs/configuration.md", __DIR__)
  @external_resource @doc_path

  setup do
    saved = Application.get_all_env(:snakepit)

    on_exit(fn ->
      Application.stop(:snakepit)

      for {key, _} <- Application.get_all_env(:snakepit),
          do: Application.delete_env(:snakepit, key)

      for {key, value} <- saved, do: Application.put_env(:snakepit, key, value)
      {:ok, _} = Application.ensure_all_started(:snakepit)
    end)
  end

  defp samples do
    ~r/^```elixir\n(.*?)^```$/ms
    |> Regex.scan(File.read!(@doc_path), capture: :all_but_first)
    |> Enum.map(&hd/1)
  end

  test "the page has config and supervision-tree samples" do
    assert Enum.count(samples(), &String.starts_with?(&1, "config :snakepit")) >= 2
    assert Enum.any?(samples(), &String.starts_with?(&1, "children = "))
  end

  for {code, i} <-
        Enum.with_index(
          Regex.scan(~r/^```elixir\n(.*?)^```$/ms, File.read!(@doc_path), capture: :all_but_first)
        ) do
    @code hd(code)
    test "sample #{i} of docs/configuration.md starts its pools" do
      start_sample!(@code)
    end
  end

  defp start_sample!("config :snakepit" <> _ = code) do
    # The sample is a fragment of config/config.exs: read it as Mix reads that file.
    env = Config.Reader.eval!(@doc_path, "import Config\n" <> code)[:snakepit]
    expected = Snakepit.Config.configured_pools(env)
    assert expected != [], "the sample configures no pool:\n#{code}"

    Application.stop(:snakepit)
    for {key, _} <- Application.get_all_env(:snakepit), do: Application.delete_env(:snakepit, key)

    for {key, value} <- Snakepit.Test.AppEnv.with_defaults(env),
        do: Application.put_env(:snakepit, key, value)

    assert {:ok, _} = Application.ensure_all_started(:snakepit), code
    assert_running(expected)
  end

  defp start_sample!("children = " <> _ = code) do
    {_, binding} = Code.eval_string(code, [], file: @doc_path)
    children = Keyword.fetch!(binding, :children)
    {:ok, sup} = Supervisor.start_link(children, strategy: :one_for_one)

    expected =
      Enum.map(children, fn {Snakepit.Pool, opts} -> Snakepit.Config.normalize_pool!(opts) end)

    assert_running(expected)
    Supervisor.stop(sup)
  end

  defp start_sample!(code),
    do: flunk("add a way to start this docs/configuration.md sample to #{__ENV__.file}:\n#{code}")

  defp assert_running(expected) do
    for config <- expected do
      assert Snakepit.Config.get_pool_config(config.name) == {:ok, config}
      assert Snakepit.execute(:ping, [:docs], pool: config.name) == {:ok, :docs}
    end
  end
end
