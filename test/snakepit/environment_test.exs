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
    assert info.threads_source in [:env, :default]
  end

  test "recommend_profile/1" do
    assert Environment.recommend_profile(:small_requests) == :process
    assert Environment.recommend_profile(:bulk_parse) == :thread
    assert Environment.recommend_profile(:mixed) in [:process, :thread]
    assert_raise ArgumentError, ~r/got: :other/, fn -> Environment.recommend_profile(:other) end
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
    assert is_list(Environment.validate())
  end
end
