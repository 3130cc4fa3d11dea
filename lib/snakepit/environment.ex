defmodule Snakepit.Environment do
  @moduledoc """
  What this VM and the native library offer, and advice for choosing pool settings.

      Snakepit.Environment.info()
      Snakepit.Environment.recommend_profile(:bulk_parse)
      Snakepit.Environment.recommend_profile(:mixed, %{logical_cores: 8, dirty_cpu_schedulers: 2})
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
    {threads, threads_source} = Options.thread_setting()

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
      threads: threads,
      threads_source: threads_source
    }
  end

  defp native_build do
    Snakepit.Native.native_build_info()
  rescue
    _ -> {"not loaded", "not loaded", "not loaded"}
  end

  defp logical_cores, do: Options.logical_cores()

  @typedoc """
  The machine facts `recommend_profile/2` reads: `Snakepit.Environment.info/0` has them, and
  a test or a capacity plan can pass its own.
  """
  @type facts :: %{
          required(:logical_cores) => pos_integer,
          required(:dirty_cpu_schedulers) => pos_integer,
          optional(atom) => term
        }

  @typedoc """
  A suggestion: the `:profile`, whether it was computed from the machine facts
  (`basis: :environment`) or is a fixed rule of thumb (`basis: :rule_of_thumb`), and a
  `:reason` in words.
  """
  @type recommendation :: %{
          profile: :process | :thread,
          basis: :environment | :rule_of_thumb,
          reason: String.t()
        }

  @doc """
  A suggested worker profile for a workload, with how it was reached.

    * `:small_requests` - many short requests (single records, pings): `:process`. A rule of
      thumb, the same on every machine: its round trip is the cheapest (see
      docs/performance.md, "Pools"), a small parse runs on the worker's own scheduler, and a
      crash takes one request and one worker.
    * `:bulk_parse` - whole files or large batches: `:thread`. A rule of thumb, the same on
      every machine: it builds the records on its native threads and sends them to the
      caller, where `:process` builds them in the worker and copies them again (about 3x
      the records/s on the development machine, docs/choosing-a-profile.md).
    * `:mixed` - computed from `facts`: `:thread` when there are more logical cores than
      dirty CPU schedulers online (a `:process` pool runs at most one native command per
      dirty CPU scheduler, a `:thread` pool's threads can use the other cores), otherwise
      `:process`.

  `facts` defaults to this machine (`info/0`). Run `mix diagnose.scaling` to measure both
  profiles on your machine instead.
  """
  @spec recommend_profile(:small_requests | :bulk_parse | :mixed, facts) :: recommendation
  def recommend_profile(workload, facts \\ info())

  def recommend_profile(:small_requests, _facts),
    do:
      rule_of_thumb(
        :process,
        "many short requests cost least as a :process round trip, and a crash takes one " <>
          "request and one worker"
      )

  def recommend_profile(:bulk_parse, _facts),
    do:
      rule_of_thumb(
        :thread,
        ":thread builds records on its native threads and sends them straight to the " <>
          "caller; :process builds them in the worker and copies them again"
      )

  def recommend_profile(:mixed, %{logical_cores: cores, dirty_cpu_schedulers: dirty})
      when is_integer(cores) and cores > 0 and is_integer(dirty) and dirty > 0 do
    if cores > dirty do
      %{
        profile: :thread,
        basis: :environment,
        reason:
          "#{cores} logical cores but #{dirty} dirty CPU schedulers online: a :process pool " <>
            "runs at most #{dirty} native commands at once, a :thread pool's threads can use " <>
            "all #{cores} cores"
      }
    else
      %{
        profile: :process,
        basis: :environment,
        reason:
          "#{dirty} dirty CPU schedulers online for #{cores} logical cores: a :process pool " <>
            "can run native commands on every core, and keeps short requests cheap and " <>
            "workers isolated"
      }
    end
  end

  def recommend_profile(:mixed, facts),
    do:
      raise(
        ArgumentError,
        "facts must have positive integers :logical_cores and :dirty_cpu_schedulers, got: " <>
          inspect(facts)
      )

  def recommend_profile(other, _facts),
    do:
      raise(
        ArgumentError,
        "workload must be :small_requests, :bulk_parse or :mixed, got: #{inspect(other)}"
      )

  defp rule_of_thumb(profile, why),
    do: %{
      profile: profile,
      basis: :rule_of_thumb,
      reason: "rule of thumb, not measured on this machine: " <> why
    }

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
