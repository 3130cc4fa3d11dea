defmodule Mix.Tasks.Diagnose.ScalingTest do
  # Not async: one test changes the working directory, which is the whole VM's.
  use ExUnit.Case, async: false

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
        assert out =~ "Scaling stops (smallest configuration within 90% of the best of those"
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

    roomy = %{dirty_cpu_schedulers: 8, logical_cores: 8}
    knees = Scaling.knee(results, 90, roomy)
    assert knees.process.knee.pool_size == 2
    assert knees.process.best.pool_size == 3
    assert %{pool_size: 2, threads: 1} = knees.thread.knee
  end

  test "never recommends more than the machine runs without contention" do
    # The fastest runs are above the limits (noise or oversubscription on a loaded machine):
    # the recommendation still stays within them, as the inspector's own rules ask.
    results = [
      %{profile: :process, pool_size: 1, threads: 1, records_per_s: 50},
      %{profile: :process, pool_size: 2, threads: 1, records_per_s: 60},
      %{profile: :process, pool_size: 3, threads: 1, records_per_s: 100},
      %{profile: :thread, pool_size: 1, threads: 1, records_per_s: 50},
      %{profile: :thread, pool_size: 1, threads: 2, records_per_s: 70},
      %{profile: :thread, pool_size: 1, threads: 4, records_per_s: 100},
      %{profile: :thread, pool_size: 3, threads: 1, records_per_s: 100}
    ]

    machine = %{dirty_cpu_schedulers: 2, logical_cores: 2}
    knees = Scaling.knee(results, 90, machine)
    assert knees.process.knee.pool_size == 2
    assert knees.process.best.pool_size == 3
    assert %{pool_size: 1, threads: 2} = knees.thread.knee

    for {profile, %{knee: k}} <- knees do
      config = %{worker_profile: profile, pool_size: k.pool_size, threads_per_worker: k.threads}
      assert Snakepit.Diagnostics.Recommendations.fits_machine?(config, machine)
    end
  end

  test "runs in a project without ../shared: the corpus is generated" do
    dir = Path.join(System.tmp_dir!(), "scaling_host_#{System.unique_integer([:positive])}")
    File.mkdir_p!(Path.join(dir, "app"))
    on_exit(fn -> File.rm_rf!(dir) end)

    {report, _err} =
      File.cd!(Path.join(dir, "app"), fn ->
        with_io(:stderr, fn ->
          capture_io(fn -> send(self(), {:report, Task.run(@tiny ++ ~w(--profiles process))}) end)
          assert_received {:report, report}
          report
        end)
      end)

    assert report.corpus.source == "generated"
    assert report.corpus.records >= 400
  end

  test "the generated corpus is the same every time and reads as good records" do
    records = Scaling.synthetic()
    assert length(records) == 2000
    assert records == Scaling.synthetic()
    bytes = records |> Snakepit.Marc.encode() |> IO.iodata_to_binary()
    assert Snakepit.Marc.count(bytes) == %{records: 2000, errors: 0}
    assert div(byte_size(bytes), 2000) in 400..2000
  end

  test "bad flags are errors" do
    for {args, message} <- [
          {["--profiles", "fiber"], ~s(--profiles must be one of process, thread, got: "fiber")},
          {["--records", "0"], "--records must be a positive integer, got: 0"},
          {["--records", "many"], ~s(--records takes an integer, got: "many")},
          {["--nope"], "unknown option --nope; valid options: --records, "},
          {["--batch-size", "500"], "--batch-size must be in 1..200, got: 500"},
          {["--format", "csv"], ~s(--format must be one of text, json, got: "csv")},
          {["stray"], ~s(unexpected argument "stray")}
        ] do
      error = assert_raise Mix.Error, fn -> Task.run(args) end
      assert error.message =~ "mix diagnose.scaling: " <> message
    end

    error =
      assert_raise Mix.Error, fn ->
        capture_io(fn -> Task.run(["--corpus", "/nonexistent.mrc", "--records", "1"]) end)
      end

    assert error.message =~
             ~s(mix diagnose.scaling: the --corpus file was not found, got: "/nonexistent.mrc")
  end
end
