defmodule Snakepit.Diagnostics.Scaling do
  # The measurements behind `mix diagnose.scaling`: throughput of each worker profile at
  # growing sizes on a generated corpus, and where adding workers (or threads) stops paying.
  @moduledoc false

  alias Snakepit.Config.Options

  @default_corpus "../shared/corpus/synthetic/realistic_2000.mrc"

  def default_corpus, do: @default_corpus

  @doc "This machine, as far as pool sizing goes."
  def machine do
    %{
      logical_cores: Options.logical_cores(),
      schedulers: :erlang.system_info(:schedulers),
      schedulers_online: :erlang.system_info(:schedulers_online),
      dirty_cpu_schedulers: :erlang.system_info(:dirty_cpu_schedulers_online),
      otp_release: to_string(:erlang.system_info(:otp_release))
    }
  end

  @doc """
  The configurations to measure: `:process` with 1..max_workers workers; `:thread` with
  every pool_size x threads_per_worker (threads 1, 2, 4, ... up to max_threads) whose total
  threads stay within max_workers x max_threads / 2 and at most 2 x max_threads.
  """
  def plan(profiles, max_workers, max_threads) do
    process =
      if :process in profiles,
        do: for(w <- 1..max_workers, do: %{profile: :process, pool_size: w, threads: 1}),
        else: []

    thread =
      if :thread in profiles do
        threads = Stream.iterate(1, &(&1 * 2)) |> Enum.take_while(&(&1 <= max_threads))
        threads = Enum.uniq(threads ++ [max_threads])

        for w <- 1..max_workers, t <- threads, w * t <= 2 * max_threads do
          %{profile: :thread, pool_size: w, threads: t}
        end
        |> Enum.sort_by(&{&1.pool_size * &1.threads, &1.pool_size})
      else
        []
      end

    process ++ thread
  end

  @doc """
  Writes a corpus of at least `records` records (the source file repeated) into `dir`;
  returns `{path, records, bytes}`.
  """
  def generate_corpus!(source, records, dir) do
    unless File.regular?(source),
      do: raise(ArgumentError, "corpus file not found, got: #{inspect(source)}")

    unit = File.read!(source)
    per_unit = Snakepit.Marc.count(unit).records

    if per_unit == 0,
      do: raise(ArgumentError, "corpus file holds no records, got: #{inspect(source)}")

    copies = max(div(records + per_unit - 1, per_unit), 1)
    File.mkdir_p!(dir)
    path = Path.join(dir, "scaling_#{records}.mrc")
    File.write!(path, List.duplicate(unit, copies))
    {path, copies * per_unit, copies * byte_size(unit)}
  end

  @doc """
  Loads the corpus as batches of raw records (framing only), so that measurements time the
  pool, not the disk.
  """
  def load_batches!(path, batch_size) do
    path
    |> Snakepit.Marc.batches(batch_size: batch_size)
    |> Enum.map(&{&1.data, &1.count})
  end

  @doc """
  Runs `command` (`:parse` or `:count`) on every batch through a fresh pool of `config`,
  `runs` times; callers keep twice the pool's capacity busy. Returns the best run:
  `%{records, seconds, records_per_s, capacity}`. `progress` is called after each batch
  with the records done so far.
  """
  def measure(config, batches, command, runs, progress \\ fn _ -> :ok end) do
    name = :"snakepit_scaling_#{System.unique_integer([:positive])}"

    {:ok, sup} =
      Snakepit.Pool.start_link(
        name: name,
        worker_profile: config.profile,
        pool_size: config.pool_size,
        threads_per_worker: config.threads,
        queue_timeout: 600_000,
        max_queue_size: 10_000
      )

    try do
      {:ok, %{capacity: capacity}} = Snakepit.pool_status(name)
      # Warm-up: one batch per slot, untimed.
      run(name, Enum.take(batches, capacity), command, capacity, fn _ -> :ok end)

      best =
        for _ <- 1..runs do
          {us, records} = :timer.tc(fn -> run(name, batches, command, capacity * 2, progress) end)

          seconds = max(us, 1) / 1_000_000
          %{records: records, seconds: seconds, records_per_s: round(records / seconds)}
        end
        |> Enum.max_by(& &1.records_per_s)

      Map.put(best, :capacity, capacity)
    after
      Process.unlink(sup)
      ref = Process.monitor(sup)
      Process.exit(sup, :shutdown)

      receive do
        {:DOWN, ^ref, _, _, _} -> :ok
      end
    end
  end

  defp run(pool, batches, command, concurrency, progress) do
    batches
    |> Task.async_stream(
      fn {data, count} ->
        case Snakepit.execute(command, [data], pool: pool, timeout: :infinity) do
          {:ok, _result} -> count
          {:error, reason} -> raise "#{command} failed on pool #{pool}: #{inspect(reason)}"
        end
      end,
      max_concurrency: concurrency,
      ordered: false,
      timeout: :infinity
    )
    |> Enum.reduce(0, fn {:ok, n}, done ->
      progress.(done + n)
      done + n
    end)
  end

  @doc """
  Where scaling stops, per profile: the smallest configuration (fewest threads, then fewest
  workers) within `threshold_pct` of the profile's best throughput.
  """
  def knee(results, threshold_pct) do
    results
    |> Enum.group_by(& &1.profile)
    |> Map.new(fn {profile, rs} ->
      best = Enum.max_by(rs, & &1.records_per_s)
      bar = best.records_per_s * threshold_pct / 100

      knee =
        rs
        |> Enum.filter(&(&1.records_per_s >= bar))
        |> Enum.min_by(&{&1.pool_size * &1.threads, &1.pool_size})

      {profile, %{best: best, knee: knee, threshold_pct: threshold_pct}}
    end)
  end
end
