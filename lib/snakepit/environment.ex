defmodule Snakepit.Environment do
  @moduledoc """
  What this VM and the native library offer, and advice for choosing pool settings.

      Snakepit.Environment.info()
      Snakepit.Environment.recommend_profile(:bulk_parse)
      Snakepit.Environment.validate()
  """

  alias Snakepit.Config.Options

  @doc """
  Facts about the runtime: OTP and ERTS versions, NIF version, schedulers online, dirty CPU
  and IO schedulers, logical cores, the native library's version, build profile and target,
  and the thread setting (`SNAKEPIT_NUM_THREADS`, or the default: logical cores).
  """
  @spec info() :: map
  def info do
    {native_version, native_profile, target} = native_build()
    env_threads = Options.env_threads()

    %{
      otp_release: to_string(:erlang.system_info(:otp_release)),
      erts_version: to_string(:erlang.system_info(:version)),
      nif_version: to_string(:erlang.system_info(:nif_version)),
      schedulers: :erlang.system_info(:schedulers),
      schedulers_online: :erlang.system_info(:schedulers_online),
      dirty_cpu_schedulers: :erlang.system_info(:dirty_cpu_schedulers_online),
      dirty_io_schedulers: :erlang.system_info(:dirty_io_schedulers),
      logical_cores: logical_cores(),
      native_version: native_version,
      native_build: native_profile,
      native_target: target,
      threads: env_threads || logical_cores(),
      threads_source: if(env_threads, do: :env, else: :default)
    }
  end

  defp native_build do
    Snakepit.Native.native_build_info()
  rescue
    _ -> {"not loaded", "not loaded", "not loaded"}
  end

  defp logical_cores, do: Options.logical_cores()

  @doc """
  A suggested worker profile for a workload:

    * `:small_requests` - many short requests (single records, pings): `:process`, whose
      round trip is cheapest and whose workers are isolated
    * `:bulk_parse` - whole files or large batches: `:thread`, which parses on native threads
      without holding BEAM schedulers
    * `:mixed` - `:process` unless there are more cores than dirty CPU schedulers
  """
  @spec recommend_profile(:small_requests | :bulk_parse | :mixed) :: :process | :thread
  def recommend_profile(:small_requests), do: :process
  def recommend_profile(:bulk_parse), do: :thread

  def recommend_profile(:mixed) do
    if logical_cores() > :erlang.system_info(:dirty_cpu_schedulers_online),
      do: :thread,
      else: :process
  end

  def recommend_profile(other),
    do:
      raise(
        ArgumentError,
        "workload must be :small_requests, :bulk_parse or :mixed, got: #{inspect(other)}"
      )

  @doc """
  Warnings about pool settings against this machine, as strings (empty when all is well).
  `configs` defaults to the running pools.
  """
  @spec validate([Snakepit.Config.pool_config()]) :: [String.t()]
  def validate(configs \\ Snakepit.Config.running_pool_configs()) do
    cores = logical_cores()
    dirty = :erlang.system_info(:dirty_cpu_schedulers_online)

    threads =
      configs
      |> Enum.filter(&(&1.worker_profile == :thread))
      |> Enum.map(&(&1.pool_size * &1.threads_per_worker))
      |> Enum.sum()

    thread_warning =
      if threads > 2 * cores,
        do: [
          "thread pools run #{threads} native threads (pool_size x threads_per_worker) on #{cores} " <>
            "logical cores; they will contend for CPU"
        ],
        else: []

    process_warnings =
      for %{worker_profile: :process, pool_size: size, name: name} <- configs, size > dirty do
        "process pool #{inspect(name)} has #{size} workers but only #{dirty} dirty CPU schedulers " <>
          "run native calls; extra workers wait for a scheduler"
      end

    thread_warning ++ process_warnings
  end
end
