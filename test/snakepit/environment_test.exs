defmodule Snakepit.EnvironmentTest do
  use ExUnit.Case, async: true

  alias Snakepit.Environment

  test "info reports the runtime and the native library" do
    info = Environment.info()
    assert info.otp_release == to_string(:erlang.system_info(:otp_release))
    assert info.erts_version == to_string(:erlang.system_info(:version))
    assert info.nif_version =~ ~r/^\d+\.\d+$/

    assert info.schedulers_online >= 1 and info.dirty_cpu_schedulers >= 1 and
             info.dirty_io_schedulers >= 1

    assert info.logical_cores >= 1
    assert info.native_version == Snakepit.Native.native_version()
    assert info.native_build in ["release", "debug"]
    assert info.native_target =~ "-"
    assert info.threads >= 1

    # The :env case, with the variable set, is in application_test.exs.
    if System.get_env("SNAKEPIT_NUM_THREADS") == nil do
      assert info.threads_source == :default
      assert info.threads == info.logical_cores
    end
  end

  describe "recommend_profile/2" do
    @machines [
      %{logical_cores: 1, dirty_cpu_schedulers: 1},
      %{logical_cores: 8, dirty_cpu_schedulers: 2},
      %{logical_cores: 64, dirty_cpu_schedulers: 64}
    ]

    test "small requests and bulk parses are rules of thumb, the same on every machine" do
      for facts <- @machines do
        assert %{profile: :process, basis: :rule_of_thumb, reason: small} =
                 Environment.recommend_profile(:small_requests, facts)

        assert %{profile: :thread, basis: :rule_of_thumb, reason: bulk} =
                 Environment.recommend_profile(:bulk_parse, facts)

        assert small =~ "rule of thumb" and bulk =~ "rule of thumb"
      end
    end

    test "a mixed workload takes :thread when cores outnumber the dirty CPU schedulers" do
      assert %{profile: :thread, basis: :environment, reason: reason} =
               Environment.recommend_profile(:mixed, %{logical_cores: 8, dirty_cpu_schedulers: 2})

      assert reason =~ "8 logical cores but 2 dirty CPU schedulers"

      assert %{profile: :thread} =
               Environment.recommend_profile(:mixed, %{logical_cores: 3, dirty_cpu_schedulers: 2})
    end

    test "a mixed workload takes :process when every core has a dirty CPU scheduler" do
      for {cores, dirty} <- [{1, 1}, {2, 2}, {4, 8}] do
        assert %{profile: :process, basis: :environment, reason: reason} =
                 Environment.recommend_profile(:mixed, %{
                   logical_cores: cores,
                   dirty_cpu_schedulers: dirty
                 })

        assert reason =~ "#{dirty} dirty CPU schedulers online for #{cores} logical cores"
      end
    end

    test "the default facts are this machine's" do
      info = Environment.info()
      assert Environment.recommend_profile(:mixed) == Environment.recommend_profile(:mixed, info)

      expected = if info.logical_cores > info.dirty_cpu_schedulers, do: :thread, else: :process

      assert Environment.recommend_profile(:mixed).profile == expected
    end

    test "bad arguments" do
      assert_raise ArgumentError, ~r/got: :other/, fn -> Environment.recommend_profile(:other) end

      assert_raise ArgumentError, ~r/:logical_cores and :dirty_cpu_schedulers/, fn ->
        Environment.recommend_profile(:mixed, %{logical_cores: 0, dirty_cpu_schedulers: 2})
      end
    end
  end

  test "validate/1 warns about oversubscribed thread pools and oversized process pools" do
    cores = Snakepit.Config.Options.logical_cores()
    dirty = :erlang.system_info(:dirty_cpu_schedulers_online)

    fine = [
      Snakepit.Config.normalize_pool!(
        name: :a,
        worker_profile: :thread,
        pool_size: 1,
        threads_per_worker: 1
      )
    ]

    assert Environment.validate(fine) == []

    threads =
      Snakepit.Config.normalize_pool!(
        name: :t,
        worker_profile: :thread,
        pool_size: 4,
        threads_per_worker: cores
      )

    procs =
      Snakepit.Config.normalize_pool!(name: :p, worker_profile: :process, pool_size: dirty + 1)

    assert [thread_warning, process_warning] = Environment.validate([threads, procs])
    assert thread_warning =~ "#{4 * cores} native threads"
    assert process_warning =~ "process pool :p has #{dirty + 1} workers"
  end

  test "validate/0 checks the running pools" do
    dirty = :erlang.system_info(:dirty_cpu_schedulers_online)
    name = :"environment_test_#{System.unique_integer([:positive])}"
    warning = "process pool #{inspect(name)} has #{dirty + 1} workers"
    refute Enum.any?(Environment.validate(), &(&1 =~ warning))

    start_supervised!({Snakepit.Pool, name: name, worker_profile: :process, pool_size: dirty + 1})

    assert Enum.any?(Environment.validate(), &(&1 =~ warning))
  end
end
