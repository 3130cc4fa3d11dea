defmodule Snakepit.BenchReportTest do
  # bench/report.py writes the tables and verdicts of docs/performance.md from a run's result
  # files. Here: what it makes of a small recorded run whose verdicts were worked out by
  # hand, that --update rewrites the marked regions and nothing else, and that the doc's
  # regions are what the script makes of the run they name.
  use ExUnit.Case, async: true

  @root Path.expand("..", __DIR__)
  @fixture "test/fixtures/bench_report"
  @doc_path "docs/performance.md"

  defp report(args) do
    System.cmd("python3", ["bench/report.py" | args], cd: @root, stderr_to_stdout: true)
  end

  defp report!(args) do
    {out, status} = report(args)
    assert status == 0, out
    out
  end

  test "the verdicts of a recorded run, worked out by hand" do
    lines = report!(["--results", @fixture]) |> String.split("\n")

    for expected <- [
          # A: 300,000 / 120,000 (mrrc's pipeline, its fastest there); B: 150,000 / 100,000.
          "| stream into one process ≥ 2× mrrc's fastest Python path | 2.50× / 1.50× | " <>
            "12.5× / 10.0× | met with lazy records; with structs on 1 of 2 files |",
          "| stream ≥ 25× pymarc | 30.0× / 20.0× | 150× / 133× | " <>
            "met with lazy records; with structs on 1 of 2 files |",
          "| extraction ≥ 10× mrrc Python (public API) | 10.0× / 11.0× | 13.3× / 12.0× | met |",
          "| parallel processing: 2 workers ≥ 1.8× one | 1.90× / 1.85× | 1.50× / 2.00× | " <>
            "**missed**: structs on 2, lazy records on 1 of 2 files |",
          "| core structural parse ≥ the `marc` crate | at equal work (fields + subfields): " <>
            "1.25× / 0.50× its borrowed loop, 1.11× / 1.25× its reader; 0.50× / 1.50× its " <>
            "directory-only loop |  | **partly**: 3 of 4 comparisons |",
          "| core structural parse ≥ 10× the `mrrc` crate | 20.0× / 7.50× |  | " <>
            "**partly**: 1 of 2 files |",
          "| streaming B: peak RSS growth ≤ 100 MB | 7.5 MB |  | met |",
          "Targets met in full: 6 of 11 (structs and lazy records counted apart).",
          "| **Snakepit** `map/3` + extraction, structs, 1 / 2 workers | 100,000 / 190,000 | " <>
            "100,000 / 185,000 |",
          "| **Snakepit** `parse/2` of a binary, lazy | 900,000 | – |",
          "| mrrc fastest reading path (see below) | 120,000 | 100,000 |",
          "mrrc's fastest path was `ProducerConsumerPipeline.from_file(path): next() loop` " <>
            "on A; `MARCReader(path)` on B.",
          "pymarc read only the first 500 records of B.",
          "| marc `Records::new(reader)`, fields + subfields | 900,000 | 400,000 |",
          "At equal work (fields and subfields) snakepit_core is 1.25× / 0.50× the `marc` " <>
            "crate's borrowed loop and 1.11× / 1.25× its reader. snakepit_core's spans are " <>
            "7.50×–20.0× the mrrc crate."
        ] do
      assert expected in lines, "missing from the report: #{expected}"
    end

    assert Enum.count(lines, &(&1 =~ "<!-- bench/report.py: begin ")) == 3
  end

  test "the other benches' result files are printed under their titles; missing ones named" do
    out = report!(["--results", @fixture])

    assert out =~
             "== .mrk write and read beside pymarc (mrk.md, bench/mrk.exs)\n" <>
               "| file | operation | Snakepit records/s |"

    assert out =~ "| write MARC-8 (to_mrk/2, encoding: :marc8) |"

    assert out =~
             "== MARC-8 encode beside yaz-marcdump (marc8_encode.txt, bench/marc8_encode.exs)\n"

    assert out =~ "| loc_bibliographic.mrc x20 | 40.0 | 20.0 | 2.0 |"

    assert out =~
             "== Validation beside MARC::Lint and marcvalidate (lint.md, bench/lint.exs)\n" <>
               "(not in this run)"

    # Every result file bench/run.sh writes has its place in the report.
    run_sh = File.read!(Path.join(@root, "bench/run.sh"))

    for [name] <- Regex.scan(~r{bench/results/([\w.]+)}, run_sh, capture: :all_but_first),
        name not in ~w(snakepit.tsv) do
      assert out =~ "(#{name}, ", "bench/report.py does not print #{name}"
    end
  end

  test "a run with no result files prints what it lacks, and --update refuses it" do
    empty =
      Path.join(System.tmp_dir!(), "bench_report_empty_#{System.unique_integer([:positive])}")

    File.mkdir_p!(empty)
    on_exit(fn -> File.rm_rf(empty) end)
    {out, 0} = report(["--results", empty])
    assert out =~ "no snakepit.tsv or peers.json: no regions"
    assert out =~ "(mrk.md, bench/mrk.exs)\n(not in this run)"
    assert {_, 2} = report(["--results", empty, "--update", tmp_doc!()])
  end

  defp tmp_doc! do
    path = Path.join(System.tmp_dir!(), "bench_report_#{System.unique_integer([:positive])}.md")
    on_exit(fn -> File.rm(path) end)
    path
  end

  test "--update rewrites the regions and leaves the rest of the doc alone" do
    doc = tmp_doc!()

    stale = fn name ->
      "<!-- bench/report.py: begin #{name}, from elsewhere -->\nold #{name}\n" <>
        "<!-- bench/report.py: end #{name} -->"
    end

    File.write!(doc, """
    # Before

    #{stale.("records")}

    Prose between, typed by hand.

    #{stale.("targets")}
    #{stale.("rust")}

    After.
    """)

    report!(["--results", @fixture, "--update", doc])
    updated = File.read!(doc)

    refute updated =~ "old "
    refute updated =~ "from elsewhere"
    assert updated =~ "# Before\n\n<!-- bench/report.py: begin records, from #{@fixture} -->\n"
    assert updated =~ "<!-- bench/report.py: end records -->\n\nProse between, typed by hand.\n\n"
    assert updated =~ "<!-- bench/report.py: end rust -->\n\nAfter.\n"
    assert updated =~ "| streaming B: peak RSS growth ≤ 100 MB | 7.5 MB |  | met |"

    # Idempotent: a second update changes nothing.
    report!(["--results", @fixture, "--update", doc])
    assert File.read!(doc) == updated

    # A region the script does not know, or one the doc lacks, is an error; the doc is kept.
    File.write!(doc, updated <> "\n" <> stale.("pools") <> "\n")
    assert {out, 2} = report(["--results", @fixture, "--update", doc])
    assert out =~ "unknown to bench/report.py: ['pools']"
    assert File.read!(doc) == updated <> "\n" <> stale.("pools") <> "\n"

    File.write!(doc, stale.("records"))
    assert {out, 2} = report(["--results", @fixture, "--update", doc])
    assert out =~ "the doc lacks: ['targets', 'rust']"
  end

  test "docs/performance.md's regions are what bench/report.py makes of the run they name" do
    doc = File.read!(Path.join(@root, @doc_path))

    sources =
      Regex.scan(~r/<!-- bench\/report\.py: begin [\w-]+, from (\S+) -->/, doc)
      |> Enum.map(fn [_, dir] -> dir end)
      |> Enum.uniq()

    # One run for the whole page, and one kept in git (bench/results/ is not).
    assert [run] = sources
    assert String.starts_with?(run, "bench/runs/")
    assert File.exists?(Path.join([@root, run, "snakepit.tsv"]))

    tmp = tmp_doc!()
    File.write!(tmp, doc)
    report!(["--results", run, "--update", tmp])

    assert File.read!(tmp) == doc,
           "#{@doc_path} differs from what bench/report.py writes from #{run}; " <>
             "run: bench/report.py --results #{run} --update #{@doc_path}"
  end
end
