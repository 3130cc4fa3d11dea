defmodule Mix.Tasks.Snakepit.ProfileInspectorTest do
  use Snakepit.PoolCase, async: true

  import ExUnit.CaptureIO

  alias Mix.Tasks.Snakepit.ProfileInspector, as: Task

  defp run_task(args), do: capture_io(fn -> Task.run(args) end)

  # Parses JSON with Python's json module when python3 is there (an independent parser).
  defp assert_valid_json(text) do
    case System.find_executable("python3") do
      nil ->
        :skipped

      python ->
        path =
          Path.join(System.tmp_dir!(), "inspector_#{System.unique_integer([:positive])}.json")

        File.write!(path, text)

        try do
          {out, status} =
            System.cmd(
              python,
              ["-c", "import json,sys; json.load(open(sys.argv[1])); print('ok')", path],
              stderr_to_stdout: true
            )

          assert status == 0, "invalid JSON: #{out}"
        after
          File.rm(path)
        end
    end
  end

  test "text output: pools, a worker table, recommendations, no colours off a terminal" do
    pool = start_pool!(worker_profile: :thread, pool_size: 1, threads_per_worker: 2)
    out = run_task(["--pool", Atom.to_string(pool), "--detailed", "--recommendations"])

    assert out =~ "#{inspect(pool)}  profile :thread, 1 worker, 2 threads/worker"
    assert out =~ "utilisation 0.0%"
    assert out =~ ~r/id\s+pid\s+status\s+load/
    assert out =~ "ok   threads_per_worker:"
    refute out =~ "\e["
    assert run_task(["--pool", Atom.to_string(pool), "--color"]) =~ IO.ANSI.green()
  end

  test "JSON output is valid JSON with the report's structure" do
    pool = start_pool!(worker_profile: :process, pool_size: 2)
    {:ok, :x} = Snakepit.execute(:ping, [:x], pool: pool)
    out = run_task(["--pool", Atom.to_string(pool), "--format", "json", "--detailed"])
    assert_valid_json(out)

    assert out =~ ~s("pool":"#{pool}")
    assert out =~ ~s("profile":"process")
    assert out =~ ~s("capacity":{"available":2,"total":2,"used":0})
    assert out =~ ~s("workload":{)
    assert out =~ ~s("recommendations":[)
    assert out =~ ~s("totals":{"capacity":2,)
  end

  test "errors: unknown pool, bad flag, bad format, stray argument" do
    assert_raise Mix.Error, ~r/unknown pool "nope_\d+" on .+; running pools: /, fn ->
      run_task(["--pool", "nope_#{System.unique_integer([:positive])}"])
    end

    assert_raise Mix.Error, ~r/^mix snakepit.profile_inspector: unknown option --bogus/, fn ->
      run_task(["--bogus"])
    end

    assert_raise Mix.Error, ~r/--format must be one of text, json, got: "xml"/, fn ->
      run_task(["--format", "xml"])
    end

    assert_raise Mix.Error, ~r/unexpected argument "extra"/, fn -> run_task(["extra"]) end
    assert_raise Mix.Error, ~r/--cookie needs --node/, fn -> run_task(["--cookie", "c"]) end
  end
end

defmodule Mix.Tasks.Snakepit.ProfileInspectorRemoteTest do
  # Inspects a second node started with :peer. Makes this VM a distributed node (once).
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  alias Mix.Tasks.Snakepit.ProfileInspector, as: Task

  setup_all do
    epmd = System.find_executable("epmd")
    if is_nil(epmd), do: raise("epmd is needed for the distributed inspector tests")
    {_, 0} = System.cmd(epmd, ["-daemon"])

    unless Node.alive?() do
      name = :"inspector_test_#{System.unique_integer([:positive])}"
      {:ok, _} = :net_kernel.start([name, :shortnames])
    end

    paths = Enum.map(:code.get_path(), &to_charlist/1)
    name = :"inspector_peer_#{System.unique_integer([:positive])}"
    {:ok, peer, node} = :peer.start_link(%{name: name, args: [~c"-pa" | paths]})
    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:snakepit])

    {:ok, _} =
      :erpc.call(node, Supervisor, :start_child, [
        Snakepit.Supervisor,
        {Snakepit.Pool, name: :remote_bulk, worker_profile: :thread, threads_per_worker: 2}
      ])

    {:ok, :hi} = :erpc.call(node, Snakepit, :execute, [:ping, [:hi], [pool: :remote_bulk]])

    on_exit(fn ->
      # :peer.stop/1 exits when the peer is already going down with its linked owner.
      try do
        :peer.stop(peer)
      catch
        :exit, _ -> :ok
      end
    end)

    %{node: node}
  end

  test "--node reports the pools of another node", %{node: node} do
    out =
      capture_io(fn ->
        Task.run([
          "--node",
          Atom.to_string(node),
          "--sname",
          "--format",
          "json",
          "--pool",
          "remote_bulk"
        ])
      end)

    assert out =~ ~s("node":"#{node}")
    assert out =~ ~s("pool":"remote_bulk")
    assert out =~ ~s("profile":"thread")
    assert out =~ ~s("ping":{)
    refute out =~ ~s("node":"#{node()}")

    text = capture_io(fn -> Task.run(["--node", Atom.to_string(node), "--recommendations"]) end)
    assert text =~ "Snakepit on #{node}"
    assert text =~ ":remote_bulk  profile :thread"
  end

  test "an unknown pool on the remote node is an error naming the node", %{node: node} do
    assert_raise Mix.Error,
                 ~r/unknown pool "local_only" on #{node}; running pools: remote_bulk/,
                 fn ->
                   capture_io(fn ->
                     Task.run(["--node", Atom.to_string(node), "--pool", "local_only"])
                   end)
                 end
  end

  test "an unreachable node is a clear error" do
    {:ok, host} = :inet.gethostname()
    missing = "nobody_#{System.unique_integer([:positive])}@#{host}"

    assert_raise Mix.Error, ~r/cannot connect to node #{missing}/, fn ->
      capture_io(fn -> Task.run(["--node", missing, "--sname"]) end)
    end
  end
end
