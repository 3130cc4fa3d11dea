defmodule Mix.Tasks.Diagnose.Scaling do
  @shortdoc "Measures how Snakepit pools scale on this machine; recommends pool sizes"

  @moduledoc """
  Measures this machine (cores, schedulers, dirty CPU schedulers) and the throughput of each
  worker profile at growing sizes, finds where adding workers or threads stops paying, and
  prints the recommended `pool_size` and `threads_per_worker` with the figures behind them.

      mix diagnose.scaling
      mix diagnose.scaling --records 50000 --runs 3
      mix diagnose.scaling --profiles thread --max-threads 8 --format json

  The corpus is written to a temporary directory by repeating 2,000 generated bibliographic
  records (about 1 KB each; or the ISO 2709 file given as `--corpus FILE`) up to `--records`
  records, cut into batches of raw records, and each batch is run as one request
  (`Snakepit.execute(:parse, [batch])`, or `:count`) through a fresh pool, with twice the
  pool's capacity in concurrent callers. Each configuration gets one untimed warm-up and
  `--runs` timed runs; the best run counts (other work on the machine only ever slows a run
  down).

  `:process` pools are measured with 1 to `--max-workers` workers; `:thread` pools with
  pool_size x threads_per_worker combinations (threads 1, 2, 4, ... up to `--max-threads`).
  Scaling "stops" at the smallest configuration within `--threshold` percent of the
  profile's best throughput: that is the recommendation. Only configurations that the
  inspector (`mix snakepit.profile_inspector --recommendations`) would not warn about are
  recommended: `:process` pools of at most one worker per dirty CPU scheduler, `:thread`
  pools of at most as many workers and threads per worker as logical cores and twice as
  many threads in all. Larger ones are measured and shown, never recommended.

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
    * `--corpus FILE` - an ISO 2709 file to repeat instead of the generated records
    * `--format text|json` - output (default text); progress goes to standard error
    * `--help`, `-h` - this text
  """

  use Mix.Task

  alias Snakepit.Diagnostics.{Report, Scaling}
  alias Snakepit.MixCLI, as: CLI

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

  @usage "usage: mix diagnose.scaling [--records N] [--profiles process,thread] " <>
           "[--max-workers N] [--max-threads N] [--runs N] [--command parse|count] " <>
           "[--batch-size N] [--threshold PCT] [--corpus FILE] [--format text|json]"
  # "Positive" integers have no useful upper bound here.
  @max_int 1_000_000_000_000

  @impl Mix.Task
  def run(args) do
    cli = CLI.new(__MODULE__, @usage, @switches)

    case parse!(cli, args) do
      :help -> :ok
      opts -> measure(cli, opts)
    end
  end

  defp measure(cli, opts) do
    Mix.Task.run("app.start")

    machine = Scaling.machine()
    tmp = Path.join(System.tmp_dir!(), "snakepit_scaling_#{System.unique_integer([:positive])}")

    try do
      {path, records, bytes} =
        try do
          Scaling.generate_corpus!(opts.corpus, opts.records, tmp)
        rescue
          e in ArgumentError -> CLI.error!(cli, Exception.message(e))
        end

      batches = Scaling.load_batches!(path, opts.batch_size)
      plan = Scaling.plan(opts.profiles, opts.max_workers, opts.max_threads)

      info(
        opts,
        "Measuring #{Report.plural(length(plan), "configuration")} on #{Report.plural(records, "record")} " <>
          "(#{Report.bytes(bytes)}), :#{opts.command} in batches of #{opts.batch_size}, " <>
          "best of #{Report.plural(opts.runs, "run")}"
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

      scaling = Scaling.knee(results, opts.threshold, machine)

      report = %{
        machine: machine,
        corpus: %{
          records: records,
          bytes: bytes,
          source: opts.corpus || "generated",
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

  defp parse!(cli, args) do
    case CLI.parse!(cli, args, 0) do
      :help -> :help
      {opts, []} -> options!(cli, opts)
    end
  end

  defp options!(cli, opts) do
    cores = Snakepit.Config.Options.logical_cores()

    profiles =
      opts
      |> Keyword.get(:profiles, "process,thread")
      |> String.split(",", trim: true)
      |> Enum.map(&CLI.one_of!(cli, "profiles", &1, ~w(process thread)))

    if profiles == [], do: CLI.one_of!(cli, "profiles", "", ~w(process thread))

    %{
      records: CLI.in_range!(cli, "records", Keyword.get(opts, :records, 20_000), 1..@max_int),
      profiles: Enum.uniq(profiles),
      max_workers:
        CLI.in_range!(
          cli,
          "max-workers",
          Keyword.get(opts, :max_workers, min(2 * cores, 8)),
          1..@max_int
        ),
      max_threads:
        CLI.in_range!(cli, "max-threads", Keyword.get(opts, :max_threads, cores), 1..@max_int),
      runs: CLI.in_range!(cli, "runs", Keyword.get(opts, :runs, 3), 1..@max_int),
      command: CLI.one_of!(cli, "command", Keyword.get(opts, :command, "parse"), ~w(parse count)),
      batch_size: CLI.in_range!(cli, "batch-size", Keyword.get(opts, :batch_size, 200), 1..200),
      threshold: CLI.in_range!(cli, "threshold", Keyword.get(opts, :threshold, 90), 1..100),
      corpus: opts[:corpus] && Path.expand(opts[:corpus]),
      format:
        opts
        |> Keyword.get(:format, "text")
        |> then(&CLI.one_of!(cli, "format", &1, ~w(text json)))
        |> Atom.to_string()
    }
  end

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
        "(#{Report.plural(measured.records, "record")} in #{Float.round(measured.seconds, 2)} s)"
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
        "Corpus: #{Report.plural(c.records, "record")} (#{Report.bytes(c.bytes)}), :#{c.command} " <>
          "in batches of #{c.batch_size}, best of #{Report.plural(c.runs, "run")}",
        "",
        table,
        "",
        "Scaling stops (smallest configuration within #{report.threshold_pct}% of the best " <>
          "of those this machine runs without contention: :process pool_size at most " <>
          "#{m.dirty_cpu_schedulers}, the dirty CPU schedulers; :thread at most " <>
          "#{m.logical_cores} workers and threads per worker, #{2 * m.logical_cores} threads in all):"
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
