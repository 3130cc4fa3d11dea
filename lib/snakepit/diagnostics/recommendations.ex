defmodule Snakepit.Diagnostics.Recommendations do
  # Advice for one pool, from its figures (see ProfileInspector.get_recommendations/1). One
  # recommendation per topic, in a fixed order: pool_size, threads_per_worker (thread pools),
  # memory, queue, profile. `:ok` says what was checked and that nothing needs changing.
  @moduledoc false

  @mib 1024 * 1024
  # A worker this large with no memory_threshold_mb deserves one.
  @unbounded_warning_bytes 256 * @mib

  @doc """
  Whether a pool of `config`'s size raises no sizing warning on `machine`: a `:process`
  pool within the dirty CPU schedulers; a `:thread` pool with no more workers, and no more
  threads per worker, than logical cores, and at most twice as many threads in all.
  `mix diagnose.scaling` recommends only such configurations.
  """
  def fits_machine?(%{worker_profile: :process, pool_size: size}, machine),
    do: size <= machine.dirty_cpu_schedulers

  def fits_machine?(%{worker_profile: :thread, pool_size: size, threads_per_worker: per}, machine) do
    cores = machine.logical_cores
    size <= cores and per <= cores and size * per <= 2 * cores
  end

  def fits_machine?(_custom, _machine), do: true

  def build(%{config: config} = input) do
    sizing(config.worker_profile, input) ++
      [memory(input), queue(input), profile(config.worker_profile, input)]
  end

  # -- pool size and threads ---------------------------------------------------------------

  defp sizing(:process, %{config: config, machine: machine} = input) do
    size = config.pool_size
    dirty = machine.dirty_cpu_schedulers
    waits = waits(input)
    figures = %{pool_size: size, dirty_cpu_schedulers: dirty, waits: waits}

    rec =
      cond do
        not fits_machine?(config, machine) ->
          rec(
            :pool_size,
            :warning,
            "pool_size #{size} is above the #{dirty} dirty CPU schedulers: native commands " <>
              "(parse, count, validate, scan) of the other #{plural(size - dirty, "worker")} wait for a " <>
              "scheduler. Set pool_size: #{dirty}, or start the VM with +SDcpu #{size}.",
            figures
          )

        waits > 0 and size < dirty ->
          rec(
            :pool_size,
            :warning,
            "callers waited for a free worker #{plural(waits, "time")} and only #{size} of the " <>
              "#{dirty} dirty CPU schedulers are used: set pool_size: #{dirty}.",
            figures
          )

        waits > 0 ->
          rec(
            :pool_size,
            :info,
            "callers waited for a free worker #{plural(waits, "time")} with every dirty CPU scheduler " <>
              "busy: this machine (#{dirty} dirty CPU schedulers) is the limit, not the pool.",
            figures
          )

        true ->
          rec(
            :pool_size,
            :ok,
            "pool_size #{size} within the #{dirty} dirty CPU schedulers; no caller waited.",
            figures
          )
      end

    [rec]
  end

  defp sizing(:thread, %{config: config, machine: machine} = input) do
    size = config.pool_size
    per = config.threads_per_worker
    cores = machine.logical_cores
    total = size * per
    waits = waits(input)
    fit = max(div(cores, size), 1)

    figures = %{
      pool_size: size,
      threads_per_worker: per,
      total_threads: total,
      logical_cores: cores,
      waits: waits
    }

    pool_size =
      if size > cores do
        rec(
          :pool_size,
          :warning,
          "#{plural(size, "worker")} on #{cores} logical cores: each :thread worker is a whole native " <>
            "pool; use pool_size: 1 with threads_per_worker: #{cores} unless you need isolation.",
          figures
        )
      else
        rec(
          :pool_size,
          :ok,
          "#{plural(size, "worker")} x #{plural(per, "thread")} = #{plural(total, "native thread")} on #{cores} " <>
            "logical cores.",
          figures
        )
      end

    threads =
      cond do
        per > cores ->
          rec(
            :threads_per_worker,
            :warning,
            "threads_per_worker #{per} is above the #{cores} logical cores: threads contend " <>
              "for CPU. Set threads_per_worker: #{fit}.",
            figures
          )

        total > 2 * cores ->
          rec(
            :threads_per_worker,
            :warning,
            "#{total} native threads on #{cores} cores (pool_size x threads_per_worker): " <>
              "set threads_per_worker: #{fit}.",
            figures
          )

        waits > 0 and total < cores ->
          rec(
            :threads_per_worker,
            :warning,
            "callers waited for a free thread #{plural(waits, "time")} while #{plural(cores - total, "core")} " <>
              "had no thread of this pool: set threads_per_worker: #{fit}.",
            figures
          )

        true ->
          rec(
            :threads_per_worker,
            :ok,
            "threads_per_worker #{per} fits #{cores} logical cores" <>
              if(waits > 0,
                do: " (callers waited #{plural(waits, "time")}: the cores are busy).",
                else: "."
              ),
            figures
          )
      end

    [pool_size, threads]
  end

  defp sizing(_custom, %{config: config}) do
    [
      rec(
        :pool_size,
        :info,
        "custom profile: pool_size #{config.pool_size}; no sizing rule applies.",
        %{pool_size: config.pool_size}
      )
    ]
  end

  defp waits(%{workload: workload}), do: workload.queue.capacity_reached

  # -- memory ------------------------------------------------------------------------------

  defp memory(%{config: config, memory: memory, workload: workload}) do
    threshold = config.memory_threshold_mb
    recycled = Map.get(workload.recycled, :memory, 0)

    figures = %{
      average: memory.average,
      max: memory.max,
      min: memory.min,
      threshold_mb: threshold,
      recycled_for_memory: recycled
    }

    cond do
      threshold == :infinity and memory.max >= @unbounded_warning_bytes ->
        suggested = round_up_mb(2 * memory.average)

        rec(
          :memory,
          :warning,
          "a worker holds #{mb(memory.max)} and nothing recycles workers for memory: set " <>
            "memory_threshold_mb: #{suggested} (twice the average, #{mb(memory.average)}).",
          figures
        )

      threshold == :infinity ->
        rec(
          :memory,
          :ok,
          "workers hold #{mb(memory.average)} on average, #{mb(memory.max)} at most; " <>
            "no memory_threshold_mb needed at this size.",
          figures
        )

      memory.min > threshold * @mib ->
        rec(
          :memory,
          :warning,
          "every worker is above memory_threshold_mb #{threshold} (smallest #{mb(memory.min)}): " <>
            "they will be recycled over and over. Set memory_threshold_mb: " <>
            "#{round_up_mb(2 * memory.max)}.",
          figures
        )

      memory.max >= 0.8 * threshold * @mib ->
        rec(
          :memory,
          :warning,
          "a worker holds #{mb(memory.max)}, #{round(memory.max / (threshold * @mib) * 100)}% of " <>
            "memory_threshold_mb #{threshold}: it will be recycled soon.",
          figures
        )

      recycled > 0 ->
        rec(
          :memory,
          :info,
          "#{plural(recycled, "worker")} recycled for memory; if this is frequent, raise " <>
            "memory_threshold_mb above the working size (largest worker now #{mb(memory.max)}).",
          figures
        )

      true ->
        rec(
          :memory,
          :ok,
          "largest worker #{mb(memory.max)}, below memory_threshold_mb #{threshold}.",
          figures
        )
    end
  end

  # -- queue -------------------------------------------------------------------------------

  defp queue(%{config: config, stats: stats, workload: workload}) do
    %{saturated: saturated, queue_timeouts: timeouts, capacity_reached: waits} = workload.queue

    figures = %{
      max_queue_size: config.max_queue_size,
      queue_timeout: config.queue_timeout,
      queue_length: stats.queue_length,
      waits: waits,
      saturated: saturated,
      queue_timeouts: timeouts
    }

    cond do
      saturated > 0 ->
        rec(
          :queue,
          :warning,
          "#{plural(saturated, "caller")} got {:error, :pool_saturated} (queue full at max_queue_size " <>
            "#{config.max_queue_size}): raise max_queue_size or the pool's capacity.",
          figures
        )

      timeouts > 0 ->
        rec(
          :queue,
          :warning,
          "#{plural(timeouts, "caller")} got {:error, :queue_timeout} after #{config.queue_timeout} ms: " <>
            "raise queue_timeout or the pool's capacity.",
          figures
        )

      waits > 0 or stats.queue_length > 0 ->
        rec(
          :queue,
          :info,
          "callers queued #{plural(waits, "time")} (#{stats.queue_length} waiting now); none was " <>
            "turned away or timed out.",
          figures
        )

      true ->
        rec(:queue, :ok, "no caller has waited for a slot.", figures)
    end
  end

  # -- profile -----------------------------------------------------------------------------

  defp profile(profile, %{config: config, workload: workload}) do
    exec = workload.commands |> Map.values() |> Enum.map(& &1.exec_ms) |> Enum.sum()
    {native_commands, elixir_commands} = command_classes(config)
    native = class(workload, native_commands)
    elixir = class(workload, elixir_commands)
    native_share = share(native.exec_ms, exec)
    elixir_share = share(elixir.exec_ms, exec)
    native_avg = if native.requests > 0, do: native.exec_ms / native.requests, else: 0.0

    figures = %{
      requests: workload.requests,
      native_share_pct: native_share,
      elixir_share_pct: elixir_share,
      native_avg_exec_ms: Float.round(native_avg * 1.0, 3),
      commands: Map.new(workload.commands, fn {c, s} -> {c, s.requests} end)
    }

    cond do
      workload.requests == 0 ->
        rec(:profile, :info, "no requests seen yet: the profile advice needs traffic.", figures)

      profile == :process and native_share >= 50 and native_avg >= 1.0 ->
        rec(
          :profile,
          :info,
          "#{native_share}% of worker time is bulk native work (#{plural(native.requests, "request")}, " <>
            "#{fmt_ms(native_avg)} each): the :thread profile runs it on its own threads " <>
            "without holding dirty CPU schedulers and builds results off them. Compare both " <>
            "with mix diagnose.scaling.",
          figures
        )

      profile == :thread and elixir_share >= 50 ->
        rec(
          :profile,
          :warning,
          "#{elixir_share}% of worker time is Elixir work (functions, encode, to_json, " <>
            "to_xml), which a :thread pool runs in the calling process, not on its threads: " <>
            "a :process pool runs it in its own workers.",
          figures
        )

      profile == :thread and native.requests > 0 and native_avg < 0.05 ->
        rec(
          :profile,
          :info,
          "requests are tiny (#{fmt_ms(native_avg)} of native work each): the :process " <>
            "profile has the cheaper round trip for small requests.",
          figures
        )

      true ->
        rec(
          :profile,
          :ok,
          ":#{profile} fits the workload seen (#{plural(workload.requests, "request")}: " <>
            "#{native_share}% of worker time native, #{elixir_share}% Elixir).",
          figures
        )
    end
  end

  # The commands the pool's command module (Snakepit.Pool.Commands; Snakepit.Marc.Commands by
  # default) has a :thread worker run on its native threads, and those it runs in Elixir.
  defp command_classes(config) do
    module = Map.get_lazy(config, :commands, fn -> Application.get_env(:snakepit, :commands) end)

    native =
      if function_exported?(module, :native_commands, 0), do: module.native_commands(), else: []

    {native, [:fun | module.commands() -- native]}
  end

  defp class(workload, commands) do
    selected = for {c, s} <- workload.commands, c in commands, do: s

    %{
      requests: selected |> Enum.map(& &1.requests) |> Enum.sum(),
      exec_ms: selected |> Enum.map(& &1.exec_ms) |> Enum.sum()
    }
  end

  defp share(_part, total) when total == 0, do: 0.0
  defp share(part, total), do: Float.round(part / total * 100, 1)

  # -- helpers -----------------------------------------------------------------------------

  defp rec(topic, severity, message, figures),
    do: %{topic: topic, severity: severity, message: message, figures: figures}

  defp mb(bytes), do: Snakepit.Diagnostics.Report.bytes(bytes)
  defp plural(n, word), do: Snakepit.Diagnostics.Report.plural(n, word)

  # Whole MiB, rounded up to a multiple of 64 (at least 64).
  defp round_up_mb(bytes), do: max(64, div(ceil(bytes / @mib) + 63, 64) * 64)

  defp fmt_ms(ms) when ms < 1, do: "#{round(ms * 1000)} µs"
  defp fmt_ms(ms), do: "#{Float.round(ms * 1.0, 1)} ms"
end
