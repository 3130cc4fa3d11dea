defmodule Mix.Tasks.Diagnose.ScalingTest do
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  alias Mix.Tasks.Diagnose.Scaling, as: Task
  alias Snakepit.Diagnostics.Scaling

  @tiny ~w(--records 400 --max-workers 2 --max-threads 2 --runs 1 --batch-size 50)

  test "measures each profile at each size and recommends where scaling stops" do
    {report, err} =
      with_io(:stderr, fn ->
        capture_io(fn -> send(self(), {:report, Task.run(@tiny)}) end)
      end)
      |> then(fn {out, err} ->
        assert out =~ "Machine: "
        assert out =~ "Scaling stops (smallest configuration within 90% of the best):"
        assert out =~ ~r/:process pools: pool_size: \d/
        assert out =~ ~r/:thread pools:  pool_size: \d, threads_per_worker: \d/
        assert_received {:report, report}
        {report, err}
      end)

    # Progress went to standard error, one line per configuration.
    assert err =~ "[1/"
    assert err =~ "process  pool_size 1:"

    assert report.corpus.records >= 400

    assert Enum.map(report.results, &{&1.profile, &1.pool_size, &1.threads}) ==
             Enum.map(
               Scaling.plan([:process, :thread], 2, 2),
               &{&1.profile, &1.pool_size, &1.threads}
             )

    for r <- report.results do
      assert r.records == report.corpus.records
      assert r.records_per_s > 0
    end

    for {profile, %{best: best, knee: knee}} <- report.scaling do
      assert knee.records_per_s >= best.records_per_s * 0.9
      assert knee.profile == profile
    end

    assert report.recommendation.profile in [:process, :thread]
  end

  test "JSON output keeps standard output clean" do
    {out, _err} =
      with_io(:stderr, fn ->
        capture_io(fn ->
          Task.run(@tiny ++ ~w(--profiles thread --format json --command count))
        end)
      end)

    assert String.starts_with?(out, "{")
    assert out =~ ~s("command":"count")
    assert out =~ ~s("recommendation":{"profile":"thread","thread":{"pool_size":)
    refute out =~ "process"

    if python = System.find_executable("python3") do
      path = Path.join(System.tmp_dir!(), "scaling_#{System.unique_integer([:positive])}.json")
      File.write!(path, out)

      {_, status} =
        System.cmd(python, ["-c", "import json,sys; json.load(open(sys.argv[1]))", path])

      File.rm(path)
      assert status == 0
    end
  end

  test "the knee is the smallest configuration within the threshold" do
    results = [
      %{profile: :process, pool_size: 1, threads: 1, records_per_s: 50},
      %{profile: :process, pool_size: 2, threads: 1, records_per_s: 95},
      %{profile: :process, pool_size: 3, threads: 1, records_per_s: 100},
      %{profile: :thread, pool_size: 1, threads: 4, records_per_s: 200},
      %{profile: :thread, pool_size: 2, threads: 1, records_per_s: 185}
    ]

    knees = Scaling.knee(results, 90)
    assert knees.process.knee.pool_size == 2
    assert knees.process.best.pool_size == 3
    assert %{pool_size: 2, threads: 1} = knees.thread.knee
  end

  test "bad flags are errors" do
    assert_raise Mix.Error, ~r/--profiles takes process and\/or thread, got: "fiber"/, fn ->
      Task.run(["--profiles", "fiber"])
    end

    assert_raise Mix.Error, ~r/--records must be a positive integer, got: 0/, fn ->
      Task.run(["--records", "0"])
    end

    assert_raise Mix.Error, ~r/unknown or malformed option --nope/, fn -> Task.run(["--nope"]) end

    assert_raise Mix.Error, ~r/--batch-size must be in 1..200, got: 500/, fn ->
      Task.run(["--batch-size", "500"])
    end

    assert_raise Mix.Error, ~r/corpus file not found/, fn ->
      capture_io(fn -> Task.run(["--corpus", "/nonexistent.mrc", "--records", "1"]) end)
    end
  end
end
