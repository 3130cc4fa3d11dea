defmodule Mix.Tasks.Diagnose.Scaling do
  @shortdoc "Measures how Snakepit pools scale on this machine; recommends pool sizes"

  @moduledoc """
  Measures this machine (cores, schedulers, dirty CPU schedulers) and the throughput of each
  worker profile at growing sizes, finds where adding workers or threads stops paying, and
  prints the recommended `pool_size` and `threads_per_worker` with the figures behind them.

      mix diagnose.scaling
      mix diagnose.scaling --records 50000 --runs 3
      mix diagnose.scaling --profiles thread --max-threads 8 --format json

  The corpus is generated in a temporary directory by repeating
  `../shared/corpus/synthetic/realistic_2000.mrc` (or `--corpus FILE`) up to `--records`
  records, cut into batches of raw records, and each batch is run as one request
  (`Snakepit.execute(:parse, [batch])`, or `:count`) through a fresh pool, with twice the
  pool's capacity in concurrent callers. Each configuration gets one untimed warm-up and
  `--runs` timed runs; the best run counts (other work on the machine only ever slows a run
  down).

  `:process` pools are measured with 1 to `--max-workers` workers; `:thread` pools with
  pool_size x threads_per_worker combinations (threads 1, 2, 4, ... up to `--max-threads`).
  Scaling "stops" at the smallest configuration within `--threshold` percent of the
  profile's best throughput: that is the recommendation.

  ## Options

    * `--records N` - corpus size (default 20000)
    * `--profiles process,thread` - which profiles (default both)
    * `--max-workers N` - largest pool_size tried (default: 2 x logical cores, at most 8)
    * `--max-threads N` - largest threads_per_worker tried (default: logical cores)
    * `--runs N` - timed runs per configuration (default 3)
    * `--command parse|count` - `:parse` builds records; `:count` only frames and checks
      (default parse)
    * `--batch-size N` - records per request, 1..200 (default 200)
    * `--threshold PCT` - "close enough to the best", 1..100 (default 90)
    * `--corpus FILE` - the ISO 2709 file to repeat
    * `--format text|json` - output (default text); progress goes to standard error
  """

  use Mix.Task

  alias Snakepit.Diagnostics.{Report, Scaling}

  @switches [
    records: :integer,
    profiles: :string,
    max_workers: :integer,
    max_threads: :integer,
    runs: :integer,
    command: :string,
    batch_size: :integer,
    threshold: :integer,
    corpus: :string,
    format: :string
  ]

  @impl Mix.Task
  def run(args) do
    opts = parse!(args)
    Mix.Task.run("app.start")

    machine = Scaling.machine()
    tmp = Path.join(System.tmp_dir!(), "snakepit_scaling_#{System.unique_integer([:positive])}")

    try do
      {path, records, bytes} =
        try do
          Scaling.generate_corpus!(opts.corpus, opts.records, tmp)
        rescue
          e in ArgumentError -> Mix.raise(Exception.message(e))
        end

      batches = Scaling.load_batches!(path, opts.batch_size)
      plan = Scaling.plan(opts.profiles, opts.max_workers, opts.max_threads)

      info(
        opts,
        "Measuring #{length(plan)} configurations on #{Report.int(records)} records " <>
          "(#{Report.bytes(bytes)}), :#{opts.command} in batches of #{opts.batch_size}, " <>
          "best of #{opts.runs} run(s)"
      )

      results =
        plan
        |> Enum.with_index(1)
        |> Enum.map(fn {config, i} ->
          label = "[#{i}/#{length(plan)}] #{label(config)}"
          progress = progress_fun(label)
          measured = Scaling.measure(config, batches, opts.command, opts.runs, progress)
          done_line(label, measured)
          Map.merge(config, measured)
        end)

      scaling = Scaling.knee(results, opts.threshold)

      report = %{
        machine: machine,
        corpus: %{
          records: records,
          bytes: bytes,
          source: opts.corpus,
          command: opts.command,
          batch_size: opts.batch_size,
          runs: opts.runs
        },
        threshold_pct: opts.threshold,
        results:
          Enum.map(
            results,
            &Map.take(&1, [
              :profile,
              :pool_size,
              :threads,
              :capacity,
              :records,
              :seconds,
              :records_per_s
            ])
          ),
        scaling: scaling,
        recommendation: recommendation(scaling)
      }

      case opts.format do
        "json" -> Mix.shell().info(Report.json(report))
        "text" -> Mix.shell().info(text(report))
      end

      report
    after
      File.rm_rf(tmp)
    end
  end

  defp parse!(args) do
    {opts, rest, invalid} = OptionParser.parse(args, strict: @switches)

    case {rest, invalid} do
      {[], []} ->
        :ok

      {[arg | _], _} ->
        Mix.raise("unexpected argument #{inspect(arg)}; see mix help diagnose.scaling")

      {_, [{flag, _} | _]} ->
        Mix.raise("unknown or malformed option #{flag}; see mix help diagnose.scaling")
    end

    cores = Snakepit.Config.Options.logical_cores()

    profiles =
      opts
      |> Keyword.get(:profiles, "process,thread")
      |> String.split(",", trim: true)
      |> Enum.map(fn
        "process" -> :process
        "thread" -> :thread
        other -> Mix.raise("--profiles takes process and/or thread, got: #{inspect(other)}")
      end)

    if profiles == [], do: Mix.raise("--profiles takes process and/or thread, got: \"\"")

    command =
      case Keyword.get(opts, :command, "parse") do
        "parse" -> :parse
        "count" -> :count
        other -> Mix.raise("--command must be parse or count, got: #{inspect(other)}")
      end

    format = Keyword.get(opts, :format, "text")

    unless format in ["text", "json"],
      do: Mix.raise("--format must be text or json, got: #{inspect(format)}")

    %{
      records: positive!(opts, :records, 20_000),
      profiles: Enum.uniq(profiles),
      max_workers: positive!(opts, :max_workers, min(2 * cores, 8)),
      max_threads: positive!(opts, :max_threads, cores),
      runs: positive!(opts, :runs, 3),
      command: command,
      batch_size: ranged!(opts, :batch_size, 200, 1..200),
      threshold: ranged!(opts, :threshold, 90, 1..100),
      corpus: Keyword.get(opts, :corpus, Path.expand(Scaling.default_corpus())),
      format: format
    }
  end

  defp positive!(opts, key, default) do
    case Keyword.get(opts, key, default) do
      n when n > 0 -> n
      n -> Mix.raise("--#{flag(key)} must be a positive integer, got: #{n}")
    end
  end

  defp ranged!(opts, key, default, range) do
    n = Keyword.get(opts, key, default)

    if n in range,
      do: n,
      else: Mix.raise("--#{flag(key)} must be in #{inspect(range)}, got: #{n}")
  end

  defp flag(key), do: key |> Atom.to_string() |> String.replace("_", "-")

  defp label(%{profile: :process, pool_size: w}), do: "process  pool_size #{w}"

  defp label(%{profile: :thread, pool_size: w, threads: t}),
    do: "thread   pool_size #{w} x threads_per_worker #{t}"

  # -- progress (standard error, so JSON on standard output stays clean) -----------------------

  defp info(%{format: "json"}, line), do: IO.puts(:stderr, line)
  defp info(_opts, line), do: Mix.shell().info(line)

  defp progress_fun(label) do
    if Report.terminal?() do
      started = System.monotonic_time(:millisecond)
      last = :counters.new(1, [])

      fn done ->
        now = System.monotonic_time(:millisecond)

        if now - :counters.get(last, 1) >= 100 do
          :counters.put(last, 1, now)
          rate = done / max(now - started, 1) * 1000

          IO.write(
            :stderr,
            "\r\e[K#{label}: #{Report.int(done)} records, #{Report.int(rate)} records/s"
          )
        end
      end
    else
      fn _done -> :ok end
    end
  end

  defp done_line(label, measured) do
    prefix = if Report.terminal?(), do: "\r\e[K", else: ""

    IO.puts(
      :stderr,
      prefix <>
        "#{label}: #{Report.int(measured.records_per_s)} records/s " <>
        "(#{Report.int(measured.records)} records in #{Float.round(measured.seconds, 2)} s)"
    )
  end

  # -- results -------------------------------------------------------------------------------

  defp recommendation(scaling) do
    per_profile =
      Map.new(scaling, fn
        {:process, %{knee: k}} ->
          {:process, %{pool_size: k.pool_size, records_per_s: k.records_per_s}}

        {:thread, %{knee: k}} ->
          {:thread,
           %{
             pool_size: k.pool_size,
             threads_per_worker: k.threads,
             records_per_s: k.records_per_s
           }}
      end)

    {profile, _} = Enum.max_by(scaling, fn {_p, s} -> s.best.records_per_s end)
    Map.put(per_profile, :profile, profile)
  end

  defp text(report) do
    m = report.machine
    c = report.corpus

    rows =
      for r <- report.results do
        best = report.scaling[r.profile].best.records_per_s

        [
          Atom.to_string(r.profile),
          "#{r.pool_size}",
          if(r.profile == :thread, do: "#{r.threads}", else: "-"),
          "#{r.capacity}",
          Report.int(r.records_per_s),
          "#{round(r.records_per_s / best * 100)}%"
        ]
      end

    table = table(["profile", "pool_size", "threads", "capacity", "records/s", "of best"], rows)

    knees =
      for {profile, s} <- Enum.sort(report.scaling) do
        k = s.knee
        b = s.best

        "  #{profile}: #{describe(k)} reaches #{Report.int(k.records_per_s)} records/s, " <>
          "#{round(k.records_per_s / b.records_per_s * 100)}% of the best " <>
          "(#{Report.int(b.records_per_s)} records/s with #{describe(b)})"
      end

    rec = report.recommendation

    advice =
      [
        rec[:process] && "  :process pools: pool_size: #{rec.process.pool_size}",
        rec[:thread] &&
          "  :thread pools:  pool_size: #{rec.thread.pool_size}, threads_per_worker: #{rec.thread.threads_per_worker}",
        "  faster profile for :#{c.command} on this machine: :#{rec.profile}"
      ]
      |> Enum.reject(&is_nil/1)

    Enum.join(
      [
        "Machine: #{m.logical_cores} logical cores, #{m.schedulers_online}/#{m.schedulers} " <>
          "schedulers online, #{m.dirty_cpu_schedulers} dirty CPU schedulers, OTP #{m.otp_release}",
        "Corpus: #{Report.int(c.records)} records (#{Report.bytes(c.bytes)}), :#{c.command} " <>
          "in batches of #{c.batch_size}, best of #{c.runs} run(s)",
        "",
        table,
        "",
        "Scaling stops (smallest configuration within #{report.threshold_pct}% of the best):"
      ] ++ knees ++ ["", "Recommended:"] ++ advice,
      "\n"
    )
  end

  defp describe(%{profile: :process, pool_size: w}), do: "pool_size #{w}"

  defp describe(%{profile: :thread, pool_size: w, threads: t}),
    do: "pool_size #{w} x threads_per_worker #{t}"

  defp table(header, rows) do
    widths =
      for i <- 0..(length(header) - 1),
          do: [header | rows] |> Enum.map(&String.length(Enum.at(&1, i))) |> Enum.max()

    [header | rows]
    |> Enum.map_join("\n", fn row ->
      row
      |> Enum.zip(widths)
      |> Enum.with_index()
      |> Enum.map_join("  ", fn {{cell, w}, i} ->
        # Numbers right-aligned, names left.
        if i == 0, do: String.pad_trailing(cell, w), else: String.pad_leading(cell, w)
      end)
      |> then(&("  " <> &1))
    end)
  end
end
