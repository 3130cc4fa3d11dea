# The "index" workload (issue: extraction specs): title, author, ISBN and subjects of every
# record, the way an indexer pulls them, beside mrrc's and pymarc's properties in the same
# run. Prints records/s per variant and the ratios the targets are stated in.
#
#     MIX_ENV=prod mix run bench/index.exs FILE...        (part of `make bench`)
#
# Peers run from bench/.venv (bench/setup_peers.sh installs them; SNAKEPIT_BENCH_PYTHON
# names another python); without it only Snakepit's rows are printed. Snakepit's variants
# run in interleaved rounds (each round runs every variant once, in a shuffled order), so
# that a busy machine weighs on every variant alike, and each rate is the median of its
# rounds: at least 5 rounds, more for small files (up to about 6 s of rounds a file, at
# most 200), three for a file over 200 MB. mrrc runs after some rounds (up to 15 times, its
# median kept); pymarc, much slower, once.
#
# Warm, both sides: on a file of under 20 MB, a variant's turn in a round is one untimed
# run and then a block of back-to-back runs of about 30 ms, its time per run the block's
# over its runs; mrrc likewise runs once untimed and then 4 times in its own process, the
# median kept. A run of a 150-record file takes well under a millisecond, and timed alone
# it mostly measured what the variant before it left behind (a stream's reader thread
# ending, garbage freed, threads gone to sleep): 1.5x its time in a block.

alias Snakepit.Marc
alias Snakepit.Marc.{LazyRecord, Spec}

Code.require_file("timing.exs", __DIR__)

defmodule Bench.Index do
  defdelegate best(runs, fun), to: Bench.Timing

  # %{label => {seconds, result, cores, cpu_us_per_record}}: each variant's median time over
  # interleaved rounds, with the CPU time the whole OS process spent in its calls (every
  # scheduler and native thread): cores is that over their wall time (on 2 cores, 2.0 is
  # the ceiling any variant can reach) and the CPU time per record says how fast the variant
  # could go with every core to itself (/proc counts CPU time in 10 ms ticks: summed over
  # the rounds).
  defp summary(variants, runs) do
    Map.new(variants, fn {label, _} ->
      mine = for {^label, run} <- runs, do: run
      {_, n, _} = hd(mine)
      walls = mine |> Enum.map(&elem(&1, 0)) |> Enum.sort()
      wall = Enum.sum(walls)
      cpu_ms = mine |> Enum.map(&elem(&1, 2)) |> Enum.sum()
      median = Enum.at(walls, div(length(walls), 2))
      {label, {median, n, cpu_ms / (wall * 1000), cpu_ms * 1000 / max(n * length(mine), 1)}}
    end)
  end

  # `{seconds a run, records, CPU ms a run}` of `reps` back-to-back runs of `fun`, after one
  # untimed run when `reps > 1` (see the top).
  defp block(fun, 1), do: timed(fun, 1)

  defp block(fun, reps) do
    fun.()
    timed(fun, reps)
  end

  defp timed(fun, reps) do
    :erlang.garbage_collect()
    cpu0 = process_cpu_ms()
    {us, n} = :timer.tc(fn -> Enum.reduce(1..reps, nil, fn _, _ -> fun.() end) end)
    {us / 1_000_000 / reps, n, (process_cpu_ms() - cpu0) / reps}
  end

  # Files of under this many bytes are timed warm, in blocks (see the top).
  @warm_below 20_000_000
  # The length of a block.
  @block_us 30_000
  # Files of more than this many bytes get three rounds of a run a variant.
  @big_above 200_000_000
  def big?(bytes), do: bytes > @big_above

  # `{rounds, variants}`: rounds for about `budget_s` seconds in all, and each variant with
  # the runs of its block (1 for a file of `@warm_below` bytes or more), from one warm-up
  # round's times; a big file's three rounds need none.
  def rounds(variants, bytes, _min, _budget_s) when bytes > @big_above,
    do: {3, for({label, fun} <- variants, do: {label, {fun, 1}})}

  def rounds(variants, bytes, min, budget_s) do
    timed =
      for {label, fun} <- variants do
        {us, _} = :timer.tc(fun)
        reps = if bytes < @warm_below, do: (@block_us / max(us, 1)) |> ceil() |> max(1), else: 1
        {{label, {fun, reps}}, us * (reps + min(reps - 1, 1))}
      end

    round_us = timed |> Enum.map(&elem(&1, 1)) |> Enum.sum()
    rounds = (budget_s * 1_000_000 / max(round_us, 1)) |> trunc() |> max(min) |> min(200)
    {rounds, Enum.map(timed, &elem(&1, 0))}
  end

  # mrrc's runs: one untimed and 4 timed, the median kept, on a file timed warm.
  def mrrc_runs(bytes), do: if(bytes < @warm_below, do: ["--runs", "5", "--warmup"], else: [])

  # utime + stime of this OS process, from /proc (clock ticks of 10 ms on Linux).
  defp process_cpu_ms do
    case File.read("/proc/self/stat") do
      {:ok, stat} ->
        [_, after_name] = String.split(stat, ") ", parts: 2)
        fields = String.split(after_name, " ")
        (String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))) * 10

      {:error, _} ->
        0
    end
  end

  # `[{variant, records/s}]` of one run of the peers (`pymarc_cap` records at most for
  # pymarc), or `[]` without their python.
  def peers(path, pymarc_cap \\ 50_000, runs \\ []) do
    python = System.get_env("SNAKEPIT_BENCH_PYTHON", Path.expand("bench/.venv/bin/python"))

    if File.exists?(python) do
      args =
        ["bench/index.py", path, "--pymarc-cap", "#{pymarc_cap}"] ++
          if(runs == [], do: ["--runs", "1"], else: runs)

      {out, 0} = System.cmd(python, args)

      for line <- String.split(out, "\n", trim: true) do
        [peer, variant, records, seconds, _values, version] = String.split(line, "\t")
        {"#{peer} #{version} #{variant}", String.to_integer(records) / String.to_float(seconds)}
      end
    else
      []
    end
  end

  # The snakepit variants in `rounds` interleaved rounds with mrrc run after some of them:
  # `{timed, mrrc, paired}`: mrrc's `{variant, median records/s}` (nil without the peers),
  # and for each snakepit variant the median over mrrc's runs of its rate in the round just
  # before over mrrc's. Paired so, a ratio compares two rates measured a moment apart: the
  # machine's speed drifts by a third within a run, which a ratio of two medians of
  # different moments takes in.
  def with_mrrc(path, variants, rounds) do
    every = max(div(rounds, 15), 1)
    mrrc_runs = mrrc_runs(File.stat!(path).size)

    {timed, mrrc} =
      Enum.reduce(1..rounds, {[], []}, fn round, {timed, mrrc} ->
        this = interleaved_round(variants, round)

        if rem(round, every) == 0 do
          runs =
            for {"mrrc " <> _ = variant, rate} <- peers(path, 1, mrrc_runs),
                do: {variant, rate, this}

          {[this | timed], runs ++ mrrc}
        else
          {[this | timed], mrrc}
        end
      end)

    median =
      case mrrc do
        [] -> nil
        [{variant, _, _} | _] -> {variant, mrrc |> Enum.map(&elem(&1, 1)) |> median()}
      end

    paired =
      Map.new(variants, fn {label, _} ->
        ratios =
          for {_, rate, round} <- mrrc, {^label, {seconds, n, _}} <- round, do: n / seconds / rate

        {label, median(ratios)}
      end)

    # Each variant's rate over one process's in the same round.
    one = "extract/3, one process"

    vs_one =
      Map.new(variants, fn {label, _} ->
        ratios =
          for round <- timed,
              {^label, {s, n, _}} <- round,
              {^one, {s1, n1, _}} <- round,
              do: n / s / (n1 / s1)

        {label, median(ratios)}
      end)

    {summary(variants, timed |> Enum.reverse() |> Enum.concat()), median,
     %{vs_mrrc: paired, vs_one: vs_one}}
  end

  # nil for no values (no peers).
  defp median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))

  # The variants in a shuffled order (the same for every run of the bench): a rotating
  # order keeps each variant after the same one in every round, and what a variant leaves
  # behind (threads to wake, garbage being freed) then weighs on one other variant only. On
  # records_10k that put the pool 1.3x ahead of one process, which came right after the
  # lazy accessors in every round.
  defp interleaved_round(variants, round) do
    :rand.seed(:exsss, {round, 7, 11})

    for {label, {fun, reps}} <- Enum.shuffle(variants) do
      {label, block(fun, reps)}
    end
  end

  def fmt(x), do: :erlang.float_to_binary(x / 1, decimals: 0)
  def ratio(a, b), do: :erlang.float_to_binary(a / b, decimals: 2)

  # A variant's all-core ceiling against the one-process rate measured: about the most it
  # could be ahead, however well it overlapped its work (CPU time per record is higher on a
  # busy machine, so a lucky fastest run can pass it).
  def ceiling_ratio(nil, _one), do: "n/a"
  def ceiling_ratio(ceiling, one), do: ratio(ceiling, one)
end

specs = [
  title: "245abnp",
  author: "100a:110a:111a",
  isbn: "020a",
  subjects: "600a:610a:611a:630a:650a:651a"
]

compiled = Spec.compile!(specs)
cores = System.schedulers_online()

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :index_thread,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: cores
  )

files = System.argv()
if files == [], do: raise("usage: mix run bench/index.exs FILE...")

IO.puts(
  "| file | variant | records/s | cores used | CPU µs/record | all-core ceiling, records/s |"
)

IO.puts("|---|---|---|---|---|---|")

for path <- files do
  runs = if Bench.Index.big?(File.stat!(path).size), do: 1, else: 5
  name = Path.basename(path)

  snakepit = [
    {"LazyRecord accessors (stream records: :lazy)",
     fn ->
       Marc.stream(path, records: :lazy, mode: :skip)
       |> Stream.map(
         &{LazyRecord.title(&1), LazyRecord.author(&1), LazyRecord.isbn(&1),
          LazyRecord.subjects(&1)}
       )
       |> Enum.count()
     end},
    {"extract/3, one process",
     fn -> Marc.extract(path, compiled, mode: :skip) |> Enum.count() end},
    {"extract/3, workers: 2",
     fn -> Marc.extract(path, compiled, mode: :skip, workers: 2) |> Enum.count() end},
    {"extract/3, pool: :thread",
     fn -> Marc.extract(path, compiled, mode: :skip, pool: :index_thread) |> Enum.count() end}
  ]

  {rounds, blocks} = Bench.Index.rounds(snakepit, File.stat!(path).size, 5, 6)
  {timed, mrrc, paired} = Bench.Index.with_mrrc(path, blocks, rounds)
  pymarc = Bench.Index.peers(path) |> Enum.filter(&String.starts_with?(elem(&1, 0), "pymarc "))

  measured =
    Enum.map(snakepit, fn {variant, _} ->
      {seconds, n, cores, cpu_us} = timed[variant]
      {"snakepit " <> variant, n / seconds, {cores, cpu_us}}
    end) ++ Enum.map(List.wrap(mrrc) ++ pymarc, fn {variant, rate} -> {variant, rate, nil} end)

  rates = Enum.map(measured, fn {variant, rate, _} -> {variant, rate} end)
  # Records/s with every core busy at the variant's CPU cost per record.
  ceilings =
    for {variant, _, {_, cpu_us}} <- measured,
        cpu_us > 0,
        into: %{},
        do: {variant, cores * 1_000_000 / cpu_us}

  for {variant, rate, cpu} <- measured do
    cells =
      case cpu do
        {used, cpu_us} ->
          "#{:erlang.float_to_binary(used, decimals: 2)} | #{:erlang.float_to_binary(cpu_us, decimals: 2)} | " <>
            if(ceilings[variant], do: Bench.Index.fmt(ceilings[variant]), else: "-")

        nil ->
          "- | - | -"
      end

    IO.puts("| #{name} | #{variant} | #{Bench.Index.fmt(rate)} | #{cells} |")
  end

  # CSV export: extraction and the table writer together, as `mix snakepit.extract` runs them.
  csv = Path.join(System.tmp_dir!(), "snakepit_index_#{System.unique_integer([:positive])}.csv")

  {csv_seconds, _} =
    Bench.Index.best(runs, fn ->
      {:ok, %{rows: n}} =
        Marc.extract(path, compiled, mode: :skip)
        |> Snakepit.Marc.Table.write(csv, columns: Spec.names(compiled))

      n
    end)

  csv_mb = File.stat!(csv).size / 1_000_000
  input_mb = File.stat!(path).size / 1_000_000
  File.rm!(csv)

  IO.puts(
    "| #{name} | snakepit extract/3 |> Table.write CSV | #{:erlang.float_to_binary(csv_mb / csv_seconds, decimals: 1)} MB/s of CSV " <>
      "(#{:erlang.float_to_binary(input_mb / csv_seconds, decimals: 1)} MB/s of MARC in) |"
  )

  r = Map.new(rates)
  one = r["snakepit extract/3, one process"]
  # The ceilings are held to one process's rate at its own mean CPU cost and core use (the
  # same statistics as the ceilings), not to its best run: the most a variant could gain.
  one_mean =
    Enum.find_value(measured, fn
      {"snakepit extract/3, one process", _, {used, cpu_us}} when cpu_us > 0 ->
        used * 1_000_000 / cpu_us

      _ ->
        nil
    end)

  mrrc = Enum.find_value(rates, fn {v, rate} -> String.starts_with?(v, "mrrc ") && rate end)

  paired_ratio = fn
    nil -> "n/a"
    x -> :erlang.float_to_binary(x, decimals: 2)
  end

  IO.puts("""

  #{name} (#{rounds} interleaved rounds; each ratio the median of its ratios within a round, \
  or against the mrrc run right after one): extract/3 one process vs mrrc: \
  #{paired_ratio.(paired.vs_mrrc["extract/3, one process"])}x (target >= 10; of the two medians: \
  #{if mrrc, do: Bench.Index.ratio(one, mrrc), else: "n/a"}x); \
  workers: 2 vs one process: #{paired_ratio.(paired.vs_one["extract/3, workers: 2"])}x (target >= 1.5; \
  all-core ceiling at this run's CPU cost: #{Bench.Index.ceiling_ratio(ceilings["snakepit extract/3, workers: 2"], one_mean)}x); \
  pool: :thread vs one process: #{paired_ratio.(paired.vs_one["extract/3, pool: :thread"])}x (target >= 1.0; \
  ceiling #{Bench.Index.ceiling_ratio(ceilings["snakepit extract/3, pool: :thread"], one_mean)}x); \
  lazy accessors vs mrrc: #{paired_ratio.(paired.vs_mrrc["LazyRecord accessors (stream records: :lazy)"])}x
  """)
end
