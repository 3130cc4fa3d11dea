defmodule Snakepit.Diagnostics.Scaling do
  # The measurements behind `mix diagnose.scaling`: throughput of each worker profile at
  # growing sizes on a generated corpus, and where adding workers (or threads) stops paying.
  @moduledoc false

  alias Snakepit.Config.Options
  alias Snakepit.Marc.{Field, Record}

  # Records in the generated unit that the corpus repeats.
  @unit_records 2000
  @words ~w(history theory language world human system science music art nature society
            culture economics law medicine poetry travel religion education politics
            children family war peace ocean mountain river city letters documents)

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
  Writes a corpus of at least `records` records into `dir`: the ISO 2709 file `source`
  repeated, or with `source` nil #{@unit_records} generated records (`synthetic/0`)
  repeated. Returns `{path, records, bytes}`.
  """
  def generate_corpus!(source, records, dir) do
    unit = corpus_unit!(source)
    per_unit = Snakepit.Marc.count(unit).records

    if per_unit == 0,
      do:
        raise(
          ArgumentError,
          "the --corpus file holds no ISO 2709 records, got: #{inspect(source)}"
        )

    copies = max(div(records + per_unit - 1, per_unit), 1)
    File.mkdir_p!(dir)
    path = Path.join(dir, "scaling_#{records}.mrc")
    File.write!(path, List.duplicate(unit, copies))
    {path, copies * per_unit, copies * byte_size(unit)}
  end

  defp corpus_unit!(nil), do: synthetic() |> Snakepit.Marc.encode() |> IO.iodata_to_binary()

  defp corpus_unit!(source) do
    if File.regular?(source),
      do: File.read!(source),
      else:
        raise(
          ArgumentError,
          "the --corpus file was not found, got: #{inspect(source)} (without --corpus, " <>
            "#{@unit_records} generated records are used)"
        )
  end

  @doc """
  #{@unit_records} bibliographic records shaped like a library catalogue's (about 18 fields
  and 1 KB each), the same on every run: the default corpus, so the task needs no data files.
  """
  def synthetic do
    {records, _seed} =
      Enum.map_reduce(1..@unit_records, :rand.seed_s(:exsss, {7, 11, 13}), &synthetic_record/2)

    records
  end

  defp synthetic_record(i, seed) do
    {title, seed} = words(seed, 3, 9)
    {author, seed} = words(seed, 1, 2)
    {publisher, seed} = words(seed, 1, 3)
    {note, seed} = words(seed, 12, 40)
    {subjects, seed} = Enum.map_reduce(1..5, seed, fn _, seed -> words(seed, 1, 2) end)
    {added, seed} = Enum.map_reduce(1..3, seed, fn _, seed -> words(seed, 1, 2) end)
    {year, seed} = :rand.uniform_s(120, seed)
    id = String.pad_leading("#{i}", 9, "0")
    year = "#{1900 + year}"

    fields =
      [
        Field.control("001", "syn" <> id),
        Field.control("003", "Snakepit"),
        Field.control("005", "20240101000000.0"),
        Field.control("008", "240101s#{year}    xxu           000 0 eng d"),
        Field.data("020", [{"a", "978" <> String.pad_leading("#{i}", 10, "0")}]),
        Field.data("040", [{"a", "DLC"}, {"c", "DLC"}]),
        Field.data("100", "1", " ", [{"a", String.capitalize(author) <> ", A."}]),
        Field.data("245", "1", "0", [
          {"a", String.capitalize(title) <> " /"},
          {"c", author <> "."}
        ]),
        Field.data("260", [{"a", "New York :"}, {"b", publisher <> ","}, {"c", year <> "."}]),
        Field.data("300", [{"a", "#{100 + rem(i, 400)} p. ;"}, {"c", "24 cm."}]),
        Field.data("500", [{"a", String.capitalize(note) <> "."}])
      ] ++
        Enum.map(subjects, &Field.data("650", " ", "0", [{"a", String.capitalize(&1)}])) ++
        Enum.map(added, &Field.data("700", "1", " ", [{"a", String.capitalize(&1) <> ", B."}]))

    {%Record{leader: "00000nam a2200000 a 4500", fields: fields}, seed}
  end

  defp words(seed, min, max) do
    {n, seed} = :rand.uniform_s(max - min + 1, seed)

    {words, seed} =
      Enum.map_reduce(1..(min + n - 1), seed, fn _, seed ->
        {k, seed} = :rand.uniform_s(length(@words), seed)
        {Enum.at(@words, k - 1), seed}
      end)

    {Enum.join(words, " "), seed}
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

  defp fits?(result, machine) do
    Snakepit.Diagnostics.Recommendations.fits_machine?(
      %{
        worker_profile: result.profile,
        pool_size: result.pool_size,
        threads_per_worker: result.threads
      },
      machine
    )
  end

  @doc """
  Where scaling stops, per profile: the smallest configuration (fewest threads, then fewest
  workers) within `threshold_pct` of the profile's best throughput. Only configurations
  that `machine` can run without a sizing warning from the inspector
  (`Snakepit.Diagnostics.Recommendations.fits_machine?/2`) are recommended: a faster run
  above that limit is noise, or contention the machine does not have to spare.
  """
  def knee(results, threshold_pct, machine \\ machine()) do
    results
    |> Enum.group_by(& &1.profile)
    |> Map.new(fn {profile, rs} ->
      best = Enum.max_by(rs, & &1.records_per_s)
      fitting = Enum.filter(rs, &fits?(&1, machine))
      candidates = if fitting == [], do: rs, else: fitting
      bar = Enum.max_by(candidates, & &1.records_per_s).records_per_s * threshold_pct / 100

      knee =
        candidates
        |> Enum.filter(&(&1.records_per_s >= bar))
        |> Enum.min_by(&{&1.pool_size * &1.threads, &1.pool_size})

      {profile, %{best: best, knee: knee, threshold_pct: threshold_pct}}
    end)
  end
end
