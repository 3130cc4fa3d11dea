# Validation throughput: records/s of lint_stream/2 (the built-in MARC 21 checks) on each
# file, beside stream/2 with lazy records on the same file (the cost target: lint no more
# than 2x it), and beside MARC::Lint and MARC::Schema (marcvalidate's check) on a slice of
# the first file, in the same run (the target: at least 100x MARC::Lint).
#
#     MIX_ENV=prod mix run bench/lint.exs FILE...        (part of `make bench`)
#
# The Perl references run when perl has MARC::Lint and MARC::Schema (Debian's
# libmarc-lint-perl and libmarc-schema-perl); otherwise only Snakepit's rows are printed.
# Lint and the stream are timed in turns (lint, stream, lint, stream...: a noisy machine
# then slows both alike), after one untimed turn each: for files under 50 MB as many
# rounds as fit in about 5 s (at least 7, at most 200: a file of a few ms needs many for a
# steady median), 5 for larger ones (SNAKEPIT_BENCH_ROUNDS sets it). The rates are the
# best of the rounds; the cost is given as the median of the rounds' own ratios and as the
# ratio of the best times.
# SNAKEPIT_BENCH_SLICE sets the records of the Perl slice (default 2000).

alias Snakepit.Marc

Code.require_file("timing.exs", __DIR__)

defmodule Bench.Lint do
  def best(path, fun) do
    runs = if File.stat!(path).size < 50_000_000, do: 3, else: 1
    Bench.Timing.best(runs, fun)
  end

  @doc "`{lint_times, stream_times, lint_result}`: the two timed in turns, in seconds."
  def rounds(path, lint, stream) do
    # One untimed turn each first: the rule set compiled, the file in the page cache.
    {turn_us, _} = :timer.tc(fn -> {lint.(), stream.()} end)

    default =
      if File.stat!(path).size < 50_000_000,
        do: (5_000_000 / max(turn_us, 1)) |> trunc() |> max(7) |> min(200),
        else: 5

    n = String.to_integer(System.get_env("SNAKEPIT_BENCH_ROUNDS", "#{default}"))

    times =
      for _ <- 1..n do
        {lint_s, result} = Bench.Timing.best(1, lint)
        {stream_s, _} = Bench.Timing.best(1, stream)
        {lint_s, stream_s, result}
      end

    {Enum.map(times, &elem(&1, 0)), Enum.map(times, &elem(&1, 1)), elem(hd(times), 2)}
  end

  def median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))

  # The first `n` records of `path`, written beside the results, for the Perl references.
  def slice(path, n) do
    out = Path.join(System.tmp_dir!(), "snakepit_lint_slice_#{n}.mrc")
    bytes = path |> File.read!() |> Marc.scan() |> Enum.take(n)
    data = File.read!(path)
    File.write!(out, Enum.map(bytes, fn {offset, len} -> binary_part(data, offset, len) end))
    {out, length(bytes)}
  end

  def perl(script, slice) do
    if System.find_executable("perl") do
      case System.cmd("perl", ["-e", script, slice], stderr_to_stdout: true) do
        {out, 0} -> out |> String.trim() |> String.to_integer()
        _ -> nil
      end
    end
  end

  def fmt(x), do: :erlang.float_to_binary(x / 1, decimals: 0)
  def ratio(a, b), do: :erlang.float_to_binary(a / b, decimals: 2)
end

# Both references as scripts/lint_oracles.pl runs them, without the output: records checked.
marc_lint = ~S"""
use MARC::File::USMARC; use MARC::Lint; $SIG{__WARN__} = sub {};
my $in = MARC::File::USMARC->in(shift); my $lint = MARC::Lint->new; my $n = 0;
open my $null, '>', '/dev/null'; 
while (my $r = eval { $in->next() }) { local *STDOUT = $null; $lint->check_record($r); my @w = $lint->warnings; $n++ }
print STDERR ""; print $n;
"""

marc_schema = ~S"""
use MARC::File::USMARC; use MARC::Schema; $SIG{__WARN__} = sub {};
my $in = MARC::File::USMARC->in(shift); my $schema = MARC::Schema->new; my $n = 0;
while (my $r = eval { $in->next() }) {
  my @f = (['LDR', undef, undef, '_', $r->leader()]);
  for my $f ($r->fields) { push @f, $f->is_control_field ? [$f->tag, undef, undef, '_', $f->data]
    : [$f->tag, $f->indicator(1), $f->indicator(2), map { @$_ } $f->subfields] }
  my @e = $schema->check({record => \@f}); $n++ }
print $n;
"""

[first | _] = files = System.argv()

IO.puts(
  "| file | records | lint_stream rec/s | stream lazy rec/s | " <>
    "lint cost / stream cost, median of rounds | of best times | issues |"
)

IO.puts("|---|---:|---:|---:|---:|---:|---:|")

lint_rates =
  for path <- files do
    {lint_times, stream_times, {n, issues}} =
      Bench.Lint.rounds(
        path,
        fn ->
          path
          |> Marc.lint_stream()
          |> Enum.reduce({0, 0}, fn {_, _, i}, {n, c} -> {n + 1, c + length(i)} end)
        end,
        fn -> path |> Marc.stream(records: :lazy) |> Enum.count() end
      )

    {lint_s, stream_s} = {Enum.min(lint_times), Enum.min(stream_times)}
    ratios = Enum.zip_with(lint_times, stream_times, &(&1 / &2))

    IO.puts(
      "| #{Path.basename(path)} | #{n} | #{Bench.Lint.fmt(n / lint_s)} | " <>
        "#{Bench.Lint.fmt(n / stream_s)} | #{Bench.Lint.ratio(Bench.Lint.median(ratios), 1)} | " <>
        "#{Bench.Lint.ratio(lint_s, stream_s)} | #{issues} |"
    )

    {path, n / lint_s}
  end

slice_n = String.to_integer(System.get_env("SNAKEPIT_BENCH_SLICE", "2000"))
{slice, n} = Bench.Lint.slice(first, slice_n)
{snake_s, _} = Bench.Lint.best(slice, fn -> slice |> Marc.lint_stream() |> Enum.count() end)
snake = n / snake_s
IO.puts("\nSlice: the first #{n} records of #{Path.basename(first)}\n")
IO.puts("| validator | rec/s | Snakepit lint_stream / it |")
IO.puts("|---|---:|---:|")
IO.puts("| Snakepit lint_stream | #{Bench.Lint.fmt(snake)} | 1.00 |")

for {name, script} <- [
      {"MARC::Lint 1.53", marc_lint},
      {"MARC::Schema 0.14 (marcvalidate)", marc_schema}
    ] do
  {us, count} = :timer.tc(fn -> Bench.Lint.perl(script, slice) end)

  case count do
    nil ->
      IO.puts("| #{name} | not installed | |")

    count ->
      IO.puts(
        "| #{name} | #{Bench.Lint.fmt(count / (us / 1_000_000))} | #{Bench.Lint.ratio(snake, count / (us / 1_000_000))} |"
      )
  end
end

_ = lint_rates
