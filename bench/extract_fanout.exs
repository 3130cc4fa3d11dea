# Where extract/3's fan-out paths spend their time (issue #12): one process (a small input
# read whole; "streamed": through the stream, as big ones are), `workers: 2` and a `:thread`
# pool, beside the designs they replaced ("relay": the worker builds each batch's maps and
# copies them to the consumer, one batch a request; "streamed": a small input read through
# the stream, not cut at once), in interleaved rounds
# so that a busy machine weighs on every variant alike. Per variant: the median rate, the
# per-round ratio to one process, and the CPU time a record by thread class (/proc), which
# says how fast each could go with every core to itself.
#
#     MIX_ENV=prod mix run bench/extract_fanout.exs FILE...      (ROUNDS=10 by default)

alias Snakepit.Marc
alias Snakepit.Marc.{Extract, FanOut, Spec}

defmodule Bench.ExtractFanout do
  # utime + stime (10 ms ticks) of every thread of this OS process, by thread class.
  def cpu_by_class do
    for tid <- File.ls!("/proc/self/task"), reduce: %{} do
      acc ->
        case File.read("/proc/self/task/#{tid}/stat") do
          {:ok, stat} ->
            [before, after_name] = String.split(stat, ") ", parts: 2)
            name = before |> String.split(" (", parts: 2) |> List.last()
            fields = String.split(after_name, " ")

            ticks =
              String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))

            Map.update(acc, class(name), ticks, &(&1 + ticks))

          {:error, _} ->
            acc
        end
    end
  end

  defp class(name) do
    cond do
      name =~ ~r/^\d+_scheduler/ -> "schedulers"
      name =~ ~r/dirty_cpu/ -> "dirty_cpu"
      name =~ ~r/dirty_io/ -> "dirty_io"
      name =~ ~r/^snakepit-/ -> "pool_threads"
      name =~ ~r/^rayon/ -> "global_rayon"
      true -> "other"
    end
  end

  def once(fun) do
    :erlang.garbage_collect()
    before = cpu_by_class()
    {us, n} = :timer.tc(fun)
    spent = Map.merge(cpu_by_class(), before, fn _, a, b -> a - b end)
    {us, n, spent}
  end

  def report(path, variants, rounds) do
    Enum.each(variants, fn {_, fun} -> fun.() end)
    data = for _ <- 1..rounds, do: Map.new(variants, fn {l, f} -> {l, once(f)} end)
    load = File.read!("/proc/loadavg") |> String.split() |> hd()
    IO.puts("\n#{Path.basename(path)}: #{rounds} interleaved rounds, load #{load}")

    for {label, _} <- variants do
      runs = Enum.map(data, & &1[label])
      {_, n, _} = hd(runs)
      walls = runs |> Enum.map(&elem(&1, 0)) |> Enum.sort()

      spent =
        Enum.reduce(runs, %{}, fn {_, _, s}, acc -> Map.merge(acc, s, fn _, a, b -> a + b end) end)

      per_record = fn ticks ->
        :erlang.float_to_binary(ticks * 10_000 / (n * rounds), decimals: 2)
      end

      cpu = spent |> Map.values() |> Enum.sum()
      ratios = data |> Enum.map(&(elem(&1["one process"], 0) / elem(&1[label], 0))) |> Enum.sort()
      median = &Enum.at(&1, div(rounds, 2))

      classes =
        spent
        |> Enum.filter(fn {_, t} -> t > 0 end)
        |> Enum.sort_by(fn {_, t} -> -t end)
        |> Enum.map_join(" ", fn {c, t} -> "#{c}=#{per_record.(t)}" end)

      IO.puts(
        "#{String.pad_trailing(label, 28)} #{round(n / (median.(walls) / 1.0e6))} rec/s; " <>
          "vs one process #{Float.round(median.(ratios), 2)} (#{Float.round(hd(ratios), 2)}..#{Float.round(List.last(ratios), 2)}); " <>
          "CPU #{per_record.(cpu)} us/record (#{classes}); cores #{:erlang.float_to_binary(cpu * 10_000 / Enum.sum(walls), decimals: 2)}"
      )
    end
  end
end

spec =
  Spec.compile!(
    title: "245abnp",
    author: "100a:110a:111a",
    isbn: "020a",
    subjects: "600a:610a:611a:630a:650a:651a"
  )

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :extract_fanout_bench,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: System.schedulers_online()
  )

rounds = String.to_integer(System.get_env("ROUNDS", "10"))
if System.argv() == [], do: raise("usage: mix run bench/extract_fanout.exs FILE...")

for path <- System.argv() do
  relay_workers = fn ->
    FanOut.run_batches(path, [mode: :skip, workers: 2], fn batch, parse_opts, strict ->
      {:ok, items} = Extract.all(batch, spec, parse_opts)
      FanOut.until_error(items, strict)
    end)
    |> Enum.count()
  end

  relay_pool = fn ->
    FanOut.run_batches(path, [mode: :skip], fn batch, parse_opts, strict ->
      request = {:extract, [batch, spec, parse_opts]}
      {:ok, items} = Snakepit.Pool.run(:extract_fanout_bench, request, timeout: :infinity)
      FanOut.until_error(items, strict)
    end)
    |> Enum.count()
  end

  # A group of batches a request, whose maps a pool thread builds and a fan-out worker
  # relays to the consumer, as `pool:` does, with the batches read through the stream.
  pool_streamed = fn ->
    FanOut.run_batch_groups(path, [mode: :skip], 2 * System.schedulers_online(), fn
      batches, parse_opts, strict ->
        request = {:extract, [%Snakepit.Marc.Extract.Group{batches: batches}, spec, parse_opts]}
        {:ok, items} = Snakepit.Pool.run(:extract_fanout_bench, request, timeout: :infinity)
        FanOut.until_error(items, strict)
    end)
    |> Enum.count()
  end

  Bench.ExtractFanout.report(
    path,
    [
      {"one process", fn -> Marc.extract(path, spec, mode: :skip) |> Enum.count() end},
      {"one process, streamed",
       fn -> Extract.stream(path, spec, [mode: :skip], :streamed) |> Enum.count() end},
      {"workers: 2, relay", relay_workers},
      {"workers: 2", fn -> Marc.extract(path, spec, mode: :skip, workers: 2) |> Enum.count() end},
      {"pool: :thread, relay", relay_pool},
      {"pool: :thread, streamed", pool_streamed},
      {"pool: :thread",
       fn ->
         Marc.extract(path, spec, mode: :skip, pool: :extract_fanout_bench) |> Enum.count()
       end}
    ],
    rounds
  )
end
